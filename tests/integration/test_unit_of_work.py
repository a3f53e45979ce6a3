"""One unit of work per request, and work sent only after its commit (app/__init__.py, app/jobs.py).

A request that fails after a service wrote stores nothing and sends nothing; a request that succeeds
commits once and sends each task once, after the commit; a rolled-back CLI/worker unit of work
(db.session_scope) sends nothing; a page form error is a flashed message and a redirect (or the form
shown again as typed), with the write rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import db, jobs
from app.accounts import service as accounts
from app.accounts.models import DataExport, Organization, OrgKind, User
from app.errors import InvalidInput
from tests.web import csrf_token, login

TASK = "classlab.tests.noop"


@pytest.fixture
def sent(monkeypatch):
    """What reaches the broker, and whether the row it names was already committed when it did."""
    calls: list[tuple] = []

    def send(name, *args, key=None):
        with db.session_scope() as other:  # another connection: sees only committed rows
            visible = other.scalar(select(func.count()).select_from(Organization).where(Organization.id.in_(args)))
        calls.append((name, args, key, bool(visible)))

    monkeypatch.setattr(jobs, "send", send)
    return calls


def _count(name: str) -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(Organization).where(Organization.name == name))


@pytest.fixture
def routes(app):
    """A view that writes through a service, asks for a task, then ends as told."""

    @app.get("/_test/uow/<outcome>")
    def uow_probe(outcome: str):
        s = db.session()
        org = accounts.create_organization(s, f"Probe {outcome}", OrgKind.school)
        s.flush()
        jobs.enqueue(s, TASK, org.id, key=f"probe:{org.id}")
        jobs.enqueue(s, TASK, org.id, key=f"probe:{org.id}")  # asked twice: sent once
        if outcome == "domain-error":
            raise InvalidInput("No.")
        if outcome == "crash":
            raise RuntimeError("a bug after the write")
        if outcome == "error-response":
            return "shown again", 422
        return "ok"

    return app


def test_a_request_that_fails_after_a_service_wrote_stores_and_sends_nothing(routes, sent):
    client = routes.test_client()
    assert client.get("/_test/uow/domain-error").status_code == 422
    assert client.get("/_test/uow/crash").status_code == 500
    assert client.get("/_test/uow/error-response").status_code == 422
    for outcome in ("domain-error", "crash", "error-response"):
        assert _count(f"Probe {outcome}") == 0, outcome
    assert sent == []


def test_a_successful_request_commits_and_sends_each_task_once_after_the_commit(routes, sent):
    assert routes.test_client().get("/_test/uow/fine").status_code == 200
    assert _count("Probe fine") == 1
    with db.session_scope() as s:
        org_id = s.scalar(select(Organization.id).where(Organization.name == "Probe fine"))
    assert sent == [(TASK, (org_id,), f"probe:{org_id}", True)]  # True: the row was committed first


def test_a_rolled_back_session_scope_sends_nothing(app, sent):
    with pytest.raises(RuntimeError), db.session_scope() as s:
        org = accounts.create_organization(s, "CLI rolled back", OrgKind.school)
        s.flush()
        jobs.enqueue(s, TASK, org.id)
        raise RuntimeError("the command failed")
    assert sent == [] and _count("CLI rolled back") == 0
    with db.session_scope() as s:
        org = accounts.create_organization(s, "CLI committed", OrgKind.school)
        s.flush()
        jobs.enqueue(s, TASK, org.id)
        assert sent == []  # not before the commit
    assert sent == [(TASK, (org.id,), None, True)]


def test_a_closed_session_and_a_rolled_back_savepoint_drop_their_work(app, sent):
    s = db.session_factory()
    jobs.enqueue(s, TASK, 1)
    s.close()  # abandoned without a commit
    s.commit()
    assert sent == []
    org = accounts.create_organization(s, "Savepoints", OrgKind.school)
    s.flush()
    jobs.enqueue(s, TASK, org.id, key="kept")
    with pytest.raises(RuntimeError), s.begin_nested():
        jobs.enqueue(s, TASK, org.id, key="dropped")
        raise RuntimeError("the savepoint fails")
    assert [j.key for j in jobs.pending(s)] == ["kept"]
    s.commit()
    s.close()
    assert sent == [(TASK, (org.id,), "kept", True)]


def test_a_broker_that_is_down_does_not_undo_the_commit(client, people, monkeypatch):
    def broker_down(*_a, **_kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(jobs, "send", broker_down)
    login(client, "teacher@a.example", people["password"])
    resp = client.post("/account/data", data={"csrf_token": csrf_token(client, "/account/data")})
    assert resp.status_code == 302
    with db.session_scope() as s:
        found = s.scalar(select(DataExport).where(DataExport.user_id == people["teacher"].id))
        assert (found.status, found.error) == (
            "failed", "The job queue could not be reached. Please try again in a few minutes.")


def test_a_page_request_sends_its_task_once_and_a_form_error_flashes_and_redirects(client, people, sent):
    login(client, "teacher@a.example", people["password"])
    token = csrf_token(client, "/account/data")
    assert client.post("/account/data", data={"csrf_token": token}).status_code == 302
    with db.session_scope() as s:
        export_ids = list(s.scalars(select(DataExport.id).where(DataExport.user_id == people["teacher"].id)))
    assert len(export_ids) == 1
    assert [(name, args) for name, args, _key, _seen in sent] == [(jobs.ACCOUNTS_EXPORT, (export_ids[0],))]
    again = client.post("/account/data", data={"csrf_token": token})
    assert again.status_code == 302 and again.location.endswith("/account/data")
    assert "already being prepared" in client.get(again.location).get_data(as_text=True)
    assert len(sent) == 1  # the refused request sent nothing


def test_a_form_error_is_a_message_and_a_refusal_keeps_its_page(client, session, people):
    from app.communities import service as communities

    theirs = communities.create_community(session, people["facilitator"], "Fractions PLC").public_id
    session.commit()
    login(client, "plc@a.example", people["password"])
    token = csrf_token(client, "/communities/")
    resp = client.post("/communities/", data={"name": "", "csrf_token": token})
    assert resp.status_code == 302 and resp.location.endswith("/communities/")
    page = client.get(resp.location).get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "A community needs a name of 1 to 200 characters." in page
    teacher = client.application.test_client()
    login(teacher, "teacher@a.example", people["password"])
    denied = teacher.post(f"/communities/{theirs}/members",
                          data={"email": "colleague@a.example", "csrf_token": csrf_token(teacher, "/communities/")})
    assert denied.status_code == 404  # app.authz's refusal (an outsider): the page, never a message
    assert "colleague" not in {m.user.email.split("@")[0] for m in
                               communities.get_community(session, people["facilitator"], theirs).members}


def test_a_form_shown_again_keeps_what_was_typed_and_stores_nothing(client, people):
    login(client, "admin@classlab.example", people["password"])
    form = {"email": "teacher@a.example", "password": "long enough password", "display_name": "Typed Name",
            "role": "teacher", "csrf_token": csrf_token(client, "/people")}
    resp = client.post("/people", data=form)
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert "already exists" in page and 'value="Typed Name"' in page
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.display_name == "Typed Name")) == 0
