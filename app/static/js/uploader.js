// Resumable upload with tus-js-client: chunks survive dropped Wi-Fi, and choosing the same file again
// resumes it (tus-js-client remembers the upload URL by the file's fingerprint in localStorage).
const form = document.getElementById("upload-form");
const msgs = document.getElementById("messages").dataset;
const status = document.getElementById("upload-status");
const bar = document.getElementById("upload-progress");
const percent = document.getElementById("upload-percent");
const message = document.getElementById("upload-message");
const pauseButton = document.getElementById("pause");
let upload = null;
let videoId = null;

function say(text, isError = false) {
  message.textContent = text;
  message.className = isError ? "flash flash-error" : "";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = document.getElementById("file").files[0];
  if (!file) return say(msgs.noFile, true);
  if (file.size > Number(form.dataset.maxBytes)) { status.hidden = false; return say(msgs.tooLarge, true); }
  status.hidden = false;
  say("");
  if (upload) { upload.start(); pauseButton.hidden = false; return; }
  upload = new tus.Upload(file, {
    endpoint: form.dataset.endpoint,
    chunkSize: 50 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
    metadata: { filename: file.name, filetype: file.type, title: document.getElementById("title").value },
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
    },
    onSuccess() {
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
  pauseButton.hidden = true;
  say(msgs.paused);
});
