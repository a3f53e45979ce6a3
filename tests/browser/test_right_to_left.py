"""Right-to-left pages in a real browser: what a Hebrew or Arabic reader sees of a rubric level, a name, a date."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app import db
from app.config import load_settings
from app.diagnostics import bankfile
from app.diagnostics import service as diagnostics
from tests import builders
from tests.browser.steps import log_in, switch_language

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def pending_short_answer(live_server):
    """A Hebrew-speaking teacher's class with one short-text answer waiting for its rubric level."""
    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        if not diagnostics.current_items(s):
            diagnostics.import_bank(s, None, bankfile.load_bank())
            s.commit()
        teacher = builders.user(s, "rtl-teacher@a.example", display_name="Noa Levi", locale="he")
        s.commit()
        group = builders.diagnostic_class(s, teacher, "ח'2 מתמטיקה", students=(("R01", "נועה"),))
        assignment = builders.open_assignment(s, teacher, group, title="הסבר", diagnostic_key=None,
                                              item_keys=["frac-explain-denominator"])
        student = diagnostics.find_student(s, group.code, "R01")
        diagnostics.student_answers(s, student, assignment.public_id,
                                    {assignment.items[0].item.id: "כי שמיניות קטנות יותר"}, submit=True)
        s.commit()
        yield {"email": teacher.email, "results": f"/diagnostics/assignments/{assignment.public_id}"}
    finally:
        s.close()


@pytest.mark.parametrize("lang", ["he", "ar"])
def test_a_rubric_level_shows_its_beginning_in_a_right_to_left_page(live_server, browser, pending_short_answer, lang):
    """The chosen level of an English rubric reads from its start ("2 — Says Mia is wrong…") inside the card: before,
    the right-to-left select laid it out from the right and cut off its start at the card's edge."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server.url, pending_short_answer["email"], builders.PASSWORD)
        page.goto(live_server.url + "/dashboard")
        switch_language(page, lang)
        # The bank in English (?lang=en) inside a Hebrew or Arabic page: a level that reads left to right.
        page.goto(live_server.url + pending_short_answer["results"] + "?lang=en")
        select = page.locator("#to-score select[name=level]").first
        select.select_option("2")
        seen = select.evaluate("""(sel) => {
            const option = sel.selectedOptions[0], card = sel.closest('.card').getBoundingClientRect();
            const box = sel.getBoundingClientRect();
            return {page: getComputedStyle(document.documentElement).direction,
                    option: getComputedStyle(option).direction, text: option.textContent,
                    inside: box.left >= card.left - 1 && box.right <= card.right + 1,
                    fills: box.width >= card.width * 0.8, wide: document.documentElement.scrollWidth > innerWidth};
        }""")
        assert seen["page"] == "rtl" and seen["text"].startswith("2 — Says Mia")
        assert seen["option"] == "ltr", seen  # an English level reads left to right, from its start
        assert seen["inside"] and seen["fills"] and not seen["wide"], seen
    finally:
        context.close()
