"""Diagnostics end to end: the bank, classes and rosters, assignments, students answering, results."""

from __future__ import annotations

import dataclasses
import io
import re
import time
import zipfile
from datetime import timedelta

import pytest

from app.db import utcnow
from app.diagnostics import bankfile, service
from app.diagnostics.models import Answer, Item, Student, Submission
from app.errors import Conflict, InvalidInput, NotFound
from tests import builders
from tests.processes import classlab
from tests.web import bearer, csrf_token, login, signed_in


@pytest.fixture
def bank(session):
    report = service.import_bank(session, None, bankfile.load_bank())
    session.commit()
    return report


@pytest.fixture
def klass(session, people, bank):
    return builders.diagnostic_class(session, people["teacher"], "ח'3 מתמטיקה",
                                     students=(("S01", "נועה"), ("S02", "سامي"), ("S03", None)))


@pytest.fixture
def assignment(session, people, klass):
    return builders.open_assignment(session, people["teacher"], klass, title="",
                                    diagnostic_key="comparing-and-adding-fractions")


def test_the_starter_bank_imports_once_and_again_changes_nothing(stack, bank):
    assert bank.items_added >= 40 and bank.misconceptions >= 15 and bank.diagnostics == 4
    classlab(stack, "db", "upgrade")
    out = classlab(stack, "diagnostics", "import").stdout
    assert "items added: 0" in out and "new versions: 0" in out


def test_editing_an_item_used_by_an_assignment_makes_a_new_version(session, people, assignment):
    used = assignment.items[0].item
    bank = bankfile.load_bank()
    original = bank.items[used.key]
    changed = dataclasses.replace(original, stem={**original.stem, "en": original.stem["en"] + " (edited)"})
    edited = bankfile.Bank(bank.topics, bank.misconceptions, {**bank.items, used.key: changed}, bank.diagnostics)
    report = service.import_bank(session, None, edited)
    session.commit()
    assert report.items_versioned == 1
    versions = session.query(Item).filter_by(key=used.key).order_by(Item.version).all()
    assert [(v.version, v.current) for v in versions] == [(1, False), (2, True)]
    session.expire_all()
    assert assignment.items[0].item.version == 1  # students keep seeing what they saw


def test_roster_import_utf8_and_windows_1255_all_or_nothing(session, people, klass):
    n = service.import_roster(session, people["teacher"], klass.id, "code,name\nS10,דנה\nS11,\n".encode())
    assert n == 2
    n = service.import_roster(session, people["teacher"], klass.id, "קוד;שם\nS12;יוסי כהן\n".encode("cp1255"))
    assert n == 1
    session.commit()
    assert {s.code: s.name for s in klass.students}["S12"] == "יוסי כהן"
    before = session.query(Student).count()
    with pytest.raises(InvalidInput) as err:
        service.import_roster(session, people["teacher"], klass.id, b"code,name\nS20,a\nS20,b\nbad code!,c\nS01,d\n")
    assert "row 3: code S20 repeats row 2" in err.value.detail
    assert "row 4:" in err.value.detail and "row 5: code S01 is already in this class" in err.value.detail
    session.rollback()
    assert session.query(Student).count() == before
    with pytest.raises(InvalidInput, match="no 'code' or 'name' column"):
        service.import_roster(session, people["teacher"], klass.id, b"first,last\na,b\n")
    with pytest.raises(InvalidInput, match="neither UTF-8 nor Windows-1255"):
        service.import_roster(session, people["teacher"], klass.id, b"code\n\xff\xfe\x00\x81")


def test_assignment_window_and_unknowns_are_checked(session, people, klass):
    now = utcnow()
    with pytest.raises(InvalidInput, match="closing time must be after"):
        service.create_assignment(session, people["teacher"], klass.id, title="x",
                                  diagnostic_key="comparing-and-adding-fractions", opens_at=now, closes_at=now)
    with pytest.raises(InvalidInput, match="Unknown diagnostic"):
        service.create_assignment(session, people["teacher"], klass.id, title="x", diagnostic_key="nope",
                                  opens_at=now, closes_at=now + timedelta(days=1))
    with pytest.raises(InvalidInput, match="Unknown item"):
        service.create_assignment(session, people["teacher"], klass.id, title="x", item_keys=["no-such-item"],
                                  opens_at=now, closes_at=now + timedelta(days=1))
    with pytest.raises(NotFound):
        service.create_assignment(session, people["colleague"], klass.id, title="x",
                                  diagnostic_key="comparing-and-adding-fractions", opens_at=now,
                                  closes_at=now + timedelta(days=1))


def _answers_for(assignment, pick):
    return {ai.item.id: pick(ai.item) for ai in assignment.items}


def _wrong_choice(item):
    if item.type == "choice":
        return next(c["key"] for c in item.spec["choices"] if c.get("misconception"))
    if item.type == "numeric":
        wrong = item.spec.get("wrong_answers") or []
        return str(wrong[0]["value"]) if wrong else str(item.spec["answer"] + 1000)
    return "I am not sure"


def _right(item):
    if item.type == "choice":
        return next(c["key"] for c in item.spec["choices"] if c.get("correct"))
    if item.type == "numeric":
        return str(item.spec["answer"])
    return "a full explanation"


def test_student_codes_saving_resuming_submitting_once(session, klass, assignment):
    with pytest.raises(NotFound, match="do not match") as wrong_class:
        service.find_student(session, "ZZZZZZ", "S01")
    with pytest.raises(NotFound, match="do not match") as wrong_student:
        service.find_student(session, klass.code, "S99")
    assert wrong_class.value.detail == wrong_student.value.detail
    student = service.find_student(session, klass.code.lower(), "s01")
    half = dict(list(_answers_for(assignment, _right).items())[:2])
    sub = service.student_answers(session, student, assignment.public_id, half, submit=False)
    session.commit()
    assert sub.submitted_at is None and len(sub.answers) == 2
    service.student_answers(session, student, assignment.public_id, _answers_for(assignment, _right), submit=True)
    session.commit()
    with pytest.raises(Conflict, match="already submitted"):
        service.student_answers(session, student, assignment.public_id, half, submit=True)
    assert session.query(Submission).count() == 1


def test_numeric_answer_that_is_not_a_number_names_the_item_and_nothing_is_saved(session, klass, assignment):
    student = service.find_student(session, klass.code, "S02")
    number, numeric = next((n, ai.item) for n, ai in enumerate(assignment.items, 1) if ai.item.type == "numeric")
    # By its number in the assignment, as the student's page shows it (not the bank's key).
    with pytest.raises(InvalidInput, match=rf"Question {number}: 'three' is not a number"):
        service.student_answers(session, student, assignment.public_id, {numeric.id: "three"}, submit=False)
    assert session.query(Answer).count() == 0
    assert service.parse_number("٣٫٥") == 3.5 and service.parse_number("3,5") == 3.5
    assert service.parse_number("3/4") == 0.75 and service.parse_number("−2") == -2


def test_answers_after_closing_or_before_opening_are_refused(session, people, klass, assignment):
    student = service.find_student(session, klass.code, "S03")
    with pytest.raises(Conflict, match="closed"):
        service.student_answers(session, student, assignment.public_id, {}, submit=True,
                                now=assignment.closes_at + timedelta(seconds=1))
    with pytest.raises(Conflict, match="not opened yet"):
        service.student_answers(session, student, assignment.public_id, {}, submit=True,
                                now=assignment.opens_at - timedelta(seconds=1))


def test_results_heatmap_groups_and_item_statistics(session, people, klass, assignment):
    for code, pick in (("S01", _right), ("S02", _wrong_choice), ("S03", _wrong_choice)):
        student = service.find_student(session, klass.code, code)
        service.student_answers(session, student, assignment.public_id, _answers_for(assignment, pick), submit=True)
    session.commit()
    res = service.results(session, people["teacher"], assignment.public_id)
    scores = {p.student: p.score for p in res.profiles}
    assert scores["S01"] == 1.0 and scores["S02"] < 0.5
    first = res.items[0]
    assert res.heatmap.state("S01", first.key) == "correct"
    assert res.heatmap.state("S02", first.key) not in ("correct", "missing")
    grouped = {code for g in res.groups for code in g.students}
    assert grouped == {"S02", "S03"}
    stats = {st.item: st for st in res.item_stats}
    assert stats[first.key].difficulty == pytest.approx(1 / 3)
    assert "S01" in service.results_csv(res)
    with pytest.raises(NotFound):
        service.results(session, people["colleague"], assignment.public_id)


