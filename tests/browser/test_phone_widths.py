"""Every page fits a phone: opened at 390×844 in Hebrew and in English, none is wider than the viewport.

The pages are enumerated from the application's URL map (every GET route that answers HTML), so a new
page is checked as soon as it exists; a route left out must be listed in SKIP with the reason. The data
behind them (a lesson with a transcript and comments, a clip, a community, a coaching cycle, a class with an
assignment and answers) is written straight into the live server's database with the test builders.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from app import create_app, db
from app.accounts import service as accounts
from app.config import load_settings
from app.db import utcnow
from app.diagnostics import bankfile
from app.diagnostics import service as diagnostics
from app.video.models import Clip, Segment, Transcript
from tests import builders
from tests.browser.steps import log_in, switch_language

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
# Pages only another role opens (the teacher opens the rest).
OPENED_BY = {"analytics.teacher": "coach", "standards.cohort": "admin", "standards.agreement": "admin",
             "standards.portfolio": "coach", "standards.certificate": "facilitator", "standards.register": "admin",
             "accounts.people": "leader", "goals.area": "leader", "goals.indicator": "leader", "goals.values": "leader",
             "goals.plan": "leader", "goals.principal_session": "coach", "meetings.report": "leader",
             "meetings.new": "facilitator", "diagnostics.qti_preview": "admin"}

# Routes that are not pages a person reads on a phone, and why.
SKIP = {
    "accounts.index": "redirects to the dashboard or the login",
    "delivery.media": "media bytes behind a signed token",
    "notifications.open_": "marks a notification read and redirects to its object",
    "diagnostics.results_csv": "a CSV download",
    "plans.as_pdf": "a PDF download (its text is checked in tests/browser/test_plans.py)",
    "diagnostics.export_qti": "a ZIP download",
    "video.captions_vtt": "a WebVTT file",
    "video.storyboard_vtt": "a WebVTT file",
    "video.clip_captions": "a WebVTT file",
    "video.transcript_export": "a file download",
    "feedback.comments_export": "a file download",
    "static": "static files",
    "student.enter": "visited as the student (signed out of the teacher's session)",
    "student.home": "visited as the student",
    "student.answer": "visited as the student",
    "accounts.login": "visited signed out",
    "meetings.live": "the live view's JSON",
    "meetings.watch": "records the pre-watch and redirects to the evidence",
    "meetings.record_markdown": "a Markdown download",
    "meetings.record_pdf": "a PDF download (its text is checked in tests/browser/test_meetings.py)",
    "meetings.report_csv": "a CSV download",
    "standards.credential_json": "a JSON download (checked in tests/integration/test_standards.py)",
    "standards.certificate_pdf": "a PDF download (its text is checked in tests/integration/test_standards.py)",
    "standards.issuer": "the issuer's JSON-LD profile",
    "goals.report_csv": "a CSV download (checked in tests/integration/test_goals.py)",
    "goals.report_pdf": "a PDF download (its text is checked in tests/integration/test_goals.py)",
}


@pytest.fixture(scope="module")
def seeded(live_server):
    """Everything the pages need, in the live server's own database."""
    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        people = builders.network(s)
        teacher = people["teacher"]
        if not diagnostics.current_items(s):
            diagnostics.import_bank(s, None, bankfile.load_bank())
            s.commit()
        video = builders.ready_video(s, teacher, title="שיעור שברים ח'3 — Fractions on the number line", seconds=600)
        transcript = Transcript(video=video, language="he", model="tiny")
        transcript.segments = [Segment(position=n, start=n * 10.0, end=n * 10.0 + 9,
                                       text="אז מה קורה כשהמכנה גדל? מי רוצה להסביר למה שמינית קטנה מרבע?")
                               for n in range(12)]
        s.add(transcript)
        builders.shared(s, video, people["coach"].email)
        from app.feedback import service as feedback

        for n in range(3):
            body = "שאלה מצוינת — כדאי לחכות עוד כמה שניות לפני שעונים." * (n + 1)
            feedback.add_comment(s, people["coach"], video.public_id, body=body, start=30.0 * n)
        s.commit()
        clip = Clip(video_id=video.id, creator_id=teacher.id, title="Wait time after the question", start=20.0,
                    end=45.0)
        s.add(clip)
        builders.community(s, people["facilitator"], "קהילת מורי המתמטיקה — חיפה", members=(teacher.email,))
        link = builders.active_coach_link(s, people["leader"], people["coach"].email, teacher)
        from app.coaching import service as coaching

        cycle = coaching.start_cycle(s, people["coach"], link.id, "Asking students to explain their reasoning "
                                     "before the teacher confirms an answer",
                                     due_on=(utcnow() + timedelta(days=5)).date())
        group = builders.diagnostic_class(s, teacher, "ח'3 מתמטיקה",
                                          students=(("S01", "נועה"), ("S02", "سامي"), ("S03", None)))
        assignment = builders.open_assignment(s, teacher, group, title="")
        student = diagnostics.find_student(s, group.code, "S02")
        first = assignment.items[0].item
        diagnostics.student_answers(s, student, assignment.public_id, {first.id: "B"}, submit=True)
        s.commit()
        from app.communities.models import Community

        community = s.query(Community).filter_by(name="קהילת מורי המתמטיקה — חיפה").one()
        import app.models  # noqa: F401 - every module's rules (lists go through authz.visible)
        from app.rehearsals import service as rehearsals

        rehearsals.import_library(s, builders.SCENARIOS)
        scenario = rehearsals.library(s, teacher)[0]
        own = rehearsals.from_misconception(s, teacher, "larger-denominator-larger")
        tries = [rehearsals.start_attempt(s, teacher, scenario.public_id) for _ in range(2)]
        rehearsal_group = rehearsals.start_group(s, people["facilitator"], scenario.public_id, community.public_id)
        s.commit()
        from app.plans import service as plans

        plans.import_library(s)
        items = {ai.item.key: ai.item.id for ai in assignment.items}
        noa = diagnostics.find_student(s, group.code, "S01")
        diagnostics.teacher_grid(s, teacher, assignment.public_id, {
            (noa.id, items["frac-compare-same-numerator"]): "B", (noa.id, items["frac-order-unit"]): "A",
            (noa.id, items["frac-add-unlike"]): "A", (noa.id, items["frac-add-decimal"]): "0.3333"})
        plan = plans.draft_for_student(s, teacher, noa.id)
        s.commit()
        from app.meetings import service as meetings

        meetings.import_library(s)
        meeting = meetings.schedule(s, people["facilitator"], community.public_id, title="מה התלמידים רואים בשבר?",
                                    starts_at=utcnow() + timedelta(days=2), protocol="notice-and-wonder")
        meetings.start(s, people["facilitator"], meeting.public_id)
        meetings.respond(s, teacher, meeting.public_id, step_id=None,
                         text="נועה סופרת את החלקים ולא משווה את הגודל שלהם — זה מה שראיתי בדקה השנייה.")
        s.commit()
        goal = plan.goals[0]
        plans.update_activity(s, teacher, plan.public_id, goal.activities[0].id, day=utcnow().date().isoformat())
        plans.set_goal(s, teacher, plan.public_id, goal.id, note="הרצועות עזרו לה לראות שהחלקים קטנים יותר.")
        s.commit()
        analysed = builders.analysed_video(s, teacher, builders.HEBREW_EXCHANGE, title="השוואת שברים — ח'3",
                                           language="he")
        builders.shared(s, analysed.video, people["coach"].email)
        from app.analytics import service as analytics

        analytics.set_shared(s, teacher, analysed.video.public_id, True)
        s.commit()
        cert = builders.certification_world(settings, s, people, "community_facilitator")  # test_standards: coaches
        aims = builders.goals_world(s, people)
        with create_app(settings).app_context():  # a QTI upload waiting for its preview, in the server's storage
            package = builders.qti_package(bankfile.load_bank())
            staged, _preview = diagnostics.stage_qti(s, people["admin"], package, "p.zip")
        args = {
            "diagnostics.qti_preview": {"token": staged},
            "goals.area": {"public_id": aims["a"]},
            "goals.indicator": {"public_id": aims["a"], "key": "math5_share"},
            "goals.values": {"public_id": aims["a"]},
            "goals.plan": {"public_id": aims["a"]},
            "goals.principal_session": {"public_id": aims["session"]},
            "standards.cohort": {"public_id": cert["cohort"]},
            "standards.agreement": {"public_id": cert["cohort"]},
            "standards.portfolio": {"public_id": cert["portfolio"]},
            "standards.certificate": {"public_id": cert["certificate"]},
            "verify.verify_issued": {"public_id": cert["certificate"]},
            "analytics.lesson": {"public_id": analysed.video.public_id},
            "analytics.teacher": {"user_id": teacher.id},
            "video.watch": {"public_id": video.public_id},
            "sharing.audit": {"public_id": video.public_id},
            "video.edit_transcript": {"public_id": video.public_id},
            "video.clip": {"clip_id": clip.public_id},
            "coaching.cycle": {"public_id": cycle.public_id},
            "communities.show": {"public_id": community.public_id},
            "diagnostics.results": {"public_id": assignment.public_id},
            "diagnostics.grid": {"public_id": assignment.public_id},
            "diagnostics.class_page": {"class_id": group.id},
            "diagnostics.cards": {"class_id": group.id},
            "diagnostics.progress": {"class_id": group.id},
            "rehearsals.scenario": {"public_id": scenario.public_id},
            "rehearsals.edit": {"public_id": own.public_id},
            "rehearsals.attempt": {"public_id": tries[0].public_id},
            "rehearsals.compare": {"a": tries[0].public_id, "b": tries[1].public_id},
            "rehearsals.group": {"public_id": rehearsal_group.public_id},
            "plans.for_class": {"class_id": group.id},
            "plans.week": {"class_id": group.id},
            "plans.student": {"student_id": noa.id},
            "plans.plan": {"public_id": plan.public_id},
            "plans.printable": {"public_id": plan.public_id},
            "meetings.meeting": {"public_id": meeting.public_id},
            "meetings.record": {"public_id": meeting.public_id},
            "meetings.community": {"public_id": community.public_id},
            "meetings.new": {"community": community.public_id},
        }

        def reset_token():  # made after the login, which may rehash the password (and so end older links)
            s.expire_all()
            return accounts.reset_token(s.get(type(teacher), teacher.id), settings.secret_key)
        yield {"people": people, "args": args, "reset_token": reset_token, "class_code": group.code,
               "assignment": assignment.public_id}
    finally:
        s.close()


