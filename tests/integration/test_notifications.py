"""Notifications: who is told about a comment or a reply, the page and its badge, the API, and e-mail
through a real SMTP server (aiosmtpd on loopback) and a real worker."""

from __future__ import annotations

import dataclasses
import re
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app import db, jobs
from app.errors import NotFound
from app.feedback import service as feedback
from app.notifications import messages, service
from app.notifications.models import Notification
from app.sharing import service as sharing
from tests import builders
from tests.processes import Worker, free_port
from tests.web import bearer, csrf_token, login


@pytest.fixture
def video(session, people):
    """A ready lesson of the teacher's (no media needed: comments only need its duration), shared with the
    colleague and the coach to comment."""
    lesson = builders.ready_video(session, people["teacher"], "Fractions, lesson 3", seconds=60.0)
    return builders.shared(session, lesson, people["colleague"].email, people["coach"].email, right="comment")


@pytest.fixture(autouse=True)
def _no_email_by_default(settings):
    """Each test starts without SMTP, as create_app configured it, and leaves it that way."""
    yield
    service.configure(settings)


def reread(note_id: int) -> Notification:
    """The row as it is now, read in a unit of work of its own (the test's session is the requests' too)."""
    with db.session_scope() as s:
        return s.get(Notification, note_id)


def told(session, kind=None) -> list[tuple[str, str, str]]:
    """(recipient e-mail, kind, link) of every notification, oldest first."""
    query = select(Notification).order_by(Notification.id)
    return [(n.user.email, n.kind, n.link) for n in session.scalars(query) if kind is None or n.kind == kind]


def test_a_comment_tells_the_owner_and_a_reply_the_author_and_the_owner_once(session, people, video):
    teacher, colleague, coach = people["teacher"], people["colleague"], people["coach"]
    first = feedback.add_comment(session, colleague, video.public_id, body="Nice wait time", start=3)
    session.commit()
    assert told(session, "comment") == [(teacher.email, "comment", f"/videos/{video.public_id}#comment-{first.id}")]
    note = session.scalar(select(Notification).where(Notification.kind == "comment"))
    assert note.params == {"author": "Dana Cohen", "video_title": "Fractions, lesson 3"}
    assert note.read_at is None and note.emailed_at is None

    # The owner answers: the colleague is told, the owner (who wrote it) is not.
    answer = feedback.add_comment(session, teacher, video.public_id, body="Thanks!", parent_id=first.id)
    # The coach answers: the colleague and the owner, each once.
    third = feedback.add_comment(session, coach, video.public_id, body="Agreed", parent_id=first.id)
    # The colleague answers in their own thread: only the owner.
    fourth = feedback.add_comment(session, colleague, video.public_id, body="More", parent_id=first.id)
    # The coach replies to the owner's reply (threads are flat): the owner, once.
    fifth = feedback.add_comment(session, coach, video.public_id, body="Yes", parent_id=answer.id)
    session.commit()
    link = f"/videos/{video.public_id}#comment-"
    assert told(session, "reply") == [
        (colleague.email, "reply", f"{link}{answer.id}"),
        (colleague.email, "reply", f"{link}{third.id}"), (teacher.email, "reply", f"{link}{third.id}"),
        (teacher.email, "reply", f"{link}{fourth.id}"),
        (teacher.email, "reply", f"{link}{fifth.id}"),
    ]
    # The owner commenting on their own lesson tells nobody.
    feedback.add_comment(session, teacher, video.public_id, body="Note to self", start=1)
    session.commit()
    assert len(told(session, "comment")) == 1


def test_nobody_is_told_what_they_may_no_longer_see(session, people, video):
    colleague = people["colleague"]
    first = feedback.add_comment(session, colleague, video.public_id, body="Question", start=3)
    session.commit()
    share = next(s for s in sharing.shares_of(session, video) if s.user_id == colleague.id)
    sharing.revoke(session, people["teacher"], share.id)
    feedback.add_comment(session, people["coach"], video.public_id, body="Answer", parent_id=first.id)
    session.commit()
    assert [who for who, _, _ in told(session, "reply")] == [people["teacher"].email]


