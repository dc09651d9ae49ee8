// Live parts of the request list and the request page: every two seconds, while a request on the page
// is live, asks the progress endpoint for its parts (status, bar, counts, times, buttons) rendered by
// the server and swaps them in together. What is live and how each part reads is the server's
// knowledge (distribution/live.py); this script only copies HTML into the marked spans.
(function () {
  "use strict";

  function liveIds() {
    const nodes = document.querySelectorAll('.live[data-live="true"]');
    return Array.from(new Set(Array.from(nodes, (node) => node.dataset.request)));
  }

  function render(id, state) {
    document.querySelectorAll('.live[data-request="' + id + '"]').forEach((node) => {
      if (node.dataset.field in state.fields) node.innerHTML = state.fields[node.dataset.field];
      node.dataset.live = String(state.live);
      node.dataset.status = state.status;
    });
  }

  async function refresh() {
    const ids = liveIds();
    if (!ids.length) return;
    const url = document.querySelector("[data-progress-url]").dataset.progressUrl;
    try {
      const response = await fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin" });
      if (response.ok) {
        const states = await response.json();
        ids.forEach((id) => states[id] && render(id, states[id]));
      }
    } finally {
      window.setTimeout(refresh, 2000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => window.setTimeout(refresh, 2000));
})();