def _pages(args: dict) -> list[tuple[str, str]]:
    app = create_app(load_settings({"CLASSLAB_INSTANCE": "/nonexistent-instance-for-url-map"}))
    pages, unmapped = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in SKIP:
            continue
        if rule.arguments and rule.endpoint not in args:
            unmapped.append(rule.endpoint)
            continue
        with app.test_request_context():
            from flask import url_for

            pages.append((rule.endpoint, url_for(rule.endpoint, **args.get(rule.endpoint, {}))))
    assert not unmapped, f"pages with no data to open them with (add to the seed or to SKIP): {unmapped}"
    return sorted(pages)


def _switch(page, lang: str) -> None:
    switch_language(page, lang)


def _too_wide(page) -> list[str]:
    """The document's width, and the elements that stick out of the viewport (for the failure message)."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth, out = [];
        if (document.documentElement.scrollWidth > w) out.push('document ' + document.documentElement.scrollWidth);
        const scrolls = '.table-scroll, .scroll, table, .chart, pre';
        const sticksOut = (el) => { const r = el.getBoundingClientRect();
            return r.width && (r.right > w + 1 || r.left < -1) && !el.closest(scrolls); };
        const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
            + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
        for (const el of document.querySelectorAll('body *')) {
            const table = el.matches('table');
            if (table && el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'visible') {
                out.push('table that does not scroll: ' + name(el)); continue; }
            // Name the innermost culprits: elements that stick out while none of their children do.
            if (!sticksOut(el) || [...el.children].some(sticksOut)) continue;
            const r = el.getBoundingClientRect();
            const text = (el.textContent || '').trim().slice(0, 30);
            out.push(name(el) + ' ' + Math.round(r.left) + '..' + Math.round(r.right) + ' ' + text);
            if (out.length > 8) break;
        }
        return out;
    }""")


