"""Certification in real browsers, in Hebrew: a candidate for instructional coach assembles her portfolio from her
own clips, the coaching cycles she led, the meetings she facilitated and her rehearsals, each piece with a
commentary, and submits it; the programme's administrator assigns assessors (every standard scored twice); three
assessors, each in a browser context of their own, score what they were given without seeing her name. Two of them
disagree by three levels on the first standard, so the third is given it and settles it; she is certified, downloads
the signed credential, and a stranger (not signed in) verifies it on the public page, then a copy changed by one
character, which is refused. Each page is photographed at 1366 and 390 px wide and must not scroll sideways."""

from __future__ import annotations

import json
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests.browser.steps import PASSWORD, log_in
from tests.browser.steps import shoot_widths as _shoot

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")
ROLE = "instructional_coach"
ASSESSORS = ("cert-a@galil.example", "cert-b@galil.example", "cert-c@galil.example")


@pytest.fixture(scope="module")
def programme(live_server):
    """The institute's administrator, a candidate with evidence of every kind, three trained assessors and a blind
    cohort scoring every portfolio twice, in the live server's database."""
    from app import db
    from app.config import load_settings
    from app.standards import standardsfile
    from tests import builders

    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        import app.models  # noqa: F401 - every module's rules
        from app.accounts import service as accounts

        institute = accounts.create_organization(s, "המכון הארצי", "institute")
        school = accounts.create_organization(s, "תיכון הגליל", "school", institute)
        admin = builders.user(s, "cert-admin@galil.example", "admin", institute, password=PASSWORD,
                              display_name="מנהלת התוכנית", locale="he")
        candidate = builders.user(s, "cert-maya@galil.example", "coach", school, password=PASSWORD,
                                  display_name="מאיה שרון", locale="he")
        assessors = [builders.user(s, email, "coach", institute, password=PASSWORD, display_name=name, locale="he")
                     for email, name in zip(ASSESSORS, ("אסתר גולן", "ג'מיל נסאר", "רות בן דוד"), strict=True)]
        s.commit()
        role = standardsfile.current().role(ROLE)
        kinds = {k for st in role.standards for k in st.evidence.kinds}
        titles = {"clip": "שאלה פתוחה וזמן המתנה — ט'2", "cycle": "תלמידים מנמקים לפני שהמורה מאשר/ת",
                  "meeting": "מה התלמידים רואים בשבר?", "attempt": "תגובה לטעות במכנה"}
        for kind in kinds:
            for n in range(3):
                builders.evidence(s, candidate, kind, f"{titles[kind]} ({n + 1})")
        for person in assessors:
            builders.trained(s, admin, person, ROLE)
        cohort = builders.cohort(s, admin, ROLE, candidate.email, name="מחזור מנחים פדגוגיים — צפון 2027",
                                 double_share=1.0)
        found = {"cohort": cohort.public_id, "standards": [st.key for st in role.standards]}
    finally:
        s.close()
    return found


def _score_everything(page, url: str, first_standard: str) -> int:
    """Score every open form of this assessor: the first standard 1 in the first round, 4 in the second (three
    levels apart) and 3 by the third assessor; every other standard 3. Returns how many were scored."""
    page.goto(url + "/standards/")
    links = sorted({a.get_attribute("href").split("#")[0]
                    for a in page.locator("#to-score a").all()})
    scored = 0
    for link in links:
        page.goto(url + link)
        while page.locator("form.score-form").count():
            form = page.locator("form.score-form").first
            standard, round_ = form.get_attribute("data-standard"), form.get_attribute("data-round")
            level = {"1": "1", "2": "4", "3": "3"}[round_] if standard == first_standard else "3"
            form.locator(f"input[name=level][value='{level}']").check()
            form.locator("textarea[name=rationale]").fill("המורה מציגה ראיות ברורות למדדים 1 ו-2 בקטע ובפרשנות.")
            with page.expect_navigation():
                form.locator("button.primary").click()
            expect(page.locator(".flash").first).not_to_have_class(re.compile("flash-error"))
            scored += 1
    return scored


