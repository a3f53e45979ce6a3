// The "Your data" page: while an archive is being prepared, ask for its status every few seconds and
// reload the page (which then shows the download link or the reason it failed) once it has finished.
const rows = [...document.querySelectorAll("tr[data-poll]")];
const POLL_MS = 3000;

async function finished(row) {
  try {
    const response = await fetch(row.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return false;
    const body = await response.json();
    return body.status !== "pending" && body.status !== "running";
  } catch {
    return false; // offline for a moment: try again on the next tick
  }
}

if (rows.length) {
  const timer = setInterval(async () => {
    for (const row of rows) {
      if (await finished(row)) {
        clearInterval(timer);
        window.location.reload();
        return;
      }
    }
  }, POLL_MS);
}
