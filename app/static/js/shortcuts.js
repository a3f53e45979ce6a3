// Keyboard shortcuts and playback speed on the watch page (the list is shown with "?"):
//   Space / K  play or pause        J / L  back / forward 10 seconds
//   C          comment at the current moment (pauses and moves to the comment box)
//   , / .      slower / faster      ?      show or hide this list
// Keys typed into a field are the field's, never a shortcut.
const player = document.getElementById("player");
const help = document.getElementById("shortcuts-help");
const speed = document.getElementById("speed");
const STEP = 10;
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable], button, dialog form");
}

function setSpeed(rate) {
  if (!player) return;
  player.playbackRate = rate;
  if (speed) speed.value = String(rate);
}

if (speed && player) {
  speed.addEventListener("change", () => setSpeed(Number(speed.value)));
}

let following = false;

function commentHere() {
  const start = document.getElementById("comment-start");
  const body = document.getElementById("comment-body");
  if (!player || !start || !body) return;
  player.pause();
  start.value = clock(player.currentTime);
  following = true; // our own event: the time still follows the playhead until the coach types one
  start.dispatchEvent(new Event("input", { bubbles: true }));
  following = false;
  body.scrollIntoView({ block: "center" });
  body.focus();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  const key = event.key;
  if (key === "?") {
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
    event.preventDefault();
    return;
  }
  if (!player) return;
  const handled = {
    " ": () => (player.paused ? player.play().catch(() => {}) : player.pause()),
    k: () => (player.paused ? player.play().catch(() => {}) : player.pause()),
    j: () => { player.currentTime = Math.max(0, player.currentTime - STEP); },
    l: () => { player.currentTime = Math.min(player.duration || Infinity, player.currentTime + STEP); },
    c: commentHere,
    ",": () => setSpeed(SPEEDS[Math.max(0, SPEEDS.indexOf(player.playbackRate) - 1)] || 1),
    ".": () => setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, SPEEDS.indexOf(player.playbackRate) + 1)] || 1),
  }[key.length === 1 ? key.toLowerCase() : key];
  if (handled) {
    handled();
    event.preventDefault();
  }
});

// The comment box follows the playhead: while the coach has not typed a time of their own, "At" shows
// the moment the video is at, so a comment lands where it was thought of.
const start = document.getElementById("comment-start");
if (player && start) {
  let typed = start.value && start.value !== "0:00";
  start.addEventListener("input", () => { if (!following) typed = true; });
  player.addEventListener("timeupdate", () => {
    if (!typed && document.activeElement !== start) start.value = clock(player.currentTime);
  });
  const form = document.getElementById("comment-form");
  if (form) form.addEventListener("reset", () => { typed = false; });
}

for (const button of document.querySelectorAll("[data-show-shortcuts]")) {
  button.addEventListener("click", () => help && help.showModal());
}
