"""What the services say, in the reader's language: problem+json in the Accept-Language an API client asks for,
page messages in the page's (or the student's) language; dates in Israeli order; names, codes and numbers
isolated in mixed-direction text."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from app.accounts.models import User
from app.diagnostics import bankfile, service
from tests import builders
from tests.web import bearer, csrf_token, login, signed_in

FSI, PDI = "\u2068", "\u2069"


@pytest.fixture
def bank(session):
    service.import_bank(session, None, bankfile.load_bank())
    session.commit()


@pytest.fixture
def klass(session, people, bank):
    return builders.diagnostic_class(session, people["teacher"], "ח'3 מתמטיקה", students=(("S01", "נועה"),))


def _add_student(client, class_id: int, auth, code: str, language: str | None):
    headers = {**auth, **({"Accept-Language": language} if language else {})}
    return client.post(f"/api/v1/diagnostics/classes/{class_id}/students", json={"code": code}, headers=headers)


def _set_locale(session, email: str, locale: str) -> None:
    session.query(User).filter_by(email=email).one().locale = locale
    session.commit()


def test_a_422_reads_in_the_language_the_api_client_asks_for(client, session, people, klass):
    auth, class_id = bearer(session, people["teacher"]), klass.id
    english = _add_student(client, class_id, auth, "bad code!", None)
    hebrew = _add_student(client, class_id, auth, "bad code!", "he-IL,he;q=0.9,en;q=0.8")
    arabic = _add_student(client, class_id, auth, "bad code!", "ar")
    for resp in (english, hebrew, arabic):
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
        body = resp.get_json()
        # What a program branches on stays the same in every language.
        assert (body["type"], body["status"], body["field"]) == ("about:blank", 422, "code")
    assert english.get_json()["detail"] == (
        "'bad code!' is not a student code: use 1 to 40 letters, digits or dashes.")
    assert english.get_json()["title"] == "Invalid input"
    # The typed value is bidi-isolated inside the right-to-left sentence.
    assert hebrew.get_json()["detail"] == (
        f"„{FSI}bad code!{PDI}” אינו קוד תלמיד: השתמשו ב־1 עד 40 אותיות, ספרות או מקפים.")
    assert hebrew.get_json()["title"] == "קלט לא תקין"
    assert arabic.get_json()["detail"] == (
        f"«{FSI}bad code!{PDI}» ليس رمز طالب: استخدم من حرف واحد إلى 40 من الحروف أو الأرقام أو الشرطات.")
    assert arabic.get_json()["title"] == "إدخال غير صالح"


def test_a_409_in_arabic_and_without_a_header_the_users_language(client, session, people, klass):
    auth, class_id = bearer(session, people["teacher"]), klass.id
    conflict = _add_student(client, class_id, auth, "S01", "ar")
    assert conflict.status_code == 409
    assert conflict.get_json()["detail"] == f"يوجد في هذا الصف طالب بالرمز {FSI}S01{PDI} من قبل."
    assert conflict.get_json()["title"] == "تعارض"
    # No Accept-Language: the language the user chose for themself.
    _set_locale(session, "teacher@a.example", "he")
    mine = _add_student(client, class_id, auth, "S01", None)
    assert mine.get_json()["detail"] == f"כבר יש בכיתה הזו תלמיד עם הקוד {FSI}S01{PDI}."
    # A language we do not have falls back to the user's.
    assert _add_student(client, class_id, auth, "S01", "fr").get_json()["detail"] == mine.get_json()["detail"]


def test_a_schemas_field_messages_follow_the_language_too(client):
    resp = client.post("/api/v1/accounts/tokens", json={"email": "x", "password": "y", "name": "n", "days": "soon"},
                       headers={"Accept-Language": "he"})
    body = resp.get_json()
    assert resp.status_code == 422
    assert body["detail"] == "גוף הבקשה לא עבר בדיקה; ראו את 'errors' לכל שדה."
    assert body["errors"]["json"]["days"] == ["אסימון תקף בין יום אחד ל־366 ימים."]


def test_http_errors_no_service_raised_are_translated(client):
    missing = client.get("/api/v1/nothing-here", headers={"Accept-Language": "ar"})
    assert missing.status_code == 404
    assert (missing.get_json()["title"], missing.get_json()["detail"]) == ("غير موجود", "لم يُعثر على العنوان المطلوب.")


def _student_phone(app, class_code: str, code: str, language: str | None = None):
    phone = app.test_client()
    token = csrf_token(phone, "/s/")
    if language:  # the student's own choice, kept in their session (the language menu of the phone pages)
        phone.post("/language", data={"locale": language, "next": "/s/", "csrf_token": token})
    phone.post("/s/", data={"class_code": class_code, "student_code": code, "csrf_token": token})
    return phone


def test_a_422_on_the_students_page_in_hebrew_and_in_arabic(app, session, people, klass):
    assignment = builders.open_assignment(session, people["teacher"], klass, title="שברים")
    number, numeric = next((n, ai.item) for n, ai in enumerate(assignment.items, 1) if ai.item.type == "numeric")
    url, class_code = f"/s/a/{assignment.public_id}", klass.code
    expected = {
        "he": f"שאלה {number}: „{FSI}three{PDI}” אינו מספר.",
        "ar": f"السؤال {number}: «{FSI}three{PDI}» ليس عددًا.",
        "en": f"Question {number}: 'three' is not a number.",
    }
    for language, text in expected.items():
        # A student's pages are in the class's language, whatever the phone asks.
        session.get(type(klass), klass.id).language = language
        session.commit()
        phone = _student_phone(app, class_code, "S01", language)
        resp = phone.post(url, data={f"i-{numeric.id}": "three", "csrf_token": csrf_token(phone, url)})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422, page[:300]
        shown = re.search(r'<p class="flash flash-error" role="alert" id="error">([^<]*)</p>', page).group(1)
        assert html.unescape(shown) == text
        assert f'<html lang="{language}" dir="{"ltr" if language == "en" else "rtl"}">' in page
        assert 'value="three"' in page  # shown again as typed


def test_a_form_message_on_a_teachers_hebrew_page(client, session, people, klass):
    _set_locale(session, "teacher@a.example", "he")
    url = f"/diagnostics/classes/{klass.id}"
    login(client, "teacher@a.example", people["password"])
    resp = client.post(url + "/students", data={"code": "bad code!", "csrf_token": csrf_token(client, url)},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert f"„{FSI}bad code!{PDI}” אינו קוד תלמיד" in page
    assert "is not a student code" not in page


# ------------------------------------------------------------------------------------------------- dates


def test_a_hebrew_page_shows_dates_in_israeli_order(client, session, people, klass):
    # 25 April 2030 09:30 UTC is 12:30 in Jerusalem: the US order would read 4/25/30, 12:30 PM.
    made = builders.open_assignment(session, people["teacher"], klass, title="שברים")
    made.closes_at = datetime(2030, 4, 25, 9, 30, tzinfo=UTC)
    session.commit()
    login(client, "teacher@a.example", people["password"])
    pages = {}
    for locale in ("he", "en", "ar"):
        _set_locale(session, "teacher@a.example", locale)
        pages[locale] = client.get("/diagnostics/").get_data(as_text=True)
    assert "25.4.2030, 12:30" in pages["he"]
    assert "25/04/2030, 12:30" in pages["en"]
    assert "25\u200f/4\u200f/2030، 12:30" in pages["ar"]
    for page in pages.values():
        assert "4/25/30" not in page and "PM" not in page


# ---------------------------------------------------------------------------------------------- isolation


class _Isolation(HTMLParser):
    """Every stretch of text holding one of `names`, and whether it sits in a <bdi> or an element with dir= (below
    <html>, whose dir is the page's)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, names):
        super().__init__(convert_charrefs=True)
        self.names, self.stack, self.found = names, [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        inside = [t for t, _a in self.stack]
        if "title" in inside or "script" in inside:
            return  # the tab's title and scripts are not laid out in the page
        for name in self.names:
            if name in data:
                isolated = any(t == "bdi" or ("dir" in a and t != "html") for t, a in self.stack)
                self.found.append((name, isolated, "/".join(inside[-3:])))


def _not_isolated(page: str, names) -> list:
    parser = _Isolation(names)
    parser.feed(page)
    assert parser.found, f"none of {names} is on the page"
    return [(name, where) for name, isolated, where in parser.found if not isolated]


def test_names_codes_and_numbers_are_isolated_on_the_pages(app, session, people, klass):
    """A Latin name in a Hebrew page (or a Hebrew one in an English page) is a bidi island: each place a person's,
    class's or community's name is shown sits in <bdi> or an element with its own dir."""
    teacher, colleague = people["teacher"], people["colleague"]
    teacher.locale = "he"
    people["coach"].display_name = "Yael Coach"
    session.commit()
    class_id = klass.id
    builders.active_coach_link(session, people["leader"], "coach@a.example", teacher)
    plc = builders.community(session, people["facilitator"], "PLC Algebra", members=("teacher@a.example",
                                                                                    "colleague@a.example"))
    lesson = builders.shared(session, builders.ready_video(session, teacher, "Fractions 8B"), "colleague@a.example")
    from app.feedback import service as feedback

    feedback.add_comment(session, colleague, lesson.public_id, body="Nice question", start=3)
    session.commit()
    assignment = builders.open_assignment(session, teacher, klass, title="Fractions quiz")

    client = signed_in(app, "teacher@a.example", people["password"])
    pages = {
        "/dashboard": ("Noa Levi", "Dana Cohen", "Tichon Alef"),
        "/coaching/": ("Yael Coach",),
        f"/communities/{plc.public_id}": ("Dana Cohen", "Noa Levi"),
        f"/videos/{lesson.public_id}": ("Dana Cohen", "Fractions 8B"),
        "/diagnostics/": ("ח'3 מתמטיקה", "Fractions quiz"),
        f"/diagnostics/assignments/{assignment.public_id}": ("ח'3 מתמטיקה", "Fractions quiz", "S01"),
        f"/diagnostics/classes/{class_id}": ("S01", "נועה"),
    }
    problems = {}
    for url, names in pages.items():
        resp = client.get(url)
        assert resp.status_code == 200, url
        if bad := _not_isolated(resp.get_data(as_text=True), names):
            problems[url] = bad
    assert not problems, problems
    leader = signed_in(app, "leader@a.example", people["password"])
    assert not _not_isolated(leader.get("/people").get_data(as_text=True), ("Noa Levi", "Tichon Alef"))


def test_the_isolation_check_finds_a_bare_name():
    assert _not_isolated("<html dir='rtl'><body><p>שלום Noa Levi.</p><p><bdi>Noa Levi</bdi></p></body></html>",
                         ("Noa Levi",)) == [("Noa Levi", "html/body/p")]


def test_each_rubric_level_reads_in_its_own_direction(client, session, people, klass):
    """In a right-to-left page a rubric level written in English (or with mathematics) keeps its start visible:
    each option of the scoring select has dir="auto", and the select takes the card's width (classlab.css)."""
    assignment = builders.open_assignment(session, people["teacher"], klass, title="הסבר", diagnostic_key=None,
                                          item_keys=["frac-explain-denominator"])
    student = klass.students[0]
    service.student_answers(session, student, assignment.public_id,
                            {assignment.items[0].item.id: "כי שמיניות קטנות יותר"}, submit=True)
    url = f"/diagnostics/assignments/{assignment.public_id}"
    _set_locale(session, "teacher@a.example", "he")
    login(client, "teacher@a.example", people["password"])
    page = client.get(url).get_data(as_text=True)
    select = re.search(r'<select name="level"[^>]*>(.*?)</select>', page, re.S).group(1)
    levels = re.findall(r'<option value="\d+"([^>]*)>', select)
    assert levels and all('dir="auto"' in attrs for attrs in levels)
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "app/static/css/classlab.css").read_text()
    rule = re.search(r"\.score-form select \{([^}]*)\}", css).group(1)
    assert "inline-size: 100%" in rule and "left" not in rule and "right" not in rule
