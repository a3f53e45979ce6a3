// A clip plays only its own range: from `start` to `end` of the file it plays. That file is the
// lesson's rendition (offset 0) or the clip's own cut (offset = the clip's start in the lesson).
const box = document.getElementById("clip");
const player = document.getElementById("clip-player");
if (box && player) {
  const start = Number(box.dataset.start);
  const end = Number(box.dataset.end);
  for (const track of player.textTracks) if (track.kind === "captions") track.mode = "showing";
  player.addEventListener("loadedmetadata", () => { player.currentTime = start; });
  player.addEventListener("timeupdate", () => {
    if (player.currentTime >= end) { player.pause(); player.currentTime = end; }
  });
  player.addEventListener("play", () => {
    if (player.currentTime >= end - 0.05 || player.currentTime < start) player.currentTime = start;
  });
  for (const button of document.querySelectorAll("[data-seek]")) {
    button.addEventListener("click", () => {
      player.currentTime = Math.min(end, Math.max(start, Number(button.dataset.seek)));
      player.play();
    });
  }
}
