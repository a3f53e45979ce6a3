"""Bad input never answers 5xx (issue 10): deep JSON, NaN, numbers past a column's or a double's range, NUL,
control characters and lone surrogates, on every JSON endpoint and the page forms, on both stacks."""

from __future__ import annotations

import io
import json
import re

import pytest

from app.communities.models import Community
from app.diagnostics.models import ClassGroup
from app.feedback.models import Comment
from app.video.models import Clip
from tests import builders
from tests.web import bearer, csrf_token, signed_in


@pytest.fixture
def lesson(session, people):
    return builders.ready_video(session, people["teacher"], seconds=60.0)


def _post_raw(client, url: str, text: str, headers: dict):
    return client.post(url, data=text.encode("utf-8", "surrogatepass"), headers=headers,
                       content_type="application/json")


def _refused(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    if field is not None:
        by_field = problem.get("errors", {}).get("json", {})  # webargs: the schema's errors, by location
        assert problem.get("field") == field or field in by_field, problem
    return problem


def test_comments_refuse_bad_bodies_with_the_field(client, session, people, lesson):
    auth = bearer(session, people["teacher"])
    url = f"/api/v1/videos/{lesson.public_id}/comments"
    deep = "[" * 5000 + "]" * 5000
    assert "nested too deeply" in _refused(_post_raw(client, url, deep, auth), 400)["detail"]
    assert "nested too deeply" in _refused(_post_raw(client, url, '{"body": ' + "[" * 100 + "]" * 100 + "}",
                                                     auth), 400)["detail"]
    _refused(_post_raw(client, url, '{"body": "x", "start": NaN}', auth), 400)
    _refused(_post_raw(client, url, '{"body": "x", "start": -Infinity}', auth), 400)
    _refused(_post_raw(client, url, '{"body": "x", "start": 1', auth), 400)  # malformed
    _refused(_post_raw(client, url, '{"body": "x", "start": ' + "9" * 401 + "}", auth), 422, "start")
    _refused(_post_raw(client, url, '{"body": "x", "start": 1e400}', auth), 422, "start")
    _refused(_post_raw(client, url, '{"body": "x", "start": -' + "9" * 5000 + "}", auth), 422, "start")
    _refused(client.post(url, json={"body": "x", "start": "9" * 401}, headers=auth), 422, "start")
    _refused(client.post(url, json={"body": "x", "start": 1, "end": "1e400"}, headers=auth), 422, "end")
    _refused(client.post(url, json={"body": "x", "start": 1, "parent_id": 10**30}, headers=auth), 422, "parent_id")
    _refused(client.post(url, json={"body": "x", "start": 1, "parent_id": -1}, headers=auth), 422, "parent_id")
    _refused(_post_raw(client, url, '{"body": "a\\ud800b", "start": 1}', auth), 422, "body")
    _refused(client.post(url, json={"body": "a\x00b", "start": 1}, headers=auth), 422, "body")
    _refused(client.post(url, json={"body": "a\x1bb", "start": 1}, headers=auth), 422, "body")
    _refused(client.post(url, json={"body": "x", "start": 1, "tags": ["talk:\x00"]}, headers=auth), 422, "tags.0")
    session.expire_all()
    assert session.query(Comment).count() == 0
    # Tabs and line breaks are text; the guard lets a good comment through.
    ok = client.post(url, json={"body": "line one\r\n\tline two", "start": 1}, headers=auth)
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert client.get(url + "?q=%00", headers=auth).status_code == 422


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _string_fields(spec: dict):
    """(method, path, field, is_list) for every string field of every JSON request body in the API's spec."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):  # the path's own "parameters"
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(spec, content["application/json"]["schema"])
            for name, prop in schema.get("properties", {}).items():
                prop = _resolve(spec, prop)
                types = prop.get("type")
                types = types if isinstance(types, list) else [types]
                items = _resolve(spec, prop.get("items", {})) if "array" in types else {}
                if "string" in types:
                    yield method, path, name, False
                elif "string" in (items.get("type") if isinstance(items.get("type"), list) else [items.get("type")]):
                    yield method, path, name, True


@pytest.mark.parametrize("bad", ["nul\x00", "lone\ud800", "bell\x07"])
def test_every_json_string_field_refuses_bad_text(client, session, people, lesson, bad):
    spec = client.get("/api/v1/openapi.json").get_json()
    auth = bearer(session, people["teacher"])
    found = list(_string_fields(spec))
    assert len(found) >= 20, found  # the walk found the API's text fields (comments, communities, classes...)
    for method, path, name, is_list in found:
        url = re.sub(r"\{[^}]+\}", "1", path)  # the guard answers before any object is looked up
        value = [bad] if is_list else bad
        resp = client.open(url, method=method.upper(), headers={**auth, "Content-Type": "application/json"},
                           data=json.dumps({name: value}))
        assert resp.status_code < 500, (method, path, name, resp.status_code, resp.get_data(as_text=True)[:300])
        assert resp.status_code == 422, (method, path, name, resp.status_code)
        assert resp.get_json()["field"] == (f"{name}.0" if is_list else name), (method, path, name)


def test_page_forms_refuse_nul_without_a_server_error(app, session, people, lesson):
    teacher, facilitator = people["teacher"], people["facilitator"]
    builders.shared(session, lesson)
    klass = builders.diagnostic_class(session, teacher, "7B")
    counts = {ClassGroup: session.query(ClassGroup).count(), Community: session.query(Community).count(),
              Clip: session.query(Clip).count()}
    as_teacher = signed_in(app, teacher.email, people["password"])
    as_facilitator = signed_in(app, facilitator.email, people["password"])
    watch = f"/videos/{lesson.public_id}"
    posts = [
        (as_teacher, "/diagnostics/classes", "/diagnostics/", {"name": "Class\x00 7"}),
        (as_facilitator, "/communities/", "/communities/", {"name": "PLC\x00", "description": "x"}),
        (as_teacher, f"/videos/{lesson.public_id}/clips", watch, {"title": "Clip\x00", "start": "1", "end": "2"}),
        (as_teacher, f"/videos/{lesson.public_id}/consent", watch, {"status": "full", "note": "signed\x00"}),
        (as_teacher, f"/videos/{lesson.public_id}/consent", watch, {"status": "full", "note": "bell\x07"}),
    ]
    for client, url, page, form in posts:
        resp = client.post(url, data={**form, "csrf_token": csrf_token(client, page)})
        assert resp.status_code in (302, 303, 400, 422), (url, resp.status_code, resp.get_data(as_text=True)[:300])
        if resp.status_code in (302, 303):
            shown = client.get(resp.headers["Location"]).get_data(as_text=True)
            assert "control characters" in shown, url
    students = f"/diagnostics/classes/{klass.id}/students"
    for form in ({"code": "S01", "name": "Dana\x00"},
                 {"file": (io.BytesIO(b"code,name\nS02,Yossi\x00\n"), "roster.csv")}):
        resp = as_teacher.post(students, data={**form, "csrf_token": csrf_token(as_teacher, "/diagnostics/")},
                               content_type="multipart/form-data")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        assert "control characters" in as_teacher.get(resp.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.get(ClassGroup, klass.id).students == []
    # The login form too: a NUL in the e-mail is refused before any query.
    anonymous = app.test_client()
    resp = anonymous.post("/login", data={"email": "a\x00@b.example", "password": "x",
                                          "csrf_token": csrf_token(anonymous)})
    assert resp.status_code < 500
    session.expire_all()
    assert {model: session.query(model).count() for model in counts} == counts


def test_the_error_page_renders_after_a_failed_flush_outside_the_view(app, people):
    """A database that refused a value in a before_request hook leaves the session needing a rollback; the
    error page (which loads the signed-in user for its menu) must still render, not Werkzeug's bare page."""
    from app import db
    from app.accounts.models import User

    @app.before_request
    def refused_by_the_database():
        if request_path() == "/videos/boom":
            db.session().add(User(email=people["teacher"].email))  # no password, a duplicate: IntegrityError
            db.session().flush()

    client = signed_in(app, people["teacher"].email, people["password"])
    resp = client.get("/videos/boom")
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "It has been logged" in page and "Log out" in page, page[:500]  # our page, with the user's menu


def request_path() -> str:
    from flask import request

    return request.path


def test_every_page_form_refuses_nul_in_any_field(app, people, lesson):
    """Every page that takes a POST, walked from the URL map: a NUL in a field is refused before the view
    (a flashed message on the form's page, or a 4xx), never a 5xx."""
    client = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(client, "/diagnostics/")
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]
    assert len(rules) >= 20, [r.rule for r in rules]
    for rule in rules:
        url = re.sub(r"<int:[^>]+>", "1", re.sub(r"<(?:string:)?([a-z_]+)>", lesson.public_id, rule.rule))
        resp = client.post(url, data={"csrf_token": token, "name": "x\x00", "title": "x\x00", "body": "x\x00"})
        assert resp.status_code < 500, (rule.rule, resp.status_code)
        assert resp.status_code in (302, 404, 413, 422), (rule.rule, resp.status_code)
    # A URL part with a NUL is simply not found (never looked up in the database).
    auth = bearer(db_session(), people["teacher"])
    assert client.get("/videos/x%00y").status_code == 404
    assert client.get("/api/v1/videos/x%00y/comments", headers=auth).status_code == 404


