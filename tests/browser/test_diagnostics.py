"""A teacher assigns a diagnostic; three students answer on phone-sized pages; the teacher sees the
heatmap and the misconception groups (in Hebrew, right to left). A student of a Hebrew or an Arabic class
reads and answers a whole diagnostic without one word of Latin script outside the mathematics."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.steps import create_user, latin_words, log_in
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
        # locator.all() does not wait: the answer sheet must have opened first (CI once read the old page's
        # empty list and then measured the page mid-navigation)
        p.wait_for_url(re.compile(r"/s/a/[^/?#]+$"))
        expect(p.locator("fieldset.question").first).to_be_visible()
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


# ------------------------------------------------------------------------ a whole diagnostic in Hebrew or Arabic

TRILINGUAL_BANK = Path(__file__).parents[1] / "trilingual_bank"
TYPED = {  # how a student of the class writes a number and a short explanation
    "he": {"decimal": ",", "explain": "לא, כי שמינית קטנה משישית."},
    "ar": {"decimal": "\u066b", "explain": "لا، لأنّ الثُّمن أصغر من السُّدس."},
}
ARABIC_INDIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")


def _typed_number(value: float, lang: str, digits: str) -> str:
    from app.diagnostics.bankfile import format_number

    text = format_number(value).replace(".", TYPED[lang]["decimal"])
    return text.translate(ARABIC_INDIC) if digits == "arabic-indic" else text


def _class_with_assignment(page, server, lang: str, digits: str, diagnostic: str, who: str) -> tuple[str, str]:
    """A teacher reading ClassLab in `lang` makes a class in `lang` with one student, 5001, and assigns the
    diagnostic; (class code, results URL)."""
    email = f"{who}@lang.example"
    create_user(server, email, who, locale=lang)
    log_in(page, server.url, email)
    page.goto(server.url + "/diagnostics/")
    page.fill("#class-name", f"{lang} {who}")
    assert page.locator("#new-class-language").input_value() == lang  # the teacher's language, to begin with
    page.click("#classes button[type=submit]")
    page.wait_for_url(re.compile(r"/diagnostics/classes/\d+$"))
    class_url, class_code = page.url, page.locator("#class-code").inner_text()
    if digits != "western":
        page.select_option("#class-digits", digits)
        page.click("#class-language button[type=submit]")
        page.wait_for_url(class_url)
    assert page.locator("#class-language-select").input_value() == lang
    page.fill("#code", "5001")
    page.locator("#roster form").first.locator("button[type=submit]").click()
    page.wait_for_selector("#roster td:text-is('5001')")
    page.select_option("#diagnostic", diagnostic)
    page.click("#assign button.primary")
    page.wait_for_url(re.compile(r"/diagnostics/assignments/[0-9a-f]+$"))
    return class_code, page.url


def _answer_everything_without_latin(browser, server, class_code: str, lang: str, digits: str, bank) -> list[str]:
    """A student on a phone set to English signs in and answers every question right, the page text checked for
    Latin-script words at every step; the keys of the items answered."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                locale="en-US")
    p = phone.new_page()
    p.set_default_timeout(15000)
    try:
        p.goto(server.url + "/s/")
        assert "Start" in latin_words(p)  # before signing in, the phone's own language: the check sees English
        p.fill("#class_code", class_code)
        p.fill("#student_code", "5001")
        p.click("button.primary")
        p.wait_for_url("**/s/home")
        assert latin_words(p) == [], "home page"
        p.click(".assignments a")
        p.wait_for_selector("fieldset.question")
        answer_url = p.url
        assert p.locator("html").get_attribute("lang") == lang and p.locator("html").get_attribute("dir") == "rtl"
        assert latin_words(p) == [], "questions"
        if SHOTS:
            p.screenshot(path=os.path.join(SHOTS, f"student-{lang}-{digits}.png"), full_page=True)
        labels = p.locator(".choice-label").all_inner_texts()
        assert labels and set(labels) <= {f"{c}." for c in {"he": "אבגד", "ar": "أبجد"}[lang]}, labels
        numbers = " ".join(p.locator("fieldset.question mn, legend").all_text_contents())
        if digits == "arabic-indic":
            assert not re.search(r"[0-9]", numbers) and re.search("[\u0660-\u0669]", numbers), numbers
        keys = []
        for q in p.locator("fieldset.question").all():
            item = bank.items[q.get_attribute("data-item")]
            keys.append(item.key)
            if item.type in ("choice", "inline"):
                q.locator(f"input[type=radio][value={item.correct_choice.key}]").check()
            elif item.type == "multiple":
                for key in item.correct_keys:
                    q.locator(f"input[type=checkbox][value={key}]").check()
            elif item.type == "numeric":
                q.locator("input[type=text]").fill(_typed_number(item.answer, lang, digits))
            else:
                q.locator("textarea").fill(TYPED[lang]["explain"])
        p.click("button[name=save]")
        p.wait_for_selector(".flash-info")
        assert latin_words(p) == [], "saved, with the answers typed"
        p.click("#submit")
        p.wait_for_url("**/s/home")
        assert p.locator(".status-ready").count() == 1
        assert latin_words(p) == [], "home page after submitting"
        p.goto(answer_url)
        assert p.locator("#submitted-notice").count() == 1
        assert latin_words(p) == [], "the submitted answers, read-only"
        return keys
    finally:
        phone.close()