def test_a_candidate_submits_two_assessors_disagree_a_third_settles_and_anyone_verifies(
        live_server, programme, new_page, tmp_path):
    folder = SHOTS or str(tmp_path)
    url = live_server.url
    maya = new_page()
    log_in(maya, url, "cert-maya@galil.example")
    assert maya.locator("html").get_attribute("dir") == "rtl"
    maya.goto(url + "/standards/")
    _shoot(maya, folder, "standards-home-he")
    maya.goto(url + f"/standards/framework?role={ROLE}")
    _shoot(maya, folder, "standards-framework-he")
    maya.goto(url + f"/standards/cohorts/{programme['cohort']}")
    maya.click("#my-portfolio-link")
    maya.wait_for_url(re.compile(r"/standards/portfolios/"))
    portfolio_url = maya.url.split("#")[0]
    expect(maya.locator("#submit-form button")).to_be_disabled()
    # Each standard: the least pieces it asks for, each with a commentary in Hebrew.
    for key in programme["standards"]:
        section = maya.locator(f"#standard-{key}")
        values = [v for o in section.locator(f"#evidence-{key} option:not([disabled])").all()
                  if (v := o.get_attribute("value"))]
        while section.locator("h2 .status-failed").count():
            section.locator(f"#evidence-{key}").select_option(values.pop(0))
            section.locator("textarea[name=commentary]").last.fill(
                "בקטע הזה שאלתי שאלה פתוחה וחיכיתי חמש שניות; שלושה תלמידים נימקו. כך אני מראה את מדד 1.")
            with maya.expect_navigation():
                section.locator("form.add-evidence button").click()
            expect(maya.locator(".flash").first).not_to_have_class(re.compile("flash-error"))
            section = maya.locator(f"#standard-{key}")
    _shoot(maya, folder, "standards-portfolio-he")
    maya.click("#submit-form button")
    expect(maya.locator("#portfolio-status")).to_have_text("הוגש")

    admin = new_page()
    log_in(admin, url, "cert-admin@galil.example")
    admin.goto(url + f"/standards/cohorts/{programme['cohort']}")
    admin.click("#assign-form button")
    expect(admin.locator(".flash").first).to_contain_text(str(len(programme["standards"])))
    _shoot(admin, folder, "standards-cohort-he")

    # The assessors: two rounds for every standard, then the disagreement goes to whoever has not scored it.
    pages = {}
    for email in ASSESSORS:
        pages[email] = new_page()
        log_in(pages[email], url, email)
    first = programme["standards"][0]
    pages[ASSESSORS[0]].goto(url + "/standards/")
    link = pages[ASSESSORS[0]].locator("#to-score a").first.get_attribute("href")
    pages[ASSESSORS[0]].goto(url + link)
    expect(pages[ASSESSORS[0]].locator("h1")).not_to_contain_text("מאיה")
    _shoot(pages[ASSESSORS[0]], folder, "standards-scoring-he")
    # Two passes: the third assessor may be given the disagreement before or after their own first turn.
    total = sum(_score_everything(pages[email], url, first) for _ in range(3) for email in ASSESSORS)
    assert total == 2 * len(programme["standards"]) + 1  # every standard twice, and the disagreement once more

    maya.goto(portfolio_url)
    expect(maya.locator("#portfolio-status")).to_have_text("הוסמך/ה")
    expect(maya.locator("#results")).not_to_contain_text("אסתר גולן")  # blind: no assessor's name
    _shoot(maya, folder, "standards-results-he")
    maya.click("#certificate-link")
    _shoot(maya, folder, "standards-certificate-he")
    with maya.expect_download() as download:
        maya.click("#json-link")
    credential = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert credential["credentialSubject"]["name"] == "מאיה שרון"

    admin.goto(url + f"/standards/cohorts/{programme['cohort']}/agreement")
    expect(admin.locator("#calibration tbody tr")).to_have_count(3)
    _shoot(admin, folder, "standards-agreement-he")
    admin.goto(url + "/standards/register")
    expect(admin.locator("#register")).to_contain_text("מאיה שרון")
    _shoot(admin, folder, "standards-register-he")

    stranger = new_page()
    stranger.goto(url + "/verify/")
    stranger.fill("#credential", json.dumps(credential, ensure_ascii=False))
    stranger.click("#verify-form button.primary")
    expect(stranger.locator("#verdict")).to_have_attribute("data-state", "valid")
    expect(stranger.locator("#verdict")).to_contain_text("מאיה שרון")
    _shoot(stranger, folder, "standards-verify-he")
    forged = json.loads(json.dumps(credential))
    forged["credentialSubject"]["name"] = "מאיה שרונה"
    stranger.goto(url + "/verify/")
    stranger.fill("#credential", json.dumps(forged, ensure_ascii=False))
    stranger.click("#verify-form button.primary")
    expect(stranger.locator("#verdict")).to_have_attribute("data-state", "tampered")
