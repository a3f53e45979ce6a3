"""A PLC meeting in real browsers, in Hebrew: the facilitator schedules a meeting and builds its agenda with two
clips shared with the community and one question of her class's diagnostic; she starts it, and two members, each
in a browser context of their own, respond live: each sees the other's response appear without reloading, and
their screens follow when she moves the group to the next step. She highlights a response, ends the meeting,
writes the summary and a next step, and downloads the record as a PDF, whose text must be the meeting's. Each
page is photographed at 1366 and 390 px wide and must not scroll sideways on the phone."""

from __future__ import annotations

import io
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests.browser.steps import PASSWORD, log_in
from tests.browser.steps import shoot_widths as _shoot
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


@pytest.fixture(scope="module")
def plc(live_server):
    """Three people of one school, a community, two clips of a lesson shared with it (the class consented), and the
    facilitator's own class with its answers to a diagnostic, written into the live server's database."""
    from app import db
    from app.config import load_settings
    from app.diagnostics import bankfile
    from app.diagnostics import service as diagnostics
    from app.sharing import service as sharing
    from app.video.models import Clip
    from tests import builders

    classlab(live_server.env, "meetings", "import")
    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        import app.models  # noqa: F401 - every module's rules
        from app.accounts import service as accounts

        school = accounts.create_organization(s, "תיכון הגליל", "school")
        fac = builders.user(s, "meet-fac@galil.example", "facilitator", school, password=PASSWORD,
                            display_name="רונית אברהם", locale="he")
        noa = builders.user(s, "meet-noa@galil.example", "teacher", school, password=PASSWORD,
                            display_name="נועה לוי", locale="he")
        samir = builders.user(s, "meet-samir@galil.example", "teacher", school, password=PASSWORD,
                              display_name="סמיר חדאד", locale="he")
        s.commit()
        if not diagnostics.current_items(s):
            diagnostics.import_bank(s, None, bankfile.load_bank())
            s.commit()
        community = builders.community(s, fac, "קהילת מורי המתמטיקה — הגליל", members=(noa.email, samir.email))
        community.language = "he"
        video = builders.ready_video(s, noa, "שברים על ציר המספרים", 300.0, consent="full")
        clips = []
        for title, start, end in (("נועה שואלת: מה גדול יותר?", 20.0, 50.0), ("הקבוצה של סמיר מסבירה", 90.0, 130.0)):
            clip = Clip(video_id=video.id, creator_id=noa.id, title=title, start=start, end=end)
            s.add(clip)
            s.flush()
            sharing.share_clip(s, noa, clip.public_id, None, "view", community_id=community.public_id)
            clips.append(clip)
        group = builders.diagnostic_class(s, fac, "ח'2 מתמטיקה",
                                          students=(("S1", "רמי"), ("S2", "ליאור"), ("S3", None)))
        assignment = builders.open_assignment(s, fac, group)
        items = {ai.item.key: ai.item.id for ai in assignment.items}
        students = {st.code: st.id for st in group.students}
        diagnostics.teacher_grid(s, fac, assignment.public_id, {
            (students["S1"], items["frac-compare-same-numerator"]): "B",
            (students["S2"], items["frac-compare-same-numerator"]): "B",
            (students["S3"], items["frac-compare-same-numerator"]): "A"})
        found = {"community": community.public_id, "clips": [c.title for c in clips], "assignment": assignment.title}
        s.commit()
    finally:
        s.close()  # before the test: an open reader of the live server's SQLite file would hold up its writers
    return found


