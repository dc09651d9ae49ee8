// Suggestions for the table and column boxes of a new request, from the source's metadata: catalogs,
// then schemas, then tables as the name is typed, and the table's integer columns. The server decides
// what to suggest (the admin's names view); this only fills the boxes' <datalist>s.
(function () {
  "use strict";

  function datalist(id) {
    let list = document.getElementById(id);
    if (!list) {
      list = document.createElement("datalist");
      list.id = id;
      document.body.appendChild(list);
    }
    return list;
  }

  function fill(list, names) {
    list.replaceChildren(...names.map((name) => Object.assign(document.createElement("option"), { value: name })));
  }

  // The same names as buttons under the box: seen without opening the list, picked with one click.
  function chips(box, names) {
    let holder = box.parentNode.querySelector(".suggestions");
    if (!holder) {
      holder = Object.assign(document.createElement("div"), { className: "suggestions" });
      box.insertAdjacentElement("afterend", holder);
    }
    holder.replaceChildren(...names.slice(0, 12).map((name) => {
      const chip = Object.assign(document.createElement("button"), { type: "button", textContent: name });
      chip.addEventListener("click", () => {
        box.value = name;
        box.dispatchEvent(new Event("input"));
        box.focus();
      });
      return chip;
    }));
  }

  function suggester(url, box, listId, extra) {
    let timer = null;
    const ask = async () => {
      const params = new URLSearchParams({ source: document.getElementById("id_source").value,
                                           table: document.getElementById("id_table").value, ...extra() });
      const response = await fetch(url + "?" + params, { credentials: "same-origin" });
      if (response.ok) {
        const names = (await response.json()).suggestions;
        fill(datalist(listId), names);
        chips(box, names.filter((name) => name !== box.value));
      }
    };
    const later = () => { window.clearTimeout(timer); timer = window.setTimeout(ask, 250); };
    box.addEventListener("input", later);
    box.addEventListener("focus", later);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const marker = document.querySelector("[data-names-url]");
    const table = document.getElementById("id_table");
    const column = document.getElementById("id_column");
    if (!marker || !table || !column) return;
    suggester(marker.dataset.namesUrl, table, "table-suggestions", () => ({}));
    suggester(marker.dataset.namesUrl, column, "column-suggestions", () => ({ column: column.value }));
    // Another table, other columns: the old ones go until the column box asks again.
    table.addEventListener("input", () => {
      fill(datalist("column-suggestions"), []);
      chips(column, []);
    });
  });
})();
