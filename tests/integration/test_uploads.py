"""Resumable uploads over real HTTP with the tus protocol, on local files and on S3 (moto)."""

import base64
import dataclasses
import hashlib
import os
import socket
from datetime import timedelta

import pytest
import requests
from tusclient import client as tus_client

from app import jobs
from app.db import utcnow
from app.video import uploads
from app.video.models import Upload, Video, VideoStatus
from tests.web import bearer

TUS = {"Tus-Resumable": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def auth(session, people):
    return bearer(session, people["teacher"])


def create(live_app, auth, length: int, filename="lesson.mp4", title="Fractions, period 3"):
    resp = requests.post(live_app.url + "/api/v1/uploads/", headers={
        **TUS, **auth, "Upload-Length": str(length),
        "Upload-Metadata": f"filename {b64(filename)},title {b64(title)}",
    })
    assert resp.status_code == 201, resp.text
    return resp.headers["Location"]


def patch(url, auth, offset: int, data: bytes, **headers):
    return requests.patch(url, data=data, headers={
        **TUS, **auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **headers,
    })


def stored_objects(app) -> list[str]:
    return app.extensions["classlab.storage"].list("")


def test_options_advertises_the_protocol(live_app):
    resp = requests.options(live_app.url + "/api/v1/uploads/")
    assert resp.status_code == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    assert set(resp.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-defer-length", "termination", "expiration", "checksum"}
    assert "sha256" in resp.headers["Tus-Checksum-Algorithm"]
    assert int(resp.headers["Tus-Max-Size"]) == 10 * 1024**3


def test_tuspy_uploads_in_chunks_with_checksums(app, live_app, auth, session, tmp_path):
    data = os.urandom(12 * 1024 * 1024 + 17)  # several 4 MiB chunks: S3 parts plus a tail
    path = tmp_path / "שיעור שברים.mp4"
    path.write_bytes(data)
    client = tus_client.TusClient(live_app.url + "/api/v1/uploads/", headers=auth)
    uploader = client.uploader(str(path), chunk_size=4 * 1024 * 1024, upload_checksum=True,
                               metadata={"filename": path.name, "title": "Fractions"})
    uploader.upload()
    session.expire_all()
    video = session.query(Video).one()
    assert video.status == VideoStatus.uploaded
    assert video.title == "Fractions" and video.original_filename == "שיעור שברים.mp4"
    key = video.asset("original").key
    assert key == f"videos/{video.public_id}/original/source.mp4"  # the teacher's name never reaches a path
    stored = b"".join(app.extensions["classlab.storage"].stream(key))
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    assert stored_objects(app) == [key]  # no parts, tails or spool files left behind
    assert os.listdir(os.path.join(app.extensions["classlab.settings"].work_folder, "uploads")) == []


def test_head_reports_the_offset_and_resume_continues(app, live_app, auth, session):
    data = os.urandom(3000)
    url = create(live_app, auth, len(data))
    assert patch(url, auth, 0, data[:1000]).status_code == 204
    head = requests.head(url, headers={**TUS, **auth})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "1000"
    assert head.headers["Upload-Length"] == "3000" and head.headers["Cache-Control"] == "no-store"
    assert "Upload-Expires" in head.headers
    resp = patch(url, auth, 1000, data[1000:])
    assert resp.status_code == 204 and resp.headers["Upload-Offset"] == "3000"
    video = session.query(Video).one()
    assert b"".join(app.extensions["classlab.storage"].stream(video.asset("original").key)) == data


def test_patch_at_the_wrong_offset_is_409_and_keeps_what_was_stored(live_app, auth):
    url = create(live_app, auth, 100)
    assert patch(url, auth, 0, b"a" * 40).status_code == 204
    resp = patch(url, auth, 10, b"b" * 10)
    assert resp.status_code == 409
    assert resp.json()["detail"] == "The upload is at byte 40, not at 10: resume from 40."
    assert requests.head(url, headers={**TUS, **auth}).headers["Upload-Offset"] == "40"


def test_wrong_checksum_is_460_and_the_chunk_is_discarded(app, live_app, auth, session):
    url = create(live_app, auth, 20)
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    resp = patch(url, auth, 0, b"x" * 10, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert resp.status_code == 460
    assert "does not match" in resp.json()["detail"]
    assert requests.head(url, headers={**TUS, **auth}).headers["Upload-Offset"] == "0"
    right = base64.b64encode(hashlib.sha256(b"x" * 10).digest()).decode()
    assert patch(url, auth, 0, b"x" * 10, **{"Upload-Checksum": f"sha256 {right}"}).status_code == 204
    bad_algo = patch(url, auth, 10, b"y", **{"Upload-Checksum": "crc32 AAAA"})
    assert bad_algo.status_code == 400 and "not supported" in bad_algo.json()["detail"]


def test_upload_over_the_size_limit_is_refused_before_any_byte(app, live_app, auth, session, settings):
    app.extensions["classlab.settings"] = dataclasses.replace(settings, max_upload_bytes=1000)
    resp = requests.post(live_app.url + "/api/v1/uploads/", headers={**TUS, **auth, "Upload-Length": "1001"})
    assert resp.status_code == 413
    assert resp.json()["detail"] == "The file is 0.0 MB; the largest accepted is 0.0 MB." or "largest accepted" in (
        resp.json()["detail"])
    assert session.query(Video).count() == 0


def test_chunk_past_the_declared_length_is_refused(live_app, auth):
    url = create(live_app, auth, 10)
    resp = patch(url, auth, 0, b"z" * 11)
    assert resp.status_code == 400 and "past the declared Upload-Length" in resp.json()["detail"]
    assert requests.head(url, headers={**TUS, **auth}).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    "headers,status,detail",
    [
        ({"Upload-Length": "0"}, 400, "The file is empty"),
        ({"Upload-Length": "lots"}, 400, "whole number"),
        ({}, 400, "Upload-Length header is required"),
        ({"Upload-Length": "10", "Upload-Metadata": "filename %%%"}, 400, "not base64"),
        ({"Upload-Length": "10", "Upload-Metadata": "title YQBi"}, 422, "control characters"),  # "a\0b"
        ({"Upload-Defer-Length": "2"}, 400, "Upload-Defer-Length can only be 1"),
        ({"Upload-Defer-Length": "yes"}, 400, "Upload-Defer-Length can only be 1"),
        ({"Upload-Defer-Length": "1", "Upload-Length": "10"}, 400, "not both"),
    ],
)
def test_bad_creation_requests(live_app, auth, headers, status, detail):
    resp = requests.post(live_app.url + "/api/v1/uploads/", headers={**TUS, **auth, **headers})
    assert resp.status_code == status and detail in resp.json()["detail"]
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_protocol_errors(live_app, auth):
    url = create(live_app, auth, 10)
    no_version = requests.patch(url, data=b"x", headers={**auth, "Upload-Offset": "0",
                                                         "Content-Type": "application/offset+octet-stream"})
    assert no_version.status_code == 412 and "Tus-Resumable: 1.0.0" in no_version.json()["detail"]
    wrong_type = requests.patch(url, data=b"x", headers={**TUS, **auth, "Upload-Offset": "0",
                                                         "Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 415
    anonymous = requests.post(live_app.url + "/api/v1/uploads/", headers={**TUS, "Upload-Length": "10"})
    assert anonymous.status_code == 401


def test_someone_elses_upload_is_not_found(live_app, auth, session, people):
    url = create(live_app, auth, 10)
    other = bearer(session, people["colleague"], "other")
    assert requests.head(url, headers={**TUS, **other}).status_code == 404
    assert patch(url, other, 0, b"x").status_code == 404
    assert requests.delete(url, headers={**TUS, **other}).status_code == 404


def test_termination_removes_everything(app, live_app, auth, session):
    url = create(live_app, auth, 10 * 1024 * 1024)
    assert patch(url, auth, 0, os.urandom(6 * 1024 * 1024)).status_code == 204
    assert requests.delete(url, headers={**TUS, **auth}).status_code == 204
    assert requests.head(url, headers={**TUS, **auth}).status_code == 404
    session.expire_all()
    assert session.query(Video).count() == 0 and session.query(Upload).count() == 0
    assert stored_objects(app) == []


def test_abandoned_upload_expires_and_is_cleaned_up(app, live_app, auth, session):
    url = create(live_app, auth, 10 * 1024 * 1024)
    assert patch(url, auth, 0, os.urandom(6 * 1024 * 1024)).status_code == 204
    upload = session.query(Upload).one()
    upload.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    gone = requests.head(url, headers={**TUS, **auth})
    assert gone.status_code == 410
    assert uploads.expire_uploads(session, app.extensions["classlab.storage"]) == 1
    session.commit()
    assert session.query(Video).count() == 0
    assert stored_objects(app) == []
    if hasattr(app.extensions["classlab.storage"], "client"):
        s3 = app.extensions["classlab.storage"]
        assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_dropped_connection_keeps_the_bytes_that_arrived(live_app, auth):
    url = create(live_app, auth, 5000)
    path = "/" + url.split("/", 3)[3]
    host, port = live_app.url.removeprefix("http://").split(":")
    head = (f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: {auth['Authorization']}\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\nContent-Length: 5000\r\n\r\n")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head.encode() + b"q" * 1234)
    import time

    for _ in range(50):
        offset = requests.head(url, headers={**TUS, **auth}).headers["Upload-Offset"]
        if offset == "1234":
            break
        time.sleep(0.1)
    assert offset == "1234"
    assert patch(url, auth, 1234, b"q" * (5000 - 1234)).status_code == 204


def test_a_path_in_the_file_name_is_reduced_to_its_name(live_app, auth, session):
    url = create(live_app, auth, 4, filename="../../etc/passwd; rm -rf ~", title="")
    assert patch(url, auth, 0, b"abcd").status_code == 204
    video = session.query(Video).one()
    assert video.original_filename == "passwd; rm -rf ~"
    assert video.title == "passwd; rm -rf ~"
    assert video.asset("original").key == f"videos/{video.public_id}/original/source.bin"


# Deferred length (tus creation-defer-length): a rehearsal recorded in the browser is uploaded second by second
# while it is made, so its length is known only when it stops.

MIB = 1024 * 1024


def create_deferred(live_app, auth, filename="attempt-1.webm", title="Launching the balance task"):
    resp = requests.post(live_app.url + "/api/v1/uploads/", headers={
        **TUS, **auth, "Upload-Defer-Length": "1",
        "Upload-Metadata": f"filename {b64(filename)},title {b64(title)}",
    })
    assert resp.status_code == 201, resp.text
    assert resp.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in resp.headers
    return resp.headers["Location"]


def head(url, auth) -> requests.Response:
    resp = requests.head(url, headers={**TUS, **auth})
    assert resp.status_code == 200
    return resp


def drop_mid_chunk(live_app, url, auth, offset: int, data: bytes, announced: int) -> None:
    """A PATCH announcing `announced` bytes whose connection drops after `data` (Wi-Fi gone mid-chunk)."""
    path = "/" + url.split("/", 3)[3]
    host, port = live_app.url.removeprefix("http://").split(":")
    request_head = (f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
                    f"Authorization: {auth['Authorization']}\r\nUpload-Offset: {offset}\r\n"
                    f"Content-Type: application/offset+octet-stream\r\nContent-Length: {announced}\r\n\r\n")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request_head.encode() + data)
    import time

    for _ in range(100):  # the server notices the drop and keeps what arrived
        if head(url, auth).headers["Upload-Offset"] == str(offset + len(data)):
            return
        time.sleep(0.1)
    raise AssertionError(f"the server did not keep the {len(data)} bytes that arrived before the drop")


@pytest.fixture
def sent_jobs(monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "send", lambda name, *args, key=None: sent.append((name, args)))
    return sent


@pytest.mark.parametrize("seconds,second_bytes", [
    (30, 200_000),  # 6 MB: an S3 part, then a tail that the empty last PATCH turns into the last part
    (27, 200_000),  # 5.4 MB: the last chunk takes the whole tail into a part, so the last PATCH adds no part
])
def test_deferred_length_recording_in_small_chunks_with_a_drop(app, live_app, auth, session, sent_jobs, seconds,
                                                               second_bytes):
    data = os.urandom(seconds * second_bytes)
    url = create_deferred(live_app, auth)
    offset = 0
    for second in range(seconds):
        chunk = data[second * second_bytes:(second + 1) * second_bytes]
        if second == seconds // 3:
            # The connection drops a third of the way through this second's chunk: HEAD, then resume from there.
            drop_mid_chunk(live_app, url, auth, offset, chunk[:len(chunk) // 3], len(chunk))
            answer = head(url, auth)
            assert answer.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in answer.headers
            kept = int(answer.headers["Upload-Offset"]) - offset
            assert kept == len(chunk) // 3
            offset, chunk = offset + kept, chunk[kept:]
        resp = patch(url, auth, offset, chunk)
        assert resp.status_code == 204, resp.text
        offset += len(chunk)
        assert resp.headers["Upload-Offset"] == str(offset) and resp.headers["Upload-Defer-Length"] == "1"
    assert offset == len(data)
    session.expire_all()
    assert session.query(Video).one().status == VideoStatus.uploading and sent_jobs == []
    # "Stop": every byte is in, and the last PATCH is empty, giving only the length.
    resp = patch(url, auth, offset, b"", **{"Upload-Length": str(offset)})
    assert resp.status_code == 204, resp.text
    assert resp.headers["Upload-Length"] == str(len(data)) and "Upload-Defer-Length" not in resp.headers
    session.expire_all()
    video = session.query(Video).one()
    assert video.status == VideoStatus.uploaded and video.size == len(data)
    key = video.asset("original").key
    assert key == f"videos/{video.public_id}/original/source.webm"
    store = app.extensions["classlab.storage"]
    assert b"".join(store.stream(key)) == data
    assert stored_objects(app) == [key]  # no part file or S3 tail left behind
    if hasattr(store, "client"):
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert sent_jobs == [(jobs.VIDEO_STEP["probe"], (video.id,))]  # processing starts at once
    again = patch(url, auth, offset, b"", **{"Upload-Length": str(offset)})
    assert again.status_code == 409 and again.json()["detail"] == "This upload is already complete."


def test_deferred_length_given_with_the_last_bytes(app, live_app, auth, session, sent_jobs):
    data = os.urandom(3 * MIB + 5)
    url = create_deferred(live_app, auth)
    assert patch(url, auth, 0, data[:MIB]).status_code == 204
    resp = patch(url, auth, MIB, data[MIB:], **{"Upload-Length": str(len(data))})
    assert resp.status_code == 204 and resp.headers["Upload-Offset"] == str(len(data))
    session.expire_all()
    video = session.query(Video).one()
    assert video.status == VideoStatus.uploaded
    assert b"".join(app.extensions["classlab.storage"].stream(video.asset("original").key)) == data
    assert sent_jobs == [(jobs.VIDEO_STEP["probe"], (video.id,))]


def test_deferred_length_refusals_keep_what_was_stored(app, live_app, auth, session, sent_jobs):
    data = os.urandom(1500)
    url = create_deferred(live_app, auth)
    assert patch(url, auth, 0, data[:1000]).status_code == 204

    def unchanged():
        answer = head(url, auth)
        assert answer.headers["Upload-Offset"] == "1000"
        assert answer.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in answer.headers

    smaller = patch(url, auth, 1000, b"", **{"Upload-Length": "500"})
    assert smaller.status_code == 400
    assert smaller.json()["detail"] == "Upload-Length 500 is less than the 1000 bytes already received."
    unchanged()
    # A length the chunk itself goes past: refused, and the length is not kept either.
    past = patch(url, auth, 1000, data[1000:1200], **{"Upload-Length": "1100"})
    assert past.status_code == 400 and past.json()["detail"] == (
        "The chunk goes past the declared Upload-Length of 1100 bytes.")
    unchanged()
    for bad, detail in (("0", "The file is empty"), ("many", "whole number")):
        refused = patch(url, auth, 1000, b"", **{"Upload-Length": bad})
        assert refused.status_code == 400 and detail in refused.json()["detail"]
        unchanged()
    # The length is given with a chunk, and from then on it is fixed.
    given = patch(url, auth, 1000, data[1000:1100], **{"Upload-Length": "1500"})
    assert given.status_code == 204 and given.headers["Upload-Length"] == "1500"
    assert "Upload-Defer-Length" not in head(url, auth).headers
    changed = patch(url, auth, 1100, b"", **{"Upload-Length": "1600"})
    assert changed.status_code == 409
    assert changed.json()["detail"] == "This upload's length is already 1500 bytes; it cannot change to 1600."
    assert head(url, auth).headers["Upload-Offset"] == "1100"
    assert sent_jobs == []
    # The same length again (a client resending a chunk whose answer it never got) is fine.
    last = patch(url, auth, 1100, data[1100:], **{"Upload-Length": "1500"})
    assert last.status_code == 204
    session.expire_all()
    video = session.query(Video).one()
    assert video.status == VideoStatus.uploaded
    assert b"".join(app.extensions["classlab.storage"].stream(video.asset("original").key)) == data
    assert len(sent_jobs) == 1


def test_deferred_upload_past_the_size_limit_is_refused_and_keeps_what_was_stored(app, live_app, auth, session,
                                                                                 settings, sent_jobs):
    app.extensions["classlab.settings"] = dataclasses.replace(settings, max_upload_bytes=1000)
    data = os.urandom(1000)
    url = create_deferred(live_app, auth)
    assert patch(url, auth, 0, data[:600]).status_code == 204
    over = patch(url, auth, 600, os.urandom(600))
    assert over.status_code == 413
    assert over.json()["detail"] == ("The upload goes past the largest accepted size of 0.0 MB; nothing of this "
                                     "chunk was kept.")
    assert head(url, auth).headers["Upload-Offset"] == "600"
    too_long = patch(url, auth, 600, b"", **{"Upload-Length": "1001"})
    assert too_long.status_code == 413 and "the largest accepted is" in too_long.json()["detail"]
    assert "Upload-Defer-Length" in head(url, auth).headers
    assert patch(url, auth, 600, data[600:], **{"Upload-Length": "1000"}).status_code == 204
    session.expire_all()
    video = session.query(Video).one()
    assert video.status == VideoStatus.uploaded
    assert b"".join(app.extensions["classlab.storage"].stream(video.asset("original").key)) == data
    assert stored_objects(app) == [video.asset("original").key]