def test_teacher_grid_and_csv_import_with_row_errors(session, people, klass, assignment):
    items = [ai.item for ai in assignment.items]
    header = "code," + ",".join(i.key for i in items)
    good = "S01," + ",".join(_right(i) for i in items)
    numeric_col = next(n for n, i in enumerate(items) if i.type == "numeric")
    bad_cells = [_right(i) for i in items]
    bad_cells[numeric_col] = "lots"
    bad = f"{header}\n{good}\nS77,{','.join(_right(i) for i in items)}\nS02,{','.join(bad_cells)}\n"
    with pytest.raises(InvalidInput) as err:
        service.import_answers(session, people["teacher"], assignment.public_id, bad.encode())
    assert "row 3: no student with code 'S77'" in err.value.detail
    assert f"row 4, column {items[numeric_col].key}" in err.value.detail
    assert session.query(Submission).count() == 0
    assert service.import_answers(session, people["teacher"], assignment.public_id, f"{header}\n{good}\n".encode()) == 1
    s02 = service.find_student(session, klass.code, "S02")
    assert service.teacher_grid(session, people["teacher"], assignment.public_id,
                                {(s02.id, items[0].id): _wrong_choice(items[0])}) == 1
    session.commit()
    assert session.query(Submission).count() == 2


def test_pages_teacher_assigns_and_students_answer_on_the_phone_page(app, client, people, bank):
    login(client, "teacher@a.example", people["password"])
    resp = client.post("/diagnostics/classes", data={"name": "ז'1", "csrf_token": csrf_token(client, "/diagnostics/")})
    class_url = resp.headers["Location"]
    page = client.get(class_url).get_data(as_text=True)
    code = re.search(r'id="class-code" dir="ltr">([A-Z0-9]+)<', page).group(1)
    token = csrf_token(client, class_url)
    client.post(class_url + "/students", data={"code": "T1", "csrf_token": token})
    resp = client.post(class_url + "/assignments", data={
        "diagnostic": "comparing-and-adding-fractions", "opens_at": "2020-01-01T08:00", "closes_at": "2099-01-01T08:00",
        "csrf_token": token})
    results_url = resp.headers["Location"]
    assert client.get(results_url).status_code == 200

    phone = app.test_client()
    bad = phone.post("/s/", data={"class_code": "NOPE42", "student_code": "T1", "csrf_token": csrf_token(phone, "/s/")})
    assert bad.status_code == 404 and "These codes do not match" in bad.get_data(as_text=True)
    phone.post("/s/", data={"class_code": code, "student_code": "t1", "csrf_token": csrf_token(phone, "/s/")})
    home = phone.get("/s/home").get_data(as_text=True)
    answer_url = re.search(r'href="(/s/a/[0-9a-f]+)"', home).group(1)
    form = phone.get(answer_url).get_data(as_text=True)
    fields = sorted(set(re.findall(r'name="(i-\d+)"', form)))
    assert len(fields) >= 8
    data = {f: "A" for f in fields} | {"submit": "1", "csrf_token": csrf_token(phone, answer_url)}
    resp = phone.post(answer_url, data=data)
    if resp.status_code == 422:  # a numeric item refuses "A": the page says which, keeps the rest
        assert "is not a number" in resp.get_data(as_text=True) and 'value="A"' in resp.get_data(as_text=True)
        numeric = re.findall(r'inputmode="decimal" name="(i-\d+)"', form)
        resp = phone.post(answer_url, data=data | {n: "2" for n in numeric})
    assert resp.status_code == 302
    again = phone.post(answer_url, data=data, follow_redirects=True)
    assert again.status_code == 200 and again.request.path == "/s/home"
    assert "already submitted" in again.get_data(as_text=True)
    report = client.get(results_url).get_data(as_text=True)
    assert "<svg" in report and 'id="groups"' in report and "T1" in report
    other = signed_in(app, "colleague@a.example", people["password"])
    assert other.get(results_url).status_code == 404
    assert other.get(class_url).status_code == 404


def test_the_json_api_runs_the_same_use_cases(client, session, people, bank):
    auth = bearer(session, people["teacher"])
    group = client.post("/api/v1/diagnostics/classes", json={"name": "9B"}, headers=auth).get_json()
    roster = client.post(f"/api/v1/diagnostics/classes/{group['id']}/roster", data=b"code,name\nQ1,\nQ2,\n",
                         headers={**auth, "Content-Type": "text/csv"})
    assert roster.status_code == 201 and roster.get_json() == {"added": 2}
    dup = client.post(f"/api/v1/diagnostics/classes/{group['id']}/students", json={"code": "q1"}, headers=auth)
    assert dup.status_code == 409 and "already a student with code q1" in dup.get_json()["detail"]
    generated = client.post(f"/api/v1/diagnostics/classes/{group['id']}/students", json={"name": "Rana"}, headers=auth)
    assert generated.status_code == 201 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", generated.get_json()["code"])
    made = client.post(f"/api/v1/diagnostics/classes/{group['id']}/assignments", headers=auth, json={
        "diagnostic": "negative-numbers", "opens_at": "2020-01-01T00:00:00+02:00",
        "closes_at": "2099-01-01T00:00:00+02:00"})
    assert made.status_code == 201
    pid = made.get_json()["id"]
    diag = next(d for d in client.get("/api/v1/diagnostics/diagnostics", headers=auth).get_json()
                if d["key"] == "negative-numbers")
    first = diag["item_keys"][0]
    bad = client.put(f"/api/v1/diagnostics/assignments/{pid}/answers", headers=auth,
                     json={"answers": [{"student": "Q9", "item": first, "value": "A"}]})
    assert bad.status_code == 422 and "answers[0]" in bad.get_json()["detail"]
    ok = client.put(f"/api/v1/diagnostics/assignments/{pid}/answers", headers=auth,
                    json={"answers": [{"student": "Q1", "item": first, "value": "A"}]})
    assert ok.status_code == 200
    results = client.get(f"/api/v1/diagnostics/assignments/{pid}/results", headers=auth).get_json()
    assert {s["code"] for s in results["students"]} == {"Q1", "Q2", generated.get_json()["code"]}
    assert next(s for s in results["students"] if s["code"] == "Q2")["cells"][first] == "missing"
    other = bearer(session, people["colleague"], "other")
    assert client.get(f"/api/v1/diagnostics/assignments/{pid}/results", headers=other).status_code == 404
    assert client.get(f"/api/v1/diagnostics/classes/{group['id']}", headers=other).status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/diagnostics/assignments/{public_id}/results" in spec["paths"]


def test_progress_compares_a_reassessment(client, session, people, klass, assignment):
    again = builders.open_assignment(session, people["teacher"], klass, title="Again",
                                     diagnostic_key="comparing-and-adding-fractions", opened=timedelta(minutes=30))
    for target, pick in ((assignment, _wrong_choice), (again, _right)):
        for code in ("S01", "S02"):
            student = service.find_student(session, klass.code, code)
            service.student_answers(session, student, target.public_id, _answers_for(target, pick), submit=True)
    session.commit()
    data = service.progress(session, people["teacher"], again.public_id, assignment.public_id)
    assert data["before"].public_id == assignment.public_id  # ordered by date whatever the order asked
    s01 = data["change"]["students"]["S01"]
    assert s01["resolved"] and not s01["persisted"] and s01["score_after"] > s01["score_before"]
    login(client, "teacher@a.example", people["password"])
    page = client.get(f"/diagnostics/classes/{klass.id}/progress?before={assignment.public_id}&after={again.public_id}")
    assert page.status_code == 200 and 'id="student-change"' in page.get_data(as_text=True)
    other = service.create_class(session, people["teacher"], "other class")
    session.commit()
    with pytest.raises(InvalidInput, match="same class"):
        elsewhere = service.create_assignment(session, people["teacher"], other.id, title="x",
                                              diagnostic_key="negative-numbers", opens_at=utcnow(),
                                              closes_at=utcnow() + timedelta(days=1))
        service.progress(session, people["teacher"], assignment.public_id, elsewhere.public_id)


