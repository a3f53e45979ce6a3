"""The results page's charts read on a phone in Hebrew: drawn by Chromium with its real fonts, every chart's text
stays inside its picture and is at least 12 px on screen at 390 px wide, and each title is seen whole without
scrolling (the misconception chart was drawn at half size and the tag chart's title was cut)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.orm import Session

from app import db
from app.config import load_settings
from app.diagnostics import bankfile
from app.diagnostics import service as diagnostics
from tests import builders
from tests.browser.steps import log_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")

# As a Hebrew bank names them: long enough to wrap on a phone.
HEBREW_NAMES = {
    "larger-denominator-larger": "מכנה גדול יותר פירושו שבר גדול יותר (השוואה כמו במספרים שלמים)",
    "add-numerators-denominators": "מחברים מונה למונה ומכנה למכנה",
    "longer-decimal-larger": "מספר עשרוני ארוך יותר הוא גדול יותר",
    "shorter-decimal-larger": "מספר עשרוני קצר יותר הוא גדול יותר",
}

# Per chart: the on-screen size of its smallest text, whether any text leaves the picture, and whether the title
# lines are inside the visible part of the chart's card.
MEASURE = """() => [...document.querySelectorAll('.chart > svg')].map((svg) => {
    const box = svg.viewBox.baseVal, scale = svg.getBoundingClientRect().width / box.width;
    const texts = [...svg.querySelectorAll('text')];
    const outside = texts.filter((t) => { const b = t.getBBox();
        return b.width && (b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5); })
        .map((t) => t.textContent);
    const smallest = Math.min(...texts.filter((t) => t.getBBox().width && t.textContent.trim().length > 1)
        .map((t) => parseFloat(getComputedStyle(t).fontSize) * scale));
    const card = svg.parentElement.getBoundingClientRect();
    const cut = [...svg.querySelectorAll('g.heading text')].filter((t) => { const r = t.getBoundingClientRect();
        return r.left < card.left - 0.5 || r.right > card.right + 0.5; }).map((t) => t.textContent);
    return { id: svg.parentElement.id, wide: svg.classList.contains('chart-wide'), smallest, outside, cut,
             title: svg.querySelector('title').textContent };
})"""


@pytest.fixture(scope="module")
def results_page(live_server):
    """A class of fourteen who answered the fractions diagnostic, in the live server's database."""
    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        teacher = builders.user(s, "charts@tichon.example", display_name="רונית", locale="he")
        s.commit()
        if not diagnostics.current_items(s):
            diagnostics.import_bank(s, None, bankfile.load_bank())
        for key, title in HEBREW_NAMES.items():
            diagnostics.misconceptions(s)[key].title = title
        s.commit()
        students = tuple((f"S{n:02d}", None) for n in range(1, 15))
        group = builders.diagnostic_class(s, teacher, "ח'3 מתמטיקה", students=students)
        assignment = builders.open_assignment(s, teacher, group, title="שברים — אבחון פתיחה")
        for n, (code, _) in enumerate(students):
            student = diagnostics.find_student(s, group.code, code)
            answers = {}
            for k, ai in enumerate(assignment.items):
                item = ai.item
                if item.type == "choice":
                    choices = [c["key"] for c in item.spec["choices"]]
                    answers[item.id] = choices[(n + k) % len(choices)]
                elif item.type == "numeric":
                    answers[item.id] = ("0.75", "0.3333")[(n + k) % 2]
            diagnostics.student_answers(s, student, assignment.public_id, answers, submit=True)
        s.commit()
        yield f"/diagnostics/assignments/{assignment.public_id}"
    finally:
        s.close()


@pytest.mark.parametrize("width", [390, 1366])
def test_results_charts_are_readable_and_whole_in_hebrew(live_server, browser, results_page, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="he-IL",
                                  is_mobile=width < 600, has_touch=width < 600)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server.url, "charts@tichon.example", builders.PASSWORD)
        page.goto(live_server.url + results_page)
        assert page.locator("html").get_attribute("dir") == "rtl"
        charts = page.evaluate(MEASURE)
        assert {c["id"] for c in charts} >= {"heatmap", "frequencies"}
        frequencies = next(c for c in charts if c["id"] == "frequencies")
        assert not frequencies["wide"] and "מכנה גדול יותר" in page.inner_text("#frequencies")
        for chart in charts:
            assert not chart["outside"], chart
            assert not chart["cut"], chart  # the title is read whole, before any scrolling
            assert chart["smallest"] >= 11.9, chart
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, f"results-he-{width}.png"), full_page=True)
            for n, chart in enumerate(page.locator(".chart").all()):
                chart.screenshot(path=os.path.join(SHOTS, f"results-he-{width}-chart{n}.png"))
    finally:
        context.close()
