// Nothing typed is lost: a form with data-draft="KEY" keeps its fields in this tab's sessionStorage as
// they are typed. When the page comes back with an error (the server refused the input), or the person
// left before sending, the fields are filled in again; after a successful send they are forgotten.
const errorShown = Boolean(document.querySelector(".flash-error, [role=alert]"));

for (const form of document.querySelectorAll("form[data-draft]")) {
  const key = `classlab-draft:${form.dataset.draft}`;
  const fields = () => [...form.elements].filter((el) => el.name && el.name !== "csrf_token"
    && !["hidden", "file", "submit", "button", "password"].includes(el.type));
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { saved = null; }
  if (saved && (!saved.sent || errorShown)) {
    for (const el of fields()) {
      if (!(el.name in saved.values)) continue;
      const value = saved.values[el.name];
      if (el.type === "checkbox" || el.type === "radio") el.checked = value.includes(el.value);
      else if (el.multiple) for (const o of el.options) o.selected = value.includes(o.value);
      else el.value = value;
    }
    if (saved.sent) form.scrollIntoView({ block: "center" });
  } else if (saved) {
    sessionStorage.removeItem(key); // sent, and the page shows no error: it was stored
  }
  const save = (sent) => {
    const values = {};
    for (const el of fields()) {
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name] = [...(values[el.name] || []), ...(el.checked ? [el.value] : [])];
      } else if (el.multiple) {
        values[el.name] = [...el.selectedOptions].map((o) => o.value);
      } else {
        values[el.name] = el.value;
      }
    }
    try { sessionStorage.setItem(key, JSON.stringify({ values, sent })); } catch (e) { /* storage full or off */ }
  };
  form.addEventListener("input", () => save(false));
  form.addEventListener("change", () => save(false));
  form.addEventListener("submit", () => save(true));
}
