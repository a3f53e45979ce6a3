"""Passwords: changing one's own, a reset link by e-mail (a real SMTP round trip) or from an administrator."""

from __future__ import annotations

import dataclasses
import re

import pytest

from app import jobs
from app.accounts import service
from tests.integration.test_notifications import smtp, smtp_settings  # noqa: F401 - the SMTP server fixture
from tests.web import csrf_token, login

NEW = "a brand new passphrase"


def _flashes(resp) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', resp.get_data(as_text=True)))


def _can_log_in(app, email: str, password: str) -> bool:
    return login(app.test_client(), email, password).status_code == 302


def test_changing_ones_password_asks_the_current_one_and_refuses_bad_input(app, client, session, people):
    login(client, people["teacher"].email, people["password"])
    token = csrf_token(client, "/account/password")
    cases = [
        ({"current": "wrong password!", "password": NEW, "repeat": NEW}, 422, "The current password is not right."),
        ({"current": people["password"], "password": NEW, "repeat": NEW + "x"}, 422, "are not the same"),
        ({"current": people["password"], "password": "short", "repeat": "short"}, 422, "at least 10 characters"),
        ({"current": people["password"], "password": people["password"], "repeat": people["password"]}, 422,
         "different from the current one"),
        ({"current": people["password"], "password": "", "repeat": ""}, 422, "New password: This field is required."),
        ({"current": "\x00", "password": NEW, "repeat": NEW}, 422, None),  # NUL: refused, never a 500
    ]
    for form, status, message in cases:
        resp = client.post("/account/password", data={**form, "csrf_token": token})
        assert resp.status_code == status, (form, resp.status_code)
        if message:
            assert message in _flashes(resp), (form, _flashes(resp))
    assert _can_log_in(app, people["teacher"].email, people["password"])  # nothing changed so far
    resp = client.post("/account/password", data={"current": people["password"], "password": NEW, "repeat": NEW,
                                                  "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    assert not _can_log_in(app, people["teacher"].email, people["password"])
    assert _can_log_in(app, people["teacher"].email, NEW)


def test_the_change_page_needs_a_login(client):
    resp = client.get("/account/password")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_forgot_password_mails_a_link_that_works_once(app, settings, session, people, smtp):  # noqa: F811
    from workers.notifications import email_reset

    config = smtp_settings(settings, smtp)
    app.extensions["classlab.settings"] = config
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    token = csrf_token(client, "/password/forgot")
    # The same answer for an unknown address: the page cannot be used to find accounts.
    for email in ("nobody@nowhere.example", people["teacher"].email):
        resp = client.post("/password/forgot", data={"email": email, "csrf_token": token})
        assert resp.status_code == 200 and 'id="reset-sent"' in resp.get_data(as_text=True)
    bad = client.post("/password/forgot", data={"email": "", "csrf_token": token})
    assert bad.status_code == 422 and "This field is required" in _flashes(bad)

    # What the request asked the worker for, after its commit: one e-mail, to the teacher.
    sent = []
    real_send = jobs.send
    try:
        jobs.send = lambda name, *args, key=None: sent.append((name, args))
        client.post("/password/forgot", data={"email": people["teacher"].email.upper(), "csrf_token": token})
        client.post("/password/forgot", data={"email": "nobody@nowhere.example", "csrf_token": token})
    finally:
        jobs.send = real_send
    [(name, (user_id, reset))] = sent
    assert name == jobs.ACCOUNTS_PASSWORD_RESET and user_id == people["teacher"].id
    assert email_reset(user_id, reset, config) == "sent"
    [(rcpt, msg)] = smtp.received
    assert rcpt == [people["teacher"].email] and msg["Subject"] == "ClassLab: reset your password"
    link = re.search(r"https://classlab\.example(/password/reset/\S+)", msg.get_content()).group(1)

    form = client.get(link)
    assert form.status_code == 200 and people["teacher"].email in form.get_data(as_text=True)
    token = csrf_token(client, link)
    resp = client.post(link, data={"password": NEW, "repeat": "not the same", "csrf_token": token})
    assert resp.status_code == 422 and "are not the same" in _flashes(resp)
    resp = client.post(link, data={"password": NEW, "repeat": NEW, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert _can_log_in(app, people["teacher"].email, NEW)
    again = client.get(link)  # used: the password it was made for is gone
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)


@pytest.mark.parametrize("token,message", [
    ("not-a-token", "not valid"),
    ("eyJ1IjoxfQ.forged.signature", "not valid"),
    ("x" * 5000, "not valid"),
])
def test_a_bad_reset_link_gets_a_clear_page(client, people, token, message):
    resp = client.get(f"/password/reset/{token}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert client.post(f"/password/reset/{token}", data={"password": NEW, "repeat": NEW}).status_code == 400


def test_an_expired_reset_link_is_refused(settings, session, people):
    token = service.reset_token(people["teacher"], settings.secret_key)
    with pytest.raises(Exception, match="expired or was already used"):
        service.user_for_reset(session, token, settings.secret_key, max_age=-1)


def test_without_email_the_page_says_to_ask_an_administrator_who_makes_a_link(app, settings, client, session,
                                                                               people):
    app.extensions["classlab.settings"] = dataclasses.replace(settings, smtp_host="")
    page = client.get("/password/forgot").get_data(as_text=True)
    assert 'id="ask-admin"' in page and 'id="forgot-form"' not in page
    login(client, people["admin"].email, people["password"])
    teacher = people["teacher"]
    people_page = client.get("/people").get_data(as_text=True)
    assert f'id="reset-{teacher.id}"' in people_page and f'id="reset-{people["admin"].id}"' not in people_page
    resp = client.post(f"/people/{teacher.id}/reset-link", data={"csrf_token": csrf_token(client, "/people")})
    assert resp.status_code == 200
    link = re.search(r'value="http://[^/"]+(/password/reset/[^"]+)"', resp.get_data(as_text=True)).group(1)
    other = app.test_client()
    token = csrf_token(other, link)
    assert other.post(link, data={"password": NEW, "repeat": NEW, "csrf_token": token}).status_code == 302
    assert _can_log_in(app, teacher.email, NEW)
    # Nobody else's link: a teacher cannot make one, and an unknown person is not found.
    login(other, people["colleague"].email, people["password"])
    token = csrf_token(other, "/dashboard")
    refused = other.post(f"/people/{teacher.id}/reset-link", data={"csrf_token": token}, follow_redirects=True)
    assert "/password/reset/" not in refused.get_data(as_text=True)
    assert "You may not manage this." in refused.get_data(as_text=True)
    admin = app.test_client()
    login(admin, people["admin"].email, people["password"])
    resp = admin.post("/people/999999/reset-link", data={"csrf_token": csrf_token(admin, "/people")})
    assert resp.status_code == 404 and "No such object" in resp.get_data(as_text=True)
