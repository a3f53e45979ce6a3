// A recording made in the browser and uploaded while it is made. MediaRecorder hands over a blob every
// `chunkSeconds`; each goes up at once through the lessons' tus 1.0 upload, created with
// `Upload-Defer-Length: 1` (tus creation-defer-length: the length is sent with the last PATCH, once "stop" has
// made it known). A dropped connection loses nothing: the bytes the server has not acknowledged stay in memory,
// and when the network is back (the window's `online` event, or the next retry of a backoff) a HEAD asks the
// server where it stands and the upload goes on from there. So the upload is complete right after "stop".
//
//   const recorder = new TusRecorder({ createUrl: "/api/v1/uploads/", csrfToken, video: true, maxSeconds: 180,
//     metadata: { filename: "attempt-1.webm", title: "…" }, onState, onDone: ({ videoId }) => …, onError });
//   await recorder.start();   …   recorder.stop();
//
// Callbacks (all optional):
//   onState(state)            { phase, online, seconds, recordedBytes, uploadedBytes, mimeType }; phase is
//                             "recording", "resumed" (once, when the connection came back), "finishing" (after
//                             stop, the last bytes going up), "done" or "failed"; online false: waiting for the
//                             network (still recording, nothing is lost).
//   onStream(stream)          the camera/microphone stream, for a preview.
//   onCreated({ videoId, url }) awaited after the upload is created and before its first byte is sent.
//   onLimit()                 maxSeconds reached: the recording stops by itself.
//   onDone({ videoId, url })  every byte is stored; the server has started processing.
//   onError(kind, detail)     kind: "unsupported", "denied", "no-audio", "no-camera" (nothing recorded, start
//                             again), or "failed" (the upload was refused: the recording is kept in memory, and
//                             stop() tries again).

const TUS = { "Tus-Resumable": "1.0.0" };
// The first one MediaRecorder.isTypeSupported accepts. An MP4 with H.264/AAC is what the pipeline merely copies;
// Chrome's own build records it, Debian's Chromium (no AAC encoder) and Firefox record WebM with VP8 and Opus.
export const VIDEO_TYPES = ["video/mp4;codecs=avc1,mp4a.40.2", "video/mp4;codecs=avc1.42E01E,mp4a.40.2",
  "video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"];
export const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/mp4;codecs=mp4a.40.2", "audio/mp4", "audio/webm"];
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000]; // then every 15 s, for as long as it takes
const MOST_PER_PATCH = 8 * 1024 * 1024; // after a long time offline, what is kept goes up in pieces this size
const GIVE_UP_AFTER = 6; // refusals in a row that a retry might cure (409, 423, 429) before it is an error

export function pickMimeType(preferences) {
  const recorder = window.MediaRecorder;
  if (!recorder || typeof recorder.isTypeSupported !== "function") return "";
  return preferences.find((type) => recorder.isTypeSupported(type)) || "";
}

function base64(text) { // a tus metadata value: base64 of its UTF-8 bytes
  let binary = "";
  for (const byte of new TextEncoder().encode(String(text))) binary += String.fromCharCode(byte);
  return btoa(binary);
}

class Refused extends Error { // an answer that is not 2xx; `retry`: another try may succeed
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.retry = status >= 500 || status === 409 || status === 423 || status === 429;
  }
}

async function refusal(resp) {
  let detail = "";
  try { detail = (await resp.json()).detail || ""; } catch (e) { /* not problem+json */ }
  return new Refused(resp.status, detail);
}

export class TusRecorder {
  constructor(options) {
    this.o = { chunkSeconds: 1, maxSeconds: 0, video: true, metadata: {}, headers: {}, ...options };
    this.headers = { ...TUS, ...this.o.headers };
    if (this.o.csrfToken) this.headers["X-CSRFToken"] = this.o.csrfToken;
    this.blobs = []; // recorded bytes not yet acknowledged by the server, in order, starting at byte `base`
    this.base = 0; // the server's Upload-Offset as last heard
    this.recorded = 0; // bytes MediaRecorder has handed over
    this.length = null; // known once the recorder has stopped
    this.url = null;
    this.videoId = null;
    this.announced = false; // onCreated has run
    this.lengthSent = false; // the server knows the length
    this.stale = false; // after an error: HEAD before the next PATCH
    this.online = true;
    this.phase = "idle";
    this.attempt = 0;
    this.busy = false; // from start() until every byte is stored (a page may warn before it is left)
    this.onOnline = () => { clearTimeout(this.retryTimer); this.pump(); };
    this.onOffline = () => this.setOnline(false);
  }

