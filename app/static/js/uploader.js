// Resumable upload with tus-js-client: chunks survive dropped Wi-Fi, and choosing the same file again
// resumes it (tus-js-client remembers the upload URL by the file's fingerprint in localStorage). The file comes
// from the chooser or is dropped on the zone around it; either way the same upload starts when Upload is pressed.
import { dropZone } from "./dropzone.js";

const form = document.getElementById("upload-form");
const msgs = document.getElementById("messages").dataset;
const status = document.getElementById("upload-status");
const bar = document.getElementById("upload-progress");
const percent = document.getElementById("upload-percent");
const message = document.getElementById("upload-message");
const pauseButton = document.getElementById("pause");
const input = document.getElementById("file");
const title = document.getElementById("title");
const chosen = document.getElementById("file-chosen");
// What `accept` lets the chooser offer, for a dropped file (whose type the browser may not know, e.g. .mkv).
const MEDIA_NAME = /\.(mp4|m4v|mov|webm|mkv|avi|3gp|mts|m4a|mp3|wav|ogg|oga|opus|aac|flac)$/i;
const megabytes = new Intl.NumberFormat(document.documentElement.lang || undefined,
  { style: "unit", unit: "megabyte", maximumFractionDigits: 1 });
let upload = null;
let videoId = null;
let file = null;
let running = false;

function say(text, isError = false) {
  message.textContent = text;
  message.className = isError ? "flash flash-error" : "";
}

function note(text, isError = false) {
  chosen.textContent = text;
  chosen.classList.toggle("field-error", isError);
}

function isolated(text) {
  const el = document.createElement("bdi"); // a Latin file name or "0.5 MB" keeps its order in a Hebrew line
  el.textContent = text;
  return el;
}

function setRunning(value) {
  running = value;
  input.disabled = value; // no chooser while a file is on its way
}

function choose(files, transfer) {
  if (running) return note(msgs.busy, true);
  if (!files.length) { file = null; return note(""); }
  if (files.length > 1) return note(msgs.oneFile, true);
  const picked = files[0];
  if (!/^(video|audio)\//.test(picked.type) && !MEDIA_NAME.test(picked.name)) return note(msgs.notMedia, true);
  if (picked.size > Number(form.dataset.maxBytes)) return note(msgs.tooLarge, true);
  if (transfer) input.files = transfer.files; // the input now holds the dropped file, as if it had been chosen
  file = picked;
  upload = null; // a paused upload of another file is not continued with this one (the same file still resumes)
  // A title the teacher typed stays; one filled in from a file name follows the file, so it can be read first.
  if (!title.value.trim() || title.value === title.dataset.fromFile) {
    title.value = picked.name.replace(/\.[^.]*$/, "").trim() || picked.name;
    title.dataset.fromFile = title.value;
  }
  note("");
  chosen.append(isolated(picked.name), " · ", isolated(megabytes.format(picked.size / 1e6)));
}

dropZone(document.getElementById("dropzone"), input, choose);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!file) return say(msgs.noFile, true);
  if (file.size > Number(form.dataset.maxBytes)) { status.hidden = false; return say(msgs.tooLarge, true); }
  status.hidden = false;
  say("");
  setRunning(true);
  if (upload) { upload.start(); pauseButton.hidden = false; return; }
  upload = new tus.Upload(file, {
    endpoint: form.dataset.endpoint,
    chunkSize: 50 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
    metadata: { filename: file.name, filetype: file.type, title: document.getElementById("title").value,
      language: document.getElementById("lesson-language").value },
    headers: { "X-CSRFToken": document.getElementById("csrf").value },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onAfterResponse(req, res) {
      const id = res.getHeader("ClassLab-Video-Id");
      if (id) videoId = id;
    },
    onShouldRetry(err, attempt, options) {
      const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
      if (code >= 400 && code < 500 && code !== 409 && code !== 423) return false;
      say(msgs.retrying);
      return true;
    },
    onProgress(sent, total) {
      const p = Math.floor((sent / total) * 100);
      bar.value = p;
      percent.textContent = `${p}%`;
    },
    onError(err) {
      let detail = err.message;
      try { detail = JSON.parse(err.originalResponse.getBody()).detail || detail; } catch (e) { /* not JSON */ }
      say(`${msgs.failed} ${detail}`, true);
      pauseButton.hidden = true;
      upload = null;
      setRunning(false);
    },
    onSuccess() {
      setRunning(false);
      say(msgs.done);
      bar.value = 100;
      percent.textContent = "100%";
      if (videoId) window.location.assign(form.dataset.watch.replace("VIDEO_ID", videoId));
    },
  });
  upload.findPreviousUploads().then((previous) => {
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    upload.start();
    pauseButton.hidden = false;
  });
});

pauseButton.addEventListener("click", () => {
  if (upload) upload.abort();
  setRunning(false);
  pauseButton.hidden = true;
  say(msgs.paused);
});
