"""Coaching in the browser: a coach's tagged range comment and the teacher's reply, a coaching cycle from
assignment to agreed next steps, and a clip shared on its own with a professional learning community."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests import media_files
from tests.browser.steps import choose_tag, create_user, full_consent, ingest, poll, share_lesson, signed_in
from tests.processes import classlab

pytestmark = pytest.mark.browser


def test_coach_range_comment_at_0_42_with_a_tag_teacher_sees_marker_and_replies(live_server, new_page, tmp_path):
    server = live_server
    classlab(server.env, "frameworks", "import")
    create_user(server, "ruth@tichon-bet.example", "Ruth Teacher", "teacher", "Tichon Bet")
    create_user(server, "omer@tichon-bet.example", "Omer Coach", "coach", "Tichon Bet")
    # 52 s at 160x90 and 5 fps: long enough for a comment at 0:42-0:50, a few hundred kilobytes.
    lesson = media_files.make_video(tmp_path / "long-lesson.mp4", seconds=52, width=160, height=90, fps=5)
    public_id = ingest(server, lesson, "ruth@tichon-bet.example", "Ratios in the kitchen")
    watch_url = f"{server.url}/videos/{public_id}"

    # The teacher records the class's full consent and shares the lesson with the coach to comment.
    teacher = signed_in(new_page, server, "ruth@tichon-bet.example")
    teacher.goto(watch_url)
    full_consent(teacher)
    share_lesson(teacher, "omer@tichon-bet.example", "comment", "Omer Coach")

    # The coach opens the shared lesson and comments on 0:42-0:50 with a framework element.
    coach = signed_in(new_page, server, "omer@tichon-bet.example")
    coach.goto(watch_url)
    expect(coach.locator("h1")).to_have_text("Ratios in the kitchen")
    coach.fill("#comment-start", "0:42")
    coach.fill("#comment-end", "0:50")
    coach.fill("#comment-body", "Students justify each step: ask them to compare two recipes next.")
    tag_label = choose_tag(coach, 1)
    coach.click("#comment-form button.primary")
    coach.wait_for_url(re.compile(r"#comment-\d+$"))
    comment_id = coach.url.rsplit("#comment-", 1)[1]
    expect(coach.locator(f"#comment-{comment_id} .pill.tag")).to_have_text(tag_label)

    # The teacher sees the range marker at 0:42 on the timeline and the tagged comment.
    teacher.goto(watch_url)
    marker = teacher.locator(f".marker.range[data-comment='{comment_id}']")
    expect(marker).to_be_visible()
    assert float(marker.get_attribute("data-start")) == 42.0
    assert float(marker.get_attribute("data-end")) == 50.0
    bar = teacher.locator("#scrubber").bounding_box()
    box = marker.bounding_box()
    assert abs((box["x"] - bar["x"]) / bar["width"] - 42 / 52) < 0.03
    assert abs(box["width"] / bar["width"] - 8 / 52) < 0.03
    comment = teacher.locator(f"#comment-{comment_id}")
    expect(comment.locator(".body")).to_contain_text("compare two recipes")
    expect(comment.locator("strong").first).to_have_text("Omer Coach")
    expect(comment.locator(".pill.tag")).to_have_text(tag_label)
    expect(comment.locator(".seek")).to_have_text("0:42–0:50")

    # Its time seeks the player; then the teacher replies in the thread.
    teacher.wait_for_function(poll("document.querySelector('#player').readyState >= 1"), timeout=30000)
    teacher.evaluate("document.querySelector('#player').muted = true")
    comment.locator(".seek").click()
    teacher.wait_for_function(poll("Math.abs(document.querySelector('#player').currentTime - 42) < 1.5"))
    comment.locator(".reply-form input[name=body]").fill("Thanks, I will try it on Sunday.")
    comment.locator(".reply-form button").click()
    teacher.wait_for_url(re.compile(r"#comment-\d+$"))
    reply = teacher.locator(f"#comment-{comment_id} li.reply")
    expect(reply).to_contain_text("Thanks, I will try it on Sunday.")
    expect(reply.locator("strong")).to_have_text("Ruth Teacher")

    # The coach sees the reply in the thread too.
    coach.goto(watch_url)
    expect(coach.locator(f"#comment-{comment_id} li.reply")).to_contain_text("Thanks, I will try it on Sunday.")


def test_coaching_cycle_from_assignment_to_agreed_next_steps(live_server, new_page, tmp_path):
    server = live_server
    create_user(server, "leah@tichon-gimel.example", "Leah Leader", "school_leader", "Tichon Gimel")
    create_user(server, "yael@tichon-gimel.example", "Yael Teacher", "teacher", "Tichon Gimel")
    create_user(server, "avi@tichon-gimel.example", "Avi Coach", "coach", "Tichon Gimel")
    lesson = media_files.make_video(tmp_path / "cycle-lesson.mp4", seconds=3, width=160, height=90, fps=5)
    ingest(server, lesson, "yael@tichon-gimel.example", "Fractions on a number line")

    # The school leader proposes the coach.
    leader = signed_in(new_page, server, "leah@tichon-gimel.example")
    leader.goto(server.url + "/coaching/")
    leader.fill("#assign-coach", "avi@tichon-gimel.example")
    leader.fill("#assign-teacher", "yael@tichon-gimel.example")
    leader.click("#assign-form button.primary")
    row = leader.locator("#links tbody tr", has_text="Yael Teacher")
    expect(row).to_contain_text("Avi Coach")
    expect(row).to_contain_text("waiting for the teacher")

    # The teacher accepts and starts a cycle.
    teacher = signed_in(new_page, server, "yael@tichon-gimel.example")
    teacher.goto(server.url + "/coaching/")
    accept = teacher.locator("#my-coaches button[id^=accept-]")
    expect(accept).to_have_count(1)
    assert re.fullmatch(r"accept-\d+", accept.get_attribute("id"))
    accept.click()
    expect(teacher.locator(".flash")).to_contain_text("Coaching accepted.")
    mine = teacher.locator("#my-coaches li", has_text="Avi Coach")
    mine.locator("summary", has_text="Start a coaching cycle").click()
    mine.locator(".cycle-form textarea[name=focus_goal]").fill("Ask questions that make students explain why")
    mine.locator(".cycle-form button.primary").click()
    teacher.wait_for_url(re.compile(r"/coaching/cycles/[0-9a-f]+$"))
    cycle_url = teacher.url
    expect(teacher.locator("#focus-goal")).to_have_text("Ask questions that make students explain why")

    # The teacher adds a lesson for the coach.
    teacher.select_option("#lesson-video", label="Fractions on a number line")
    teacher.click("#lesson-form button.primary")
    expect(teacher.locator("#lesson-list a")).to_have_text(["Fractions on a number line"])
    expect(teacher.locator("#lesson-form")).to_have_count(0)  # the teacher's only lesson is in the cycle

    # The coach sees the teacher, the cycle and the new lesson on the dashboard, and the cycle page.
    coach = signed_in(new_page, server, "avi@tichon-gimel.example")
    coach.goto(server.url + "/coaching/")
    teachers = coach.locator("#dashboard #my-teachers")
    expect(teachers).to_contain_text("Yael Teacher")
    expect(teachers.locator("a", has_text="Ask questions that make students explain why")).to_be_visible()
    expect(coach.locator("#dashboard #new-videos a")).to_have_text(["Fractions on a number line"])
    teachers.locator("a", has_text="Ask questions that make students explain why").click()
    coach.wait_for_url(cycle_url)
    expect(coach.locator("#lesson-list a")).to_have_text(["Fractions on a number line"])

    # The coach writes the next steps; the teacher agrees to them.
    coach.fill("#cycle-steps", "Plan three why-questions for Tuesday's lesson and record it.")
    coach.click("#cycle-form button[type=submit]")
    coach.wait_for_url(re.compile(r"#next-steps$"))
    steps = "Plan three why-questions for Tuesday's lesson and record it."
    expect(coach.locator("#next-steps-text")).to_have_text(steps)
    expect(coach.locator("#agree-form")).to_have_count(0)
    expect(coach.locator("#agreed")).to_have_count(0)

    teacher.goto(cycle_url)
    expect(teacher.locator("#next-steps-text")).to_have_text(steps)
    teacher.click("#agree-form button.primary")
    expect(teacher.locator("#agreed")).to_contain_text("Agreed by the teacher")
    expect(teacher.locator("#agree-form")).to_have_count(0)
    coach.goto(cycle_url)
    expect(coach.locator("#agreed")).to_be_visible()

    # The cycle page in Hebrew is right-to-left.
    assert teacher.locator("html").get_attribute("dir") == "ltr"
    teacher.select_option("form.lang select#locale", "he")
    teacher.click("form.lang button[type=submit]")
    expect(teacher.locator("html")).to_have_attribute("dir", "rtl")
    expect(teacher.locator("html")).to_have_attribute("lang", "he")
    assert teacher.url.split("#")[0].rstrip("?") == cycle_url
    expect(teacher.locator("#agreed")).to_be_visible()
    expect(teacher.locator("#lesson-list a")).to_have_text(["Fractions on a number line"])


def test_clip_shared_with_a_community_plays_without_the_lesson(live_server, new_page, tmp_path):
    server = live_server
    create_user(server, "tamar@tichon-dalet.example", "Tamar Facilitator", "facilitator", "Tichon Dalet")
    create_user(server, "noam@tichon-dalet.example", "Noam Teacher", "teacher", "Tichon Dalet")
    create_user(server, "sara@tichon-dalet.example", "Sara Teacher", "teacher", "Tichon Dalet")
    lesson = media_files.make_video(tmp_path / "plc-lesson.mp4", seconds=8, width=160, height=90, fps=5)
    public_id = ingest(server, lesson, "noam@tichon-dalet.example", "Group work on area")
    lesson_url = f"{server.url}/videos/{public_id}"

    # The facilitator starts a community and adds both teachers.
    facilitator = signed_in(new_page, server, "tamar@tichon-dalet.example")
    facilitator.goto(server.url + "/communities/")
    facilitator.fill("#community-name", "Grade 5 maths PLC")
    facilitator.fill("#community-description", "Student talk in group work")
    facilitator.click("#community-form button.primary")
    facilitator.wait_for_url(re.compile(r"/communities/[0-9a-f]+$"))
    community_url = facilitator.url
    for email in ("noam@tichon-dalet.example", "sara@tichon-dalet.example"):
        facilitator.fill("#member-email", email)
        facilitator.click("#member-form button.primary")
        facilitator.wait_for_url(re.compile(r"#members$"))
    expect(facilitator.locator("#member-list li")).to_have_count(3)
    expect(facilitator.locator("#member-list")).to_contain_text("Noam Teacher")
    expect(facilitator.locator("#member-list")).to_contain_text("Sara Teacher")

    # The teacher records full consent, cuts a clip and shares only the clip with the community.
    teacher = signed_in(new_page, server, "noam@tichon-dalet.example")
    teacher.goto(lesson_url)
    full_consent(teacher)
    teacher.fill("#clip-title", "Sara's group explains")
    teacher.fill("#clip-start", "0:02")
    teacher.fill("#clip-end", "0:05")
    teacher.click("#clip-form button[type=submit]")
    teacher.wait_for_url(re.compile(r"/videos/clips/[0-9a-f]+$"))
    clip_url = teacher.url
    expect(teacher.locator("h1")).to_have_text("Sara's group explains")
    teacher.select_option("#share-community", label="Grade 5 maths PLC")
    teacher.click("#share-form button.primary")
    expect(teacher.locator("#shares li")).to_contain_text("Grade 5 maths PLC")

    # The other teacher finds the clip in the community and it plays, from the cut file.
    colleague = signed_in(new_page, server, "sara@tichon-dalet.example")
    colleague.goto(community_url)
    shared = colleague.locator("#shared-items a")
    expect(shared).to_have_text(["Sara's group explains"])
    expect(colleague.locator("#shared-items a", has_text="Group work on area")).to_have_count(0)
    shared.click()
    colleague.wait_for_url(clip_url)
    # The worker cuts the clip; until then the page says it is being prepared.
    player = colleague.locator("#clip-player")
    for _ in range(60):
        try:
            player.wait_for(state="attached", timeout=2000)
            break
        except PlaywrightTimeout:
            expect(colleague.locator("#clip-failed")).to_have_count(0)
            colleague.reload()
    expect(player).to_be_attached()
    expect(colleague.locator("#clip-preparing")).to_have_count(0)
    colleague.wait_for_function(poll("document.querySelector('#clip-player').readyState >= 1"), timeout=30000)
    duration = colleague.evaluate("document.querySelector('#clip-player').duration")
    assert duration == pytest.approx(3, abs=0.6)  # the cut file holds only 0:02-0:05
    # The lesson's title is not a link for someone shared only the clip, and the lesson itself is hidden.
    expect(colleague.locator("p.muted a", has_text="Group work on area")).to_have_count(0)
    response = colleague.goto(lesson_url)
    assert response.status == 404
