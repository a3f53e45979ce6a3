"""Celery tasks of the video pipeline: thin wrappers that claim a step, run it, enqueue the next."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache

from celery.exceptions import SoftTimeLimitExceeded

from app import db, jobs
from app.video.models import NEXT_STEP, Video
from storage import open_storage
from workers import pipeline
from workers.celery_app import celery_app

log = logging.getLogger(__name__)
SETTINGS = celery_app.conf.classlab_settings
LIMIT = SETTINGS.step_time_limit


@cache
def _store():
    return open_storage(SETTINGS)


def _run(task, step: str, video_id: int) -> str:
    from workers.media import MediaRejected

    try:
        pipeline.claim(video_id, step)
    except pipeline.Skip as why:
        log.info("skip: %s", why)
        return "skipped"
    try:
        with pipeline.beating(video_id, step):
            pipeline.STEP_FUNCTIONS[step](video_id, SETTINGS, _store())
    except pipeline.Skip as why:
        log.info("skip: %s", why)
        return "skipped"
    except MediaRejected as exc:  # the file itself is unusable: trying again would fail again
        pipeline.fail(video_id, pipeline.REFUSED, exc.reason)
        return "failed"
    except SoftTimeLimitExceeded:
        pipeline.fail(video_id, step, f"The {step} step took longer than its limit of {LIMIT // 60} minutes.")
        return "failed"
    except Exception as exc:  # noqa: BLE001 - anything else may be passing (storage, database, ffmpeg)
        if task.request.retries < task.max_retries:
            log.warning("%s of video %s failed (%s); retrying", step, video_id, exc)
            raise task.retry(exc=exc, countdown=min(300, 5 * 2 ** task.request.retries)) from exc
        reason = getattr(exc, "reason", None) or f"The {step} step kept failing: {type(exc).__name__}."
        pipeline.fail(video_id, step, reason)
        return "failed"
    with db.session_scope() as s:
        video = s.get(Video, video_id)
        following = NEXT_STEP.get(video.status) if video else None
        if following:
            jobs.enqueue_step(s, video_id, following, video.attempts)  # sent when this scope commits
    return "done"


def _step_task(step: str):
    @celery_app.task(name=jobs.VIDEO_STEP[step], bind=True, max_retries=3, soft_time_limit=LIMIT,
                     time_limit=LIMIT + 300, autoretry_for=())
    def task(self, video_id: int) -> str:
        return _run(self, step, video_id)

    return task


probe = _step_task("probe")
transcode = _step_task("transcode")
transcribe = _step_task("transcribe")
finish = _step_task("finish")


@celery_app.task(name=jobs.VIDEO_CUT_CLIP, bind=True, max_retries=3, soft_time_limit=LIMIT,
                 time_limit=LIMIT + 300)
def cut_clip(self, clip_id: int) -> str:
    from workers.media import MediaFailed, MediaRejected

    try:
        return pipeline.cut_clip(clip_id, SETTINGS, _store())
    except MediaRejected as exc:
        log.warning("clip %s cannot be cut: %s", clip_id, exc.reason)
        return "failed"
    except (MediaFailed, OSError) as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(300, 5 * 2 ** self.request.retries)) from exc
        pipeline.clip_failed(clip_id)
        return "failed"


@celery_app.task(name=jobs.VIDEO_SWEEP)
def sweep(stuck_after_seconds: int | None = None) -> dict:
    """Re-queue videos stuck in a step, clean up abandoned uploads (videos, and QTI files nobody imported from
    within a day, with the images only their preview stored), delete data exports past EXPORT_DAYS."""
    from app.diagnostics.service import expire_staged_qti
    from app.export.service import expire_exports
    from app.video.uploads import expire_uploads

    if stuck_after_seconds:  # an operator's `classlab sweep --stuck-after N`: one threshold for both
        stuck = pipeline.stuck_videos(timedelta(seconds=stuck_after_seconds))
    else:
        stuck = pipeline.stuck_videos(timedelta(seconds=SETTINGS.stuck_after_seconds),
                                      timedelta(seconds=SETTINGS.silent_after_seconds))
    clips = pipeline.clips_to_cut(timedelta(seconds=60))
    with db.session_scope() as s:
        for video_id, step in stuck:
            log.warning("video %s is stuck before %s; re-queueing", video_id, step)
            jobs.enqueue_step(s, video_id, step, 0)
        for clip_id in clips:
            jobs.enqueue(s, jobs.VIDEO_CUT_CLIP, clip_id)
    with db.session_scope() as s:
        expired = expire_uploads(s, _store())
    with db.session_scope() as s:
        exports = expire_exports(s, _store(), SETTINGS.export_days, stuck_after=timedelta(seconds=LIMIT + 600))
    with db.session_scope() as s:
        qti = expire_staged_qti(s, _store())
    return {"requeued": [v for v, _ in stuck], "expired_uploads": expired, "clips": clips, "expired_exports": exports,
            "expired_qti_objects": qti}
