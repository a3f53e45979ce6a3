// A clip plays only its own range of the lesson: start at `start`, stop at `end`, replay from `start`.
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
}
