"""The video pipeline on real ffmpeg and real faster-whisper, on the embedded stack and on services.

Media is generated: ffmpeg's lavfi sources for picture and tone, espeak-ng for speech with a known
script, so the transcript is scored by word error rate.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import pytest

from app import db
from app.video import captions, service
from app.video.models import Asset, Video, VideoStatus
from tests import builders, media_files
from tests.speech import LESSON_SCRIPT, make_speech
from tests.web import csrf_token, login, signed_in
from workers.pipeline import run_inline

SCRIPT = " ".join(LESSON_SCRIPT[:3])


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Generated once per test session: a lesson with speech, and the other shapes teachers upload."""
    root = tmp_path_factory.mktemp("media")
    speech = make_speech(root / "speech.wav", SCRIPT)
    return {
        "lesson": media_files.make_video(root / "lesson.mp4", seconds=_seconds(speech) + 0.5, speech_wav=speech),
        "hevc": media_files.make_video(root / "phone.mov", seconds=2, vcodec="libx265", rotate=90,
                                       extra_metadata={"location": "+31.7683+035.2137/", "make": "Apple"}),
        "silent": media_files.make_video(root / "silent.mp4", seconds=2, audio=False),
        "audio": media_files.make_video(root / "recording.m4a", seconds=_seconds(speech) + 0.5, video=False,
                                        speech_wav=speech),
        "speech": speech,
    }


def _seconds(wav) -> float:
    import wave

    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def ingest(app, people, path, title=None) -> Video:
    return builders.processed_video(app, db.session(), people["teacher"], path, title)


def kinds(video) -> set[str]:
    return {a.kind for a in video.assets}


def test_a_lesson_with_speech_becomes_ready_with_captions_and_search(app, client, people, media):
    video = ingest(app, people, media["lesson"], "Equivalent fractions")
    assert video.status == VideoStatus.ready, video.failure_reason
    assert kinds(video) == {"original", "web", "low", "poster", "storyboard", "storyboard_vtt", "audio"}
    assert video.web_mode == "remux"  # H.264/AAC from a phone plays as it is
    store = app.extensions["classlab.storage"]
    # The original is kept byte for byte, and its SHA-256 recorded.
    original = b"".join(store.stream(video.asset("original").key))
    assert original == media["lesson"].read_bytes()
    assert video.sha256 == hashlib.sha256(original).hexdigest()
    assert store.list(f"videos/{video.public_id}/") == sorted(a.key for a in video.assets)

    heard = " ".join(seg.text for seg in video.transcript.segments)
    assert captions.word_error_rate(SCRIPT, heard) <= 0.35

    login(client, "teacher@a.example", people["password"])
    vtt = client.get(f"/videos/{video.public_id}/captions.vtt")
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    assert vtt.get_data(as_text=True).startswith("WEBVTT")
    assert len(captions.parse_webvtt(vtt.get_data(as_text=True))) >= len(video.transcript.segments)
    page = client.get(f"/videos/{video.public_id}").get_data(as_text=True)
    assert 'kind="captions"' in page and "default" in page and 'id="lines"' in page
    for t in ("abc", "inf", "nan", "-5"):
        odd = client.get(f"/videos/{video.public_id}?t={t}")
        assert odd.status_code == 200 and 'data-start="0.0"' in odd.get_data(as_text=True)

    word = "fractions"
    hits = client.get(f"/api/v1/search?q={word}").get_json()
    assert hits and all(h["video_id"] == video.public_id for h in hits)
    assert f"t={hits[0]['start']:.1f}" in hits[0]["url"]
    # A colleague cannot find words in a video that is not theirs.
    other = signed_in(app, "colleague@a.example", people["password"])
    assert other.get(f"/api/v1/search?q={word}").get_json() == []
    assert other.get(f"/videos/{video.public_id}").status_code == 404
    assert other.get(f"/videos/{video.public_id}/captions.vtt").status_code == 404


