// Live progress for distribution requests: polls the admin's progress endpoint every two seconds and
// updates each bar (and the request's status beside it) in place, until no request on the page is live.
// Which statuses are live is the server's knowledge (DistributionRequest.is_live), sent with each state.
(function () {
  "use strict";

  function unfinished() {
    return Array.from(document.querySelectorAll('.live-progress[data-live="true"]'));
  }

  function render(node, state) {
    node.dataset.live = String(state.live);
    node.querySelector("progress").value = state.percent;
    node.querySelector(".percent").textContent = state.percent + "%";
    node.querySelector(".detail").textContent = state.detail;
    document.querySelectorAll('.live-status[data-request="' + node.dataset.request + '"]')
      .forEach((status) => { status.textContent = state.label; });
  }

  async function refresh() {
    const nodes = unfinished();
    if (!nodes.length) return;
    const ids = nodes.map((node) => node.dataset.request).join(",");
    try {
      const response = await fetch(nodes[0].dataset.url + "?ids=" + ids, { credentials: "same-origin" });
      if (response.ok) {
        const states = await response.json();
        nodes.forEach((node) => states[node.dataset.request] && render(node, states[node.dataset.request]));
      }
    } finally {
      window.setTimeout(refresh, 2000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => window.setTimeout(refresh, 2000));
})();
