"""Notifications, the tag summary and "download all my data" in the browser, in Hebrew (right to left)."""

import re
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect

from tests import media_files
from tests.browser.steps import choose_tag, create_user, full_consent, ingest, share_lesson, signed_in, switch_language
from tests.processes import classlab

pytestmark = pytest.mark.browser


def _hebrew(page) -> None:
    switch_language(page, "he", "#locale")
    assert page.locator("html").get_attribute("dir") == "rtl"


def test_notifications_tag_summary_and_data_archive_in_hebrew(live_server, new_page, tmp_path):
    server = live_server
    classlab(server.env, "frameworks", "import")
    create_user(server, "lea@tichon-gimel.example", "Lea Teacher", "teacher", "Tichon Gimel")
    create_user(server, "dan@tichon-gimel.example", "Dan Colleague", "teacher", "Tichon Gimel")
    lesson = media_files.make_video(tmp_path / "lesson.mp4", seconds=4, width=160, height=90, fps=5)
    public_id = ingest(server, lesson, "lea@tichon-gimel.example", "Slopes and rates")
    watch_url = f"{server.url}/videos/{public_id}"

    teacher = signed_in(new_page, server, "lea@tichon-gimel.example")
    teacher.goto(watch_url)
    full_consent(teacher)
    share_lesson(teacher, "dan@tichon-gimel.example", "comment", "Dan Colleague")

    # The colleague, in Hebrew, sees the unread badge and the share, follows it, and it is read.
    colleague = signed_in(new_page, server, "dan@tichon-gimel.example")
    _hebrew(colleague)
    expect(colleague.locator("#nav-notifications .badge")).to_contain_text("1")
    colleague.click("#nav-notifications")
    expect(colleague.locator("html")).to_have_attribute("dir", "rtl")
    unread = colleague.locator(".notification.unread a")
    expect(unread).to_have_count(1)
    expect(unread).to_contain_text("Slopes and rates")
    unread.click()
    colleague.wait_for_url(re.compile(rf"/videos/{public_id}"))
    expect(colleague.locator("#nav-notifications .badge")).to_have_count(0)

    # The colleague comments with a framework element; the teacher is told, and the tag is counted.
    colleague.fill("#comment-start", "0:01")
    colleague.fill("#comment-body", "השאלה הפתוחה עבדה")
    choose_tag(colleague, 0)
    colleague.click("#comment-form button.primary")
    colleague.wait_for_url(re.compile(r"#comment-\d+$"))

    _hebrew(teacher)
    teacher.goto(f"{server.url}/notifications/")
    expect(teacher.locator(".notification.unread a")).to_contain_text("Dan Colleague")
    teacher.goto(f"{server.url}/videos/tags")
    expect(teacher.locator("html")).to_have_attribute("dir", "rtl")
    expect(teacher.locator("#tag-chart svg")).to_be_visible()
    expect(teacher.locator("#no-tags")).to_have_count(0)
    expect(teacher.locator("#tag-table")).to_contain_text("1")

    # "Download all my data": asked for, prepared by the worker, and the link serves a ZIP.
    teacher.goto(f"{server.url}/account/data")
    teacher.click("#export-about button.primary")
    link = teacher.locator("#exports a.download")
    expect(link).to_be_visible(timeout=90000)  # the page reloads itself when the worker is done
    archive = teacher.request.get(urljoin(teacher.url, link.get_attribute("href")))
    assert archive.ok and archive.body()[:2] == b"PK"
