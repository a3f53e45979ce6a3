// A drop zone around a file input: a file dropped on it is handed over exactly as one picked in the chooser.
// `choose(files, transfer)` gets the files (and, for a drop, the DataTransfer holding them).
export function dropZone(zone, input, choose) {
  let depth = 0; // dragenter and dragleave fire again for every child of the zone the pointer crosses
  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  const leave = () => { depth = 0; zone.classList.remove("over"); };

  zone.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("over");
  });
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // without this the browser refuses the drop
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => { depth -= 1; if (depth <= 0) leave(); });
  zone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    leave();
    choose(Array.from(event.dataTransfer.files), event.dataTransfer);
  });
  input.addEventListener("change", () => choose(Array.from(input.files), null));

  // A file dropped beside the zone would make the browser open it and leave the page, and the typed title with it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (!carriesFiles(event) || zone.contains(event.target)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "none";
    });
  }
}