@pytest.mark.parametrize(("lang", "digits"), [("he", "western"), ("ar", "arabic-indic")])
def test_a_student_of_a_hebrew_or_arabic_class_answers_without_a_latin_word(live_server, browser, page, lang,
                                                                           digits):
    """Against a small bank in three languages (tests/trilingual_bank); the starter bank's own test is
    pending_test_every_starter_diagnostic_without_a_latin_word below."""
    from app.diagnostics.bankfile import load_bank

    classlab(live_server.env, "diagnostics", "import", str(TRILINGUAL_BANK))
    code, results_url = _class_with_assignment(page, live_server, lang, digits, "sample-fractions-check",
                                               f"sample-{lang}")
    keys = _answer_everything_without_latin(browser, live_server, code, lang, digits, load_bank(TRILINGUAL_BANK))
    assert len(keys) == 5
    # every answer was read as typed: the number in the class's digits and decimal separator too
    page.goto(results_url)
    for key in ("sample-compare", "sample-add", "sample-largest-decimal", "sample-cheese"):
        cell = page.locator(f'#heatmap g[data-student="5001"][data-item="{key}"]')
        assert cell.get_attribute("data-state") == "correct", key
    assert page.locator('#heatmap g[data-student="5001"][data-item="sample-explain"]').get_attribute(
        "data-state") == "pending"
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"results-{lang}-sample.png"), full_page=True)


STARTER_DIAGNOSTICS = ["comparing-and-adding-fractions", "ratio-and-proportion", "negative-numbers",
                       "linear-equations-and-graphs"]


@pytest.mark.parametrize("diagnostic", STARTER_DIAGNOSTICS)
@pytest.mark.parametrize(("lang", "digits"), [("he", "western"), ("ar", "arabic-indic")])
def test_every_starter_diagnostic_without_a_latin_word(live_server, browser, page, lang, digits,
                                                               diagnostic):
    """Issue 11's "done when", on the starter bank itself. Not collected until the translations are merged and
    the `languages: [en]` lines are gone from app/diagnostics/bank: then rename it test_every_starter_...."""
    from app.diagnostics.bankfile import load_bank

    classlab(live_server.env, "diagnostics", "import")
    bank = load_bank()
    code, results_url = _class_with_assignment(page, live_server, lang, digits, diagnostic, f"{diagnostic}-{lang}")
    keys = _answer_everything_without_latin(browser, live_server, code, lang, digits, bank)
    assert keys == list(bank.diagnostics[diagnostic].items)
    page.goto(results_url)
    for key in keys:
        state = page.locator(f'#heatmap g[data-student="5001"][data-item="{key}"]').get_attribute("data-state")
        assert state == ("pending" if bank.items[key].type == "text" else "correct"), key