def test_notify_skips_inactive_users_and_the_actor_and_checks_kinds(session, people):
    teacher, colleague = people["teacher"], people["colleague"]
    assert service.notify(session, teacher, "next_steps", {"author": "x"}, "/", actor=teacher) is None
    colleague.active = False
    assert service.notify(session, colleague, "next_steps", {"author": "x"}, "/") is None
    with pytest.raises(ValueError, match="Unknown notification kind"):
        service.notify(session, teacher, "gossip", {}, "/")
    with pytest.raises(ValueError, match="needs the params video_title"):
        service.notify(session, teacher, "comment", {"author": "x"}, "/")
    note = service.notify(session, teacher, "export_ready", {}, "https://evil.example/", actor=colleague)
    assert note is not None and note.link == ""  # a link elsewhere is never stored


def test_each_user_reads_and_marks_only_their_own(session, people):
    teacher, colleague, admin = people["teacher"], people["colleague"], people["admin"]
    mine = [service.notify(session, teacher, "next_steps", {"author": f"n{i}"}, "/") for i in range(3)]
    theirs = service.notify(session, colleague, "export_ready", {}, "/")
    session.commit()
    assert [n.id for n in service.list_for(session, teacher, 10)] == [m.id for m in reversed(mine)]
    assert [n.id for n in service.list_for(session, teacher, 2)] == [mine[2].id, mine[1].id]
    assert service.list_for(session, admin, 10) == []  # administrators included
    assert service.unread_count(session, teacher) == 3
    with pytest.raises(NotFound):
        service.get_notification(session, teacher, theirs.id)
    assert service.mark_read(session, teacher, [mine[0].id, theirs.id, 2**70]) == 1
    assert service.mark_read(session, teacher, []) == 0
    session.commit()
    assert service.unread_count(session, teacher) == 2 and service.unread_count(session, colleague) == 1
    assert service.mark_read(session, teacher, "all") == 2
    session.commit()
    assert service.unread_count(session, teacher) == 0 and service.unread_count(session, colleague) == 1
    assert [n.id for n in service.list_for(session, colleague, 10, unread_only=True)] == [theirs.id]