def test_owner_corrections_are_used_for_captions_search_and_exports(app, client, people, media):
    video = ingest(app, people, media["lesson"])
    login(client, "teacher@a.example", people["password"])
    headers = {"X-CSRFToken": csrf_token(client, "/videos/")}
    resp = client.put(f"/api/v1/videos/{video.public_id}/transcript/0", json={"text": "Quokka denominators, class."},
                      headers=headers)
    assert resp.status_code == 200 and resp.get_json()["corrected"] is True
    assert "Quokka denominators" in client.get(f"/videos/{video.public_id}/captions.vtt").get_data(as_text=True)
    assert "Quokka denominators" in client.get(f"/videos/{video.public_id}/transcript.srt").get_data(as_text=True)
    assert "Quokka" in client.get(f"/videos/{video.public_id}/transcript.txt").get_data(as_text=True)
    assert [h["text"] for h in client.get("/api/v1/search?q=quokka").get_json()] == ["Quokka denominators, class."]
    bad = client.put(f"/api/v1/videos/{video.public_id}/transcript/999", json={"text": "x"}, headers=headers)
    assert bad.status_code == 422 and "no transcript line 999" in bad.get_json()["detail"]


def test_hevc_phone_video_is_encoded_rotated_and_stripped_of_metadata(app, people, media, tmp_path):
    video = ingest(app, people, media["hevc"])
    assert video.status == VideoStatus.ready, video.failure_reason
    assert video.web_mode == "encode" and video.video_codec == "hevc" and video.rotation == 90
    assert (video.display_width, video.display_height) == (360, 640)
    store = app.extensions["classlab.storage"]
    web = tmp_path / "web.mp4"
    with open(web, "wb") as fh:
        store.download(video.asset("web").key, fh)
    import json
    import subprocess

    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                                      "-show_streams", str(web)], capture_output=True, check=True).stdout)
    vstream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert vstream["codec_name"] == "h264"
    assert media_files.displayed_rotation(web) in (0, 90)
    tags = json.dumps(info["format"].get("tags", {})).lower()
    assert "31.7683" not in tags and "apple" not in tags


def test_video_without_audio_is_ready_with_an_empty_transcript(app, people, media):
    video = ingest(app, people, media["silent"])
    assert video.status == VideoStatus.ready, video.failure_reason
    assert "audio" not in kinds(video) and {"web", "low"} <= kinds(video)
    assert video.transcript is not None and video.transcript.segments == []


def test_audio_only_is_ready_with_a_transcript_and_no_video_renditions(app, client, people, media):
    video = ingest(app, people, media["audio"])
    assert video.status == VideoStatus.ready, video.failure_reason
    assert not video.has_video and kinds(video) == {"original", "audio"}
    assert captions.word_error_rate(SCRIPT, " ".join(s.text for s in video.transcript.segments)) <= 0.35
    login(client, "teacher@a.example", people["password"])
    page = client.get(f"/videos/{video.public_id}").get_data(as_text=True)
    assert "<audio" in page and "<video" not in page


