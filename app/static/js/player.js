// The watch page: captions on by default, a quality switch, a transcript that follows playback
// (click a line to seek, search within it) and live processing status.
const watch = document.getElementById("watch");
const player = document.getElementById("player");
const lines = Array.from(document.querySelectorAll("#lines li"));

if (player) {
  for (const track of player.textTracks) {
    if (track.kind === "captions") track.mode = "showing";
  }
  const start = Number(watch.dataset.start || 0);
  if (start > 0) {
    player.addEventListener("loadedmetadata", () => { player.currentTime = start; }, { once: true });
  }

  let current = null;
  player.addEventListener("timeupdate", () => {
    const t = player.currentTime;
    const line = lines.find((li) => t >= Number(li.dataset.start) && t < Number(li.dataset.end));
    if (line && line !== current) {
      if (current) current.classList.remove("current");
      line.classList.add("current");
      line.scrollIntoView({ block: "nearest" });
      current = line;
    }
  });

  // Playback links are signed and short-lived (MEDIA_URL_SECONDS; on S3 they are bearer links). When one has
  // expired mid-lesson the player fails to fetch the next range: ask the API for fresh links and go on from
  // the same moment. At most once a minute, so a lesson that truly cannot play does not loop.
  let renewedAt = 0;
  let lastTime = 0; // a failed load resets currentTime to 0: remember where the lesson was
  for (const name of ["timeupdate", "seeked", "pause"]) {
    player.addEventListener(name, () => { if (player.currentTime > 0) lastTime = player.currentTime; });
  }
  player.addEventListener("error", async (event) => {
    if (event.target !== player && event.target.tagName !== "SOURCE") return; // a caption track, not the media
    const err = player.error; // null when a <source> failed: that is a fetch that failed too
    if ((err && err.code === err.MEDIA_ERR_DECODE) || Date.now() - renewedAt < 60000) return;
    renewedAt = Date.now();
    const res = await fetch(watch.dataset.api, { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const fresh = await res.json();
    const url = (kind) => (fresh.assets.find((a) => a.kind === kind) || {}).url || "";
    const at = player.currentTime || lastTime;
    const playing = !player.paused || player.autoplay;
    if (player.dataset.full !== undefined) {
      player.dataset.full = url("web");
      player.dataset.low = url("low");
    }
    const q = document.getElementById("quality");
    const next = player.tagName === "AUDIO" ? url("audio")
      : (q && q.value === "low" ? player.dataset.low : player.dataset.full) || player.dataset.low;
    if (!next) return;
    player.src = next;
    player.addEventListener("loadedmetadata", () => {
      player.currentTime = at;
      if (playing) player.play().catch(() => {});
    }, { once: true });
  }, true);

  const quality = document.getElementById("quality");
  if (quality) {
    quality.addEventListener("change", () => {
      const src = quality.value === "low" ? player.dataset.low : player.dataset.full;
      const at = player.currentTime;
      const playing = !player.paused;
      player.src = src;
      player.addEventListener("loadedmetadata", () => {
        player.currentTime = at;
        if (playing) player.play();
      }, { once: true });
    });
  }
}

for (const li of lines) {
  const seek = () => {
    if (!player) return;
    player.currentTime = Number(li.dataset.start);
    player.play().catch(() => {});
  };
  li.addEventListener("click", seek);
  li.addEventListener("keydown", (e) => { if (e.key === "Enter") seek(); });
}

// Scrubbing with thumbnails: the storyboard's WebVTT cues point into one sprite image (#xywh=).
const scrubber = document.getElementById("scrubber");
if (player && scrubber) {
  const thumbs = [...player.textTracks].find((t) => t.kind === "metadata" && t.label === "thumbnails");
  if (thumbs) thumbs.mode = "hidden"; // load the cues without showing them
  const box = document.getElementById("scrub-thumb");
  const label = document.getElementById("scrub-time");
  const fill = document.getElementById("scrub-fill");
  const timeAt = (event) => {
    const r = scrubber.getBoundingClientRect();
    return Math.max(0, Math.min(1, (event.clientX - r.left) / r.width)) * (player.duration || 0);
  };
  const clock = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, "0")}`;
  scrubber.addEventListener("mousemove", (event) => {
    const t = timeAt(event);
    const cue = thumbs && thumbs.cues ? [...thumbs.cues].find((c) => t >= c.startTime && t < c.endTime) : null;
    label.textContent = clock(t);
    if (cue) {
      const [src, frag] = cue.text.trim().split("#xywh=");
      const [x, y, w, h] = frag.split(",").map(Number);
      box.style.backgroundImage = `url("${src}")`;
      box.style.backgroundPosition = `-${x}px -${y}px`;
      box.style.width = `${w}px`;
      box.style.height = `${h}px`;
      const r = scrubber.getBoundingClientRect();
      box.style.left = `${Math.max(0, Math.min(r.width - w, event.clientX - r.left - w / 2))}px`;
    }
    box.hidden = false;
  });
  scrubber.addEventListener("mouseleave", () => { box.hidden = true; });
  scrubber.addEventListener("click", (event) => { player.currentTime = timeAt(event); });
  scrubber.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight") player.currentTime += 5;
    if (event.key === "ArrowLeft") player.currentTime -= 5;
  });
  player.addEventListener("timeupdate", () => {
    fill.style.width = `${(player.currentTime / (player.duration || 1)) * 100}%`;
    scrubber.setAttribute("aria-valuenow", String(Math.round(player.currentTime)));
  });
}

const find = document.getElementById("transcript-search");
if (find) {
  find.addEventListener("input", () => {
    const q = find.value.trim().toLocaleLowerCase();
    for (const li of lines) {
      const hit = q && li.querySelector(".text").textContent.toLocaleLowerCase().includes(q);
      li.classList.toggle("hit", Boolean(hit));
      li.hidden = Boolean(q) && !hit;
    }
  });
}

// Feedback: a comment's time seeks the player; "Now" and the transcript's quote buttons fill the form.
const clock = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, "0")}`;
const bindSeek = (item) => {
  item.querySelector(".seek").addEventListener("click", (e) => {
    e.preventDefault();
    if (player) { player.currentTime = Number(item.dataset.start); player.play().catch(() => {}); }
  });
};
for (const item of document.querySelectorAll(".comment[data-start]")) bindSeek(item);
// The analytics band under the player: each turn, question and wait seeks to its moment (its link opens the
// moment in a new view only where there is no player).
for (const link of document.querySelectorAll("#lesson-analytics a[data-seek]")) {
  link.addEventListener("click", (e) => {
    if (!player) return;
    e.preventDefault();
    player.currentTime = Number(link.dataset.seek);
    player.play().catch(() => {});
  });
}
const duration = Number(document.getElementById("watch").dataset.duration || 0);
for (const marker of document.querySelectorAll(".marker[data-comment]")) {
  // Positioned from script: the page's Content-Security-Policy allows no inline style attributes.
  if (duration > 0) {
    const start = Number(marker.dataset.start);
    marker.style.left = `${(100 * start) / duration}%`;
    if (marker.dataset.end) marker.style.width = `${(100 * (Number(marker.dataset.end) - start)) / duration}%`;
  }
  marker.addEventListener("click", async (e) => {
    e.stopPropagation();
    const found = await showComment(marker.dataset.comment);
    if (found) found.scrollIntoView({ block: "center" });
  });
}
const nowButton = document.getElementById("comment-now");
if (nowButton && player) {
  nowButton.addEventListener("click", () => { document.getElementById("comment-start").value = clock(player.currentTime); });
  player.addEventListener("pause", () => { document.getElementById("comment-start").value = clock(player.currentTime); });
}
for (const button of document.querySelectorAll("#lines .quote")) {
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    const li = button.closest("li");
    const text = li.querySelector(".text").textContent.trim();
    document.getElementById("comment-quote").value = text;
    const preview = document.getElementById("quote-preview");
    preview.textContent = `“${text}”`;
    preview.hidden = false;
    document.getElementById("comment-start").value = clock(Number(li.dataset.start));
    document.getElementById("comment-end").value = clock(Number(li.dataset.end));
    document.getElementById("comment-body").focus();
  });
}

