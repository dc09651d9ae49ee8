// Live progress for distribution requests: polls the admin's progress endpoint every two seconds and
// updates each bar (and the request's status beside it) in place, until every request on the page has finished.
(function () {
  "use strict";
  const FINISHED = ["succeeded", "failed", "cancelled", "revoked"];

  function unfinished() {
    return Array.from(document.querySelectorAll(".live-progress[data-request]"))
      .filter((node) => !FINISHED.includes(node.dataset.status));
  }

  function render(node, state) {
    node.dataset.status = state.status;
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