def test_email_is_enqueued_after_commit_only(settings, session, people, monkeypatch):
    sent: list[tuple] = []
    monkeypatch.setattr(jobs, "send", lambda name, *args, key=None: sent.append((name, args, key)))
    service.configure(dataclasses.replace(settings, smtp_host="127.0.0.1"))
    note = service.notify(session, people["teacher"], "export_ready", {}, "/")
    assert sent == []  # not before the commit: the worker could not see the row yet
    session.commit()
    assert sent == [("classlab.notifications.email", (note.id,), f"notification:{note.id}:email")]
    sent.clear()
    service.notify(session, people["teacher"], "export_ready", {}, "/")
    session.rollback()
    session.commit()
    assert sent == []  # rolled back: nothing to tell

    def broker_down(*_a, **_kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(jobs, "send", broker_down)
    service.notify(session, people["teacher"], "export_ready", {}, "/")
    session.commit()  # the broker being down does not undo or fail the commit
    assert service.unread_count(session, people["teacher"]) == 2

    service.configure(settings)  # no SMTP_HOST: nothing is enqueued
    monkeypatch.setattr(jobs, "send", lambda *a, **kw: sent.append(a))
    service.notify(session, people["teacher"], "export_ready", {}, "/")
    session.commit()
    assert sent == []


# --- pages --------------------------------------------------------------------------------------------


def badge(page: str) -> int:
    found = re.search(r'id="nav-notifications">[^<]*(?:<span class="badge">(\d+))?', page)
    assert found, "no notifications link in the nav"
    return int(found.group(1) or 0)


def test_the_page_lists_newest_first_and_the_badge_counts_unread(client, session, people, video):
    teacher = people["teacher"]
    feedback.add_comment(session, people["colleague"], video.public_id, body="One", start=1)
    feedback.add_comment(session, people["coach"], video.public_id, body="Two", start=2)
    session.commit()
    login(client, teacher.email, people["password"])
    page = client.get("/notifications/").get_data(as_text=True)
    assert badge(page) == 2
    items = re.findall(r'<li class="notification( unread)?" id="notification-(\d+)">\s*<a href="([^"]+)"[^>]*>([^<]+)',
                       page)
    assert [(unread, text) for unread, _id, _href, text in items] == [
        (" unread", f"{people['coach'].display_name} commented on “Fractions, lesson 3”."),
        (" unread", "Dana Cohen commented on “Fractions, lesson 3”."),
    ]
    assert badge(client.get("/dashboard").get_data(as_text=True)) == 2

    # Following one marks it read and lands on the comment.
    newest_id, href = items[0][1], items[0][2]
    assert href == f"/notifications/{newest_id}/open"
    resp = client.get(href)
    note = reread(int(newest_id))
    assert resp.status_code == 302 and resp.headers["Location"] == note.link
    assert note.link.startswith(f"/videos/{video.public_id}#comment-") and note.read_at is not None
    page = client.get("/notifications/").get_data(as_text=True)
    assert badge(page) == 1 and f'<li class="notification" id="notification-{newest_id}">' in page

    # Mark all read: a form with its CSRF token.
    assert client.post("/notifications/read").status_code == 400
    resp = client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications/")})
    assert resp.status_code == 302
    page = client.get("/notifications/").get_data(as_text=True)
    assert badge(page) == 0 and "unread" not in re.sub(r"<span class=\"visually-hidden\">[^<]*</span>", "", page)


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_opening_never_leads_to_another_site(client, session, people, link):
    note = Notification(user_id=people["teacher"].id, kind="export_ready", params={}, link=link)
    session.add(note)
    session.commit()
    login(client, people["teacher"].email, people["password"])
    resp = client.get(f"/notifications/{note.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == "/notifications/"


def test_another_users_notification_is_not_found(client, session, people):
    theirs = service.notify(session, people["colleague"], "export_ready", {}, "/")
    session.commit()
    login(client, people["teacher"].email, people["password"])
    assert client.get(f"/notifications/{theirs.id}/open").status_code == 404
    assert client.get(f"/notifications/{2**70}/open").status_code == 404
    assert reread(theirs.id).read_at is None
    assert client.get("/notifications/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications/")})
    resp = client.get("/notifications/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_hebrew_readers_get_a_right_to_left_page(client, session, people):
    teacher = people["teacher"]
    teacher.locale = "he"
    service.notify(session, teacher, "next_steps", {"author": "דנה כהן"}, "/")
    session.commit()
    login(client, teacher.email, people["password"])
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'dir="rtl"' in page and "דנה כהן" in page


# --- API ----------------------------------------------------------------------------------------------


def test_api_lists_and_marks_read_ones_own(client, session, people):
    teacher, colleague = people["teacher"], people["colleague"]
    mine = [service.notify(session, teacher, "community_added", {"community": "PLC", "by": "Rina"}, "/x"),
            service.notify(session, teacher, "export_ready", {}, "/exports")]
    theirs = service.notify(session, colleague, "export_ready", {}, "/")
    session.commit()
    auth = bearer(session, teacher)
    body = client.get("/api/v1/notifications/", headers=auth).get_json()
    assert [n["id"] for n in body] == [mine[1].id, mine[0].id]
    assert body[1] == {"id": mine[0].id, "kind": "community_added", "params": {"community": "PLC", "by": "Rina"},
                       "message": "Rina added you to the community PLC.", "link": "/x",
                       "created_at": body[1]["created_at"], "read_at": None}
    assert client.get("/api/v1/notifications/unread", headers=auth).get_json() == {"unread": 2}
    resp = client.post("/api/v1/notifications/read", json={"ids": [mine[0].id, theirs.id]}, headers=auth)
    assert resp.get_json() == {"marked": 1, "unread": 1}
    assert [n["id"] for n in client.get("/api/v1/notifications/?unread=true", headers=auth).get_json()] == [mine[1].id]
    resp = client.post("/api/v1/notifications/read", json={}, headers=auth)
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert client.post("/api/v1/notifications/read", json={"all": True}, headers=auth).get_json() == {
        "marked": 1, "unread": 0}
    assert reread(theirs.id).read_at is None
    assert client.get("/api/v1/notifications/").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/notifications/", "/api/v1/notifications/read", "/api/v1/notifications/unread"} <= set(
        spec["paths"])


# --- e-mail through a real SMTP server ----------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps what it receives; refuses recipients at refused.example with a 550."""

    def __init__(self):
        self.received: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def smtp_settings(settings, smtp) -> object:
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
                               mail_from="ClassLab <classlab@school.example>", public_url="https://classlab.example")


