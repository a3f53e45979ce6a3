// A searchable picker for framework tags: a filter box, the elements as checkboxes grouped by
// framework, and the chosen ones as removable chips. The native <select multiple> stays the form's
// field (hidden), so the page still works without JavaScript and the server sees the same input.
for (const select of document.querySelectorAll("select[data-tag-picker]")) {
  const picker = document.createElement("div");
  picker.className = "tag-picker";
  const chosen = document.createElement("ul");
  chosen.className = "tag-chips";
  chosen.setAttribute("aria-live", "polite");
  const search = document.createElement("input");
  search.type = "search";
  search.className = "tag-search";
  search.placeholder = select.dataset.searchLabel || "";
  search.setAttribute("aria-label", select.dataset.searchLabel || "");
  search.setAttribute("dir", "auto");
  const list = document.createElement("div");
  list.className = "tag-options";
  list.setAttribute("role", "group");
  const empty = document.createElement("p");
  empty.className = "muted";
  empty.hidden = true;
  empty.textContent = select.dataset.noneLabel || "";

  const boxes = [];
  for (const group of select.querySelectorAll("optgroup")) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = group.label;
    fieldset.append(legend);
    for (const option of group.querySelectorAll("option")) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = option.value;
      box.checked = option.selected;
      box.addEventListener("change", () => { option.selected = box.checked; draw(); });
      label.append(box, " ", option.textContent);
      label.dataset.text = `${group.label} ${option.textContent}`.toLocaleLowerCase();
      fieldset.append(label);
      boxes.push({ box, label, option, fieldset });
    }
    list.append(fieldset);
  }

  function draw() {
    chosen.replaceChildren();
    for (const { box, option } of boxes) {
      if (!box.checked) continue;
      const chip = document.createElement("li");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `${select.dataset.removeLabel || "Remove"}: ${option.textContent}`);
      remove.addEventListener("click", () => { box.checked = false; option.selected = false; draw(); });
      chip.append(option.textContent, " ", remove);
      chosen.append(chip);
    }
  }

  search.addEventListener("input", () => {
    const words = search.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const { label } of boxes) {
      const match = words.every((w) => label.dataset.text.includes(w));
      label.hidden = !match;
      shown += match;
    }
    for (const fieldset of list.querySelectorAll("fieldset")) {
      fieldset.hidden = ![...fieldset.querySelectorAll("label")].some((l) => !l.hidden);
    }
    empty.hidden = shown > 0;
  });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });

  // The form was reset (a comment was sent): untick everything.
  if (select.form) select.form.addEventListener("reset", () => setTimeout(() => {
    for (const { box, option } of boxes) box.checked = option.selected;
    draw();
  }));

  select.hidden = true;
  const label = select.id ? document.querySelector(`label[for="${select.id}"]`) : null;
  if (label) label.htmlFor = "";
  picker.append(chosen, search, list, empty);
  select.after(picker);
  draw();
}
