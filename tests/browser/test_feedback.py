"""A teacher leaves a range comment at 0:02 tagged with a framework element, sees the marker, replies."""

import os
import re

import pytest

from tests import media_files
from tests.browser.steps import create_user, log_in
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


def test_range_comment_with_a_framework_tag_marker_and_reply(live_server, page, tmp_path):
    classlab(live_server.env, "frameworks", "import")
    create_user(live_server, "dana@tichon.example", "דנה", locale="he")
    lesson = media_files.make_video(tmp_path / "lesson.mp4", seconds=8)
    out = classlab(live_server.env, "ingest", str(lesson), "--language", "en",
                   "--owner", "dana@tichon.example", "--wait", "--json",
                   "--timeout", "120", timeout=180)
    public_id = re.search(r'"id": "([0-9a-f]+)"', out.stdout).group(1)
    log_in(page, live_server.url, "dana@tichon.example")
    page.goto(f"{live_server.url}/videos/{public_id}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#comment-start", "0:02")
    page.fill("#comment-end", "0:05")
    page.fill("#comment-body", "שאלה פתוחה טובה — התלמידים מנמקים")
    first_tag = page.locator(".tag-picker label").first  # the searchable picker over the form's select
    tag_label = first_tag.inner_text().strip()
    first_tag.locator("input").check()
    page.click("#comment-form button.primary")
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    comment = page.locator("li.comment").first
    assert "שאלה פתוחה טובה" in comment.inner_text() and tag_label in comment.inner_text()
    marker = page.locator(".marker.range").first
    assert marker.is_visible()
    bar = page.locator("#scrubber").bounding_box()
    box = marker.bounding_box()
    assert abs((box["x"] - bar["x"]) / bar["width"] - 0.25) < 0.05  # 2 s of 8 s
    comment.locator(".seek").click()
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 2) < 0.6")
    comment.locator(".reply-form input[name=body]").fill("תודה!")
    comment.locator(".reply-form button").click()
    page.wait_for_selector("li.reply >> text=תודה!")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "feedback-he.png"), full_page=True)

    # Cut a clip of 0:02-0:04: it plays from 0:02 and stops at 0:04.
    page.fill("#clip-title", "השאלה המרכזית")
    page.fill("#clip-start", "0:02")
    page.fill("#clip-end", "0:04")
    page.click("#clip-form button")
    page.wait_for_url(re.compile(r"/videos/clips/[0-9a-f]+$"))
    assert page.locator("h1").inner_text() == "השאלה המרכזית"
    page.wait_for_function("() => document.querySelector('#clip-player').readyState >= 1")
    page.evaluate("document.querySelector('#clip-player').muted = true; document.querySelector('#clip-player').play()")
    import time

    deadline = time.monotonic() + 15
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate("() => [document.querySelector('#clip-player').paused,"
                              " document.querySelector('#clip-player').currentTime]")
        if state[0] and abs(state[1] - 4) < 0.3:
            break
        time.sleep(0.2)
    assert state[0] and abs(state[1] - 4) < 0.3, state


def _api(server, method: str, path: str, body: dict, token: str | None = None) -> dict:
    import json
    import urllib.request

    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(server.url + path, json.dumps(body).encode(), headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_more_comments_come_from_the_api_in_the_pages_own_markup(live_server, page, tmp_path):
    """The page shows 20 threads; "More comments" adds the rest from the comments API, each as the server would
    have written it (the reader's own carry their edit form, all a reply form), and a link to a comment that is
    not on the page yet loads pages until it is."""
    from playwright.sync_api import expect

    from tests.browser.steps import PASSWORD, ingest

    classlab(live_server.env, "frameworks", "import")
    create_user(live_server, "yael@tichon.example", "Yael Mizrahi")
    public_id = ingest(live_server, media_files.make_video(tmp_path / "lesson.mp4", seconds=8), "yael@tichon.example",
                       "Many comments")
    token = _api(live_server, "POST", "/api/v1/accounts/tokens",
                 {"email": "yael@tichon.example", "password": PASSWORD, "name": "browser test"})["token"]
    log_in(page, live_server.url, "yael@tichon.example")
    url = f"{live_server.url}/videos/{public_id}"
    page.goto(url)
    tag = page.locator("#comment-tags option").first
    tag_value, tag_label = tag.get_attribute("value"), tag.inner_text().strip()
    made = [_api(live_server, "POST", f"/api/v1/videos/{public_id}/comments",
                 {"body": f"Comment {i}", "start": round(i * 0.3, 1), "tags": [tag_value] if i == 22 else []},
                 token)["id"] for i in range(25)]
    page.goto(url)
    expect(page.locator("li.comment")).to_have_count(20)
    page.click("#more-comments a")
    expect(page.locator("li.comment")).to_have_count(25)
    expect(page.locator("#more-comments")).to_have_count(0)
    assert page.url == url  # loaded in place, not by opening the next page
    loaded = page.locator(f"#comment-{made[22]}")
    expect(loaded.locator(".body")).to_have_text("Comment 22")
    expect(loaded.locator("strong")).to_have_text("Yael Mizrahi")
    expect(loaded.locator(".pill.tag")).to_have_text(tag_label)
    expect(loaded.locator("details summary")).to_have_text("Edit")
    expect(loaded.locator(".seek")).to_have_text("0:06")
    loaded.locator(".seek").click()
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 6.6) < 0.6")
    loaded.locator(".reply-form input[name=body]").fill("A reply to a comment loaded by script")
    loaded.locator(".reply-form button").click()
    page.wait_for_url(re.compile(r"\?comment=\d+#comment-\d+$"))
    expect(page.locator(f"#comment-{made[22]} li.reply")).to_contain_text("A reply to a comment loaded by script")
    # A link such as a notification's names the comment only: the page loads until it shows it.
    page.goto(f"{live_server.url}/dashboard")
    page.goto(f"{url}#comment-{made[24]}")
    expect(page.locator(f"#comment-{made[24]} .body")).to_have_text("Comment 24")