  get state() {
    const seconds = this.startedAt ? ((this.stoppedAt || performance.now()) - this.startedAt) / 1000 : 0;
    return { phase: this.phase, online: this.online, seconds, recordedBytes: this.recorded,
      uploadedBytes: this.base, mimeType: this.mimeType || "" };
  }

  emit(phase = this.phase) {
    this.phase = phase;
    this.o.onState?.(this.state);
  }

  setOnline(online) {
    if (online === this.online) return;
    this.online = online;
    const phase = this.phase;
    if (phase !== "recording" && phase !== "finishing") return;
    if (online) { this.emit("resumed"); this.phase = phase; } // "Connected again", then the phase goes on
    this.emit();
  }

  async start() {
    if (this.busy) return;
    const video = !!this.o.video;
    if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder) return this.o.onError?.("unsupported");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        // 360p at 24 frames a second: a face and a voice, small enough to stream on school Wi-Fi and for the
        // worker to make playable within seconds of "stop".
        audio: true,
        video: video ? { width: { ideal: 640, max: 1280 }, height: { ideal: 360, max: 720 },
          frameRate: { ideal: 24, max: 30 } } : false });
    } catch (err) {
      if (err.name === "NotAllowedError" || err.name === "SecurityError") {
        return this.o.onError?.("denied", err.message);
      }
      // Nothing found: tell a missing camera from a missing microphone.
      const micOnly = video && await navigator.mediaDevices.getUserMedia({ audio: true })
        .then((s) => { s.getTracks().forEach((t) => t.stop()); return true; }, () => false);
      return this.o.onError?.(micOnly ? "no-camera" : "no-audio", err.message);
    }
    if (!stream.getAudioTracks().length) { // a rehearsal is listened to: no sound, no recording
      stream.getTracks().forEach((t) => t.stop());
      return this.o.onError?.("no-audio");
    }
    this.mimeType = pickMimeType(this.o.mimeTypes || (video ? VIDEO_TYPES : AUDIO_TYPES));
    try {
      this.recorder = new MediaRecorder(stream, { ...(this.mimeType ? { mimeType: this.mimeType } : {}),
        videoBitsPerSecond: this.o.videoBitsPerSecond || 1200000,
        audioBitsPerSecond: this.o.audioBitsPerSecond || 96000 });
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      return this.o.onError?.("unsupported", err.message);
    }
    this.stream = stream;
    this.o.onStream?.(stream);
    this.busy = true;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) {
        this.blobs.push(event.data);
        this.recorded += event.data.size;
      }
      if (this.phase === "recording") this.emit(); // once a chunk: the page's clock moves on
      this.pump();
    });
    this.recorder.addEventListener("stop", () => {
      // The last dataavailable came first: every byte is known, so is the length.
      this.stoppedAt = performance.now();
      clearTimeout(this.limitTimer);
      this.stream.getTracks().forEach((t) => t.stop());
      this.length = this.recorded;
      if (this.phase !== "failed") this.emit("finishing");
      this.pump();
    });
    this.recorder.addEventListener("error", (event) => this.fail(event.error?.message || "MediaRecorder error"));
    this.recorder.addEventListener("start", () => {
      this.startedAt = performance.now();
      if (this.o.maxSeconds > 0) {
        this.limitTimer = setTimeout(() => { this.o.onLimit?.(); this.stop(); }, this.o.maxSeconds * 1000);
      }
    });
    // The recorder starts now; the upload is created meanwhile (chunks wait in memory until it is).
    this.recorder.start(Math.max(100, this.o.chunkSeconds * 1000));
    this.emit("recording");
    this.pump();
  }

  // Stop recording; the rest goes up with the length. After a failure, calling it again retries the upload.
  stop() {
    if (!this.busy) return;
    if (this.phase === "failed") {
      this.phase = this.length === null ? "recording" : "finishing";
      this.attempt = 0;
      this.stale = !!this.url;
    }
    if (this.recorder.state !== "inactive") this.recorder.stop(); // its stop event sends the rest
    else { this.emit("finishing"); this.pump(); }
  }

  // The one loop that talks to the server: never two requests at once, so offsets follow each other.
  async pump() {
    if (this.pumping || !this.busy || this.phase === "failed" || this.phase === "done") return;
    this.pumping = true;
    clearTimeout(this.retryTimer);
    try {
      if (!this.url) await this.create();
      if (!this.announced) {
        await this.o.onCreated?.({ videoId: this.videoId, url: this.url });
        this.announced = true;
      }
      if (this.stale) await this.head();
      while (this.phase !== "done") {
        const pending = this.recorded - this.base;
        if (pending === 0 && (this.length === null || this.lengthSent)) break; // the rest is not recorded yet
        if (this.length === 0) throw new Refused(400, "Nothing was recorded.");
        await this.patch();
      }
    } catch (err) {
      this.retryLater(err);
    } finally {
      this.pumping = false;
    }
  }

  async create() {
    const type = this.recorder.mimeType || this.mimeType || ""; // what the browser actually records
    const meta = { ...this.o.metadata, filetype: type };
    if (meta.filename && type) { // the file name's extension follows
      const ext = type.startsWith("audio/mp4") ? "m4a" : type.split(/[/;]/)[1];
      meta.filename = meta.filename.replace(/(\.[^.]*)?$/, `.${ext}`);
    }
    const resp = await this.request(this.o.createUrl || "/api/v1/uploads/", { method: "POST", headers: {
      ...this.headers, "Upload-Defer-Length": "1",
      "Upload-Metadata": Object.entries(meta).map(([k, v]) => `${k} ${base64(v)}`).join(",") } });
    if (resp.status !== 201) throw await refusal(resp);
    this.url = new URL(resp.headers.get("Location"), window.location.href).href;
    this.videoId = resp.headers.get("ClassLab-Video-Id");
  }

  // Where the server stands: what it kept of a chunk whose connection dropped, and whether it has the length.
  async head() {
    const resp = await this.request(this.url, { method: "HEAD", headers: this.headers });
    if (!resp.ok) throw new Refused(resp.status, resp.status === 410 ? "The upload expired." : "");
    this.lengthSent = resp.headers.has("Upload-Length");
    this.advance(Number(resp.headers.get("Upload-Offset")));
    this.stale = false;
  }

  async patch() {
    const body = new Blob(this.blobs).slice(0, MOST_PER_PATCH);
    const headers = { ...this.headers, "Upload-Offset": String(this.base),
      "Content-Type": "application/offset+octet-stream" };
    if (this.length !== null && !this.lengthSent) headers["Upload-Length"] = String(this.length);
    // A stalled connection (Wi-Fi gone without a word) is given up after a while, then resumed.
    const resp = await this.request(this.url, { method: "PATCH", headers, body }, 20000 + body.size / 25);
    if (resp.status !== 204) throw await refusal(resp);
    if (resp.headers.has("Upload-Length")) this.lengthSent = true;
    this.advance(Number(resp.headers.get("Upload-Offset")));
  }

  async request(url, init, timeoutMs = 20000) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const resp = await fetch(url, { ...init, credentials: "same-origin", cache: "no-store",
        signal: abort.signal });
      this.setOnline(true); // an answer, whatever it says: the network is there
      return resp;
    } finally {
      clearTimeout(timer);
    }
  }

  // The server has every byte before `offset`: forget them (a Blob slice, no copy) and finish at the end.
  advance(offset) {
    if (!Number.isFinite(offset) || offset < this.base || offset > this.recorded) {
      throw new Refused(400, `The server is at byte ${offset}, which this recording cannot continue from.`);
    }
    const kept = new Blob(this.blobs);
    this.blobs = offset - this.base < kept.size ? [kept.slice(offset - this.base)] : [];
    this.base = offset;
    this.attempt = 0;
    if (this.length !== null && offset === this.length && this.lengthSent) {
      this.busy = false;
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
      this.emit("done");
      this.o.onDone?.({ videoId: this.videoId, url: this.url });
    } else if (this.phase === "recording" || this.phase === "finishing") {
      this.emit();
    }
  }

  retryLater(err) {
    const network = err instanceof TypeError || err.name === "AbortError"; // fetch failed, or timed out
    if (network) this.setOnline(false);
    else if (!(err instanceof Refused) || !err.retry || this.attempt >= GIVE_UP_AFTER) return this.fail(err.message);
    this.stale = !!this.url; // a chunk may have half arrived, or another try already got through
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.pump(), delay);
  }

  // The upload was refused: say so; what was recorded stays in memory (and recording goes on) until stop().
  fail(detail) {
    clearTimeout(this.retryTimer);
    this.emit("failed");
    this.o.onError?.("failed", detail);
  }
}
