"""The web app end to end through Flask's test client, on the embedded stack and on real services."""

import io
import re
from datetime import timedelta

import pytest

from app import db
from app.accounts import service
from app.db import utcnow
from tests.web import csrf_token, login

PROBLEM = "application/problem+json"


def assert_problem(resp, status, detail_part):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status
    assert detail_part in body["detail"]
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


def test_login_dashboard_logout(client, people):
    assert client.get("/dashboard").status_code == 302
    resp = login(client, "teacher@a.example", people["password"])
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Hello, <bdi>Noa Levi</bdi>" in page and "Tichon Alef" in page and 'id="teacher-panel"' in page
    assert "Dana Cohen" in page  # a colleague in the same school
    assert "Samir Haddad" not in page  # a teacher of another school is not listed
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/dashboard").status_code == 302


@pytest.mark.parametrize(
    "who,panel",
    [("coach", "coach-panel"), ("facilitator", "facilitator-panel"), ("leader", "people-panel"),
     ("admin", "organizations-panel")],
)
def test_each_role_gets_its_dashboard(client, people, who, panel):
    login(client, people[who].email, people["password"])
    assert f'id="{panel}"' in client.get("/dashboard").get_data(as_text=True)


def test_the_coach_dashboard_lists_the_teachers_who_accepted(client, session, people):
    from tests.builders import active_coach_link, ready_video, shared

    active_coach_link(session, people["leader"], people["coach"].email, people["teacher"])
    video = ready_video(session, people["teacher"], title="Fractions on the number line")
    shared(session, video, people["coach"].email)
    login(client, people["coach"].email, people["password"])
    page = client.get("/dashboard").get_data(as_text=True)
    panel = page[page.index('id="coach-panel"'):]
    assert "<bdi>Noa Levi</bdi>" in panel
    assert "Teachers who accept you as their coach appear here" not in page
    assert re.search(r"New lessons shared with you</a>: <strong>1</strong>", panel)


def test_the_facilitator_dashboard_lists_their_communities(client, session, people):
    from tests.builders import community

    community(session, people["facilitator"], "Algebra PLC", members=(people["teacher"].email,))
    community(session, people["facilitator"], "Geometry PLC")
    login(client, people["facilitator"].email, people["password"])
    page = client.get("/dashboard").get_data(as_text=True)
    panel = page[page.index('id="facilitator-panel"'):page.index('id="colleagues-panel"')]
    assert "Algebra PLC" in panel and "Geometry PLC" in panel and "2 members" in panel
    assert "next sessions" not in page


@pytest.mark.parametrize("who,told", [("teacher", True), ("coach", False), ("facilitator", False), ("leader", False),
                                      ("admin", False)])
def test_only_teachers_are_told_they_have_no_coach(client, people, who, told):
    login(client, people[who].email, people["password"])
    assert ("You have no coach" in client.get("/coaching/").get_data(as_text=True)) is told


def test_wrong_password_is_401_with_a_clear_message(client, people):
    resp = login(client, "teacher@a.example", "not the password")
    assert resp.status_code == 401
    assert "Wrong e-mail or password." in resp.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_missing_and_forged_csrf_token_are_400(client, people):
    client.get("/login")
    resp = client.post("/login", data={"email": "teacher@a.example", "password": people["password"]})
    assert resp.status_code == 400
    assert "The CSRF token is missing." in resp.get_data(as_text=True)
    resp = client.post("/login", data={"email": "teacher@a.example", "password": people["password"],
                                       "csrf_token": "forged"})
    assert resp.status_code == 400
    assert "The CSRF token is invalid." in resp.get_data(as_text=True)


def test_login_is_throttled_per_account(app, client, people):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert login(client, "teacher@a.example", "wrong").status_code == 401
    resp = login(client, "teacher@a.example", people["password"])
    assert resp.status_code == 429
    assert "Too many login attempts" in resp.get_data(as_text=True)


def test_open_redirect_after_login_is_refused(client, people):
    token = csrf_token(client)
    resp = client.post("/login", data={"email": "teacher@a.example", "password": people["password"],
                                       "csrf_token": token, "next": "https://evil.example/"})
    assert resp.headers["Location"] == "/dashboard"