class Listener:
    """A TCP listener that records whether anything connected (an SSRF tripwire)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize(
    "case,reason",
    [
        ("empty", "empty"),
        ("random", "not a video or audio file"),
        ("text", "looks like text"),
        ("truncated", "incomplete or damaged"),
        ("hls_file", "playlist"),
        ("hls_http", "playlist"),
        ("ffconcat", "ffconcat list"),
    ],
)
def test_bad_files_fail_with_a_specific_reason_and_nothing_is_fetched(app, client, people, media, tmp_path, case,
                                                                      reason):
    listener = Listener()
    path = tmp_path / "lesson.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "random":
        path.write_bytes(os.urandom(4096))
    elif case == "text":
        path.write_text("Lesson plan: fractions.\nBring rulers.\n" * 50)
    elif case == "truncated":
        media_files.truncate(media["lesson"], path, 0.5)
    elif case == "hls_file":
        media_files.hls_playlist(path, "/etc/passwd")
    elif case == "hls_http":
        media_files.hls_playlist(path, f"http://127.0.0.1:{listener.port}/x.ts")
    else:
        media_files.ffconcat_list(path, "/etc/passwd")
    try:
        video = ingest(app, people, path)
    finally:
        listener.close()
    assert listener.connections == 0
    assert video.status == VideoStatus.failed and video.failed_step == "refused"
    assert reason in video.failure_reason.lower() or reason in video.failure_reason
    # What was uploaded is still there: the teacher can download or delete it.
    assert app.extensions["classlab.storage"].exists(video.asset("original").key)
    login(client, "teacher@a.example", people["password"])
    page = client.get(f"/videos/{video.public_id}").get_data(as_text=True)
    # A refused file would be refused again: no "Try again", but what to do instead.
    assert 'id="failure-reason"' in page and 'id="retry"' not in page and 'id="refused-help"' in page



def test_a_file_name_with_shell_metacharacters_is_only_ever_data(app, people, media, tmp_path):
    name = tmp_path / "-rf; $(touch PWNED) `id` ..'שיעור' \"x\".mp4"
    name.write_bytes(media["silent"].read_bytes())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        video = ingest(app, people, name)
    finally:
        os.chdir(cwd)
    assert video.status == VideoStatus.ready, video.failure_reason
    assert video.original_filename == name.name
    assert video.asset("original").key == f"videos/{video.public_id}/original/source.mp4"
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_running_a_step_again_makes_no_duplicates(app, people, media):
    from workers import pipeline

    video = ingest(app, people, media["silent"])
    store = app.extensions["classlab.storage"]
    before = store.list(f"videos/{video.public_id}/")
    s = db.session()
    s.get(Video, video.id).status = VideoStatus.probed  # as if the transcode were delivered twice
    s.commit()
    run_inline(video.id, app.extensions["classlab.settings"], store)
    assert store.list(f"videos/{video.public_id}/") == before
    s.expire_all()
    assert s.query(Asset).filter_by(video_id=video.id).count() == len(before)
    with pytest.raises(pipeline.Skip):
        pipeline.claim(video.id, "transcode")  # ready: a late duplicate delivery does nothing


def test_retry_after_a_failure_runs_the_failed_step_again(app, people, media, tmp_path):
    path = tmp_path / "later.mp4"
    path.write_text("not yet a video")
    video = ingest(app, people, path)
    assert video.status == VideoStatus.failed
    s = db.session()
    # The teacher's file was fine after all (say a limit was raised): replace it and retry.
    app.extensions["classlab.storage"].put(video.asset("original").key, open(media["silent"], "rb"))
    service.retry(s, people["teacher"], video.public_id)
    s.commit()
    run_inline(video.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    s.expire_all()
    video = s.get(Video, video.id)
    assert video.status == VideoStatus.ready and video.attempts == 1 and video.failure_reason is None


def test_deleting_a_video_removes_every_file_and_row(app, client, people, media):
    keep = ingest(app, people, media["silent"], "keep").public_id
    gone_video = ingest(app, people, media["lesson"], "delete me")
    gone, gone_id = gone_video.public_id, gone_video.id
    store = app.extensions["classlab.storage"]
    before = store.list("")
    assert any(k.startswith(f"videos/{gone}/") for k in before)
    login(client, "teacher@a.example", people["password"])
    other = signed_in(app, "colleague@a.example", people["password"])
    denied = other.post(f"/videos/{gone}/delete", data={"csrf_token": csrf_token(other, "/videos/")})
    assert denied.status_code == 404
    resp = client.post(f"/videos/{gone}/delete", data={"csrf_token": csrf_token(client, "/videos/")})
    assert resp.status_code == 302
    after = store.list("")
    assert after == [k for k in before if not k.startswith(f"videos/{gone}/")]
    assert after and all(k.startswith(f"videos/{keep}/") for k in after)
    s = db.session()
    s.expire_all()
    assert s.get(Video, gone_id) is None
    assert s.query(Asset).filter_by(video_id=gone_id).count() == 0
    assert client.get(f"/videos/{gone}").status_code == 404
