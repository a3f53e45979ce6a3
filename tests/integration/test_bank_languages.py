"""The bank in the reader's language (issue 11): a class's language and digits, its students' pages entirely in
them, the teacher's pages in the teacher's language with a switch, and the API's texts in every language."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.diagnostics import service
from app.diagnostics.models import Answer, ClassGroup, Misconception
from tests import builders
from tests.web import bearer, csrf_token, login, signed_in

SAMPLE = "sample-fractions-check"


@pytest.fixture
def sample(session):
    return builders.trilingual_bank(session)


def _class_with_assignment(session, teacher, language: str, digits: str = "western"):
    group = builders.diagnostic_class(session, teacher, "ח'1", (("1001", None), ("1002", None)), language=language,
                                      digits=digits)
    return group, builders.open_assignment(session, teacher, group, title="", diagnostic_key=SAMPLE)


def _student(app, group, code: str = "1001"):
    phone = app.test_client()
    signed = phone.post("/s/", data={"class_code": group.code, "student_code": code,
                                     "csrf_token": csrf_token(phone, "/s/")})
    assert signed.status_code == 302
    return phone


def _item_ids(assignment) -> dict[str, int]:
    return {ai.item.key: ai.item.id for ai in assignment.items}


def test_the_class_language_form_takes_good_values_and_refuses_bad_ones(client, session, people):
    login(client, people["teacher"].email, people["password"])
    token = csrf_token(client, "/diagnostics/")
    assert 'id="new-class-language"' in client.get("/diagnostics/").get_data(as_text=True)
    made = client.post("/diagnostics/classes", data={"name": "ט'1", "language": "ar", "csrf_token": token})
    assert made.status_code == 302
    group = session.query(ClassGroup).filter_by(name="ט'1").one()
    assert (group.language, group.digits) == ("ar", "western")
    refused = client.post("/diagnostics/classes", data={"name": "ט'2", "language": "fr", "csrf_token": token},
                          follow_redirects=True)
    assert refused.status_code == 200 and "'fr' is not a language of ClassLab" in unescape(refused.get_data(True))
    assert session.query(ClassGroup).filter_by(name="ט'2").count() == 0

    class_url = f"/diagnostics/classes/{group.id}"
    page = client.get(class_url).get_data(as_text=True)
    assert '<option value="ar" lang="ar" selected>' in page and 'id="class-digits"' in page
    url = f"{class_url}/language"
    ok = client.post(url, data={"language": "ar", "digits": "arabic-indic", "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"].endswith(class_url)
    session.expire_all()
    assert (group.language, group.digits) == ("ar", "arabic-indic")
    for data, message in (
        ({"language": "xx", "digits": "western"}, "'xx' is not a language of ClassLab"),
        ({"language": "ar", "digits": "roman"}, "'roman' is not a way of writing numbers"),
        ({"language": "he", "digits": "arabic-indic"}, "Arabic-Indic digits are for classes taught in Arabic."),
        ({"digits": "western"}, "'' is not a language of ClassLab"),
    ):
        resp = client.post(url, data=data | {"csrf_token": token}, follow_redirects=True)
        assert resp.status_code == 200 and resp.request.path == class_url, data
        assert message in unescape(resp.get_data(as_text=True)), data
        session.expire_all()
        assert (group.language, group.digits) == ("ar", "arabic-indic"), data
    changed = client.post(url, data={"language": "he", "digits": "western", "csrf_token": token},
                          follow_redirects=True)
    assert "Your students now see this class in the language and digits you chose." in changed.get_data(True)
    session.expire_all()
    assert (group.language, group.digits) == ("he", "western")
    other = signed_in(client.application, "colleague@a.example", people["password"])
    denied = other.post(url, data={"language": "en", "digits": "western",
                                   "csrf_token": csrf_token(other, "/diagnostics/")})
    assert denied.status_code == 404


def test_an_arabic_class_reads_the_bank_in_arabic_with_arabic_indic_digits(app, session, people, sample):
    group, assignment = _class_with_assignment(session, people["teacher"], "ar", "arabic-indic")
    assert assignment.title == "الكسور: فحص قصير"  # the diagnostic's title in the class's language
    phone = _student(app, group)
    answer_url = f"/s/a/{assignment.public_id}"
    page = phone.get(answer_url).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page and 'name="locale"' not in page  # the class's, not a choice
    assert "أيّ الكسرين أكبر" in page and "هما متساويان" in page and "Which fraction" not in page
    assert [m for m in re.findall(r'<span class="choice-label">(.)\.</span>', page)][:3] == ["أ", "ب", "ج"]
    # numbers in the text and in the maths, and the questions' numbers, in Arabic-Indic digits
    assert "ثمن كيلوغرام من الجبنة ٨ ₪" in page and "<mn>٠٫٤</mn>" in page and "<legend>١</legend>" in page
    assert not re.search(r"<mn>[^<]*[0-9]", page) and "<legend>1</legend>" not in page
    # answers typed with Arabic-Indic digits and the Arabic decimal separator, or a decimal comma, are read
    ids = _item_ids(assignment)
    saved = phone.post(answer_url, data={f"i-{ids['sample-cheese']}": "٣٫٢", f"i-{ids['sample-compare']}": "A",
                                         "save": "1", "csrf_token": csrf_token(phone, answer_url)},
                       follow_redirects=True)
    assert saved.status_code == 200 and "تم الحفظ. يمكنك العودة والإكمال لاحقًا." in saved.get_data(as_text=True)
    answers = {a.item.key: a for a in session.query(Answer)}
    assert answers["sample-cheese"].correct is True and answers["sample-compare"].correct is True
    other = _student(app, group, "1002")
    other.post(answer_url, data={f"i-{ids['sample-cheese']}": "3,2", "save": "1",
                                 "csrf_token": csrf_token(other, answer_url)})
    session.expire_all()
    assert [a.correct for a in session.query(Answer) if a.item.key == "sample-cheese"] == [True, True]
    home = phone.get("/s/home").get_data(as_text=True)
    assert "الكسور: فحص قصير" in home and 'lang="ar"' in home


def test_a_hebrew_class_reads_it_in_hebrew_and_follows_the_class_when_it_changes(app, client, session, people,
                                                                                  sample):
    group, assignment = _class_with_assignment(session, people["teacher"], "he")
    assert assignment.title == "שברים: בדיקה קצרה"
    phone = _student(app, group)
    answer_url = f"/s/a/{assignment.public_id}"
    page = phone.get(answer_url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="he" dir="rtl">' in page  # whatever the phone's own language
    assert "איזה שבר גדול יותר" in page and "נועה אומרת" in page and "הם שווים" in page
    assert re.findall(r'<span class="choice-label">(.)\.</span>', page)[:3] == ["א", "ב", "ג"]
    assert "<mn>0.4</mn>" in page and "<legend>1</legend>" in page  # Western digits
    assert "הגשה" in page and ">Submit<" not in page
    login(client, people["teacher"].email, people["password"])
    client.post(f"/diagnostics/classes/{group.id}/language", data={
        "language": "en", "digits": "western", "csrf_token": csrf_token(client, "/diagnostics/")})
    page = phone.get(answer_url).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page and "Which fraction is larger" in page
    assert re.findall(r'<span class="choice-label">(.)\.</span>', page)[:3] == ["A", "B", "C"]


def test_teachers_read_the_bank_in_their_language_and_switch_it(client, session, people, sample):
    login(client, people["teacher"].email, people["password"])
    page = client.get("/diagnostics/bank").get_data(as_text=True)
    assert "A larger denominator means a larger fraction" in page and 'id="bank-language"' in page
    assert 'href="/diagnostics/bank?lang=he"' in page
    hebrew = client.get("/diagnostics/bank?lang=he").get_data(as_text=True)
    assert 'lang="he" dir="rtl" id="bank-texts"' in hebrew and '<html lang="en" dir="ltr">' in hebrew
    assert "מכנה גדול יותר פירושו שבר גדול יותר" in hebrew and "איזה שבר גדול יותר" in hebrew
    assert "שברים ומספרים עשרוניים" in hebrew and "לחלק את אותו פס" in hebrew  # topic and teaching ideas
    assert '<span class="choice-label">ג.</span> הם שווים' in hebrew
    assert "Item bank and misconceptions" in hebrew  # the teacher's own pages stay in the teacher's language
    unknown = client.get("/diagnostics/bank?lang=xx")
    assert unknown.status_code == 422 and "'xx' is not a language of the bank" in unescape(unknown.get_data(True))

    group, assignment = _class_with_assignment(session, people["teacher"], "he")
    ids = _item_ids(assignment)
    for code in ("1001", "1002"):
        student = service.find_student(session, group.code, code)
        service.student_answers(session, student, assignment.public_id, {
            ids["sample-compare"]: "B", ids["sample-add"]: "A", ids["sample-explain"]: "כן, כי 8 גדול מ-6"},
            submit=True)
    session.commit()
    # the teacher scores one short answer (the other waits): 1001 holds the misconception, twice revealed
    first = next(a for a in service.results(session, people["teacher"], assignment.public_id).pending_text
                 if a.submission.student.code == "1001")
    service.score_text(session, people["teacher"], first.id, 0, "sample-larger-denominator")
    session.commit()
    results_url = f"/diagnostics/assignments/{assignment.public_id}"
    english = client.get(results_url).get_data(as_text=True)
    assert "A larger denominator means a larger fraction" in english
    assert "Says Mia is wrong without a reason." in english
    arabic = client.get(results_url + "?lang=ar").get_data(as_text=True)
    groups = arabic[arabic.index('id="groups"'):arabic.index('id="frequencies"')]
    assert "المقام الأكبر يعني كسرًا أكبر" in groups  # the suggested groups
    chart = arabic[arabic.index('id="frequencies"'):arabic.index("</svg>", arabic.index('id="frequencies"'))]
    assert "المقام الأكبر يعني كسرًا أكبر" in chart  # the chart's labels
    assert "أيّ الكسرين أكبر" in arabic and '<span class="choice-label">أ.</span>' in arabic
    assert "يقول إنّ ليان مخطئة دون تعليل" in arabic  # the rubric's levels, to score the short answers
    # how often each distractor was chosen, by its label; the page itself stays in the teacher's language
    assert '<td class="choice-rates"><bdi>ب: 100%</bdi> <bdi>ج: 0%</bdi> </td>' in arabic
    assert '<html lang="en" dir="ltr">' in arabic and '<div class="item-body" lang="ar" dir="rtl">' in arabic
    assert f'href="{results_url}?print=1&amp;lang=ar"' in arabic
    progress = client.get(f"/diagnostics/classes/{group.id}/progress?before={assignment.public_id}"
                          f"&after={assignment.public_id}&lang=he").get_data(as_text=True)
    assert "מכנה גדול יותר פירושו שבר גדול יותר" in progress and 'name="lang" value="he"' in progress
    assert 'value="sample-fractions-check">Fractions: a short check<' in client.get(
        f"/diagnostics/classes/{group.id}").get_data(as_text=True)


def test_the_api_gives_every_language_and_sets_a_class_language(client, session, people, sample):
    auth = bearer(session, people["teacher"])
    made = client.post("/api/v1/diagnostics/classes", headers=auth,
                       json={"name": "9A", "language": "ar", "digits": "arabic-indic"})
    assert made.status_code == 201 and (made.get_json()["language"], made.get_json()["digits"]) == (
        "ar", "arabic-indic")
    refused = client.post("/api/v1/diagnostics/classes", headers=auth,
                          json={"name": "9B", "language": "he", "digits": "arabic-indic"})
    assert refused.status_code == 422 and "Arabic-Indic digits are for classes" in refused.get_json()["detail"]
    class_url = f"/api/v1/diagnostics/classes/{made.get_json()['id']}"
    changed = client.patch(class_url, headers=auth, json={"language": "he"})
    assert changed.status_code == 200 and (changed.get_json()["language"], changed.get_json()["digits"]) == (
        "he", "western")
    bad = client.patch(class_url, headers=auth, json={"language": "klingon"})
    assert bad.status_code == 422 and "'klingon' is not a language" in bad.get_json()["detail"]
    other = bearer(session, people["colleague"], "other")
    assert client.patch(class_url, headers=other, json={"language": "en"}).status_code == 404

    misconceptions = {m["key"]: m for m in client.get("/api/v1/diagnostics/misconceptions", headers=auth).get_json()}
    adding = misconceptions["sample-add-across"]
    assert adding["title"] == "Adding the numerators and adding the denominators"
    assert adding["texts"]["title"] == {"en": adding["title"], "he": "חיבור המונים וחיבור המכנים",
                                        "ar": "جمع البسطين وجمع المقامين"}
    assert adding["texts"]["languages"] == ["en", "he", "ar"] and len(adding["texts"]["teaching_ideas"]) == 2
    items = {i["key"]: i for i in client.get("/api/v1/diagnostics/items", headers=auth).get_json()}
    assert items["sample-compare"]["texts"]["stem"]["ar"].startswith("أيّ الكسرين أكبر")
    diagnostics = {d["key"]: d for d in client.get("/api/v1/diagnostics/diagnostics", headers=auth).get_json()}
    assert diagnostics[SAMPLE]["texts"]["title"]["he"] == "שברים: בדיקה קצרה"


def test_rows_stored_before_the_bank_had_languages_are_english_and_fall_back(session, people):
    """A misconception row or an item spec written by the previous version is a single-language (English) record:
    pages in Hebrew or Arabic show its English rather than fail."""
    row = Misconception(key="old-row", topic="fractions", title="Old title", description="Old description.",
                        typical_reasoning="Old reasoning.", teaching_ideas=["One.", "Two."],
                        source={"authors": "A", "year": 2000, "title": "T", "venue": "V", "pages": None})
    session.add(row)
    session.flush()
    record = service.misconception_record(row)
    assert record.languages == ("en",) and record.in_language("he").title == "Old title"
    assert record.in_language("ar").teaching_ideas == ("One.", "Two.")
    old_spec = {"key": "old", "topic": "fractions", "type": "choice", "stem": "Which is larger?",
                "translations": {"he": "מה גדול יותר?"},
                "choices": [{"key": "A", "text": "$1$", "correct": True, "misconception": None},
                            {"key": "B", "text": "Nothing", "correct": False, "misconception": "m"}]}
    item = service.spec_item(old_spec)
    assert item.languages == ("en",) and item.stem == {"en": "Which is larger?", "he": "מה גדול יותר?"}
    shown = item.in_language("he")
    assert shown.stem == "מה גדול יותר?" and [(c.label, c.text) for c in shown.choices] == [("א", "$1$"),
                                                                                          ("ב", "Nothing")]
    assert service.spec_item(service.item_spec(item)) == item
