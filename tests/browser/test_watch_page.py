"""The watch page as a coach uses it: player, transcript and feedback side by side, shortcuts, speed, a searchable
tag picker, a comment that keeps what was typed when it is refused, and a playback link renewed when it expires."""

from __future__ import annotations

import os
import re

import pytest

from tests import media_files
from tests.browser.steps import create_user, log_in, poll
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


@pytest.fixture(scope="module")
def lesson(live_server, tmp_path_factory):
    classlab(live_server.env, "frameworks", "import")
    create_user(live_server, "yael@tichon-dalet.example", "יעל", locale="he")
    path = media_files.make_video(tmp_path_factory.mktemp("watch") / "lesson.mp4", seconds=12)
    out = classlab(live_server.env, "ingest", str(path), "--language", "en",
                   "--owner", "yael@tichon-dalet.example", "--wait", "--json",
                   "--timeout", "120", timeout=180)
    return re.search(r'"id": "([0-9a-f]+)"', out.stdout).group(1)


def test_the_watch_page_for_a_coach(live_server, browser, lesson):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="he-IL")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server.url, "yael@tichon-dalet.example")
        page.goto(f"{live_server.url}/videos/{lesson}")
        page.wait_for_function(poll("document.querySelector('#player').readyState >= 1"))

        # Side by side on a wide screen; right to left in Hebrew, so the feedback sits left of the player.
        stage, feedback = page.locator(".stage").bounding_box(), page.locator("#feedback").bounding_box()
        assert feedback["x"] + feedback["width"] <= stage["x"] + 1 and abs(feedback["y"] - stage["y"]) < 40
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "watch-he-1366.png"), full_page=False)

        # Shortcuts: "?" shows the list; C pauses and opens the comment box at the playhead.
        page.locator("h1").click()
        page.keyboard.press("?")
        assert page.locator("#shortcuts-help").is_visible()
        page.keyboard.press("Escape")
        assert not page.locator("#shortcuts-help").is_visible()
        page.evaluate("() => { const p = document.querySelector('#player'); p.muted = true; p.currentTime = 4.2; }")
        page.wait_for_function(poll("Math.abs(document.querySelector('#player').currentTime - 4.2) < 0.3"))
        page.locator("h1").click()
        page.keyboard.press("c")
        assert page.evaluate("document.activeElement.id") == "comment-body"
        assert page.input_value("#comment-start") == "0:04"
        assert page.evaluate("document.querySelector('#player').paused")

        # Speed, from the menu and from the keyboard.
        page.select_option("#speed", "1.5")
        assert page.evaluate("document.querySelector('#player').playbackRate") == 1.5
        page.locator("h1").click()
        page.keyboard.press(".")
        assert page.evaluate("document.querySelector('#player').playbackRate") == 2

        # The tag picker: a search box over the elements, chosen ones as chips, the form's field behind it.
        picker = page.locator(".tag-picker")
        total = picker.locator("label").count()
        first = picker.locator("label").first.inner_text().strip()
        picker.locator(".tag-search").fill(first[:6])
        shown = picker.locator("label:visible").count()
        assert 0 < shown < total
        picker.locator("label:visible input").first.check()
        assert picker.locator(".tag-chips li").count() == 1
        assert page.evaluate("[...document.querySelector('#comment-tags').selectedOptions].length") == 1

        # A refused comment keeps the text, the time and the tag.
        page.fill("#comment-start", "9:00")
        page.fill("#comment-body", "שאלה פתוחה מצוינת — כדאי לחכות לתשובות")
        page.click("#comment-form button.primary")
        page.wait_for_selector(".flash-error")
        # drafts.js is a module script: it fills the form back in before DOMContentLoaded, not before the
        # message is parsed, so wait for that event rather than read the field the moment the message shows.
        page.wait_for_load_state("domcontentloaded")
        assert "9:00" in page.locator(".flash-error").inner_text()
        assert page.input_value("#comment-body") == "שאלה פתוחה מצוינת — כדאי לחכות לתשובות"
        assert page.input_value("#comment-start") == "9:00"
        assert page.locator(".tag-picker .tag-chips li").count() == 1
        page.fill("#comment-start", "0:04")
        page.click("#comment-form button.primary")
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        assert "שאלה פתוחה מצוינת" in page.locator("li.comment").first.inner_text()
        page.reload()
        assert page.input_value("#comment-body") == ""  # sent: the draft is forgotten

        # An expired playback link: the player asks for fresh links and goes on from the same moment.
        page.wait_for_function(poll("document.querySelector('#player').readyState >= 1"))
        page.evaluate("() => { const p = document.querySelector('#player'); p.currentTime = 6; }")
        page.wait_for_function(poll("!document.querySelector('#player').seeking"
                                    " && Math.abs(document.querySelector('#player').currentTime - 6) < 0.3"))
        page.evaluate("() => { document.querySelector('#player').src = '/media/expired-or-forged-link'; }")
        page.wait_for_function(poll("document.querySelector('#player').currentSrc.indexOf('expired') < 0"
                                    " && document.querySelector('#player').readyState >= 1"))
        page.wait_for_function(poll("Math.abs(document.querySelector('#player').currentTime - 6) < 0.6"))
    finally:
        context.close()


def test_the_watch_page_on_a_phone_is_one_column(live_server, browser, lesson):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="he-IL")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server.url, "yael@tichon-dalet.example")
        page.goto(f"{live_server.url}/videos/{lesson}")
        stage, feedback = page.locator(".stage").bounding_box(), page.locator("#feedback").bounding_box()
        transcript = page.locator("#transcript").bounding_box()
        assert stage["y"] < feedback["y"] < transcript["y"]  # the player, the feedback, the transcript
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "watch-he-390.png"), full_page=False)
    finally:
        context.close()
