"""Twenty clients at once against gunicorn (3 processes, 4 threads each) on both stacks: PostgreSQL, and the
embedded SQLite file that every process writes to (issue 10). Every request is answered as a success, no 5xx
(SQLite's "database is locked" included), and nothing is lost or stored twice:

- twenty people answer the same comment thread at the same moment, half with the API and a bearer token, half
  with the watch page's form and their own session;
- one student's phone sends "submit" twenty times at once (test_diagnostics has the same on the test's own
  threaded server)."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import func, select

from app.feedback.models import Comment
from app.notifications.models import Notification
from tests import builders
from tests.processes import WebServer
from tests.web import bearer

CLIENTS = 20


@pytest.fixture
def server(stack, app, tmp_path):
    """gunicorn on the stack the test's app migrated (the same database and storage)."""
    served = WebServer({**stack, "LOGIN_RATE_LIMIT": "1000 per minute"}, tmp_path / "gunicorn.log")
    yield served
    served.stop()


class Person:
    """One of the twenty: a browser with its own session cookie, or an API client with its own token."""

    def __init__(self, server: WebServer, user, password: str, token: dict[str, str] | None):
        self.user, self.url, self.http = user, server.url, requests.Session()
        self.token = token
        if token is None:
            signed = self.http.post(self.url + "/login", data={"email": user.email, "password": password,
                                                               "csrf_token": self._csrf("/login")},
                                    allow_redirects=False)
            assert signed.status_code == 302, signed.text[:300]
            self.csrf = self._csrf("/dashboard")  # signing in starts a new session, with a token of its own

    def _csrf(self, path: str) -> str:
        page = self.http.get(self.url + path, timeout=60).text
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def reply(self, lesson: str, parent_id: int, body: str) -> tuple[int, int | None, str]:
        """(status, the new comment's id as the answer gives it, what went wrong if it did)."""
        if self.token is not None:
            resp = self.http.post(f"{self.url}/api/v1/videos/{lesson}/comments", headers=self.token,
                                  json={"body": body, "parent_id": parent_id}, timeout=60)
            made = resp.json().get("id") if resp.status_code == 201 else None
            return resp.status_code, made, "" if made else resp.text[:300]
        resp = self.http.post(f"{self.url}/videos/{lesson}/comments", allow_redirects=False, timeout=60,
                              data={"body": body, "parent_id": str(parent_id), "csrf_token": self.csrf})
        # Success goes to the new comment; a refusal back to the form (#feedback) with a flashed message.
        found = re.search(r"#comment-(\d+)$", resp.headers.get("Location", ""))
        said = re.findall(r"<main.*?</main>", resp.text, re.S)[:1] or [resp.text[:300]]
        return resp.status_code, int(found.group(1)) if found else None, "" if found else said[0][:300]


