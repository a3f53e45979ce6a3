"""The pipeline through real Celery workers: `classlab ingest --wait`, and a worker SIGKILLed mid-transcode."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests import media_files
from tests.processes import Worker, classlab
from tests.speech import LESSON_SCRIPT, make_speech


@pytest.fixture
def worker_stack(stack, tmp_path):
    env = {**stack, "STUCK_AFTER_SECONDS": "3", "SILENT_AFTER_SECONDS": "3"}
    classlab(env, "db", "upgrade")
    if env.get("STORAGE_URL", "").startswith("s3://"):
        from app.config import load_settings
        from storage import open_storage

        open_storage(load_settings({**os.environ, **env})).ensure_bucket()
    classlab(env, "user", "create", "--email", "teacher@a.example", "--password", "long enough password")
    return env


def test_ingest_wait_runs_every_step_on_a_worker(worker_stack, tmp_path):
    speech = make_speech(tmp_path / "speech.wav", LESSON_SCRIPT[0])
    lesson = media_files.make_video(tmp_path / "lesson.mp4", seconds=6, speech_wav=speech)
    worker = Worker(worker_stack, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        out = classlab(worker_stack, "ingest", str(lesson), "--title", "שיעור שברים", "--owner",
                       "teacher@a.example", "--wait", "--json", "--timeout", "240", timeout=300)
    finally:
        worker.stop()
    summary = json.loads(out.stdout)
    assert summary["status"] == "ready", (summary, (tmp_path / "worker.log").read_text()[-3000:])
    assert summary["title"] == "שיעור שברים"
    assert summary["duration"] == pytest.approx(6, abs=0.2)
    assert set(summary["assets"]) == {"original", "web", "low", "poster", "storyboard", "storyboard_vtt", "audio"}
    assert "fraction" in summary["transcript"].lower()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_transcode_still_ends_ready_with_one_set_of_assets(worker_stack, tmp_path):
    from sqlalchemy import select

    from app import db
    from app.config import load_settings
    from app.db import utcnow
    from app.video.models import Asset, Video
    from storage import open_storage

    # The production defaults: a running step silent for 60 s is handed on, the beat sweeps every 30 s.
    env = {k: v for k, v in worker_stack.items() if k not in ("STUCK_AFTER_SECONDS", "SILENT_AFTER_SECONDS")}
    settings = load_settings({**os.environ, **env})
    # MPEG-4 Part 2 must be re-encoded, so the transcode step runs long enough to be interrupted.
    source = media_files.make_video(tmp_path / "camera.mp4", seconds=30, width=1280, height=720, vcodec="mpeg4")
    first = Worker(env, tmp_path / "worker1.log")
    first.wait_ready()
    out = classlab(env, "ingest", str(source), "--owner", "teacher@a.example", "--json")
    public_id = json.loads(out.stdout)["id"]
    db.bind(settings.database_url)

    def state():
        with db.session_scope() as s:
            v = s.scalar(select(Video).where(Video.public_id == public_id))
            return v.status.value, v.step, v.progress, v.step_started_at

    try:
        _wait_for(lambda: state()[1] == "transcode" and state()[2] > 0.02, 120, "the transcode to be under way")
    except AssertionError:
        first.stop()
        raise
    os.killpg(first.proc.pid, signal.SIGKILL)  # the worker and its pool: no chance to clean up
    first.proc.wait()
    killed, killed_at = utcnow(), time.monotonic()
    assert state()[0] == "probed"

    second = Worker(env, tmp_path / "worker2.log", "--beat")  # another machine's worker, with the sweeper
    try:
        second.wait_ready()
        # Nobody but the sweeper knows the step died (on Redis its message comes back only after the visibility
        # timeout, and is then skipped): it sees the step silent and queues it again.
        _wait_for(lambda: state()[0] != "probed" or (state()[3] is not None and state()[3] > killed), 150,
                  "the transcode to start again on the second worker")
        resumed = time.monotonic() - killed_at
        print(f"transcode resumed {resumed:.0f} s after its worker was killed")
        assert resumed < 120
        _wait_for(lambda: state()[0] in ("ready", "failed"), 240, "the video to finish")
    finally:
        second.stop()
    assert state()[0] == "ready", (tmp_path / "worker2.log").read_text()[-3000:]
    store = open_storage(settings)
    with db.session_scope() as s:
        video = s.scalar(select(Video).where(Video.public_id == public_id))
        assets = list(s.scalars(select(Asset).where(Asset.video_id == video.id)))
        keys = sorted(a.key for a in assets)
    assert sorted(a.kind for a in assets) == sorted({a.kind for a in assets})  # one per kind
    assert store.list(f"videos/{public_id}/") == keys  # and nothing else in storage
    db.dispose_all()
