// A rehearsal's pages: the optional thinking timer, and on the record page the recorder, which streams the
// attempt through the same tus upload as lessons while the teacher speaks (recorder.js), and opens the attempt
// once the last chunk is in.
import { TusRecorder } from "./recorder.js";

const thinkButton = document.getElementById("think-start");
if (thinkButton) {
  const left = document.getElementById("think-left");
  let timer = null;
  thinkButton.addEventListener("click", () => {
    clearInterval(timer);
    let seconds = Number(thinkButton.dataset.seconds) || 60;
    const show = () => { left.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`; };
    show();
    timer = setInterval(() => {
      seconds -= 1;
      show();
      if (seconds <= 0) { clearInterval(timer); left.textContent = "0:00 ✓"; }
    }, 1000);
  });
}

const box = document.getElementById("recorder");
if (box) {
  const msgs = document.getElementById("messages").dataset;
  const startButton = document.getElementById("record-start");
  const stopButton = document.getElementById("record-stop");
  const clock = document.getElementById("record-time");
  const status = document.getElementById("record-status");
  const error = document.getElementById("record-error");
  const preview = document.getElementById("preview");
  const csrf = document.getElementById("csrf").value;
  const maxSeconds = Number(box.dataset.maxSeconds) || 180;

  const say = (text) => { status.textContent = text; };
  const fail = (text) => { error.textContent = text; error.hidden = false; };
  const tick = (seconds) => {
    const s = Math.floor(seconds);
    clock.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} / ` +
      `${Math.floor(maxSeconds / 60)}:${String(maxSeconds % 60).padStart(2, "0")}`;
  };
  tick(0);

  const recorder = new TusRecorder({
    createUrl: box.dataset.createUrl,
    headers: { "X-CSRFToken": csrf },
    metadata: { filename: `${box.dataset.filename}.webm`, title: box.dataset.title },
    video: box.dataset.media === "camera",
    maxSeconds,
    chunkSeconds: 1,
    // The upload becomes this attempt's before its first byte, so the pipeline treats it as a rehearsal.
    onCreated: async ({ videoId }) => {
      const body = new FormData();
      body.append("video", videoId);
      body.append("csrf_token", csrf);
      const answer = await fetch(box.dataset.attachUrl, { method: "POST", body, headers: { Accept: "application/json" } });
      if (!answer.ok) throw new Error(`attach ${answer.status}`);
    },
    onStream: (stream) => { if (preview) preview.srcObject = stream; },
    onState: (state) => {
      tick(state.seconds || 0);
      if (state.phase === "recording") say(state.online === false ? msgs.offline : msgs.recording);
      if (state.phase === "resumed") say(msgs.resumed);
      if (state.phase === "finishing") say(msgs.finishing);
    },
    onLimit: () => say(msgs.limit),
    onDone: () => {
      say(msgs.done);
      box.dataset.done = "1";
      if (preview) preview.srcObject = null;
      window.location.assign(box.dataset.attemptUrl);
    },
    onError: (kind) => {
      const text = { "no-audio": msgs.noAudio, "no-camera": msgs.noCamera, denied: msgs.denied,
        unsupported: msgs.unsupported }[kind] || msgs.failed;
      fail(text);
      if (kind !== "failed") { // nothing was recorded: start again
        startButton.disabled = false;
        stopButton.disabled = true;
      } else {
        stopButton.disabled = false;
      }
    },
  });

  startButton.addEventListener("click", async () => {
    error.hidden = true;
    startButton.disabled = true;
    stopButton.disabled = false;
    await recorder.start();
  });
  stopButton.addEventListener("click", () => {
    stopButton.disabled = true;
    recorder.stop();
  });
  window.addEventListener("beforeunload", (event) => {
    if (recorder.busy && !box.dataset.done) { event.preventDefault(); event.returnValue = ""; }
  });
}
