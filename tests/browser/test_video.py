"""A teacher uploads a lesson in Hebrew, watches it with captions and an interactive transcript."""

import os
import re

import pytest

from tests import media_files
from tests.browser.steps import create_user, log_in
from tests.speech import LESSON_SCRIPT, make_speech

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-media")
    speech = make_speech(root / "speech.wav", " ".join(LESSON_SCRIPT[:2]))
    return media_files.make_video(root / "שיעור 7.mp4", seconds=10, speech_wav=speech)


def test_upload_watch_with_captions_and_transcript(live_server, page, lesson):
    create_user(live_server, "maya@tichon.example", "מאיה", locale="he")
    log_in(page, live_server.url, "maya@tichon.example")
    page.click("nav >> text=העלאה")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#title", "שברים שקולים")
    # The upload page offers her own language first; this recording is spoken in English.
    assert page.input_value("#lesson-language") == "he"
    page.select_option("#lesson-language", "en")
    page.set_input_files("#file", str(lesson))
    page.click("#start")
    page.wait_for_url(re.compile(r"/videos/[0-9a-f]{24}$"), timeout=60000)
    assert page.locator("h1").inner_text() == "שברים שקולים"

    # The page polls the status and reloads itself when the video is ready.
    page.wait_for_selector("#lines li", timeout=180000)
    page.wait_for_function("() => document.querySelector('#watch').dataset.status === 'ready'", timeout=60000)
    video = page.locator("video#player")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1", timeout=30000)
    assert page.evaluate("document.querySelector('#player').duration") == pytest.approx(10, abs=0.5)
    # Captions are on by default and have cues.
    page.wait_for_function(
        "() => { const t = [...document.querySelector('#player').textTracks].find(t => t.kind === 'captions');"
        " return t && t.mode === 'showing' && t.cues && t.cues.length > 0; }", timeout=30000)

    lines = page.locator("#lines li")
    assert lines.count() >= 1
    last = lines.nth(lines.count() - 1)
    target = float(last.get_attribute("data-start"))
    last.click()
    page.wait_for_function(f"() => Math.abs(document.querySelector('#player').currentTime - {target}) < 1.5")

    # Hovering the scrub bar shows the storyboard thumbnail of that moment.
    page.wait_for_function(
        "() => { const t = [...document.querySelector('#player').textTracks].find(t => t.kind === 'metadata');"
        " return t && t.cues && t.cues.length > 0; }", timeout=30000)
    # Paused first: while it plays, the transcript keeps its current line in view, and with the lesson analytics
    # above the transcript that scrolls the page under the mouse.
    page.evaluate("() => document.querySelector('#player').pause()")
    page.locator("#scrubber").scroll_into_view_if_needed()
    bar = page.locator("#scrubber").bounding_box()
    page.mouse.move(bar["x"] + bar["width"] * 0.6, bar["y"] + bar["height"] / 2)
    thumb = page.locator("#scrub-thumb")
    assert thumb.is_visible()
    assert "url(" in thumb.evaluate("el => el.style.backgroundImage")
    assert page.locator("#scrub-time").inner_text() in ("0:05", "0:06")  # 60 % of 10 s, to the second
    page.mouse.click(bar["x"] + bar["width"] * 0.25, bar["y"] + bar["height"] / 2)
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 2.5) < 0.6")

    page.fill("#transcript-search", "fractions")
    assert page.locator("#lines li.hit").count() >= 1
    page.fill("#transcript-search", "")

    page.select_option("#quality", "low")
    page.wait_for_function(
        "() => { const p = document.querySelector('#player');"
        " return p.currentSrc === new URL(p.dataset.low, location.href).href; }")
    assert video.get_attribute("data-low") != video.get_attribute("data-full")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "watch-he.png"), full_page=True)

    # Search across lessons links to the moment in the video.
    page.goto(live_server.url + "/search?q=fractions")
    page.click("#hits li a >> nth=0")
    page.wait_for_url(re.compile(r"/videos/[0-9a-f]{24}\?t=[0-9.]+$"))