def test_a_facilitator_runs_a_meeting_two_members_respond_live_and_the_record_is_a_pdf(
        live_server, plc, new_page, tmp_path):
    from pypdf import PdfReader

    folder = SHOTS or str(tmp_path)
    server = live_server
    fac = new_page()
    log_in(fac, server.url, "meet-fac@galil.example")
    assert fac.locator("html").get_attribute("dir") == "rtl"
    fac.goto(f"{server.url}/communities/{plc['community']}")
    fac.click("#new-meeting-link")
    fac.fill("#m-title", "איך התלמידים משווים שברים")
    fac.select_option("#m-mode", "hybrid")
    fac.fill("#m-place", "חדר מורים")
    _shoot(fac, folder, "meeting-new-he")
    fac.click("#meeting-form button.primary")
    fac.wait_for_url(re.compile(r"/meetings/[0-9a-f]+$"))
    meeting_url = fac.url

    # The agenda: two clips with protocol steps, then one question's answers.
    agenda = (("notice-and-wonder#1", plc["clips"][0]), ("notice-and-wonder#2", plc["clips"][1]),
              ("item-answers#2", f"{plc['assignment']} · Q1"))
    for added, (protocol_step, evidence) in enumerate(agenda):
        if not fac.locator("#step-form").is_visible():
            fac.locator("details.add-step summary").click()
        fac.select_option("#step-protocol", protocol_step)
        fac.select_option("#step-evidence", fac.locator("#step-evidence option", has_text=evidence).first
                          .get_attribute("value"))
        fac.click("#step-form button.primary")
        expect(fac.locator("li.step")).to_have_count(added + 1, timeout=15000)
    expect(fac.locator("li.step")).to_have_count(3)
    expect(fac.locator("li.step").nth(2).locator(".chart svg")).to_have_count(1)
    _shoot(fac, folder, "meeting-agenda-he")
    fac.click("#start-meeting")
    expect(fac.locator("#live")).to_be_visible(timeout=15000)

    # Two members, each in a browser context of their own, open the live meeting.
    noa, samir = new_page(), new_page()
    for page, email in ((noa, "meet-noa@galil.example"), (samir, "meet-samir@galil.example")):
        log_in(page, server.url, email)
        page.goto(meeting_url)
        expect(page.locator("li.step.current")).to_have_attribute("data-position", "0")
        page.evaluate("() => { window.__sameDocument = true; }")
    first = noa.locator("li.step").nth(0)
    first.locator("textarea[name=text]").fill("התלמידים סופרים את החלקים ולא משווים את הגודל שלהם")
    first.locator("input[name=seconds]").fill("0:12")
    first.locator(".respond-form button.primary").click()
    # The first step's responses are held: the facilitator sees Noa's at once, Samir only that one is waiting.
    expect(fac.locator("li.step").nth(0).locator("ol.responses li")).to_have_count(1, timeout=10000)
    expect(samir.locator("li.step").nth(0).locator("p.waiting")).to_contain_text("1", timeout=10000)
    expect(samir.locator("li.step").nth(0).locator("ol.responses li")).to_have_count(0)
    samir.locator("li.step").nth(0).locator("textarea[name=text]").fill("אולי הם חושבים שמכנה גדול הוא שבר גדול?")
    samir.locator("li.step").nth(0).locator(".respond-form button.primary").click()
    expect(fac.locator("li.step").nth(0).locator("ol.responses li")).to_have_count(2, timeout=10000)
    _shoot(fac, folder, "meeting-held-facilitator-he")
    # She reveals them: each member sees both at their next poll, without reloading.
    fac.locator("li.step").nth(0).locator(".reveal-form button").click()
    for page in (noa, samir):
        seen = page.locator("li.step").nth(0).locator("ol.responses li")
        expect(seen).to_have_count(2, timeout=10000)
        expect(seen.first).to_contain_text("סופרים את החלקים")
        expect(seen.first.locator("button.moment")).to_have_text("0:12")
        expect(page.locator("li.step").nth(0).locator("p.waiting")).to_be_hidden()
    # The second step is open: a response reaches the others as soon as their next poll.
    fac.click("#next-step")
    for page in (noa, samir):
        expect(page.locator("li.step.current")).to_have_attribute("data-position", "1", timeout=10000)
        assert page.evaluate("() => window.__sameDocument === true")
    second = samir.locator("li.step").nth(1)
    second.locator("textarea[name=text]").fill("בדקה 0:30 רמי מסביר שרבע גדול משליש כי 4 גדול מ-3")
    second.locator(".respond-form button.primary").click()
    expect(noa.locator("li.step").nth(1).locator("ol.responses li")).to_have_count(1, timeout=10000)
    _shoot(samir, folder, "meeting-live-member-he")

    expect(fac.locator("#present-count")).to_contain_text("3", timeout=10000)
    _shoot(fac, folder, "meeting-live-facilitator-he")
    fac.locator("li.step").nth(0).locator(".highlight-form button").first.click()
    expect(noa.locator("li.step").nth(0).locator("li.highlighted")).to_have_count(1, timeout=10000)

    # She ends the meeting: the members' pages turn into the record; she writes the summary and a next step.
    fac.click("#close-meeting")
    fac.wait_for_url(re.compile(r"#summary$"))
    expect(noa.locator("#record-links")).to_be_visible(timeout=10000)
    expect(noa.locator(".respond-form")).to_have_count(0)
    fac.fill("#summary-text", "ראינו שהתלמידים משווים מכנים ולא גדלים. ננסה רצועות שברים.")
    fac.click("#summary-form button")
    fac.fill("#ns-text", "לנסות משימת רצועות שברים בכיתה ח'")
    fac.select_option("#ns-assignee", label="נועה לוי")
    fac.fill("#ns-due", "2027-01-15")
    fac.click("#next-step-form button")
    expect(fac.locator("ul.next-steps li")).to_contain_text("רצועות")
    noa.goto(server.url + "/dashboard")
    expect(noa.locator("#meetings-panel")).to_contain_text("לנסות משימת רצועות שברים")

    with fac.expect_download() as download_info:
        fac.click("#record-pdf")
    with open(download_info.value.path(), "rb") as fh:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(fh.read())).pages)
    for words in ("איך התלמידים משווים שברים", "נועה לוי", "סופרים את החלקים", "רצועות שברים", "סדר היום"):
        assert words in text, (words, text[:600])
    fac.goto(meeting_url)
    _shoot(fac, folder, "meeting-record-he")
    fac.goto(f"{server.url}/meetings/communities/{plc['community']}")
    expect(fac.locator("#history")).to_contain_text("איך התלמידים משווים שברים")
    _shoot(fac, folder, "meeting-history-he")
    fac.goto(server.url + "/meetings/protocols")
    _shoot(fac, folder, "meeting-protocols-he")
    fac.goto(server.url + "/meetings/")
    _shoot(fac, folder, "meeting-index-he")