def _post_qti(client, token, data: bytes, filename: str, topic: str = "", follow: bool = False):
    import io

    return client.post("/diagnostics/bank/qti", content_type="multipart/form-data", follow_redirects=follow,
                       data={"file": (io.BytesIO(data), filename), "topic": topic, "csrf_token": token})


def test_qti_package_download_and_import_round_trip(client, session, people, bank, tmp_path):
    login(client, "admin@classlab.example", people["password"])
    resp = client.get("/diagnostics/bank/qti.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        names = zf.namelist()
        assert "imsmanifest.xml" in names and sum(n.endswith(".xml") for n in names) >= 41
    before = session.query(Item).count()
    token = csrf_token(client, "/diagnostics/bank")
    staged = _post_qti(client, token, resp.data, "items.zip")
    assert staged.status_code == 302 and "/diagnostics/bank/qti/" in staged.location
    preview = client.get(staged.location)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and page.count('class="card qti-entry') == len(names) - 1
    assert "already in the bank, unchanged" in page and "refused" not in page.lower().replace("are refused", "")
    again = client.post(staged.location, data={"csrf_token": token, "action": "import", "item": ["neg-lift"]},
                        follow_redirects=True)
    assert "0 new items, 0 new versions, 1 unchanged" in again.get_data(as_text=True)
    session.expire_all()
    assert session.query(Item).count() == before  # identical items: nothing new
    # the staged upload is gone once imported
    assert client.get(staged.location, follow_redirects=True).get_data(as_text=True).count(
        "This upload is no longer here") == 1
    broken = _post_qti(client, token, b"<not-qti/>", "x.xml", follow=True)
    assert "This is not QTI we can read" in broken.get_data(as_text=True)
    teacher = app_client_for(client, people)
    # a teacher cannot open or import the administrator's staged upload, even knowing its address
    second = _post_qti(client, token, resp.data, "items.zip")
    assert "no longer here" in teacher.get(second.location, follow_redirects=True).get_data(as_text=True)


def test_qti_import_previews_each_item_and_imports_the_ticked_valid_ones(client, session, people, bank, tmp_path):
    """A package of which some items are refused: the preview names each reason, the valid ones can be chosen,
    asking for a refused one stores nothing, and what was stored before is untouched."""
    import io
    import zipfile

    login(client, "admin@classlab.example", people["password"])
    with zipfile.ZipFile(io.BytesIO(client.get("/diagnostics/bank/qti.zip").data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["items/neg-lift.xml"] = members["items/neg-lift.xml"].replace(
        b'identifier="neg-lift"', b'identifier="neg-lift-copy"', 1).replace(b"</p>", b" (copy)</p>", 1)
    named = re.search(rb'data-misconception="([^"]+)"', members["items/neg-compare.xml"]).group(1)
    members["items/neg-compare.xml"] = members["items/neg-compare.xml"].replace(named, b"no-such-" + named)
    rubric = next(n for n, d in members.items() if b"data-score=" in d)
    members[rubric] = re.sub(rb' data-score="\d+"', b"", members[rubric])
    package = builders.zipped(members)
    before = {(i.key, i.version) for i in session.query(Item)}

    token = csrf_token(client, "/diagnostics/bank")
    location = _post_qti(client, token, package, "mixed.zip").location
    page = client.get(location).get_data(as_text=True)
    assert "2 are refused" in page, re.findall(r"field-error\" dir=\"ltr\">([^<]*)", page)
    assert "unknown misconception(s) no-such-" in page and "data-score None on a level is not a whole number" in page
    assert 'value="neg-lift-copy"' in page and ">new<" in page
    # a refused item cannot be chosen: nothing at all is stored, and the page says why
    refused = client.post(location, data={"csrf_token": token, "action": "import",
                                          "item": ["neg-lift-copy", "neg-compare"]}, follow_redirects=True)
    assert "Nothing was imported." in refused.get_data(as_text=True) and "no-such-" in refused.get_data(as_text=True)
    session.expire_all()
    assert {(i.key, i.version) for i in session.query(Item)} == before
    nothing = client.post(location, data={"csrf_token": token, "action": "import"}, follow_redirects=True)
    assert "Choose at least one item to import." in nothing.get_data(as_text=True)
    done = client.post(location, data={"csrf_token": token, "action": "import", "item": ["neg-lift-copy"]},
                       follow_redirects=True)
    assert "1 new items" in done.get_data(as_text=True) or "Imported: 1 new" in done.get_data(as_text=True)
    session.expire_all()
    assert {(i.key, i.version) for i in session.query(Item)} == before | {("neg-lift-copy", 1)}
    # cancel drops a staged upload without storing anything
    location = _post_qti(client, token, package, "mixed.zip").location
    cancelled = client.post(location, data={"csrf_token": token, "action": "cancel"}, follow_redirects=True)
    assert "Nothing was imported." in cancelled.get_data(as_text=True)
    assert "no longer here" in client.get(location, follow_redirects=True).get_data(as_text=True)
    # bad input: a malformed token, an item from another tool without a topic, a wrong file
    assert client.get("/diagnostics/bank/qti/..%2F..%2Fetc").status_code == 404
    assert "no longer here" in client.get("/diagnostics/bank/qti/not-a-token", follow_redirects=True).get_data(
        as_text=True)
    from tests.unit.test_diagnostics_qti import FOREIGN_CHOICE

    foreign = client.get(_post_qti(client, token, FOREIGN_CHOICE.encode(), "q1.xml").location).get_data(as_text=True)
    assert "give a topic for items from other tools" in foreign
    topical = client.get(_post_qti(client, token, FOREIGN_CHOICE.encode(), "q1.xml", topic="fractions").location)
    assert 'value="q1"' in topical.get_data(as_text=True)
    empty = _post_qti(client, token, b"", "", follow=True)
    assert "Choose a QTI file" in empty.get_data(as_text=True)
    zipped = _post_qti(client, token, b"PK\x03\x04 not really", "x.zip", follow=True)
    assert "not a zip file" in zipped.get_data(as_text=True)


def test_qti_uploads_nobody_imported_expire_with_the_images_only_their_preview_stored(app, stack, client, session,
                                                                                      people, bank):
    """Three packages with an image each, previewed on the page: one imported, one cancelled, one left. A day
    later the sweep deletes the one left and the images no item shows; the imported item's image stays."""
    import hashlib
    import json

    login(client, "admin@classlab.example", people["password"])
    token = csrf_token(client, "/diagnostics/bank")
    store = app.extensions["classlab.storage"]
    images = {name: builders.png(5, 3, colour) for name, colour in
              (("imported", (10, 200, 10)), ("cancelled", (10, 10, 200)), ("left", (200, 10, 10)))}
    keys = {name: service.media_key(f"{hashlib.sha256(image).hexdigest()}.png") for name, image in images.items()}
    where = {name: _post_qti(client, token, builders.qti_package_with_image(key=f"graph-{name}", image=image),
                             f"{name}.zip", topic="negative_numbers").location for name, image in images.items()}
    assert all(store.exists(k) for k in keys.values())  # the preview shows them
    done = client.post(where["imported"], data={"csrf_token": token, "action": "import", "topic": "negative_numbers",
                                                "item": ["graph-imported"]}, follow_redirects=True)
    assert "Imported: 1 new items" in done.get_data(as_text=True)
    assert client.post(where["cancelled"], data={"csrf_token": token, "action": "cancel"}).status_code == 302
    # Nothing is a day old yet: the real sweeper, in its own process, deletes nothing.
    assert json.loads(classlab(stack, "sweep").stdout)["expired_qti_objects"] == 0
    assert 'value="graph-left"' in client.get(where["left"]).get_data(as_text=True)
    assert len(store.listed(service.STAGED_PREFIX)) == 4  # the one left, and the three lists of images

    later = utcnow() + service.STAGED_FOR + timedelta(minutes=1)
    assert service.expire_staged_qti(session, store, now=later) == 6
    assert store.exists(keys["imported"]) and not store.exists(keys["cancelled"]) and not store.exists(keys["left"])
    assert store.listed(service.STAGED_PREFIX) == []
    assert "no longer here" in client.get(where["left"], follow_redirects=True).get_data(as_text=True)
    assert service.expire_staged_qti(session, store, now=later) == 0
    # An image written again within the day (another preview of it) is kept, though no item shows it yet.
    first = _post_qti(client, token, builders.qti_package_with_image(key="graph-first", image=images["left"]),
                      "first.zip", topic="negative_numbers").location
    between = utcnow() + timedelta(seconds=0.1)  # after every write of the first preview
    time.sleep(1.2)  # S3 keeps whole seconds: each write of the second preview still reads as after `between`
    second = _post_qti(client, token, builders.qti_package_with_image(key="graph-second", image=images["left"]),
                       "second.zip", topic="negative_numbers").location
    store.put("item-media/unrelated.png", io.BytesIO(b"x"))  # not the sweep's to judge
    assert store.modified(keys["left"]) > between
    assert service.expire_staged_qti(session, store, now=between + service.STAGED_FOR) \
        == 2  # the first upload and its list; not the image, written again by the second preview
    assert store.exists(keys["left"])
    assert "no longer here" in client.get(first, follow_redirects=True).get_data(as_text=True)
    assert 'value="graph-second"' in client.get(second).get_data(as_text=True)
    assert service.expire_staged_qti(session, store, now=later + service.STAGED_FOR) == 3  # upload, list, image
    assert not store.exists(keys["left"])
    assert store.exists("item-media/unrelated.png") and store.exists(keys["imported"])


def test_qti_package_through_the_api_with_a_token(client, session, people, bank):
    """Export and import with an API token (no login session), per-item report, dry run, chosen items, and the
    operations in the OpenAPI document."""
    import io
    import zipfile

    from app.accounts.models import User

    admin = session.query(User).filter_by(email="admin@classlab.example").one()
    auth = bearer(session, admin)
    package = client.get("/api/v1/diagnostics/qti", headers=auth)
    assert package.status_code == 200 and package.mimetype == "application/zip"
    assert client.get("/api/v1/diagnostics/qti").status_code == 401
    teacher_auth = bearer(session, people["teacher"])
    assert client.get("/api/v1/diagnostics/qti", headers=teacher_auth).status_code == 200  # the bank is shared
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["items/neg-lift.xml"] = members["items/neg-lift.xml"].replace(
        b'identifier="neg-lift"', b'identifier="neg-lift-api"', 1).replace(b"</p>", b" (API)</p>", 1)
    members["items/neg-compare.xml"] = members["items/neg-compare.xml"].replace(b"qti-choice-interaction",
                                                                                b"qti-match-interaction")
    body = builders.zipped(members)
    before = {(i.key, i.version) for i in session.query(Item)}
    zip_headers = {**auth, "Content-Type": "application/zip"}

    dry = client.post("/api/v1/diagnostics/qti?dry_run=true", data=body, headers=zip_headers)
    assert dry.status_code == 200, dry.get_json()
    answer = dry.get_json()
    assert answer["dry_run"] is True and answer["imported"] is None
    by_key = {e["key"]: e for e in answer["entries"]}
    assert by_key["neg-lift-api"]["status"] == "new" and by_key["neg-lift-api"]["type"] == "numeric"
    assert by_key["neg-compare"]["status"] == "refused"
    assert "qti-match-interaction is not supported" in by_key["neg-compare"]["reason"]
    assert {e["status"] for e in answer["entries"]} == {"new", "refused", "unchanged"}
    session.expire_all()
    assert {(i.key, i.version) for i in session.query(Item)} == before

    refused = client.post("/api/v1/diagnostics/qti?items=neg-compare", data=body, headers=zip_headers)
    assert refused.status_code == 422 and "Nothing was imported" in refused.get_json()["detail"]
    assert refused.get_json()["field"] == "items"
    done = client.post("/api/v1/diagnostics/qti", data=body, headers=zip_headers)
    assert done.status_code == 200 and done.get_json()["imported"] == {"added": 1, "new_versions": 0,
                                                                       "unchanged": len(members) - 3}
    session.expire_all()
    assert {(i.key, i.version) for i in session.query(Item)} == before | {("neg-lift-api", 1)}

    # a teacher's import goes into their own bank, under keys of their own
    own = client.post("/api/v1/diagnostics/qti?items=neg-lift-api", data=body,
                      headers={**teacher_auth, "Content-Type": "application/zip"})
    assert own.status_code == 200 and own.get_json()["imported"]["added"] == 1
    assert session.query(Item).filter_by(key=f"u{people['teacher'].id}-neg-lift-api").one().owner_id == \
        people["teacher"].id
    empty = client.post("/api/v1/diagnostics/qti", data=b"", headers=zip_headers)
    assert empty.status_code == 422 and "as the request body" in empty.get_json()["detail"]
    garbage = client.post("/api/v1/diagnostics/qti", data=b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
                          headers={**auth, "Content-Type": "application/xml"})
    assert garbage.status_code == 422 and "DOCTYPE declarations are not allowed" in garbage.get_json()["detail"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/diagnostics/qti"])
    assert "application/zip" in spec["paths"]["/api/v1/diagnostics/qti"]["post"]["requestBody"]["content"]


def test_feedback_from_another_tool_is_shown_on_the_chosen_choice_after_submitting(app, client, session, people,
                                                                                   bank):
    """An item whose feedback another tool wrote inside the choices: the student reads the choice without it while
    answering, and the feedback on the choice they made once the answers are submitted."""
    from tests.unit.test_diagnostics_qti import INLINE_FEEDBACK

    service.import_qti(session, people["admin"], INLINE_FEEDBACK.encode(), "q1.xml", topic="fractions")
    group = service.create_class(session, people["teacher"], "8C")
    service.add_student(session, people["teacher"], group.id, code="F1")
    assignment = service.create_assignment(session, people["teacher"], group.id, title="Halves", item_keys=["q1"],
                                           opens_at=utcnow() - timedelta(hours=1),
                                           closes_at=utcnow() + timedelta(days=1))
    session.commit()
    phone = app.test_client()
    phone.post("/s/", data={"class_code": group.code, "student_code": "F1", "csrf_token": csrf_token(phone, "/s/")})
    url = f"/s/a/{assignment.public_id}"
    form = phone.get(url).get_data(as_text=True)
    assert "One" in form and "smaller than the half" not in form and "a quarter" not in form
    field = re.search(r'name="(i-\d+)"', form).group(1)
    assert phone.post(url, data={field: "c1", "submit": "1", "csrf_token": csrf_token(phone, url)}).status_code == 302
    done = phone.get(url).get_data(as_text=True)
    assert 'class="choice-feedback"' in done and "Half of a half is smaller than the half." in done
    assert "a quarter" not in done  # the other choice's feedback is not the student's


def test_an_items_image_is_stored_shown_through_a_signed_link_and_exported(app, client, session, people, bank):
    """Another tool's item with a graph: imported with its image, shown on the student's phone through a signed
    link that serves the image (and nothing at a guessable address), and exported again in the package."""
    import hashlib
    import io
    import urllib.request
    import zipfile

    from tests import builders

    image = builders.png(6, 4, (200, 30, 30))
    ref = f"{hashlib.sha256(image).hexdigest()}.png"
    auth = bearer(session, people["admin"])
    answer = client.post("/api/v1/diagnostics/qti?topic=negative_numbers", headers={
        **auth, "Content-Type": "application/zip"}, data=builders.qti_package_with_image(image=image))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["entries"][0]["status"] == "new"
    group = service.create_class(session, people["teacher"], "9D")
    service.add_student(session, people["teacher"], group.id, code="G1")
    assignment = service.create_assignment(session, people["teacher"], group.id, title="Slopes",
                                           item_keys=["slope-graph"], opens_at=utcnow() - timedelta(hours=1),
                                           closes_at=utcnow() + timedelta(days=1))
    session.commit()
    phone = app.test_client()
    phone.post("/s/", data={"class_code": group.code, "student_code": "G1", "csrf_token": csrf_token(phone, "/s/")})
    page = phone.get(f"/s/a/{assignment.public_id}").get_data(as_text=True)
    src = re.search(r'<img src="([^"]+)" alt="a line through \(0, 0\) and \(1, 2\)"', page).group(1)
    assert "item-media:" not in page  # a signed link, never the content's name alone
    src = src.replace("&amp;", "&")
    if src.startswith("/"):
        assert ref not in src
        served = phone.get(src)
        assert served.status_code == 200 and served.data == image and served.mimetype == "image/png"
        assert phone.get(src[:-4] + "AAAA").status_code in (403, 404)
    else:  # S3: a presigned address on the S3 server; without its signature the object is refused
        import urllib.error

        with urllib.request.urlopen(src) as got:
            assert got.read() == image
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(src.split("?")[0])
    package = client.get("/api/v1/diagnostics/qti", headers=auth)
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        assert zf.read(f"items/media/{ref}") == image
        assert f'src="media/{ref}"' in zf.read("items/slope-graph.xml").decode()
    # a shared stimulus (another tool's passage with a figure) arrives with its item and shows above the question
    from tests.unit.test_diagnostics_qti import FOREIGN_CHOICE, STIMULUS

    item_xml = FOREIGN_CHOICE.replace('identifier="q1"', 'identifier="trip-q"').replace(
        '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>',
        '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>'
        '<qti-assessment-stimulus-ref identifier="trip" href="../stimuli/trip.xml"/>')
    package = builders.zipped({
        "imsmanifest.xml": '<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m">'
                           '<resources><resource identifier="trip-q" type="imsqti_item_xmlv3p0" '
                           'href="items/trip-q.xml"/></resources></manifest>',
        "items/trip-q.xml": item_xml, "stimuli/trip.xml": STIMULUS, "stimuli/img/temps.png": image})
    done = client.post("/api/v1/diagnostics/qti?topic=negative_numbers", data=package,
                       headers={**auth, "Content-Type": "application/zip"})
    assert done.get_json()["imported"]["added"] == 1, done.get_json()
    later = service.create_assignment(session, people["teacher"], group.id, title="Trip", item_keys=["trip-q"],
                                      opens_at=utcnow() - timedelta(hours=1), closes_at=utcnow() + timedelta(days=1))
    session.commit()
    page = phone.get(f"/s/a/{later.public_id}").get_data(as_text=True)
    stimulus = re.search(r'<div class="stimulus">(.*?)</div>', page, re.S).group(1)
    assert "winter trip" in stimulus and '<img src="' in stimulus and "item-media:" not in stimulus


def test_a_choose_all_that_apply_question_on_the_phone_page(app, client, session, people, bank):
    """Ticked boxes are one answer: right only with exactly the right choices; the teacher's grid takes "p2,p3"."""
    from tests.unit.test_diagnostics_qti import FOREIGN_MULTIPLE

    service.import_qti(session, people["admin"], FOREIGN_MULTIPLE.encode(), "primes.xml", topic="fractions")
    group = service.create_class(session, people["teacher"], "7E")
    for code in ("M1", "M2"):
        service.add_student(session, people["teacher"], group.id, code=code)
    assignment = service.create_assignment(session, people["teacher"], group.id, title="Primes", item_keys=["primes"],
                                           opens_at=utcnow() - timedelta(hours=1),
                                           closes_at=utcnow() + timedelta(days=1))
    session.commit()
    url = f"/s/a/{assignment.public_id}"
    stored = {}
    for code, ticked in (("M1", ["p2", "p3"]), ("M2", ["p1", "p2"])):
        phone = app.test_client()
        phone.post("/s/", data={"class_code": group.code, "student_code": code, "csrf_token": csrf_token(phone, "/s/")})
        form = phone.get(url).get_data(as_text=True)
        field = re.search(r'type="checkbox" name="(i-\d+)"', form).group(1)
        assert form.count(f'type="checkbox" name="{field}"') == 4 and "Choose every answer that is right." in form
        bad = phone.post(url, data={field: ["p2", "p9"], "save": "1", "csrf_token": csrf_token(phone, url)})
        assert bad.status_code == 422 and "choose among p1, p2, p3, p4, not &#39;p9&#39;" in bad.get_data(as_text=True)
        saved = phone.post(url, data={field: ticked, "save": "1", "csrf_token": csrf_token(phone, url)},
                           follow_redirects=True)
        page = saved.get_data(as_text=True)
        assert all(re.search(f'value="{key}" checked', page) for key in ticked)
        assert phone.post(url, data={field: ticked, "submit": "1", "csrf_token": csrf_token(phone, url)}
                          ).status_code == 302
        session.expire_all()
        answer = session.query(Answer).join(Submission).join(Student).filter(Student.code == code).one()
        stored[code] = (answer.value, answer.correct)
    assert stored == {"M1": ("p2,p3", True), "M2": ("p1,p2", False)}


def test_a_teachers_own_bank_is_theirs_alone(app, client, session, people, bank):
    """A teacher imports another tool's items into their own bank: they see, export and assign them; a colleague
    sees none of it (bank page, API, QTI, assignments), and the shared bank is untouched."""
    from tests.unit.test_diagnostics_qti import FOREIGN_CHOICE

    teacher, colleague = people["teacher"], people["colleague"]
    login(client, "teacher@a.example", people["password"])
    token = csrf_token(client, "/diagnostics/bank")
    bank_page = client.get("/diagnostics/bank").get_data(as_text=True)
    assert "Items you import go into your own bank" in bank_page
    preview = client.get(_post_qti(client, token, FOREIGN_CHOICE.encode(), "q1.xml", topic="fractions").location)
    assert "The items go into your own bank" in preview.get_data(as_text=True)
    done = client.post(preview.request.path, data={"csrf_token": token, "action": "import", "item": ["q1"],
                                                   "topic": "fractions"}, follow_redirects=True)
    assert "Imported: 1 new items" in done.get_data(as_text=True)
    key = f"u{teacher.id}-q1"
    row = session.query(Item).filter_by(key=key).one()
    assert row.owner_id == teacher.id and session.query(Item).filter_by(key="q1").count() == 0
    assert f'id="i-{key}"' in client.get("/diagnostics/bank").get_data(as_text=True)
    # importing it again changes nothing; a changed version is a new version of the teacher's own item
    again = service.preview_qti(session, teacher, FOREIGN_CHOICE.encode(), "q1.xml", topic="fractions")
    assert [e.status for e in again.entries] == ["unchanged"]
    group = service.create_class(session, teacher, "8F")
    service.create_assignment(session, teacher, group.id, title="Mine", item_keys=[key],
                              opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1))
    session.commit()
    # the colleague sees none of it
    other = signed_in(app, "colleague@a.example", people["password"])
    assert f'id="i-{key}"' not in other.get("/diagnostics/bank").get_data(as_text=True)
    auth, api = bearer(session, colleague, "colleague"), app.test_client()  # a token alone, no signed-in session
    assert key not in {i["key"] for i in api.get("/api/v1/diagnostics/items", headers=auth).get_json()}
    assert api.get(f"/api/v1/diagnostics/items/{key}/qti", headers=auth).status_code == 422
    with zipfile.ZipFile(io.BytesIO(api.get("/api/v1/diagnostics/qti", headers=auth).data)) as zf:
        assert f"items/{key}.xml" not in zf.namelist()
    mine = bearer(session, teacher, "mine")
    assert key in {i["key"] for i in api.get("/api/v1/diagnostics/items", headers=mine).get_json()}
    with zipfile.ZipFile(io.BytesIO(api.get("/api/v1/diagnostics/qti", headers=mine).data)) as zf:
        assert f"items/{key}.xml" in zf.namelist()
    theirs = service.create_class(session, colleague, "8G")
    with pytest.raises(InvalidInput, match=f"Unknown item\\(s\\): {key}"):
        service.create_assignment(session, colleague, theirs.id, title="Not mine", item_keys=[key],
                                  opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1))
    # nor can an administrator's import take the teacher's key over
    from tests.unit.test_diagnostics_qti import FOREIGN_CHOICE as xml

    clash = service.preview_qti(session, people["admin"], xml.replace('identifier="q1"', f'identifier="{key}"')
                                .encode(), "x.xml", topic="fractions")
    assert clash.entries[0].status == "refused" and "belongs to another bank" in clash.entries[0].reason


ITEM_ROLES = ["teacher", "colleague", "coach", "facilitator", "other_teacher", "leader", "admin", "anonymous"]


@pytest.mark.parametrize("role", ITEM_ROLES)
def test_the_item_matrix_a_teachers_own_item_and_its_image(app, session, people, bank, role):
    """Every role against a teacher's own item that shows an image, and against a shared one: the bank page, the
    item's QTI through the API, the package, assigning it, and the image link. Only its owner reads it; a shared
    item is read by everyone signed in; an image is reached only through the signed link a page gave."""
    import hashlib

    from tests import builders

    image = builders.png(3, 3, (9, 9, 9))
    with app.app_context():
        service.import_qti(session, people["teacher"], builders.qti_package_with_image(image=image), "g.zip",
                           topic="linear_graphs")
        session.commit()
    own, shared = f"u{people['teacher'].id}-slope-graph", "neg-compare"
    client = app.test_client()
    headers = {} if role == "anonymous" else bearer(session, people[role], f"matrix-{role}")
    if role != "anonymous":
        client = signed_in(app, people[role].email, people["password"])
    page = client.get("/diagnostics/bank")
    if role == "anonymous":
        assert page.status_code == 302 and "/login" in page.location
    else:
        text = page.get_data(as_text=True)
        assert (f'id="i-{own}"' in text) == (role == "teacher") and f'id="i-{shared}"' in text
        assert ('<img src="' in text) == (role == "teacher")  # the only image is the teacher's own item's
    api = app.test_client()
    for key, readers in ((own, {"teacher"}), (shared, set(ITEM_ROLES) - {"anonymous"})):
        got = api.get(f"/api/v1/diagnostics/items/{key}/qti", headers=headers)
        expected = 200 if role in readers else 401 if role == "anonymous" else 422
        assert got.status_code == expected, (key, got.status_code)
    package = api.get("/api/v1/diagnostics/qti", headers=headers)
    if role == "anonymous":
        assert package.status_code == 401
    else:
        with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
            assert (f"items/{own}.xml" in zf.namelist()) == (role == "teacher")
            assert (f"items/media/{hashlib.sha256(image).hexdigest()}.png" in zf.namelist()) == (role == "teacher")
        group = service.create_class(session, people[role], f"matrix {role}")
        if role == "teacher":
            assert service.create_assignment(session, people[role], group.id, title="x", item_keys=[own],
                                             opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1))
        else:
            with pytest.raises(InvalidInput, match="Unknown item"):
                service.create_assignment(session, people[role], group.id, title="x", item_keys=[own],
                                          opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1))
        session.rollback()
    # nothing serves the image at an address made from its name
    ref = f"{hashlib.sha256(image).hexdigest()}.png"
    for guess in (f"/media/item-media/{ref}", f"/media/{ref}", f"/item-media/{ref}"):
        assert api.get(guess, headers=headers).status_code in (403, 404)


