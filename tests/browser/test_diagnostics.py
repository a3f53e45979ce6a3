"""A teacher assigns a diagnostic; three students answer on phone-sized pages; the teacher sees the
heatmap and the misconception groups (in Hebrew, right to left)."""

import os
import re

import pytest

from tests.browser.steps import create_user, log_in
from tests.processes import classlab

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


def test_assign_answer_on_phones_and_read_the_heatmap(live_server, browser, page, tmp_path):
    classlab(live_server.env, "diagnostics", "import")
    create_user(live_server, "rina@tichon.example", "רינה", locale="he")
    log_in(page, live_server.url, "rina@tichon.example")
    page.click("nav >> text=אבחונים")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#class-name", "ח'2 מתמטיקה")
    page.click("#classes button[type=submit]")
    page.wait_for_url(re.compile(r"/diagnostics/classes/\d+$"))
    roster = tmp_path / "roster.csv"
    roster.write_text("קוד,שם\nA1,נועה\nA2,יוסף\nA3,ליה\n", encoding="utf-8")
    page.set_input_files("#roster-file", str(roster))
    page.click("#roster form[enctype] button")
    page.wait_for_selector("text=A3")
    class_code = page.locator("#class-code").inner_text()
    page.select_option("#diagnostic", "comparing-and-adding-fractions")
    page.click("#assign button.primary")
    page.wait_for_url(re.compile(r"/diagnostics/assignments/[0-9a-f]+$"))
    results_url = page.url

    # Student A1 answers everything right; A2 and A3 choose the distractors of the misconception that
    # the most items of this diagnostic can reveal, so both come out holding it.
    from collections import Counter

    from app.diagnostics.bankfile import load_bank

    bank = load_bank()
    items = [bank.items[k] for k in bank.diagnostics["comparing-and-adding-fractions"].items]
    common = Counter(c.misconception for i in items for c in i.choices if c.misconception).most_common(1)[0][0]

    def pick(key: str, right: bool) -> str:
        item = bank.items[key]
        if right:
            return item.correct_choice.key
        hit = [c.key for c in item.choices if c.misconception == common]
        return (hit or [c.key for c in item.choices if not c.correct])[0]

    for code, right in (("A1", True), ("A2", False), ("A3", False)):
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        p = phone.new_page()
        p.goto(live_server.url + "/s/")
        p.fill("#class_code", class_code.lower())
        p.fill("#student_code", code)
        p.click("button.primary")
        p.click(".assignments a")
        for q in p.locator("fieldset.question").all():
            key = q.get_attribute("data-item")
            if q.locator("input[type=radio]").count():
                q.locator(f"input[type=radio][value={pick(key, right)}]").check()
            else:
                item = bank.items[key]
                value = item.answer if right or not item.wrong_answers else item.wrong_answers[0].value
                q.locator("input[type=text], textarea").fill(str(value if value is not None else "1"))
        width = p.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the phone page must not scroll sideways"
        if SHOTS and code == "A2":
            p.screenshot(path=os.path.join(SHOTS, "student-phone.png"), full_page=False)
        p.click("#submit")
        p.wait_for_url("**/s/home")
        assert p.locator(".status-ready").count() == 1
        phone.close()

    page.goto(results_url)
    heat = page.locator("#heatmap svg")
    assert heat.is_visible()
    for code in ("A1", "A2", "A3"):
        assert code in heat.inner_html()
    assert page.locator("#groups .group").count() >= 1
    groups = page.locator("#groups").inner_text()
    assert "A2" in groups and "A3" in groups and "A1" not in groups
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "results-he.png"), full_page=True)
