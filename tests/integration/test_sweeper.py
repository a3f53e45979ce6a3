"""The sweeper's two thresholds, and the heartbeat a running step keeps whatever it is doing."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from app.db import utcnow
from app.video.models import Video, VideoStatus
from tests.builders import ready_video
from workers import pipeline

STUCK, SILENT = timedelta(seconds=600), timedelta(seconds=60)


def _video(session, owner, *, step: str | None, heartbeat_age: float, updated_age: float) -> int:
    video = ready_video(session, owner)
    now = utcnow()
    session.execute(update(Video).where(Video.id == video.id).values(
        status=VideoStatus.probed, step=step, heartbeat_at=now - timedelta(seconds=heartbeat_age) if step else None,
        updated_at=now - timedelta(seconds=updated_age)))
    session.commit()
    return video.id


def test_a_running_step_is_handed_on_after_a_minute_of_silence_a_queued_one_after_ten(app, session, people):
    owner = people["teacher"]
    dead = _video(session, owner, step="transcode", heartbeat_age=61, updated_age=61)
    alive = _video(session, owner, step="transcode", heartbeat_age=20, updated_age=900)
    queued = _video(session, owner, step=None, heartbeat_age=0, updated_age=120)  # a busy queue, not a dead worker
    forgotten = _video(session, owner, step=None, heartbeat_age=0, updated_age=601)
    found = {video_id for video_id, _step in pipeline.stuck_videos(STUCK, SILENT)}
    assert dead in found and forgotten in found
    assert alive not in found and queued not in found
    assert (dead, "transcode") in pipeline.stuck_videos(STUCK, SILENT)


def test_a_step_keeps_beating_while_it_runs_and_stops_when_it_ends(app, session, people):
    video_id = _video(session, people["teacher"], step="transcode", heartbeat_age=300, updated_age=300)
    with pipeline.beating(video_id, "transcode", every=0.1):
        time.sleep(0.6)  # a long silent phase: storing a large rendition, loading the model
        assert video_id not in {v for v, _ in pipeline.stuck_videos(STUCK, timedelta(seconds=5))}
    session.expire_all()
    last = session.get(Video, video_id).heartbeat_at
    time.sleep(0.4)
    session.expire_all()
    assert session.get(Video, video_id).heartbeat_at == last  # no beat once the step is over