def app_client_for(client, people):
    other = signed_in(client.application, "teacher@a.example", people["password"])
    return other


def test_short_text_answers_are_scored_by_the_teacher_with_the_rubric(session, people, klass):
    text_item = next(i for i in service.current_items(session) if i.type == "text")
    a = builders.open_assignment(session, people["teacher"], klass, title="explain", diagnostic_key=None,
                                 item_keys=[text_item.key], closes=timedelta(hours=1))
    student = service.find_student(session, klass.code, "S01")
    service.student_answers(session, student, a.public_id, {text_item.id: "because 8 is bigger"}, submit=True)
    session.commit()
    res = service.results(session, people["teacher"], a.public_id)
    assert [p.answered for p in res.profiles if p.student == "S01"] == [0]  # waits for the teacher
    pending = res.pending_text[0]
    levels = sorted(lv["score"] for lv in text_item.spec["rubric"]["levels"])
    pattern = text_item.spec["rubric"]["patterns"][0]["misconception"]
    with pytest.raises(InvalidInput, match="Choose a rubric level"):
        service.score_text(session, people["teacher"], pending.id, 99, None)
    with pytest.raises(InvalidInput, match="not a misconception this item can reveal"):
        service.score_text(session, people["teacher"], pending.id, levels[0], "equals-chain-nope")
    with pytest.raises(NotFound):
        service.score_text(session, people["colleague"], pending.id, levels[0], None)
    service.score_text(session, people["teacher"], pending.id, levels[0], pattern)
    session.commit()
    res = service.results(session, people["teacher"], a.public_id)
    assert res.heatmap.state("S01", text_item.key) == pattern and not res.pending_text