const del = document.getElementById("delete-form");
if (del) {
  del.addEventListener("submit", (e) => { if (!window.confirm(del.dataset.confirm)) e.preventDefault(); });
}

// While the video is processing, poll its status; reload when something new can be shown.
const settled = new Set(["ready", "failed"]);
if (!settled.has(watch.dataset.status)) {
  const playable = Number(watch.dataset.playable);
  const timer = setInterval(async () => {
    const res = await fetch(watch.dataset.api, { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const v = await res.json();
    const pct = Math.round((v.progress || 0) * 100);
    const bar = document.getElementById("step-progress");
    if (bar) { bar.value = pct; document.getElementById("step-percent").textContent = `${pct}%`; }
    // Each step counts from 0% again: say which step it is, so the bar never seems to go backwards.
    const label = document.getElementById("step-label");
    if (label && v.step && label.dataset.step !== v.step) {
      const order = label.dataset.order.split(" ");
      const names = JSON.parse(label.dataset.labels);
      const n = order.indexOf(v.step) + 1;
      label.dataset.step = v.step;
      label.textContent = (n ? `${label.dataset.of.replace("N", String(n))}: ` : "") + (names[v.step] || v.step);
    }
    const nowPlayable = v.assets.filter((a) => a.kind === "web" || a.kind === "low").length;
    if (settled.has(v.status) || nowPlayable > playable) {
      clearInterval(timer);
      window.location.reload();
    }
  }, 2000);
}

// Feedback past the first page: "More comments" fetches the next page from the comments API and adds it in the
// server's own markup (built here with text nodes only: comments are plain text, never HTML). Without script
// the link opens the next page of the watch page itself.
const list = document.getElementById("comments");
const more = document.getElementById("more-comments");
let nextPage = list ? Number(list.dataset.page) + 1 : 0;
let hasMore = Boolean(more);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function postForm(action, attrs, ...children) {
  const token = el("input", { type: "hidden", name: "csrf_token", value: list.dataset.csrf });
  return el("form", { method: "post", action, ...attrs }, token, ...children);
}

const byId = (pattern, id) => pattern.replace("/0/", `/${id}/`);
const when = (iso) => {
  try {
    // Israeli order whatever the language (en-IL: 4/12/2026), as the server writes dates (app.l10n).
    return new Intl.DateTimeFormat(`${list.dataset.lang}-IL`, { dateStyle: "short", timeStyle: "short", timeZone: list.dataset.tz })
      .format(new Date(iso));
  } catch (err) {
    return new Date(iso).toLocaleString();
  }
};
const tagTitles = (() => {
  const data = document.getElementById("tag-titles");
  return data ? JSON.parse(data.textContent) : {};
})();

function thread(c) {
  const t = list.dataset;
  const me = Number(t.me);
  const span = clock(c.start) + (c.end ? `–${clock(c.end)}` : "");
  const item = el("li", { class: "comment", id: `comment-${c.id}`, "data-start": String(c.start) },
    el("p", { class: "meta" }, el("a", { href: "#", class: "seek time", dir: "ltr" }, span), " ",
      el("strong", {}, el("bdi", {}, c.author)), " ", el("span", { class: "muted" }, el("bdi", {}, when(c.created_at)), c.edited_at ? ` · ${t.tEdited}` : "")));
  if (c.deleted) {
    item.append(el("p", { class: "muted" }, t.tDeleted));
  } else {
    if (c.quote) item.append(el("blockquote", { dir: "auto" }, c.quote));
    item.append(el("p", { class: "body", dir: "auto" }, c.body));
    for (const tag of c.tags) item.append(el("span", { class: "pill tag" }, tagTitles[`${tag.framework}:${tag.element}`] || tag.element));
  }
  const replies = el("ol", { class: "replies" });
  for (const r of c.replies.filter((x) => !x.deleted)) {
    const reply = el("li", { class: "reply", id: `comment-${r.id}` }, el("strong", {}, el("bdi", {}, r.author)), " ",
      el("span", { class: "body", dir: "auto" }, r.body));
    if (r.author_id === me) {
      reply.append(" ", postForm(byId(t.deleteUrl, r.id), { class: "inline" }, el("button", { type: "submit", class: "link" }, t.tDelete)));
    }
    replies.append(reply);
  }
  item.append(replies);
  if (t.replyTo) {
    item.append(postForm(t.replyTo, { class: "reply-form" },
      el("input", { type: "hidden", name: "parent_id", value: String(c.id) }),
      el("label", { class: "visually-hidden", for: `reply-${c.id}` }, t.tReply),
      el("input", { type: "text", id: `reply-${c.id}`, name: "body", maxlength: "5000", placeholder: t.tReply, required: "", dir: "auto" }),
      " ", el("button", { type: "submit" }, t.tReply)));
  }
  if (c.author_id === me && !c.deleted) {
    const text = el("textarea", { name: "body", rows: "2", maxlength: "5000", dir: "auto" });
    text.value = c.body;
    item.append(el("details", {}, el("summary", {}, t.tEdit),
      postForm(byId(t.editUrl, c.id), {}, text, el("button", { type: "submit" }, t.tSave)),
      postForm(byId(t.deleteUrl, c.id), {}, el("button", { type: "submit", class: "danger" }, t.tDelete))));
  }
  bindSeek(item);
  return item;
}

async function loadMore() {
  if (!hasMore) return false;
  const url = `${list.dataset.api}?page=${nextPage}&limit=${list.dataset.limit}`;
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  if (!res.ok) return false;
  const threads = await res.json();
  for (const c of threads) {
    if (!document.getElementById(`comment-${c.id}`)) list.append(thread(c)); // a comment added meanwhile shifts pages
  }
  hasMore = /rel="next"/.test(res.headers.get("Link") || "");
  nextPage += 1;
  if (!hasMore && more) more.remove();
  return true;
}

// A comment that is not on the page yet (a marker, a link to #comment-N): load pages until it is there.
async function showComment(id) {
  let found = document.getElementById(`comment-${id}`);
  while (!found && hasMore && list && await loadMore()) found = document.getElementById(`comment-${id}`);
  return found;
}

if (list && more) {
  more.querySelector("a").addEventListener("click", (e) => {
    e.preventDefault();
    loadMore();
  });
}
const wanted = /^#comment-(\d+)$/.exec(window.location.hash);
if (list && wanted && !document.getElementById(`comment-${wanted[1]}`)) {
  showComment(wanted[1]).then((found) => { if (found) found.scrollIntoView({ block: "center" }); });
}
