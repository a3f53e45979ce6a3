"""The recorder module (app/static/js/recorder.js) on its own, in Chromium with a fake camera and microphone: it
streams a recording through the tus upload while it is made (creation-defer-length), the connection drops and
comes back mid-recording, and after "stop" the upload is complete and the real worker makes the lesson ready,
as long as it was recorded. The page is a bare one served by Playwright at the app's origin, so the module is
tested without any page of the app."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS, create_user, log_in, poll

pytestmark = pytest.mark.browser

# Records with the module and keeps every state it reports, for the test to read.
PAGE = """<!doctype html><meta charset="utf-8"><title>recorder</title>
<input id="csrf" value="%(csrf)s">
<script type="module">
import { TusRecorder, VIDEO_TYPES, pickMimeType } from "/static/js/recorder.js";
window.states = [];
window.errors = [];
window.picked = pickMimeType(VIDEO_TYPES);
window.recorder = new TusRecorder({
  createUrl: "/api/v1/uploads/", csrfToken: document.getElementById("csrf").value, video: %(video)s, chunkSeconds: 1,
  metadata: { filename: "recorder test.webm", title: "Recorder test" }, maxSeconds: %(max)d,
  onCreated: async ({ videoId }) => { window.created = videoId; },
  onState: (state) => window.states.push(state),
  onLimit: () => { window.limited = true; },
  onDone: ({ videoId }) => { window.done = videoId; },
  onError: (kind, detail) => window.errors.push([kind, detail || ""]),
});
window.ready = true;
</script>"""


@pytest.fixture(scope="module")
def media_browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    yield browser
    browser.close()


def recorder_page(server, browser, email: str, max_seconds: int = 0, video: bool = True):
    context = browser.new_context(permissions=["camera", "microphone"])
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, server.url, email)
    page.goto(server.url + "/videos/upload")
    csrf = page.locator("#csrf").input_value()
    html = PAGE % {"csrf": csrf, "max": max_seconds, "video": "true" if video else "false"}
    page.route(server.url + "/recorder-test", lambda route: route.fulfill(status=200, body=html,
                                                                          content_type="text/html"))
    page.goto(server.url + "/recorder-test")
    page.wait_for_function(poll("window.ready === true"))
    return context, page


def wait_ready(page, server, video_id: str) -> dict:
    deadline, summary = time.monotonic() + 180, {}
    while time.monotonic() < deadline:
        summary = page.request.get(f"{server.url}/api/v1/videos/{video_id}").json()
        if summary.get("status") in ("ready", "failed"):
            break
        time.sleep(1)
    return summary


def test_recording_streams_through_a_dropped_connection(live_server, media_browser):
    create_user(live_server, "recorder@a.example", "Rina Katz", "teacher")
    context, page = recorder_page(live_server, media_browser, "recorder@a.example")
    page.evaluate("window.recorder.start()")
    page.wait_for_function(poll("window.states.some((s) => s.phase === 'recording' && s.uploadedBytes > 0)"))
    started = time.monotonic()
    time.sleep(2)
    context.set_offline(True)
    page.wait_for_function(poll("window.states.some((s) => s.online === false)"), timeout=15000)
    time.sleep(3)
    held = page.evaluate("(() => { const s = window.recorder.state; return s.recordedBytes - s.uploadedBytes; })()")
    assert held > 0  # recorded while offline, kept in memory
    context.set_offline(False)
    page.wait_for_function(poll("window.states.some((s) => s.phase === 'resumed')"), timeout=30000)
    time.sleep(2)
    page.evaluate("window.recorder.stop()")
    recorded = time.monotonic() - started
    page.wait_for_function(poll("window.done !== undefined"), timeout=30000)
    assert page.evaluate("window.errors") == []
    final = page.evaluate("window.recorder.state")
    assert final["phase"] == "done" and final["uploadedBytes"] == final["recordedBytes"] > 0
    video_id = page.evaluate("window.done")
    assert video_id == page.evaluate("window.created")
    summary = wait_ready(page, live_server, video_id)
    assert summary.get("status") == "ready", summary
    assert summary["size"] == final["recordedBytes"]
    assert summary["duration"] >= recorded - 2.5, (summary["duration"], recorded)  # nothing lost while offline
    picked = page.evaluate("window.picked")
    assert re.match(r"video/(mp4|webm)", picked), picked
    context.close()


def test_the_time_limit_stops_a_sound_only_recording_and_finishes_the_upload(live_server, media_browser):
    create_user(live_server, "recorder-limit@a.example", "Omar Haddad", "teacher")
    context, page = recorder_page(live_server, media_browser, "recorder-limit@a.example", max_seconds=2, video=False)
    page.evaluate("window.recorder.start()")
    page.wait_for_function(poll("window.done !== undefined"), timeout=30000)
    assert page.evaluate("window.limited") is True
    assert page.evaluate("window.errors") == []
    state = page.evaluate("window.recorder.state")
    assert 1.5 <= state["seconds"] <= 3.0, state
    assert state["mimeType"].startswith("audio/"), state
    summary = page.request.get(f"{live_server.url}/api/v1/videos/{page.evaluate('window.done')}").json()
    assert summary["status"] != "uploading" and summary["size"] == state["recordedBytes"], summary
    context.close()