def db_session():
    from app import db

    return db.session()


def test_ids_past_an_integer_column_are_not_found_on_every_api_path(app, client, session, people):
    """Found by the fuzz pass (tests/integration/test_api_fuzz.py) on PostgreSQL: ids are INTEGER columns there
    (32 bits) and an id of 2**31 in a path reached the query and answered 500 (NumericValueOutOfRange). Every
    API path with a number in it, walked from the URL map, answers 404 for one past the column, on both
    stacks; a JSON body's id past it is refused naming the field."""
    auth = bearer(session, people["teacher"])
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and "<int:" in r.rule]
    assert len(rules) >= 8, [r.rule for r in rules]
    for rule in rules:
        url = re.sub(r"<int:[^>]+>", str(2**31), re.sub(r"<(?:string:)?([a-z_]+)>", "x", rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method, headers=auth, json={})
            assert resp.status_code == 404, (method, rule.rule, resp.status_code, resp.get_data(as_text=True)[:300])
    lesson = builders.ready_video(session, people["teacher"])
    resp = client.post(f"/api/v1/videos/{lesson.public_id}/comments", headers=auth,
                       json={"body": "x", "start": 1, "parent_id": 2**31})
    _refused(resp, 422, "parent_id")
    _refused(client.post("/api/v1/notifications/read", headers=auth, json={"ids": [2**31]}), 422)


@pytest.mark.parametrize("bad", ["\u00b2", "9" * 5000, "9" * 20, "-1", "1e3", ""])
def test_tus_headers_that_are_not_a_number_of_bytes_are_refused_naming_the_header(app, client, session, people,
                                                                                   bad):
    """"²" passes str.isdigit() but not int(), and int() refuses 5000 digits: both were 500s."""
    auth = {**bearer(session, people["teacher"]), "Tus-Resumable": "1.0.0"}
    resp = client.post("/api/v1/uploads/", headers={**auth, "Upload-Length": bad})
    assert _refused(resp, 400, "Upload-Length")["detail"].startswith("Upload-Length must be a whole number")
    made = builders.upload(app, session, people["teacher"], length=10)
    resp = client.patch(f"/api/v1/uploads/{made.id}", data=b"0123456789",
                        headers={**auth, "Upload-Offset": bad, "Content-Type": "application/offset+octet-stream"})
    assert _refused(resp, 400, "Upload-Offset")["detail"].startswith("Upload-Offset must be a whole number")
    session.expire_all()
    assert session.get(type(made), made.id).offset == 0


def test_page_forms_with_numbers_in_field_names_refuse_other_digits(app, session, people):
    """The transcript editor's segment-<n> and the answer grid's a-<student>-<item> fields: "²" and a number
    past any column are refused with the form's message, never a 500."""
    teacher = people["teacher"]
    lesson = builders.transcribed_video(session, teacher)
    builders.starter_bank(session)
    klass = builders.diagnostic_class(session, teacher, "7B", students=(("S01", None),))
    assignment = builders.open_assignment(session, teacher, klass)
    client = signed_in(app, teacher.email, people["password"])
    forms = [(f"/videos/{lesson.public_id}/transcript/edit", "segment-{}", "A transcript line number is not valid."),
             (f"/diagnostics/assignments/{assignment.public_id}/grid", "a-{}-1", "The grid was not understood.")]
    for url, name, message in forms:
        token = csrf_token(client, url)
        for bad in ("\u00b2", "9" * 5000, str(2**31)):
            resp = client.post(url, data={"csrf_token": token, name.format(bad): "x"})
            assert resp.status_code == 302, (url, bad, resp.status_code)
            assert message in client.get(resp.headers["Location"]).get_data(as_text=True), (url, bad)
