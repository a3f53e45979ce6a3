"""The lesson analytics tasks: listen for speaker turns, then measure; or measure again after a correction.

`classlab.analytics.analyse` runs after a lesson is ready (the pipeline's finish step asks for it): it reads the
lesson's 16 kHz sound (the audio asset the transcode step made), tells the voices apart (workers.speakers), stores
the turns, and computes the measures from the turns and the transcript (app.analytics.measures). Correcting the
transcript or naming the teacher's voice asks for `classlab.analytics.measure`, which skips the listening.

A lesson with no sound, no speech, or a recording the listener cannot read ends in a clear state on the page
("failed" with the reason, or "done" with no speech), and the lesson itself stays as it was.
"""

from __future__ import annotations

import logging
from functools import cache

from celery.exceptions import SoftTimeLimitExceeded

from app import db, jobs
from app.analytics import service
from storage import open_storage
from workers import pipeline
from workers.celery_app import celery_app

log = logging.getLogger(__name__)
SETTINGS = celery_app.conf.classlab_settings
LIMIT = SETTINGS.step_time_limit


@cache
def _store():
    return open_storage(SETTINGS)


def _task(self, video_id: int, listen: bool) -> str:
    try:
        return pipeline.analyse(video_id, SETTINGS, _store(), listen=listen)
    except SoftTimeLimitExceeded:
        with db.session_scope() as s:
            service.fail(s, video_id, f"The analysis took longer than its limit of {LIMIT // 60} minutes.")
        return "failed"
    except Exception as exc:  # noqa: BLE001 - storage or the database may be passing; the rest is logged
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(300, 5 * 2 ** self.request.retries)) from exc
        log.exception("analysis of video %s failed", video_id)
        with db.session_scope() as s:
            service.fail(s, video_id, f"The analysis kept failing: {type(exc).__name__}.")
        return "failed"


@celery_app.task(name=jobs.ANALYTICS_ANALYSE, bind=True, max_retries=3, soft_time_limit=LIMIT,
                 time_limit=LIMIT + 300)
def analyse_task(self, video_id: int) -> str:
    return _task(self, video_id, True)


@celery_app.task(name=jobs.ANALYTICS_MEASURE, bind=True, max_retries=3, soft_time_limit=LIMIT,
                 time_limit=LIMIT + 300)
def measure_task(self, video_id: int) -> str:
    return _task(self, video_id, False)
