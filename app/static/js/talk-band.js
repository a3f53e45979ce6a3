// The band of lesson analytics (who talks when, questions, waits): each piece is placed from its data attributes,
// since the pages' Content-Security-Policy allows no inline style. Percentages of the lesson, left to right.
for (const piece of document.querySelectorAll(".talk-band [data-left]")) {
  piece.style.left = `${piece.dataset.left}%`;
  if (piece.dataset.width) piece.style.width = `${piece.dataset.width}%`;
}
