"""Goals in real browsers, in Hebrew: a coach plans the next session with a school's principal; the principal prepares
it (the agenda, and the five-unit mathematics chart to look at together); the coach records what was said and the
action agreed, with its owner and date. Every goals page is photographed at 1366 and 390 px wide and must not scroll
sideways; the indicator page shows the trend against the target and the city's schools with small groups hidden."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests.browser.steps import PASSWORD, log_in
from tests.browser.steps import shoot_widths as _shoot

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")
PRINCIPAL, COACH, ADMIN = "goal-principal@negev.example", "goal-coach@negev.example", "goal-admin@negev.example"


@pytest.fixture(scope="module")
def negev(live_server):
    """A city with two schools in the goals, three terms of the five-unit mathematics share, school one's target,
    and its principal paired with a coach this year, in the live server's database."""
    from app import db
    from app.accounts.models import OrgKind
    from app.config import load_settings
    from tests import builders

    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        import app.models  # noqa: F401 - every module's rules
        from app.accounts import service as accounts
        from app.goals import service as goals

        institute = accounts.create_organization(s, "המכון הארצי — יעדים", OrgKind.institute)
        city = accounts.create_organization(s, "עיריית ירוחם", OrgKind.municipality, institute)
        one = accounts.create_organization(s, "תיכון הנגב", OrgKind.school, city)
        two = accounts.create_organization(s, "מקיף רמון", OrgKind.school, city)
        admin = builders.user(s, ADMIN, "admin", institute, password=PASSWORD, display_name="מנהלת התוכנית",
                              locale="he")
        builders.user(s, PRINCIPAL, "school_leader", one, password=PASSWORD, display_name="רונית אזולאי",
                      locale="he")
        builders.user(s, COACH, "coach", institute, password=PASSWORD, display_name="יוסי מרקוביץ", locale="he")
        s.commit()
        first = goals.enrol(s, admin, organization_id=one.id, code="571234")
        second = goals.enrol(s, admin, organization_id=two.id, code="571235")
        shares = {(2026, 1): ((4, 32), (3, 7), (5, 27)), (2026, 2): ((5, 32), (3, 7), (6, 27)),
                  (2027, 1): ((6, 31), (4, 7), (6, 26))}
        for area, scale in ((first, 1), (second, 2)):
            for (year, term), grades in shares.items():
                for grade, (count, students) in zip((10, 11, 12), grades, strict=True):
                    goals.enter_value(s, admin, area.public_id, indicator_key="math5_share", year=year, term=term,
                                      grade=grade, count=count * scale, students=students * scale)
        goals.set_target(s, admin, first.public_id, indicator_key="math5_share", year=2028, value=24, baseline=12,
                         baseline_year=2025, note="יעד הרשת: 16% בכל בתי הספר")
        goals.add_step(s, admin, first.public_id, kind="milestone", title="שכבה י' — קבוצת תגבור פעילה",
                       owner="רכזת המתמטיקה", due_on=date(2027, 2, 1), indicator_key="math5_share")
        pair = goals.pair(s, admin, coach_email=COACH, principal_email=PRINCIPAL, year=2027)
        goals.create_round(s, admin, year=2027, number=3, meets_on=date(2026, 11, 25),
                           agenda="איך קוראים נתוני מגמה עם מנהלת", leader_email=COACH)
        s.commit()
        found = {"school": first.public_id, "city": first.city.public_id, "pair": pair.public_id}
    finally:
        s.close()
    return found


def test_a_principal_and_a_coach_prepare_and_record_a_session_with_an_indicator_chart(
        live_server, negev, new_page, tmp_path):
    folder = SHOTS or str(tmp_path)
    url = live_server.url
    coach = new_page()
    log_in(coach, url, COACH)
    assert coach.locator("html").get_attribute("dir") == "rtl"
    coach.goto(url + "/goals/")
    pair = coach.locator(f"#pair-{negev['pair']}")
    pair.locator("input[name=date]").fill("2026-12-14")
    pair.locator("textarea[name=agenda]").fill("מבט משותף על נתוני 5 יחידות בשכבות י'–י\"ב")
    with coach.expect_navigation():
        pair.locator("button[type=submit]").click()
    coach.wait_for_url(re.compile(r"/goals/sessions/[0-9a-f]+"))
    session_url = coach.url.split("#")[0]
    expect(coach.locator("#session-status")).to_have_text("מתוכנן")

    principal = new_page()
    log_in(principal, url, PRINCIPAL)
    principal.goto(url + "/goals/")
    _shoot(principal, folder, "goals-home-he")
    principal.locator(f"#pair-{negev['pair']} ol.sessions a").first.click()
    principal.wait_for_url(re.compile(r"/goals/sessions/"))
    principal.fill("#p-agenda", "1. נתוני 5 יחידות — איפה אנחנו מול היעד\n2. מי מוביל את התגבור בשכבה י'")
    principal.check("#prepare input[value=math5_share]")
    with principal.expect_navigation():
        principal.click("#prepare button.primary")
    expect(principal.locator("#looked-math5_share svg")).to_be_visible()
    expect(principal.locator("#looked-math5_share .status")).to_be_visible()
    expect(principal.locator("#record")).to_have_count(0)  # the coach keeps the log

    coach.goto(session_url)
    expect(coach.locator("#looked-math5_share svg")).to_be_visible()
    coach.fill("#notes-box", "רונית הציגה את הנתונים; שכבה י' מתחת למסלול. סוכם על קבוצת תגבור.")
    coach.fill("#action-1", "לפתוח קבוצת תגבור בשכבה י'")
    coach.fill("#owner-1", "רכזת המתמטיקה")
    coach.fill("#due-1", "2027-01-10")
    with coach.expect_navigation():
        coach.click("#record button.primary")
    expect(coach.locator("#session-status")).to_have_text("התקיים")
    expect(coach.locator("#agreed")).to_contain_text("לפתוח קבוצת תגבור בשכבה י'")
    _shoot(coach, folder, "goals-session-he")

    principal.goto(session_url)
    expect(principal.locator("#agreed")).to_contain_text("רכזת המתמטיקה")

    # The school's pages, as its principal.
    principal.goto(url + f"/goals/areas/{negev['school']}")
    expect(principal.locator("#indicator-math5_share svg")).to_be_visible()
    _shoot(principal, folder, "goals-area-he")
    principal.click("#indicator-math5_share h2 a")
    expect(principal.locator("#grades")).to_be_visible()
    expect(principal.locator("#grades .suppressed")).to_have_count(0)  # her own school: every grade
    _shoot(principal, folder, "goals-indicator-he")
    principal.goto(url + f"/goals/areas/{negev['school']}/values")
    _shoot(principal, folder, "goals-values-he")
    principal.goto(url + f"/goals/areas/{negev['school']}/plan")
    expect(principal.locator("#roadmap")).to_contain_text("קבוצת תגבור")
    _shoot(principal, folder, "goals-plan-he")

    # The city's view, as the programme's administrator: the schools with small groups hidden.
    admin = new_page()
    log_in(admin, url, ADMIN)
    admin.goto(url + f"/goals/areas/{negev['city']}/indicators/math5_share")
    expect(admin.locator("#school-table .suppressed").first).to_be_visible()
    expect(admin.locator("#on-track")).to_contain_text("תיכון הנגב")
    _shoot(admin, folder, "goals-city-he")
    coach.goto(url + "/goals/rounds")
    expect(coach.locator(".round-form")).to_have_count(1)
    _shoot(coach, folder, "goals-rounds-he")
