// A meeting's live view: asks for the meeting's state every second with the ETag it has (most answers are
// 304 Not Modified), and on a change follows the facilitator to the current step and shows new responses,
// without reloading. A response is sent without leaving the page, so a clip keeps playing.
const root = document.getElementById("meeting");

function label(name) {
  return root.dataset["label" + name[0].toUpperCase() + name.slice(1)] || "";
}

function clock(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function playerOf(step) {
  return step ? step.querySelector("video.step-player") : null;
}

// A clip may be played from the whole lesson's rendition: its 0 lies at data-offset in the lesson, the clip
// from data-start to data-end. Moments are counted from the clip's start.
function seek(player, seconds) {
  const offset = parseFloat(player.dataset.offset || "0");
  const start = parseFloat(player.dataset.start || "0");
  player.currentTime = Math.max(0, start - offset + seconds);
  player.play().catch(() => {});
}

function momentOf(player) {
  const offset = parseFloat(player.dataset.offset || "0");
  const start = parseFloat(player.dataset.start || "0");
  return Math.max(0, player.currentTime + offset - start);
}

function responseItem(r, runs, csrf, meetingUrl) {
  const li = document.createElement("li");
  li.id = `response-${r.id}`;
  li.className = "response" + (r.highlighted ? " highlighted" : "");
  li.dataset.id = r.id;
  const author = document.createElement("bdi");
  author.className = "author";
  author.textContent = r.author;
  li.append(author);
  if (r.seconds !== null && r.seconds !== undefined) {
    const moment = document.createElement("button");
    moment.type = "button";
    moment.className = "link moment";
    moment.dataset.seconds = r.seconds;
    moment.textContent = clock(r.seconds);
    moment.title = label("moment");
    li.append(" ", moment);
  }
  li.append(": ");
  const text = document.createElement("span");
  text.className = "text";
  text.dir = "auto";
  text.textContent = r.text;
  li.append(text);
  if (r.held && String(r.author_id) === root.dataset.me && !runs) {
    const note = document.createElement("span");
    note.className = "muted";
    note.textContent = ` (${label("yours")})`;
    li.append(note);
  }
  if (r.highlighted) {
    const star = document.createElement("span");
    star.className = "star";
    star.title = label("highlighted");
    star.textContent = " ★";
    li.append(star);
  }
  if (runs && csrf) {
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline highlight-form";
    form.action = `${meetingUrl}/responses/${r.id}/highlight`;
    form.innerHTML = '<input type="hidden" name="csrf_token"><input type="hidden" name="on"><button type="submit" class="link"></button>';
    form.elements.csrf_token.value = csrf;
    form.elements.on.value = r.highlighted ? "0" : "1";
    form.querySelector("button").textContent = r.highlighted ? label("unhighlight") : label("highlight");
    li.append(" ", form);
  }
  return li;
}

if (root) {
  const url = root.dataset.liveUrl;
  const every = parseInt(root.dataset.pollMs || "1000", 10);
  const runs = root.dataset.runs === "1";
  const meetingUrl = url.replace(/\/live$/, "");
  const csrfInput = document.querySelector('input[name="csrf_token"]');
  const csrf = csrfInput ? csrfInput.value : "";
  let status = root.dataset.status;
  let etag = null;
  let current = null;
  let stopped = false;
  let timer = null;
  let leaving = false;

  function render(state) {
    if (leaving) return;  // a form of the page is taking it elsewhere (starting or ending the meeting)
    if (state.status !== status) {
      leaving = true;
      window.location.reload();  // started or closed: the page itself changes
      return;
    }
    const steps = document.querySelectorAll("li.step");
    if (state.status === "live" && state.current !== current) {
      steps.forEach((li) => {
        const on = parseInt(li.dataset.position, 10) === state.current;
        li.classList.toggle("current", on);
        if (on) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
        if (on && current !== null && !runs) li.scrollIntoView({ behavior: "smooth", block: "start" });
      });
      const stepLabel = document.getElementById("live-step-label");
      if (stepLabel) stepLabel.textContent = stepLabel.textContent.replace(/\d+/, String(state.current + 1));
      document.querySelectorAll("#prev-form input[name=position]").forEach((i) => { i.value = Math.max(0, state.current - 1); });
      document.querySelectorAll("#next-form input[name=position]").forEach((i) => { i.value = Math.min(steps.length - 1, state.current + 1); });
      const prev = document.getElementById("prev-step");
      const next = document.getElementById("next-step");
      if (prev) prev.disabled = state.current === 0;
      if (next) next.disabled = state.current + 1 >= steps.length;
      current = state.current;
    }
    const byStep = new Map();
    state.responses.forEach((r) => {
      if (!byStep.has(r.step)) byStep.set(r.step, []);
      byStep.get(r.step).push(r);
    });
    steps.forEach((li) => {
      const id = parseInt(li.dataset.stepId, 10);
      const list = document.getElementById(`responses-${id}`);
      if (!list) return;
      const items = (byStep.get(id) || []).map((r) => responseItem(r, runs, csrf, meetingUrl));
      list.replaceChildren(...items);
      const waiting = document.getElementById(`waiting-${id}`);
      const count = (state.waiting || {})[String(id)] || 0;
      if (waiting) {
        waiting.hidden = count === 0;
        waiting.textContent = count ? `${label("waiting")} ${count}` : "";
      }
    });
    const present = document.getElementById("present-count");
    if (present && state.present) present.textContent = `${label("present")} ${state.present.length}`;
  }

  async function poll() {
    if (stopped) return;
    try {
      const headers = { Accept: "application/json" };
      if (etag) headers["If-None-Match"] = etag;
      const resp = await fetch(url, { headers, cache: "no-store", credentials: "same-origin" });
      if (resp.status === 404 || resp.status === 401) {
        stopped = true;
        const gone = document.createElement("p");
        gone.className = "flash error";
        gone.id = "meeting-gone";
        gone.textContent = label("gone");
        root.prepend(gone);
        document.querySelectorAll(".respond-form, .evidence").forEach((el) => el.remove());
        return;
      }
      if (resp.status === 200) {
        etag = resp.headers.get("ETag");
        render(await resp.json());
      }
    } catch (err) {
      // offline for a moment: the next poll catches up
    }
    timer = window.setTimeout(poll, every);
  }

  function pollNow() {
    window.clearTimeout(timer);
    poll();
  }

  document.addEventListener("click", (event) => {
    const moment = event.target.closest("button.moment");
    if (moment) {
      const player = playerOf(moment.closest("li.step"));
      if (player) seek(player, parseFloat(moment.dataset.seconds));
      return;
    }
    const use = event.target.closest("button.use-moment");
    if (use) {
      const step = use.closest("li.step");
      const player = playerOf(step);
      const input = use.parentElement.querySelector("input[name=seconds]");
      if (player && input) input.value = clock(momentOf(player));
    }
  });

  // Sent in the background: the page stays (a playing clip keeps playing); errors are shown under the form.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches(".respond-form, .highlight-form, .reveal-form, #next-form, #prev-form, .go-form")) {
      leaving = true;  // an ordinary form: its answer is the next page, no reload may cut it short
      return;
    }
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    let problem = form.querySelector(".form-problem");
    try {
      const resp = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (resp.ok) {
        if (form.matches(".respond-form")) form.reset();
        if (form.matches(".reveal-form")) form.remove();
        if (problem) problem.remove();
      } else {
        const data = await resp.json().catch(() => ({}));
        if (!problem) {
          problem = document.createElement("p");
          problem.className = "flash error form-problem";
          problem.setAttribute("role", "alert");
          form.append(problem);
        }
        problem.textContent = data.detail || resp.statusText;
      }
    } finally {
      if (button) button.disabled = false;
      pollNow();
    }
  });

  if (status !== "closed") poll();
}
