// On a phone the main navigation folds behind a Menu button; without JavaScript it simply wraps.
const nav = document.getElementById("mainnav");
const toggle = document.getElementById("menu-toggle");
if (nav && toggle) {
  document.documentElement.classList.add("js-menu");
  toggle.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav.classList.contains("open")) {
      nav.classList.remove("open");
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    }
  });
}
