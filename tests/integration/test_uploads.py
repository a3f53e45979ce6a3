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
    assert set(resp.headers["Tus-Extension"].split(",")) == {"creation", "termination", "expiration", "checksum"}
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
        ({"Upload-Defer-Length": "1"}, 400, "Deferred lengths"),
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
