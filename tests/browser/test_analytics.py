"""Lesson analytics in a real browser, on a real recording: a scripted lesson of one teacher and three students
(espeak-ng voices, tests/lessongen.py) goes through `classlab ingest` and the live server's worker, which tells the
voices apart after the transcript. The teacher, reading the pages in Hebrew, finds the band under the player and
seeks the player by clicking a student's turn, opens the lesson's analytics, names another voice the teacher and
back again, shares the measures with her coach and turns a marker into a comment with a framework tag; her coach
then reads the measures. Each page is photographed at 1366 and 390 px wide and must not scroll sideways."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests import media_files
from tests.browser.steps import create_user, ingest, log_in, poll
from tests.browser.steps import shoot_widths as _shoot
from tests.lessongen import make_lesson
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


@pytest.fixture(scope="module")
def lesson(live_server, tmp_path_factory):
    """The scripted lesson as a 640×360 video with its sound, ingested for a Hebrew-speaking teacher (it is spoken
    in English, and chosen so); her coach is linked and the lesson shared with him (in the live server's database)."""
    from sqlalchemy.orm import Session

    from app import db
    from app.config import load_settings
    from app.video.models import Video
    from tests import builders

    classlab(live_server.env, "frameworks", "import")
    create_user(live_server, "hila@tichon-hey.example", "הילה כהן", "teacher", "תיכון ה'", locale="he")
    create_user(live_server, "amir@tichon-hey.example", "אמיר לוי", "coach", "תיכון ה'", locale="he")
    create_user(live_server, "lead@tichon-hey.example", "רחל", "school_leader", "תיכון ה'", locale="he")
    spoken = make_lesson("en", students=3)
    path = media_files.make_video(tmp_path_factory.mktemp("analytics") / "lesson.mp4",
                                  seconds=round(spoken.duration, 2), speech_wav=spoken.path)
    public_id = ingest(live_server, path, "hila@tichon-hey.example", "Comparing fractions")
    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        import app.models  # noqa: F401 - every module's rules
        from app.accounts.models import User

        teacher = s.query(User).filter_by(email="hila@tichon-hey.example").one()
        leader = s.query(User).filter_by(email="lead@tichon-hey.example").one()
        builders.active_coach_link(s, leader, "amir@tichon-hey.example", teacher)
        builders.shared(s, s.query(Video).filter_by(public_id=public_id).one(), "amir@tichon-hey.example")
        s.commit()
    finally:
        s.close()  # before the test: an open reader of the live server's SQLite file would hold up its writers
    return {"id": public_id, "spoken": spoken}


def test_a_teacher_reads_corrects_and_shares_her_lessons_analytics(live_server, browser, lesson, tmp_path):
    folder = SHOTS or str(tmp_path)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, live_server.url, "hila@tichon-hey.example")
    assert page.locator("html").get_attribute("dir") == "rtl"
    watch_url = f"{live_server.url}/videos/{lesson['id']}"

    # The worker analyses the lesson once it is ready: the band appears under the player.
    for _ in range(60):
        page.goto(watch_url)
        if page.locator("#talk-band").count():
            break
        page.wait_for_timeout(2000)
    expect(page.locator("#talk-band")).to_be_visible()
    expect(page.locator("#talk-band .turn-teacher").first).to_be_attached()
    assert page.locator("#talk-band .turn-student").count() >= 3
    assert page.locator("#lines .speaker").count() >= 3  # the transcript names who speaks
    page.wait_for_function(poll("document.querySelector('#player').readyState >= 1"))
    page.evaluate("() => { document.querySelector('#player').muted = true; }")
    turn = page.locator("#talk-band .turn-student").nth(1)
    target = float(turn.get_attribute("data-seek"))
    turn.click()
    page.wait_for_function(poll(f"Math.abs(document.querySelector('#player').currentTime - {target}) < 1"))
    _shoot(page, folder, "analytics-watch-he")

    # The lesson's analytics: the card, the voices, the moments.
    page.click("#analytics-link")
    page.wait_for_url(re.compile(r"/videos/[0-9a-f]+/analytics$"))
    expect(page.locator("#measures .measure")).to_have_count(11)
    teacher_share = page.locator("#measure-teacher-share dd").inner_text()
    assert teacher_share.endswith("%") and int(teacher_share.rstrip("%")) > 40
    voices = page.locator("table.voices tbody tr")
    assert voices.count() >= 4
    expect(page.locator("tr.voice-teacher")).to_have_count(1)
    _shoot(page, folder, "analytics-lesson-he")

    # Name another voice the teacher, then her own again: every turn follows, the worker measures again.
    page.click("#teacher-1")
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#voice-1.voice-teacher")).to_have_count(1)
    page.click("#teacher-0")
    expect(page.locator("#voice-0.voice-teacher")).to_have_count(1)
    for _ in range(30):
        page.reload()
        if page.locator("#analysis-pending").count() == 0:
            break
        page.wait_for_timeout(1000)
    assert int(page.locator("#measure-teacher-share dd").inner_text().rstrip("%")) > 40

    # A marker becomes a tagged comment on the lesson.
    item = page.locator("li.marker-item").first
    item.locator("details summary").click()
    item.locator("textarea[name=body]").fill("כאן כדאי לחכות עוד קצת לפני שממשיכים.")
    item.locator("select[name=tags]").select_option(index=1)
    item.locator("form.stack button.primary").click()
    page.wait_for_url(re.compile(r"/videos/[0-9a-f]+\?comment=\d+"))
    expect(page.locator("#feedback .comment").first).to_contain_text("כאן כדאי לחכות")

    # Shared with her coach, who then reads the same measures and her trends.
    page.goto(watch_url + "/analytics")
    expect(page.locator("#shared-state")).to_be_visible()
    page.click("#share-with-coach")
    expect(page.locator("#unshare")).to_be_visible()
    shares = {key: page.locator(f"#measure-{key} dd").inner_text() for key in ("teacher-share", "student-turns")}
    page.goto(f"{live_server.url}/analytics/")
    expect(page.locator("#trend-talk svg")).to_be_visible()
    _shoot(page, folder, "analytics-trends-he")
    context.close()

    coach = browser.new_context(viewport={"width": 1366, "height": 900})
    page = coach.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server.url, "amir@tichon-hey.example")
    expect(page.locator("#analytics-panel")).to_contain_text("הילה כהן")
    page.click("#analytics-panel a:has-text('הילה כהן')")
    expect(page.locator("#lessons")).to_contain_text("Comparing fractions")
    page.goto(watch_url + "/analytics")
    for key, value in shares.items():
        assert page.locator(f"#measure-{key} dd").inner_text() == value
    assert page.locator("#teacher-1").count() == 0  # the coach reads; only the teacher names the voices
    coach.close()