def test_an_email_reaches_a_real_smtp_server(settings, session, people, video, smtp):
    from workers.notifications import email_notification

    config = smtp_settings(settings, smtp)
    comment = feedback.add_comment(session, people["colleague"], video.public_id, body="Nice", start=3)
    session.commit()
    note = session.scalar(select(Notification).where(Notification.kind == "comment"))
    assert email_notification(note.id, config) == "sent"
    [(rcpt, msg)] = smtp.received
    assert rcpt == [people["teacher"].email] and msg["To"] == people["teacher"].email
    assert msg["From"] == "ClassLab <classlab@school.example>"
    assert msg["Subject"] == "ClassLab: Dana Cohen commented on “Fractions, lesson 3”"
    body = msg.get_content()
    assert "Dana Cohen commented on “Fractions, lesson 3”." in body
    assert f"https://classlab.example/videos/{video.public_id}#comment-{comment.id}" in body
    assert "https://classlab.example/notifications/" in body
    assert reread(note.id).emailed_at is not None
    assert email_notification(note.id, config) == "skipped: already sent"
    assert len(smtp.received) == 1


def test_email_is_in_the_readers_language(settings, session, people, smtp, tmp_path, monkeypatch):
    """Hebrew when the catalogue has the sentence (a catalogue compiled here), English when it has not."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from workers.notifications import email_notification

    catalog = Catalog(locale="he")
    catalog.add(messages.MESSAGES["next_steps"], "%(author)s עדכן/ה את הצעדים הבאים.")
    catalog.add(messages.EMAIL_SUBJECT, "ClassLab: %(message)s")
    folder = tmp_path / "translations" / "he" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)
    monkeypatch.setattr(messages, "TRANSLATIONS", tmp_path / "translations")
    messages.translations.cache_clear()
    try:
        teacher, colleague = people["teacher"], people["colleague"]
        teacher.locale, colleague.locale = "he", "ar"  # no Arabic catalogue here: English
        notes = [service.notify(session, teacher, "next_steps", {"author": "דנה"}, "/"),
                 service.notify(session, colleague, "next_steps", {"author": "Dana"}, "/")]
        session.commit()
        config = smtp_settings(settings, smtp)
        assert [email_notification(n.id, config) for n in notes] == ["sent", "sent"]
    finally:
        messages.translations.cache_clear()
    subjects = {msg["To"]: msg["Subject"] for _rcpt, msg in smtp.received}
    assert subjects == {teacher.email: "ClassLab: דנה עדכן/ה את הצעדים הבאים",
                        colleague.email: "ClassLab: Dana updated the next steps of your coaching cycle"}


def test_no_smtp_no_address_or_a_refusal_sends_nothing_and_a_dead_server_is_retried(settings, session, people, smtp):
    from workers.celery_app import TransientError
    from workers.notifications import email_notification

    teacher = people["teacher"]
    note = service.notify(session, teacher, "export_ready", {}, "/")
    refused = service.notify(session, people["colleague"], "export_ready", {}, "/")
    people["colleague"].email = "dana@refused.example"
    session.commit()
    assert email_notification(note.id, settings) == "skipped: no SMTP_HOST"
    assert email_notification(refused.id, smtp_settings(settings, smtp)) == "refused"
    assert email_notification(10**9, smtp_settings(settings, smtp)) == "skipped: no such notification"
    teacher.active = False
    session.commit()
    assert email_notification(note.id, smtp_settings(settings, smtp)) == "skipped: no address"
    teacher.active = True
    session.commit()
    dead = dataclasses.replace(smtp_settings(settings, smtp), smtp_port=free_port())
    with pytest.raises(TransientError):
        email_notification(note.id, dead)
    assert smtp.received == []
    assert reread(note.id).emailed_at is None


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_a_comment_is_emailed_by_a_real_worker(stack, settings, client, session, people, video, smtp, tmp_path):
    env = {**stack, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "false",
           "PUBLIC_URL": "https://classlab.example"}
    service.configure(smtp_settings(settings, smtp))
    worker = Worker(env, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        login(client, people["colleague"].email, people["password"])
        resp = client.post(f"/videos/{video.public_id}/comments",
                           data={"body": "Lovely", "start": "0:03", "csrf_token": csrf_token(client, "/dashboard")})
        assert resp.status_code == 302
        deadline = time.monotonic() + 60
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert smtp.received, worker.log.read_text()
        [(rcpt, msg)] = smtp.received
        assert rcpt == [people["teacher"].email]
        assert msg["Subject"] == "ClassLab: Dana Cohen commented on “Fractions, lesson 3”"
        assert f"https://classlab.example/videos/{video.public_id}#comment-" in msg.get_content()
        note = session.scalar(select(Notification).where(Notification.kind == "comment"))
        while note.emailed_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
            note = reread(note.id)
        assert note.emailed_at is not None
    finally:
        worker.stop()
