// A confirm or approve button posts once: a double click must not send the request twice. The server
// refuses a second confirmation anyway; this only spares the user a confusing second message.
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const buttons = event.target.querySelectorAll(".once button");
    if (!buttons.length) return;
    if (event.target.dataset.sent) {
      event.preventDefault();
      return;
    }
    event.target.dataset.sent = "1";
    // Disabled after this tick: the submission has already taken the clicked button's formaction.
    window.setTimeout(() => buttons.forEach((button) => { button.disabled = true; }), 0);
  });
})();