@pytest.mark.parametrize("lang", ["he", "en"])
def test_no_page_is_wider_than_a_phone(live_server, browser, seeded, lang):
    people = seeded["people"]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        problems = {}
        page.goto(live_server.url + "/login")
        if lang != "en":
            _switch(page, lang)
        if _too_wide(page):
            problems["accounts.login"] = _too_wide(page)
        log_in(page, live_server.url, people["teacher"].email, people["password"])
        _switch(page, lang)
        seeded["args"]["accounts.reset_password"] = {"token": seeded["reset_token"]()}
        pages = _pages(seeded["args"])
        for endpoint, path in pages:
            if endpoint in OPENED_BY:
                continue
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, (endpoint, path, response and response.status)
            wide = _too_wide(page)
            if wide:
                problems[endpoint] = wide
            if SHOTS:
                page.screenshot(path=os.path.join(SHOTS, f"phone-{lang}-{endpoint}.png"), full_page=False)
        # The other roles' dashboards carry other panels.
        for who in ("coach", "facilitator", "leader", "admin"):
            page.context.clear_cookies()
            log_in(page, live_server.url, people[who].email, people["password"])
            _switch(page, lang)
            wide = _too_wide(page)
            if wide:
                problems[f"dashboard as {who}"] = wide
            for endpoint, path in pages:
                if OPENED_BY.get(endpoint) == who:
                    response = page.goto(live_server.url + path)
                    status = response and response.status
                    assert response is not None and status == 200, (endpoint, who, status)
                    wide = _too_wide(page)
                    if wide:
                        problems[endpoint] = wide
        # And the student's phone pages.
        page.context.clear_cookies()
        page.goto(live_server.url + "/s/")
        if lang != "en":
            _switch(page, lang)
        page.fill("#class_code", seeded["class_code"])
        page.fill("#student_code", "S01")
        page.click("button.primary")
        page.wait_for_url("**/s/home")
        for name, path in (("student.home", "/s/home"), ("student.answer", f"/s/a/{seeded['assignment']}")):
            page.goto(live_server.url + path)
            wide = _too_wide(page)
            if wide:
                problems[name] = wide
        assert not problems, f"wider than 390 px in {lang}: {problems}"
    finally:
        context.close()