def test_api_progress_assignment_list_and_item_qti(client, session, people, klass, assignment):
    auth = bearer(session, people["teacher"])
    listed = client.get("/api/v1/diagnostics/assignments", headers=auth).get_json()
    assert [a["id"] for a in listed] == [assignment.public_id]
    resp = client.get(f"/api/v1/diagnostics/classes/{klass.id}/progress?before={assignment.public_id}"
                      f"&after={assignment.public_id}", headers=auth)
    assert resp.status_code == 200 and "students" in resp.get_json()
    key = assignment.items[0].item.key
    xml = client.get(f"/api/v1/diagnostics/items/{key}/qti", headers=auth)
    assert xml.status_code == 200 and "qti-assessment-item" in xml.get_data(as_text=True)
    missing = client.get("/api/v1/diagnostics/items/no-such-item/qti", headers=auth)
    assert missing.status_code == 422 and "Unknown item" in missing.get_json()["detail"]


def _grid_fields(page: str) -> list[str]:
    return re.findall(r'name="(a-\d+-\d+)"', page)


def test_the_answer_grid_page_saves_good_cells_and_shows_a_bad_cell(client, session, people, klass, assignment):
    login(client, "teacher@a.example", people["password"])
    url = f"/diagnostics/assignments/{assignment.public_id}/grid"
    page = client.get(url).get_data(as_text=True)
    items = [ai.item for ai in assignment.items]
    s01 = service.find_student(session, klass.code, "S01")
    token = csrf_token(client, url)
    good = {f"a-{s01.id}-{i.id}": _right(i) for i in items}
    assert set(good) <= set(_grid_fields(page))
    resp = client.post(url, data=good | {"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/assignments/{assignment.public_id}")
    assert "Answers saved for 1 students." in client.get(resp.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.query(Answer).count() == len(items)
    numeric = next(i for i in items if i.type == "numeric")
    bad = client.post(url, data=good | {f"a-{s01.id}-{numeric.id}": "lots", "csrf_token": token},
                      follow_redirects=True)
    assert bad.status_code == 200 and "S01:" in bad.get_data(as_text=True)
    garbled = client.post(url, data={"a-x-1": "A", "csrf_token": token}, follow_redirects=True)
    assert garbled.status_code == 200 and "The grid was not understood." in garbled.get_data(as_text=True)
    session.expire_all()
    stored = {a.item_id: a.value for a in session.query(Answer)}
    assert stored[numeric.id] == _right(numeric) and len(stored) == len(items)  # nothing stored was lost


def test_the_answer_csv_import_page_saves_a_good_file_and_lists_row_errors(client, session, people, klass,
                                                                            assignment):
    import io

    login(client, "teacher@a.example", people["password"])
    url = f"/diagnostics/assignments/{assignment.public_id}/grid"
    token = csrf_token(client, url)
    items = [ai.item for ai in assignment.items]
    header = "code," + ",".join(i.key for i in items)
    good = f"{header}\nS01,{','.join(_right(i) for i in items)}\n".encode()
    resp = client.post(url, data={"file": (io.BytesIO(good), "answers.csv"), "csrf_token": token},
                       content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200 and "Answers saved for 1 students." in resp.get_data(as_text=True)
    bad = f"{header}\nS77,{','.join(_right(i) for i in items)}\n".encode()
    resp = client.post(url, data={"file": (io.BytesIO(bad), "answers.csv"), "csrf_token": token},
                       content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200 and "row 2: no student with code" in resp.get_data(as_text=True)
    resp = client.post(url, data={"file": (io.BytesIO(b"\xff\xfe\x00garbage"), "answers.csv"), "csrf_token": token},
                       content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200 and resp.request.path == url
    session.expire_all()
    assert session.query(Submission).count() == 1 and session.query(Answer).count() == len(items)


def test_every_teacher_form_answers_good_and_bad_input_without_a_server_error(client, session, people, klass):
    import io

    login(client, "teacher@a.example", people["password"])
    token = csrf_token(client, "/diagnostics/")
    made = client.post("/diagnostics/classes", data={"name": "ט'2", "csrf_token": token})
    assert made.status_code == 302
    nameless = client.post("/diagnostics/classes", data={"name": "", "csrf_token": token}, follow_redirects=True)
    assert nameless.status_code == 200 and "A class needs a name" in nameless.get_data(as_text=True)
    class_url = f"/diagnostics/classes/{klass.id}"
    token = csrf_token(client, class_url)
    one = client.post(class_url + "/students", data={"code": "S04", "name": "דנה", "csrf_token": token},
                      follow_redirects=True)
    assert one.status_code == 200 and "S04" in one.get_data(as_text=True)
    for code, message in (("s04", "already a student with code s04"), ("bad code!", "is not a student code")):
        resp = client.post(class_url + "/students", data={"code": code, "csrf_token": token}, follow_redirects=True)
        assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    roster = client.post(class_url + "/students", content_type="multipart/form-data", follow_redirects=True,
                         data={"file": (io.BytesIO(b"code,name\nS05,\nS06,\n"), "r.csv"), "csrf_token": token})
    assert roster.status_code == 200 and "2 students added." in roster.get_data(as_text=True)
    broken = client.post(class_url + "/students", content_type="multipart/form-data", follow_redirects=True,
                         data={"file": (io.BytesIO(b"code\nS07\nS07\nS01\n"), "r.csv"), "csrf_token": token})
    text = broken.get_data(as_text=True)
    assert broken.status_code == 200 and "row 3: code S07 repeats row 2" in text and "row 4: code S01" in text
    session.expire_all()
    assert {s.code for s in session.get(type(klass), klass.id).students} == {"S01", "S02", "S03", "S04", "S05", "S06"}
    form = {"diagnostic": "negative-numbers", "opens_at": "2020-01-01T08:00", "closes_at": "2099-01-01T08:00",
            "csrf_token": token}
    assert client.post(class_url + "/assignments", data=form).status_code == 302
    for bad in ({"opens_at": "yesterday"}, {"closes_at": "2019-01-01T08:00"}, {"diagnostic": "no-such"}):
        resp = client.post(class_url + "/assignments", data=form | bad, follow_redirects=True)
        assert resp.status_code == 200 and resp.request.path == class_url and 'class="flash' in resp.get_data(True)


def test_the_rubric_scoring_form_takes_a_level_and_refuses_a_bad_one(client, session, people, klass):
    text_item = next(i for i in service.current_items(session) if i.type == "text")
    a = builders.open_assignment(session, people["teacher"], klass, title="explain", diagnostic_key=None,
                                 item_keys=[text_item.key], closes=timedelta(hours=1))
    student = service.find_student(session, klass.code, "S01")
    service.student_answers(session, student, a.public_id, {text_item.id: "because 8 is bigger"}, submit=True)
    session.commit()
    answer = session.query(Answer).one()
    login(client, "teacher@a.example", people["password"])
    results_url = f"/diagnostics/assignments/{a.public_id}"
    token = csrf_token(client, results_url)
    levels = sorted(lv["score"] for lv in text_item.spec["rubric"]["levels"])
    for level, message in (("x", "Choose a rubric level."), ("99", "Choose a rubric level")):
        resp = client.post(f"/diagnostics/answers/{answer.id}/score", data={"level": level, "csrf_token": token},
                           headers={"Referer": results_url}, follow_redirects=True)
        assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    resp = client.post(f"/diagnostics/answers/{answer.id}/score", data={"level": str(levels[-1]), "csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Answer, answer.id).score == levels[-1]


def _error_text(resp) -> str:
    return re.search(r'id="error">([^<]*)<', resp.get_data(as_text=True)).group(1)


def test_student_sign_in_says_the_same_for_any_wrong_pair_and_is_throttled(app, klass):
    import time

    # The window opens at the first wrong try, so the 40 tries below fall inside it.
    app.config |= {"STUDENT_SIGNIN_LIMIT_PER_ADDRESS": "10 per 5 seconds",
                   "STUDENT_SIGNIN_LIMIT_PER_CLASS": "1000 per hour"}
    phone = app.test_client()
    token = csrf_token(phone, "/s/")

    def sign_in(class_code: str, student_code: str):
        return phone.post("/s/", data={"class_code": class_code, "student_code": student_code, "csrf_token": token})

    wrong_class, wrong_student = sign_in("NOPE42", "S01"), sign_in(klass.code, "S99")
    assert wrong_class.status_code == wrong_student.status_code == 404
    assert _error_text(wrong_class) == _error_text(wrong_student)
    # A NUL is refused like any text with control characters, before the codes are looked at (and not counted).
    assert sign_in("\x00" + klass.code, "S01").status_code == 422
    arabic = phone.post("/s/", data={"class_code": klass.code, "student_code": "S98", "csrf_token": token},
                        headers={"Accept-Language": "ar"})
    assert _error_text(arabic) == "هذان الرمزان لا يطابقان أي طالب في أي صف. تحقّق من الرمزين مع معلّمك."
    answers = [sign_in(klass.code, f"S{n + 10}") for n in range(40)]
    assert [r.status_code for r in answers] == [404] * 7 + [429] * 33
    wait = re.search(r"Too many tries: wait (\d+) seconds", _error_text(answers[-1]))
    assert wait and 1 <= int(wait.group(1)) <= 6
    refused = sign_in(klass.code, "S01")  # the right pair too, until the window passes
    assert refused.status_code == 429 and "Too many tries" in _error_text(refused)
    hebrew = phone.post("/s/", data={"class_code": klass.code, "student_code": "S01", "csrf_token": token},
                        headers={"Accept-Language": "he"})
    assert hebrew.status_code == 429 and "יותר מדי ניסיונות: יש לחכות" in _error_text(hebrew)
    time.sleep(int(wait.group(1)))
    assert sign_in(klass.code, "S01").status_code == 302


def test_student_sign_in_is_throttled_per_class_whatever_the_address(app, klass):
    app.config["STUDENT_SIGNIN_LIMIT_PER_CLASS"] = "3 per minute"
    answers = []
    for n in range(4):
        phone = app.test_client()
        token = csrf_token(phone, "/s/")
        answers.append(phone.post("/s/", data={"class_code": klass.code, "student_code": f"Y{n}", "csrf_token": token},
                                  environ_base={"REMOTE_ADDR": f"10.0.1.{n + 1}"}).status_code)
    assert answers == [404, 404, 404, 429]


def test_students_added_without_a_code_get_generated_ones_shown_on_the_class_page(client, session, people, klass):
    import io

    login(client, "teacher@a.example", people["password"])
    class_url = f"/diagnostics/classes/{klass.id}"
    token = csrf_token(client, class_url)
    added = client.post(class_url + "/students", data={"code": "", "name": "Rami", "csrf_token": token})
    assert added.status_code == 302
    client.post(class_url + "/students", content_type="multipart/form-data",
                data={"file": (io.BytesIO("name\nדנה\nسلمى\n".encode()), "r.csv"), "csrf_token": token})
    session.expire_all()
    generated = {s.name: s.code for s in session.query(Student).filter(Student.class_id == klass.id)
                 if s.code not in ("S01", "S02", "S03")}
    assert set(generated) == {"Rami", "דנה", "سلمى"}
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", c) for c in generated.values())
    page = client.get(class_url).get_data(as_text=True)
    assert all(c in page for c in generated.values())
    assert service.find_student(session, klass.code, generated["Rami"].lower()).name == "Rami"


def test_twenty_simultaneous_submits_from_one_student_store_one_submission_and_no_server_error(live_app, session,
                                                                                                 klass, assignment):
    import threading

    import requests

    phone = requests.Session()
    page = phone.get(live_app.url + "/s/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = phone.post(live_app.url + "/s/", data={"class_code": klass.code, "student_code": "S01",
                                                    "csrf_token": token}, allow_redirects=False)
    assert signed.status_code == 302
    answer_url = f"{live_app.url}/s/a/{assignment.public_id}"
    data = {f"i-{k}": v for k, v in _answers_for(assignment, _right).items()} | {"submit": "1", "csrf_token": token}
    start, answers = threading.Barrier(20), []

    def submit() -> None:
        start.wait()
        resp = phone.post(answer_url, data=data, cookies=phone.cookies.get_dict(), allow_redirects=False)
        answers.append((resp.status_code, resp.headers.get("Location", "")))

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 20 and all(status == 302 and location.endswith("/s/home") for status, location in answers)
    session.expire_all()
    stored = session.query(Submission).all()
    assert len(stored) == 1 and stored[0].submitted_at is not None
    assert session.query(Answer).count() == len(assignment.items)


def test_printable_sign_in_cards_carry_the_class_code_in_the_qr_and_each_student_code_printed(client, people, klass):
    login(client, "teacher@a.example", people["password"])
    page = client.get(f"/diagnostics/classes/{klass.id}/cards")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and text.count('class="signin-card"') == 3 and text.count("<svg") == 3
    assert all(f'class="student-code">{c}<' in text for c in ("S01", "S02", "S03"))
    assert f"/s/?c={klass.code}" in text and "S01" not in re.search(r"<svg.*?</svg>", text, re.S).group(0)
    assert 'id="cards-link"' in client.get(f"/diagnostics/classes/{klass.id}").get_data(as_text=True)
    other = signed_in(client.application, "colleague@a.example", people["password"])
    assert other.get(f"/diagnostics/classes/{klass.id}/cards").status_code == 404


def test_drafts_count_nowhere_and_a_skipped_item_counts_as_wrong_once_submitted(client, session, people, klass,
                                                                                 assignment):
    answers = _answers_for(assignment, _right)
    first = assignment.items[0].item
    s1 = service.find_student(session, klass.code, "S01")
    service.student_answers(session, s1, assignment.public_id, answers, submit=True)
    s2 = service.find_student(session, klass.code, "S02")  # skips the first item, right on the rest
    service.student_answers(session, s2, assignment.public_id,
                            {k: v for k, v in answers.items() if k != first.id}, submit=True)
    s3 = service.find_student(session, klass.code, "S03")  # only saved a draft, all wrong
    service.student_answers(session, s3, assignment.public_id, _answers_for(assignment, _wrong_choice), submit=False)
    session.commit()
    res = service.results(session, people["teacher"], assignment.public_id)
    assert (res.submitted, res.drafts) == (1 + 1, 1)
    scores = {p.student: p.score for p in res.profiles}
    n = sum(1 for ai in assignment.items if ai.item.type != "text")  # the short text is pending: not in the score
    assert scores["S01"] == 1.0 and scores["S02"] == pytest.approx((n - 1) / n)  # skipping does not raise a score
    assert scores.get("S03") is None  # the draft is not in the statistics
    assert res.heatmap.state("S02", first.key) == "skipped" and res.heatmap.state("S03", first.key) == "missing"
    stats = {st.item: st for st in res.item_stats}
    assert stats[first.key].n == 2 and stats[first.key].difficulty == 0.5
    login(client, people["teacher"].email, people["password"])
    page = client.get(f"/diagnostics/assignments/{assignment.public_id}").get_data(as_text=True)
    assert "2 submitted" in page and "1 draft not submitted yet (not counted)" in page
    assert 'id="small-sample"' in page  # 2 students: the discrimination values are flagged


def test_results_name_questions_by_number_and_show_their_text_on_demand(client, session, people, klass, assignment):
    login(client, people["teacher"].email, people["password"])
    page = client.get(f"/diagnostics/assignments/{assignment.public_id}").get_data(as_text=True)
    table = page[page.index('id="item-stats"'):]
    first = assignment.items[0].item
    assert "<summary>Q1</summary>" in table and f"<summary>{first.key}</summary>" not in table
    assert "<details" in table and "<math" in table  # the stem, rendered, one click away
    heat = page[page.index('id="heatmap"'):page.index("</svg>", page.index('id="heatmap"'))]
    assert ">Q1</text>" in heat and f'data-item="{first.key}"' in heat


def test_the_rubric_select_starts_on_no_level(client, session, people, klass):
    text_item = next(i for i in service.current_items(session) if i.type == "text")
    a = builders.open_assignment(session, people["teacher"], klass, title="explain", diagnostic_key=None,
                                 item_keys=[text_item.key], closes=timedelta(hours=1))
    student = service.find_student(session, klass.code, "S01")
    service.student_answers(session, student, a.public_id, {text_item.id: "because 8 is bigger"}, submit=True)
    session.commit()
    answer = session.query(Answer).one()
    login(client, people["teacher"].email, people["password"])
    results_url = f"/diagnostics/assignments/{a.public_id}"
    page = client.get(results_url).get_data(as_text=True)
    select = re.search(r'<select name="level"[^>]*required[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.search(r'<option value="" selected disabled>', select)  # no level is preselected
    resp = client.post(f"/diagnostics/answers/{answer.id}/score", data={"level": "", "csrf_token": csrf_token(
        client, results_url)}, headers={"Referer": results_url}, follow_redirects=True)
    assert resp.status_code == 200 and "Choose a rubric level." in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(Answer, answer.id).scored_by != "teacher"  # nothing was scored


def test_a_submitted_student_sees_their_answers_read_only(app, session, klass, assignment):
    student = service.find_student(session, klass.code, "S01")
    service.student_answers(session, student, assignment.public_id, _answers_for(assignment, _right), submit=True)
    session.commit()
    phone = app.test_client()
    phone.post("/s/", data={"class_code": klass.code, "student_code": "S01", "csrf_token": csrf_token(phone, "/s/")})
    page = phone.get(f"/s/a/{assignment.public_id}").get_data(as_text=True)
    assert 'id="submitted-notice"' in page and "can no longer be changed" in page
    assert "<fieldset disabled" in page and 'id="submit"' not in page


def test_importing_a_roster_without_a_file_says_so_and_adds_nobody(client, session, people, klass):
    login(client, people["teacher"].email, people["password"])
    page = f"/diagnostics/classes/{klass.id}"
    before = session.query(Student).filter_by(class_id=klass.id).count()
    resp = client.post(f"{page}/students", data={"action": "import", "csrf_token": csrf_token(client, page)},
                       follow_redirects=True)
    assert resp.status_code == 200 and "Choose a CSV file to import." in resp.get_data(as_text=True)
    assert "is not a student code" not in resp.get_data(as_text=True)
    session.expire_all()
    assert session.query(Student).filter_by(class_id=klass.id).count() == before