def test_unknown_page_and_wrong_method_pages(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "404" in resp.get_data(as_text=True)
    assert client.get("/logout").status_code == 405


def test_unknown_api_route_and_wrong_method_are_problems(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not found")
    resp = client.delete("/api/v1/accounts/me")
    assert_problem(resp, 405, "not allowed")
    assert "GET" in resp.headers["Allow"]


def test_malformed_json_and_invalid_fields(client, people):
    body = assert_problem(
        client.post("/api/v1/accounts/tokens", data="{not json", content_type="application/json"), 400, "errors"
    )
    assert body["errors"] == {"json": ["Invalid JSON body."]}
    body = assert_problem(client.post("/api/v1/accounts/tokens", json={"email": "x", "days": "soon"}), 422, "errors")
    assert set(body["errors"]["json"]) == {"password", "name", "days"}


def test_oversized_body_is_413(client):
    resp = client.post("/api/v1/accounts/tokens", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert_problem(resp, 413, "exceeds")


def test_token_exchange_and_bearer_auth(client, people):
    resp = client.post("/api/v1/accounts/tokens", json={"email": "teacher@a.example", "password": people["password"],
                                                        "name": "script", "days": 7})
    assert resp.status_code == 201
    secret = resp.get_json()["token"]
    me = client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["email"] == "teacher@a.example"
    users = client.get("/api/v1/accounts/users", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert {u["email"] for u in users} == {"teacher@a.example", "colleague@a.example", "coach@a.example",
                                           "plc@a.example", "leader@a.example"}
    other = people["other_teacher"].id
    assert_problem(client.get(f"/api/v1/accounts/users/{other}", headers={"Authorization": f"Bearer {secret}"}),
                   404, "may not see")
    assert_problem(client.post("/api/v1/accounts/tokens", json={"email": "teacher@a.example", "password": "nope",
                                                                "name": "x"}), 401, "Wrong e-mail or password.")


def test_a_bearer_token_wins_over_the_session_cookie_sent_with_it(client, people):
    """A script run from a browser profile (or a client keeping cookies) sends both: the token says who acts."""
    login(client, "coach@a.example", people["password"])
    s = db.session()
    issued = service.issue_token(s, people["teacher"], "script", 1)
    spare = service.issue_token(s, people["teacher"], "spare", 1)
    s.commit()
    as_teacher = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get("/api/v1/accounts/me", headers=as_teacher).get_json()["email"] == "teacher@a.example"
    assert client.get("/api/v1/accounts/me").get_json()["email"] == "coach@a.example"
    # A write needs no CSRF token with a bearer, and is the teacher's (the coach could not revoke her token).
    assert client.delete(f"/api/v1/accounts/tokens/{spare.token.id}", headers=as_teacher).status_code == 204
    assert_problem(client.delete(f"/api/v1/accounts/tokens/{issued.token.id}"), 400, "CSRF")
    # A bad token is refused, not quietly replaced by the cookie's user.
    assert_problem(client.get("/api/v1/accounts/me", headers={"Authorization": "Bearer clb_nope"}), 401,
                   "not recognised")


def test_expired_forged_revoked_and_malformed_tokens_are_401(client, people):
    s = db.session()
    issued = service.issue_token(s, people["teacher"], "old", 1)
    issued.token.expires_at = utcnow() - timedelta(minutes=1)
    revoked = service.issue_token(s, people["teacher"], "gone", 1)
    revoked.token.revoked_at = utcnow()
    s.commit()
    cases = [
        (f"Bearer {issued.secret}", "expired"),
        (f"Bearer {revoked.secret}", "revoked"),
        ("Bearer clb_forgedforgedforgedforgedforgedforged", "not recognised"),
        ("Basic dGVhY2hlcjpwdw==", "Bearer"),
        ("Bearer ", "Bearer"),
    ]
    for header, detail in cases:
        resp = client.get("/api/v1/accounts/me", headers={"Authorization": header})
        assert_problem(resp, 401, detail)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/accounts/me"), 401, "Bearer")


def test_session_api_writes_need_the_csrf_token(client, people):
    login(client, "teacher@a.example", people["password"])
    tokens = client.get("/api/v1/accounts/tokens").get_json()
    assert tokens == []
    s = db.session()
    issued = service.issue_token(s, people["teacher"], "x", 1)
    s.commit()
    resp = client.delete(f"/api/v1/accounts/tokens/{issued.token.id}")
    assert_problem(resp, 400, "CSRF")
    headers = {"X-CSRFToken": csrf_token(client, "/tokens")}
    resp = client.delete(f"/api/v1/accounts/tokens/{issued.token.id}", headers=headers)
    assert resp.status_code == 204


def test_tokens_page_creates_shows_once_and_revokes(client, people):
    login(client, "teacher@a.example", people["password"])
    page = client.post("/tokens", data={"name": "my laptop", "days": 30, "csrf_token": csrf_token(client, "/tokens")})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    secret = re.search(r"(clb_[A-Za-z0-9_\-]+)</code>", text).group(1)
    assert client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/tokens").get_data(as_text=True)  # shown only once
    token_id = client.get("/api/v1/accounts/tokens", headers={"Authorization": f"Bearer {secret}"}).get_json()[0]["id"]
    resp = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")})
    assert resp.status_code == 302
    assert client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    bad = client.post("/tokens", data={"name": "", "days": 999, "csrf_token": csrf_token(client, "/tokens")})
    assert bad.status_code == 422


def test_cannot_revoke_someone_elses_token(client, people):
    s = db.session()
    issued = service.issue_token(s, people["colleague"], "theirs", 1)
    s.commit()
    login(client, "teacher@a.example", people["password"])
    resp = client.post(f"/tokens/{issued.token.id}/revoke", data={"csrf_token": csrf_token(client, "/tokens")})
    assert resp.status_code == 404
    s.expire_all()
    assert s.get(type(issued.token), issued.token.id).revoked_at is None


def test_admin_creates_a_person_and_errors_are_specific(client, people):
    login(client, "admin@classlab.example", people["password"])
    form = {"display_name": "Rana", "email": "rana@a.example", "role": "coach", "password": "long enough pw",
            "csrf_token": csrf_token(client, "/people")}
    assert client.post("/people", data=form).status_code == 302
    assert "rana@a.example" in client.get("/people").get_data(as_text=True)
    dup = client.post("/people", data={**form, "csrf_token": csrf_token(client, "/people")})
    assert dup.status_code == 409 and "already exists" in dup.get_data(as_text=True)


def test_teachers_cannot_open_the_people_page(client, people):
    login(client, "teacher@a.example", people["password"])
    resp = client.get("/people")
    assert resp.status_code == 403


@pytest.mark.parametrize("lang,direction,text", [("he", "rtl", "לוח בקרה"), ("ar", "rtl", "لوحة التحكم"),
                                                 ("en", "ltr", "Dashboard")])
def test_language_switch_sets_direction_and_is_remembered(client, people, lang, direction, text):
    login(client, "teacher@a.example", people["password"])
    resp = client.post("/language", data={"locale": lang, "next": "/dashboard",
                                          "csrf_token": csrf_token(client, "/dashboard")})
    assert resp.status_code == 303
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert text in page
    s = db.session()
    s.expire_all()
    assert s.get(type(people["teacher"]), people["teacher"].id).locale == lang


def test_anonymous_language_follows_accept_language(client):
    page = client.get("/login", headers={"Accept-Language": "ar,en;q=0.5"}).get_data(as_text=True)
    assert 'dir="rtl"' in page and "تسجيل الدخول" in page


def test_health_and_openapi(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok", "database": "ok", "worker": None}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/accounts/me", "/api/v1/accounts/tokens", "/api/v1/health", "/api/v1/videos/",
            "/api/v1/videos/{public_id}", "/api/v1/search", "/api/v1/uploads/",
            "/api/v1/uploads/{upload_id}"} <= set(spec["paths"])
    assert "patch" in spec["paths"]["/api/v1/uploads/{upload_id}"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_media_is_served_only_by_a_signed_url_with_ranges(app, client):
    from storage.local import LocalStorage

    store = app.extensions["classlab.storage"]
    store.put("samples/7/web/web.mp4", io.BytesIO(b"0123456789"))
    url = store.signed_url("samples/7/web/web.mp4", 60)
    if not isinstance(store, LocalStorage):
        assert url.startswith(app.extensions["classlab.settings"].s3_endpoint_url)
        return
    full = client.get(url)
    assert full.status_code == 200 and full.data == b"0123456789"
    part = client.get(url, headers={"Range": "bytes=2-4"})
    assert part.status_code == 206 and part.data == b"234"
    assert part.headers["Content-Range"] == "bytes 2-4/10"
    assert client.get(url, headers={"Range": "bytes=50-60"}).status_code == 416
    assert client.get("/media/samples/7/web/web.mp4").status_code == 404  # no guessable URL
    forged = client.get(url[:-3] + "abc")
    assert forged.status_code == 403 and "not valid" in forged.get_data(as_text=True)
    expired = client.get(store.signed_url("samples/7/web/web.mp4", -5))
    assert expired.status_code == 403 and "expired" in expired.get_data(as_text=True)


def test_a_media_link_is_served_only_to_the_session_it_was_issued_to(app, session, people):
    from storage.local import LocalStorage
    from tests.builders import ready_video, shared
    from tests.web import signed_in

    store = app.extensions["classlab.storage"]
    noa, dana = people["teacher"], people["colleague"]
    video = shared(session, ready_video(session, noa), dana.email)  # Dana may see it too, but the link is Noa's
    key = f"videos/{video.public_id}/web/web.mp4"
    store.put(key, io.BytesIO(b"0123456789"))
    url = store.signed_url(key, 60, audience=noa.id)  # as the watch page issues it to Noa
    if not isinstance(store, LocalStorage):
        # S3 cannot see our session: its presigned link is a bearer link (the README says so), living as long
        # as it was signed for, and served by S3 to whoever holds it.
        import urllib.request

        assert "X-Amz-Expires=60" in url and not url.startswith("/")
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == b"0123456789"
        return
    mine = signed_in(app, noa.email, people["password"])
    assert mine.get(url).data == b"0123456789"
    assert mine.get(url, headers={"Range": "bytes=2-4"}).status_code == 206  # the <video> element's requests
    assert signed_in(app, dana.email, people["password"]).get(url).status_code == 404
    assert app.test_client().get(url).status_code == 404


def test_unexpected_errors_are_500_without_a_stack_trace(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = client.get("/boom")
    assert resp.status_code == 500
    text = resp.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text


@pytest.mark.parametrize("path", ["/api/v1/accounts/users/9999999999999999999999999999",
                                  "/api/v1/diagnostics/classes/8991710572904575077297608579874816",
                                  "/diagnostics/classes/99999999999999999999999"])
def test_ids_too_large_for_the_database_are_not_found(client, people, path):
    login(client, "teacher@a.example", people["password"])
    assert client.get(path).status_code == 404


def test_api_token_life_defaults_to_the_setting(app, client, people, settings):
    import dataclasses

    app.extensions["classlab.settings"] = dataclasses.replace(settings, api_token_days=7)
    resp = client.post("/api/v1/accounts/tokens", json={"email": "teacher@a.example", "password": people["password"],
                                                        "name": "week"})
    body = resp.get_json()
    from datetime import datetime

    life = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"])
    assert round(life.total_seconds() / 86400) == 7
    login(client, "teacher@a.example", people["password"])
    assert 'value="7"' in client.get("/tokens").get_data(as_text=True)


def test_default_locale_applies_when_the_browser_says_nothing(settings):
    import dataclasses

    from app import create_app

    hebrew = create_app(dataclasses.replace(settings, default_locale="he"))
    page = hebrew.test_client().get("/login", headers={"Accept-Language": ""}).get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in page


@pytest.mark.parametrize("who,steps", [("teacher", 5), ("coach", 3), ("facilitator", 3), ("leader", 2), ("admin", 2)])
def test_a_first_login_gets_a_checklist_for_the_role(client, people, who, steps):
    login(client, people[who].email, people["password"])
    page = client.get("/dashboard").get_data(as_text=True)
    checklist = page[page.index('id="first-steps"'):page.index("</section>", page.index('id="first-steps"'))]
    assert checklist.count("<li ") == steps
    assert "Getting started" in checklist


def test_the_checklist_ticks_what_is_done_and_goes_away_when_all_is(client, session, people):
    from tests.builders import diagnostic_class, open_assignment, ready_video, shared

    teacher = people["teacher"]
    video = ready_video(session, teacher, title="Lesson one")
    login(client, teacher.email, people["password"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "1 of 5 done" in page and "<s>Upload a lesson video</s>" in page
    shared(session, video, people["coach"].email)  # records consent too
    group = diagnostic_class(session, teacher, "8B")
    diagnostics_bank(session)
    open_assignment(session, teacher, group)
    assert 'id="first-steps"' not in client.get("/dashboard").get_data(as_text=True)


def diagnostics_bank(session):
    from app.diagnostics import bankfile
    from app.diagnostics import service as diagnostics

    diagnostics.import_bank(session, None, bankfile.load_bank())
    session.commit()


def test_a_lesson_being_processed_names_its_step_so_the_bar_never_seems_to_go_back(client, session, people):
    from app.video.models import Video, VideoStatus

    video = Video(owner=people["teacher"], title="Fractions", status=VideoStatus.probed, step="transcode",
                  progress=0.4)
    session.add(video)
    session.commit()
    login(client, people["teacher"].email, people["password"])
    page = client.get(f"/videos/{video.public_id}").get_data(as_text=True)
    label = re.search(r'<span id="step-label"([^>]*)>([^<]*)</span>', page)
    assert label.group(2) == "Step 2 of 4: Preparing for the web"
    assert 'data-order="probe transcode transcribe finish"' in label.group(1)  # what player.js relabels with
    assert "Checked" not in page  # the status says what happens next, not pipeline jargon
    listing = client.get("/videos/").get_data(as_text=True)
    assert "Preparing for the web" in listing and "Checked" not in listing


def test_make_run_takes_a_port_and_a_host():
    import subprocess

    dry = subprocess.run(["make", "-n", "run", "PORT=8123", "HOST=0.0.0.0"], capture_output=True, text=True,
                         check=True).stdout
    assert "classlab run --with-worker --host 0.0.0.0 --port 8123" in dry
    default = subprocess.run(["make", "-n", "run"], capture_output=True, text=True, check=True).stdout
    assert "--host 127.0.0.1 --port 5000" in default
