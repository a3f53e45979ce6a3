"""Learning plans in a real browser, in Hebrew: a teacher types a class's answers on the grid, opens the results,
drafts plans for the class, edits one (a goal's status and note, an activity done on a day), and downloads its PDF,
whose extracted text must be the plan in Hebrew. Each page is photographed at 1366 and 390 px wide and must not
scroll sideways on the phone."""

from __future__ import annotations

import io
import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser.steps import create_user, log_in, shoot_widths
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")
# A1 (נועה) answers so as to hold two misconceptions, A2 (יוסף) one of them; A3 has not answered yet.
ANSWERS = {
    "A1": {"frac-compare-same-numerator": "B", "frac-order-unit": "A", "frac-add-unlike": "A",
           "frac-add-decimal": "0.3333"},
    "A2": {"frac-add-unlike": "A", "frac-add-decimal": "0.3333"},
}


@pytest.fixture(scope="module")
def plans_server(live_server):
    classlab(live_server.env, "diagnostics", "import", timeout=300)
    classlab(live_server.env, "plans", "import")
    create_user(live_server, "plans-he@a.example", "מיכל כהן", "teacher", locale="he")
    return live_server


def test_results_draft_edit_and_print_a_plan_in_hebrew(plans_server, page, tmp_path):
    from pypdf import PdfReader

    folder = SHOTS or str(tmp_path)
    server = plans_server
    log_in(page, server.url, "plans-he@a.example")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.goto(server.url + "/diagnostics/")
    page.fill("#class-name", "ח'2 מתמטיקה")
    page.click("#classes button[type=submit]")
    page.wait_for_url(re.compile(r"/diagnostics/classes/\d+$"))
    roster = tmp_path / "roster.csv"
    roster.write_text("קוד,שם\nA1,נועה\nA2,יוסף\nA3,ליה\n", encoding="utf-8")
    page.set_input_files("#roster-file", str(roster))
    page.click("#roster form[enctype] button")
    page.wait_for_selector("text=A3")
    page.select_option("#diagnostic", "comparing-and-adding-fractions")
    page.click("#assign button.primary")
    page.wait_for_url(re.compile(r"/diagnostics/assignments/[0-9a-f]+$"))
    results_url = page.url

    page.goto(results_url + "/grid")
    for code, answers in ANSWERS.items():
        for item, value in answers.items():
            page.get_by_label(f"{code} {item}", exact=True).fill(value)
    page.click("form.grid-form button.primary")
    page.goto(results_url)
    # A heatmap cell that revealed a misconception leads to the student's plans; the results link to the class's.
    cell = page.locator('#heatmap a[href*="misconception=larger-denominator-larger"]').first
    expect(cell).to_have_count(1)
    page.click("#plans-link")
    page.wait_for_url(re.compile(r"/plans/classes/\d+$"))
    class_url = page.url
    page.click("#draft-class")
    expect(page.locator(".flash").first).to_be_visible()
    body = page.locator("main").inner_text()
    assert "נועה" in body and "יוסף" in body
    assert "ליה" in page.locator("#student-plans").inner_text()  # no result: among those with no open plan
    page.click("#draft-groups")
    page.wait_for_url(re.compile(r"/plans/classes/\d+#groups$"))
    assert "A1" in page.locator("#groups").inner_text() and "A2" in page.locator("#groups").inner_text()
    shoot_widths(page, folder, "plans-class-he")

    page.click("#student-plans a:has-text('נועה')")
    page.wait_for_url(re.compile(r"/plans/[0-9a-f]+$"))
    goals = page.locator("section.goal h2").all_inner_texts()
    assert len(goals) == 2 and "חיבור המונים וחיבור המכנים" in goals[1]  # the prerequisite first
    first = page.locator("section.goal").first
    first.locator("select[name=status]").select_option("partly")
    first.locator("textarea[name=note]").fill("הרצועות עזרו לה לראות שהחלקים קטנים יותר.")
    first.locator("form.goal-form button").click()
    page.wait_for_load_state()
    first = page.locator("section.goal").first
    assert "הרצועות עזרו לה" in first.locator("textarea[name=note]").input_value()
    first.locator("ol.activities form:has(input[name=done]) button").first.click()
    page.wait_for_load_state()
    changes = page.locator("#changes").inner_text()
    assert "הרצועות עזרו לה" in changes
    shoot_widths(page, folder, "plan-he")

    pdf_url = page.locator("#pdf-link").get_attribute("href")
    answer = page.request.get(server.url + pdf_url)
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages)
    # pypdf gives runs of one direction in reading order; a line that mixes directions (a class name with a digit)
    # comes out reordered, so only single-direction phrases are compared.
    for words in ("נועה", "מתמטיקה", "חיבור המונים וחיבור המכנים", "תוכנית הלמידה שלי", "להורים"):
        assert words in text, (words, text[:500])
    assert "My learning plan" not in text
    page.goto(server.url + pdf_url.replace("/plan.pdf", "/print"))
    assert page.locator("html").get_attribute("dir") == "rtl"
    shoot_widths(page, folder, "plan-print-he")
    page.goto(server.url + "/plans/activities?misconception=larger-denominator-larger")
    expect(page.locator("section.card h2").first).to_contain_text("מכנה גדול יותר")
    page.locator("ul.activities summary").first.click()
    expect(page.locator("ul.activities ol li").first).to_be_visible()
    shoot_widths(page, folder, "plans-library-he")
    page.goto(class_url + "/week")
    expect(page.locator(".week .day")).to_have_count(7)
    shoot_widths(page, folder, "plans-week-he")
