"""'Download all my data': the archive's exact contents, who may fetch it, one at a time, retention, the page."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import time
import urllib.request
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import DataExport, User
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.export import service as exports
from app.feedback import service as feedback
from app.notifications.models import Notification
from app.sharing import service as sharing
from app.video import clips, service
from app.video.models import Segment, Transcript, VideoStatus
from tests import builders
from tests.processes import Worker, classlab
from tests.web import bearer, csrf_token, login, signed_in

MEDIA_ONE = os.urandom(3 * 1024 * 1024 + 17)  # more than one storage chunk
MEDIA_TWO = os.urandom(200_000)


def _lesson(session, store, owner, tmp_path, title: str, data: bytes, *, lines=()):
    """A lesson without running ffmpeg or Whisper: the original stored byte for byte, a transcript as rows."""
    path = tmp_path / f"{hashlib.sha1(title.encode()).hexdigest()}.mp4"
    path.write_bytes(data)
    video = service.ingest_file(session, store, owner, path, title=title)
    video.status, video.duration, video.sha256 = VideoStatus.ready, 10.0, hashlib.sha256(data).hexdigest()
    if lines:
        transcript = Transcript(video=video, language="en", model="test")
        for i, (start, end, text, corrected) in enumerate(lines):
            transcript.segments.append(Segment(position=i, start=start, end=end, text=text, corrected=corrected))
        session.add(transcript)
    session.flush()
    return video


@pytest.fixture
def lessons(app, session, people, tmp_path):
    """Noa (teacher) owns two lessons; Dana (colleague) replied on one and owns a third, where Noa commented."""
    store = app.extensions["classlab.storage"]
    noa, dana = people["teacher"], people["colleague"]
    one = _lesson(session, store, noa, tmp_path, "Fractions: lesson 1", MEDIA_ONE, lines=[
        (0.0, 2.0, "good morning every one", "Good morning, everyone"),
        (2.0, 5.0, "Who can tell me what a half is?", None)])
    two = _lesson(session, store, noa, tmp_path, "שיעור שני", MEDIA_TWO)
    theirs = _lesson(session, store, dana, tmp_path, "Dana's lesson", b"not Noa's media" * 100)
    session.commit()
    sharing.set_consent(session, noa, one.public_id, "full", "forms signed")
    sharing.share(session, noa, one.public_id, dana.email, "comment")
    sharing.set_consent(session, dana, theirs.public_id, "full")
    sharing.share(session, dana, theirs.public_id, noa.email, "comment")
    opening = feedback.add_comment(session, noa, one.public_id, body="Nice opening", start=1)
    feedback.add_comment(session, dana, one.public_id, body="Agreed, שאלה טובה", parent_id=opening.id)
    feedback.add_comment(session, noa, one.public_id, body="Wait time", start=2, end=5, quote="what a half is")
    clip = clips.create_clip(session, noa, one.public_id, title="The opening", start=0, end=3, note="for the PLC")
    feedback.add_comment(session, noa, theirs.public_id, body="Lovely board work", start=4)
    group = builders.diagnostic_class(session, noa, "9B", students=(("s01", "Maya"),))
    session.commit()
    return {"one": one, "two": two, "theirs": theirs, "clip": clip, "class": group}


def _build(app, session, user) -> DataExport:
    found = exports.request_export(session, user)
    session.commit()
    settings = app.extensions["classlab.settings"]
    exports.build_export(session, app.extensions["classlab.storage"], found.id, work_folder=settings.work_folder)
    session.commit()
    return found


def _archive(app, found: DataExport) -> zipfile.ZipFile:
    data = b"".join(app.extensions["classlab.storage"].stream(found.key))
    assert len(data) == found.size
    return zipfile.ZipFile(io.BytesIO(data))


def _fetch(client, url: str) -> bytes:
    if url.startswith("/media/"):
        resp = client.get(url)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        return resp.get_data()
    with urllib.request.urlopen(url, timeout=30) as resp:  # S3 (moto): the presigned URL itself
        return resp.read()


def test_the_archive_holds_exactly_the_owners_data(app, session, people, lessons):
    noa = people["teacher"]
    found = _build(app, session, noa)
    assert found.status == "ready" and found.key == f"exports/{noa.id}/{found.public_id}.zip"
    one, two, group = lessons["one"], lessons["two"], lessons["class"]
    a, b = f"videos/Fractions-lesson-1-{one.public_id}/", f"videos/שיעור-שני-{two.public_id}/"
    zf = _archive(app, found)
    assert zf.testzip() is None
    assert zf.namelist() == [
        "README.txt", "profile.json",
        a + "video.json", a + "original.mp4", a + "transcript.vtt", a + "transcript.txt", a + "transcript.json",
        a + "comments.json", a + "comments.csv", a + "clips.json", a + "audit.json",
        b + "video.json", b + "original.mp4", b + "comments.json", b + "comments.csv", b + "clips.json",
        b + "audit.json",
        "my_comments_on_others.json", f"diagnostics/9B-{group.id}/students.csv",
    ]
    assert zf.read(a + "original.mp4") == MEDIA_ONE and zf.read(b + "original.mp4") == MEDIA_TWO
    assert zf.getinfo(a + "original.mp4").compress_type == zipfile.ZIP_STORED
    assert b"not Noa's media" not in b"".join(zf.read(n) for n in zf.namelist())

    assert zf.read(a + "transcript.txt").decode() == "Good morning, everyone\n\nWho can tell me what a half is?\n"
    assert zf.read(a + "transcript.vtt").decode() == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nGood morning, everyone\n\n"
        "00:00:02.000 --> 00:00:05.000\nWho can tell me what a half is?\n")
    transcript = json.loads(zf.read(a + "transcript.json"))
    assert [(s["text"], s["heard"]) for s in transcript["segments"]] == [
        ("Good morning, everyone", "good morning every one"), ("Who can tell me what a half is?", None)]

    rows = json.loads(zf.read(a + "comments.json"))
    assert [(r["author"], r["body"], r["start"], r["end"], r["reply_to"] is not None) for r in rows] == [
        ("Noa Levi", "Nice opening", 1.0, None, False), ("Dana Cohen", "Agreed, שאלה טובה", 1.0, None, True),
        ("Noa Levi", "Wait time", 2.0, 5.0, False)]
    assert rows[1]["reply_to"] == rows[0]["id"] and rows[2]["quote"] == "what a half is"
    table = list(csv.reader(io.StringIO(zf.read(a + "comments.csv").decode("utf-8-sig"))))
    assert table[0] == feedback.EXPORT_COLUMNS
    assert [(r[4], r[5]) for r in table[1:]] == [(r["author"], r["body"]) for r in rows]
    assert json.loads(zf.read(b + "comments.json")) == [] and json.loads(zf.read(b + "clips.json")) == []

    meta = json.loads(zf.read(a + "video.json"))
    assert meta["title"] == "Fractions: lesson 1" and meta["sha256"] == hashlib.sha256(MEDIA_ONE).hexdigest()
    assert meta["consent"]["status"] == "full" and meta["consent"]["note"] == "forms signed"
    assert [(s["with"], s["email"], s["right"]) for s in meta["shares"]] == [
        ("Dana Cohen", "colleague@a.example", "comment")]
    assert [(c["title"], c["start"], c["end"], c["note"]) for c in json.loads(zf.read(a + "clips.json"))] == [
        ("The opening", 0.0, 3.0, "for the PLC")]
    actions = [e["action"] for e in json.loads(zf.read(a + "audit.json"))]
    assert actions[:2] == ["consent", "share"]

    mine = json.loads(zf.read("my_comments_on_others.json"))
    assert [(c["video"], c["body"], c["start"]) for c in mine] == [("Dana's lesson", "Lovely board work", 4.0)]
    profile = json.loads(zf.read("profile.json"))
    assert (profile["email"], profile["display_name"], profile["organization"]) == (
        "teacher@a.example", "Noa Levi", "Tichon Alef")
    assert "password_hash" not in profile
    assert zf.read(f"diagnostics/9B-{group.id}/students.csv").decode("utf-8-sig") == "code,name\r\ns01,Maya\r\n"
    assert "my_comments_on_others.json" in zf.read("README.txt").decode()


def test_only_its_owner_gets_the_archive(app, client, session, people, lessons):
    noa, dana = people["teacher"], people["colleague"]
    found = _build(app, session, noa)
    # The test's session is also the app's: a refused request rolls it back, which expires these.
    noa_id, dana_id, dana_email, admin_id = noa.id, dana.id, dana.email, people["admin"].id
    public_id, key, size = found.public_id, found.key, found.size
    with pytest.raises(NotFound):
        exports.get_export(session, dana, found.public_id)
    with pytest.raises(NotFound):
        exports.get_export(session, people["admin"], found.public_id)
    assert exports.exports_of(session, dana) == []
    api = client.get(f"/api/v1/accounts/exports/{found.public_id}", headers=bearer(session, dana))
    assert api.status_code == 404
    login(client, dana_email, people["password"])
    page = client.get("/account/data").get_data(as_text=True)
    assert public_id not in page and "No archives yet." in page

    own = app.test_client().get(f"/api/v1/accounts/exports/{public_id}",
                                headers=bearer(session, session.get(User, noa_id))).get_json()
    assert own["status"] == "ready" and own["size"] == size and own["download_url"]
    store = app.extensions["classlab.storage"]
    if own["download_url"].startswith("/media/"):
        assert client.get(own["download_url"]).status_code == 404  # Noa's link, Dana's session
        assert zipfile.ZipFile(io.BytesIO(_fetch(signed_in(app, "teacher@a.example", people["password"]),
                                                 own["download_url"]))).testzip() is None
        for audience in (dana_id, admin_id, None):  # a link made out to anyone else is refused
            assert client.get(store.signed_url(key, 60, audience=audience)).status_code in (403, 404)
        assert client.get(store.signed_url(f"exports/{dana_id}/{public_id}.zip", 60,
                                           audience=dana_id)).status_code in (403, 404)
    else:
        assert "X-Amz-Expires=300&" in own["download_url"] + "&"  # a bearer link: short-lived


def test_an_archive_link_is_served_only_to_its_users_session(app, session, people, lessons):
    noa = people["teacher"]
    found = _build(app, session, noa)
    link = exports.download_url(app.extensions["classlab.storage"], found, 60)
    if not link.startswith("/media/"):
        # S3 cannot see our session: the archive's presigned link is a bearer link, short-lived, served by S3.
        import urllib.request

        assert "X-Amz-Expires=60" in link
        with urllib.request.urlopen(link, timeout=10) as answer:
            assert answer.read()[:2] == b"PK"
        return
    assert _fetch(signed_in(app, "teacher@a.example", people["password"]), link)[:2] == b"PK"
    assert signed_in(app, people["colleague"].email, people["password"]).get(link).status_code == 404
    assert app.test_client().get(link).status_code == 404
    # A program fetching the link the API gave it, with the same user's token, gets it too.
    assert app.test_client().get(link, headers=bearer(session, noa)).status_code == 200
    assert app.test_client().get(link, headers=bearer(session, people["colleague"])).status_code == 404


def test_one_export_at_a_time(app, client, session, people):
    noa, colleague_id = people["teacher"], people["colleague"].id
    first = exports.request_export(session, noa)
    session.commit()
    first_id = first.id
    with pytest.raises(Conflict, match="already being prepared"):
        exports.request_export(session, noa)
    session.rollback()  # the test's session is also the app's: reload what the rollback expired
    headers = bearer(session, session.get(User, noa.id))
    assert client.post("/api/v1/accounts/exports", headers=headers).status_code == 409
    colleague = session.get(User, colleague_id)
    assert exports.request_export(session, colleague).status == "pending"  # others are not held up
    session.commit()
    exports.fail_export(session, first_id, "test")
    session.commit()
    created = client.post("/api/v1/accounts/exports", headers=headers)
    assert created.status_code == 202 and created.get_json()["status"] == "pending"
    assert client.post("/api/v1/accounts/exports", headers=headers).get_json()["title"] == "Conflict"


def test_retention_deletes_old_archives_and_unsticks_old_requests(app, stack, session, people, lessons):
    store = app.extensions["classlab.storage"]
    old = _build(app, session, people["teacher"])
    fresh = _build(app, session, people["colleague"])
    stuck = exports.request_export(session, people["teacher"])
    old.created_at = utcnow() - timedelta(days=8)
    stuck.created_at = utcnow() - timedelta(hours=5)
    session.commit()
    old_id, old_key = old.id, old.key
    assert store.exists(old_key)
    out = json.loads(classlab(stack, "sweep").stdout)  # the real sweeper, in its own process, EXPORT_DAYS=7
    assert out["expired_exports"] == 1
    session.expire_all()
    assert session.get(DataExport, old_id) is None and not store.exists(old_key)
    assert session.get(DataExport, fresh.id).status == "ready" and store.exists(fresh.key)
    assert session.get(DataExport, stuck.id).status == "failed"
    assert exports.expire_exports(session, store, 0, now=utcnow() + timedelta(seconds=1)) == 2
    session.commit()
    assert store.list("exports/") == []


def test_the_page_flow_from_request_to_download(app, client, session, people, lessons):
    login(client, "teacher@a.example", people["password"])
    assert 'href="/account/data"' in client.get("/dashboard").get_data(as_text=True)
    page = client.get("/account/data").get_data(as_text=True)
    assert "Prepare my archive" in page and "js/data-export.js" in page
    token = csrf_token(client, "/account/data")
    assert client.post("/account/data").status_code == 400  # no CSRF token
    resp = client.post("/account/data", data={"csrf_token": token})
    assert resp.status_code == 302
    found = session.scalar(select(DataExport).where(DataExport.user_id == people["teacher"].id))
    assert found.status == "pending"
    page = client.get("/account/data").get_data(as_text=True)
    assert f'data-poll="/api/v1/accounts/exports/{found.public_id}"' in page and "disabled" in page
    again = client.post("/account/data", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "already being prepared" in again
    settings = app.extensions["classlab.settings"]
    exports.build_export(session, app.extensions["classlab.storage"], found.id, work_folder=settings.work_folder)
    session.commit()
    page = client.get("/account/data").get_data(as_text=True)
    link = re.search(r'<a class="download" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "data-poll" not in page
    zf = zipfile.ZipFile(io.BytesIO(_fetch(client, link)))
    assert "profile.json" in zf.namelist() and zf.testzip() is None


def test_a_real_worker_builds_the_archive(app, stack, session, people, lessons, tmp_path):
    found = exports.request_export(session, people["teacher"])
    session.commit()  # sends the export task
    worker = Worker(stack, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session.expire_all()
            status = session.get(DataExport, found.id).status
            # The owner is told in the worker's next unit of work, just after the archive is marked ready.
            told = session.query(Notification).filter_by(user_id=people["teacher"].id, kind="export_ready").count()
            if status == "failed" or (status == "ready" and told):
                break
            time.sleep(0.3)
    finally:
        worker.stop()
    done = session.get(DataExport, found.id)
    assert (done.status, done.error) == ("ready", None), (tmp_path / "worker.log").read_text()[-3000:]
    zf = _archive(app, done)
    assert zf.read(f"videos/Fractions-lesson-1-{lessons['one'].public_id}/original.mp4") == MEDIA_ONE
    kinds = [n.kind for n in session.query(Notification).filter_by(user_id=people["teacher"].id)]
    assert "export_ready" in kinds


def test_the_archive_holds_the_teachers_own_items_as_a_qti_package_with_their_images(app, session, people):
    """Items a teacher imported into their own bank leave with them, images included, as QTI any tool reads."""
    import hashlib

    from app.diagnostics import bankfile, qti
    from app.diagnostics import service as diagnostics

    diagnostics.import_bank(session, None, bankfile.load_bank())
    teacher = people["teacher"]
    image = builders.png(5, 5, (250, 120, 0))
    with app.app_context():
        result = diagnostics.import_qti(session, teacher, builders.qti_package_with_image(image=image), "g.zip",
                                        topic="linear_graphs")
        session.commit()  # before the context's end removes the session
    assert result.report.items_added == 1
    from app.diagnostics.models import Item

    assert session.query(Item).filter(Item.owner_id == teacher.id).count() == 1
    zf = _archive(app, _build(app, session, teacher))
    assert "diagnostics/my-items-qti3.zip" in zf.read("README.txt").decode()
    assert "diagnostics/my-items-qti3.zip" in zf.namelist(), zf.namelist()
    inner = zipfile.ZipFile(io.BytesIO(zf.read("diagnostics/my-items-qti3.zip")))
    assert inner.read(f"items/media/{hashlib.sha256(image).hexdigest()}.png") == image
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
        tmp.write(zf.read("diagnostics/my-items-qti3.zip"))
        tmp.flush()
        [entry] = qti.read_package(tmp.name)
    assert entry.item.key == f"u{teacher.id}-slope-graph" and entry.media
    # a colleague's archive has none of it
    other = _archive(app, _build(app, session, people["colleague"]))
    assert "diagnostics/my-items-qti3.zip" not in other.namelist()