def _all_at_once(clients: list, post) -> list[tuple]:
    """post(i, clients[i]) from a thread each, all released at the same instant; the answers in order."""
    start, answers = threading.Barrier(len(clients)), [None] * len(clients)

    def run(i: int) -> None:
        start.wait()
        try:
            answers[i] = post(i, clients[i])
        except requests.RequestException as exc:
            answers[i] = (0, None, repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def test_twenty_people_replying_to_one_thread_at_once_lose_and_duplicate_nothing(server, session, people,
                                                                                   tmp_path):
    teacher = people["teacher"]
    colleagues = [builders.user(session, f"plc{i:02d}@a.example", "teacher", people["orgs"]["a"],
                                display_name=f"Colleague {i}") for i in range(CLIENTS)]
    session.commit()
    lesson = builders.shared(session, builders.ready_video(session, teacher, "Thread", seconds=120),
                             *(c.email for c in colleagues), right="comment").public_id
    from app.feedback import service as feedback

    root = feedback.add_comment(session, teacher, lesson, body="What did you notice at 0:30?", start=30).id
    session.commit()
    crowd = [Person(server, c, people["password"], bearer(session, c) if i % 2 else None)
             for i, c in enumerate(colleagues)]

    # Round one: everyone answers the thread's first comment. Round two: everyone answers the next person's reply.
    first = _all_at_once(crowd, lambda i, p: p.reply(lesson, root, f"reply {i} to the question"))
    failed = [(i, a) for i, a in enumerate(first) if a is None or a[1] is None or a[0] not in (201, 302)]
    assert not failed, failed
    second = _all_at_once(crowd, lambda i, p: p.reply(lesson, first[(i + 1) % CLIENTS][1],
                                                      f"reply {i} to reply {(i + 1) % CLIENTS}"))
    failed = [(i, a) for i, a in enumerate(second) if a is None or a[1] is None or a[0] not in (201, 302)]
    assert not failed, failed

    log = server.log.read_text()
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
    session.expire_all()
    thread = session.scalars(select(Comment).where(Comment.parent_id == root)).all()
    bodies = sorted(c.body for c in thread)
    expected = sorted([f"reply {i} to the question" for i in range(CLIENTS)]
                      + [f"reply {i} to reply {(i + 1) % CLIENTS}" for i in range(CLIENTS)])
    assert bodies == expected  # each reply once: none lost, none twice
    assert sorted(c.id for c in thread) == sorted(a[1] for a in first + second)  # the ids each answer named
    by_author = {c.id: 0 for c in colleagues}
    for c in thread:
        by_author[c.author_id] += 1
    assert set(by_author.values()) == {2}
    # Who was told: the lesson's owner of all forty, each colleague of the one reply to their own.
    told = dict(session.execute(select(Notification.user_id, func.count()).where(Notification.kind == "reply")
                                .group_by(Notification.user_id)).all())
    assert told == {teacher.id: 2 * CLIENTS, **{c.id: 1 for c in colleagues}}
    listed = requests.get(f"{server.url}/api/v1/videos/{lesson}/comments", headers=bearer(session, teacher),
                          timeout=60).json()
    assert [len(c["replies"]) for c in listed] == [2 * CLIENTS]


def test_twenty_simultaneous_submits_from_one_student_store_one_submission(server, session, people):
    from app.diagnostics import bankfile
    from app.diagnostics import service as diagnostics
    from app.diagnostics.models import Answer, Submission

    diagnostics.import_bank(session, None, bankfile.load_bank())
    session.commit()
    item = next(i for i in diagnostics.current_items(session) if i.type == "text")
    group = builders.diagnostic_class(session, people["teacher"], "8A", students=(("S01", None),))
    assignment = builders.open_assignment(session, people["teacher"], group, title="Explain", diagnostic_key=None,
                                          item_keys=[item.key])
    phone = requests.Session()
    page = phone.get(server.url + "/s/", timeout=60).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = phone.post(server.url + "/s/", data={"class_code": group.code, "student_code": "S01",
                                                  "csrf_token": token}, allow_redirects=False, timeout=60)
    assert signed.status_code == 302
    cookies = phone.cookies.get_dict()
    url = f"{server.url}/s/a/{assignment.public_id}"

    def submit(_i: int, _person) -> tuple[int, str, str]:
        resp = requests.post(url, data={f"i-{item.id}": "eighths are smaller", "submit": "1", "csrf_token": token},
                             cookies=cookies, allow_redirects=False, timeout=60)
        return resp.status_code, resp.headers.get("Location", ""), resp.text[:200]

    answers = _all_at_once([None] * CLIENTS, submit)
    # The first to close the submission and every later one alike go back to the student's home page.
    assert all(a is not None and a[0] == 302 and a[1].endswith("/s/home") for a in answers), answers
    assert "Traceback" not in server.log.read_text()
    session.expire_all()
    stored = session.scalars(select(Submission)).all()
    assert len(stored) == 1 and stored[0].submitted_at is not None
    assert [a.value for a in session.scalars(select(Answer))] == ["eighths are smaller"]


def test_a_live_meeting_behind_gunicorn_reaches_every_member_once(server, session, people):
    """The live channel across gunicorn's three processes: twenty members poll the meeting with their ETags (every
    second, as the page's script does) while ten of them respond at the same moment; every member sees every
    response, once, on SQLite and on PostgreSQL + Redis. How fast is bench/meetings.py's to measure (20 meetings of
    30 members on one box); here only that nothing is lost or doubled, and that a removed member is cut off."""
    import time

    from app.communities import service as communities
    from app.db import utcnow
    from app.meetings import service as meetings

    members = [builders.user(session, f"member{i:02d}@a.example", "teacher", people["orgs"]["a"],
                             display_name=f"Member {i}") for i in range(CLIENTS)]
    session.commit()
    plc = builders.community(session, people["facilitator"], "Live PLC", members=tuple(m.email for m in members))
    meeting = meetings.schedule(session, people["facilitator"], plc.public_id, title="Live", starts_at=utcnow())
    meetings.add_step(session, people["facilitator"], meeting.public_id, lang="en", title="Notice", prompt="What?",
                      minutes=5)
    meetings.start(session, people["facilitator"], meeting.public_id)
    session.commit()
    crowd = [Person(server, m, people["password"], None) for m in members]
    url = f"{server.url}/meetings/{meeting.public_id}"
    seen: list[dict[int, float]] = [{} for _ in crowd]
    duplicated, errors, stop = [], [], threading.Event()

    def watch(i: int, person: Person) -> None:
        etag = None
        while not stop.is_set():
            resp = person.http.get(url + "/live", headers={"If-None-Match": etag} if etag else {}, timeout=60)
            if resp.status_code == 200:
                etag = resp.headers["ETag"]
                ids = [r["id"] for r in resp.json()["responses"]]
                if len(ids) != len(set(ids)):
                    duplicated.append((i, ids))
                now = time.monotonic()
                for rid in ids:
                    seen[i].setdefault(rid, now)
            elif resp.status_code != 304:
                errors.append((i, resp.status_code, resp.text[:200]))
            stop.wait(1.0)

    watchers = [threading.Thread(target=watch, args=(i, p), daemon=True) for i, p in enumerate(crowd)]
    for t in watchers:
        t.start()
    time.sleep(1.5)

    def respond(i: int, person: Person) -> tuple[int, int | None, float]:
        resp = person.http.post(url + "/responses", data={"text": f"notice {i}", "csrf_token": person.csrf},
                                headers={"Accept": "application/json"}, timeout=60)
        return resp.status_code, resp.json().get("id") if resp.status_code == 201 else None, time.monotonic()

    sent = _all_at_once(crowd[:CLIENTS // 2], respond)
    assert all(a[0] == 201 and a[1] for a in sent), sent
    ids = {a[1] for a in sent}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(ids <= set(s) for s in seen):
        time.sleep(0.5)
    stop.set()
    for t in watchers:
        t.join(30)
    assert not errors and not duplicated, (errors[:3], duplicated[:3])
    missing = [(i, rid) for rid in ids for i in range(CLIENTS) if rid not in seen[i]]
    assert not missing, missing[:10]  # every response reached every member
    assert "Traceback" not in server.log.read_text()
    session.expire_all()
    assert sorted(r.text for r in session.scalars(select(meetings.MeetingResponse))) == sorted(
        f"notice {i}" for i in range(CLIENTS // 2))
    communities.remove_member(session, people["facilitator"], plc.public_id, members[0].id)
    session.commit()
    assert crowd[0].http.get(url + "/live", timeout=60).status_code == 404
