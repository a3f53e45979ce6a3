"""Background work: every task name, the Celery configuration, and asking for a task inside a unit of
work (sent after its commit).

The task conventions every ClassLab task follows:
- acks_late + reject_on_worker_lost + prefetch 1: a task whose pool process dies is redelivered, not lost. A
  worker that dies whole acks nothing; the sweeper hands its silent step on (workers/pipeline.py `beating`).
- Transient failures (TransientError, connection errors) retry with exponential backoff and jitter.
- Tasks are idempotent, keyed by object id + step: running one twice overwrites.

A service asks for work with `enqueue(session, NAME, *args)`. Nothing is sent then: the request is kept
in `session.info`, and the session's commit sends it (Warehouse's after-commit task hook). A rolled-back
or abandoned unit of work sends nothing, so a worker never gets the id of a row that was never stored,
and never gets it before the row is visible. This holds for web requests, the CLI and the workers
alike, since they all make their sessions with `db.session_factory`.

The web app sends by task name, so it never imports the worker code; the `@celery_app.task(name=...)`
decorators in workers/ use the same constants.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from celery import Celery, Task
from kombu.transport import TRANSPORT_ALIASES
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app import db
from app.config import Settings, load_settings

log = logging.getLogger(__name__)

# --- every task name, once
VIDEO_STEPS = ("probe", "transcode", "transcribe", "finish")
VIDEO_STEP = {step: f"classlab.video.{step}" for step in VIDEO_STEPS}
VIDEO_CUT_CLIP = "classlab.video.cut_clip"
VIDEO_SWEEP = "classlab.video.sweep"
ACCOUNTS_EXPORT = "classlab.accounts.export"
ACCOUNTS_PASSWORD_RESET = "classlab.accounts.password_reset"
NOTIFICATIONS_EMAIL = "classlab.notifications.email"
HEALTH_PING = "classlab.health.ping"
REHEARSALS_VOICE = "classlab.rehearsals.voice"
# A lesson's analytics: speaker turns from the sound, then the measures (again alone after a correction).
ANALYTICS_ANALYSE = "classlab.analytics.analyse"
ANALYTICS_MEASURE = "classlab.analytics.measure"

class TransientError(Exception):
    """A failure worth retrying (network blip, storage busy); anything else is permanent."""


class ClassLabTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (TransientError, ConnectionError, TimeoutError)
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def after_return(self, *args, **kwargs):
        db.Session_.remove()


# The embedded broker: kombu's filesystem transport with messages written atomically (see app.broker_fs).
TRANSPORT_ALIASES["filesystem"] = "app.broker_fs:Transport"


def broker_options(settings: Settings) -> dict:
    if settings.broker_url.startswith("filesystem://"):
        folder = Path(settings.broker_folder)
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # kombu's default is "control" in the working directory (broadcasts, e.g. the worker's mingle)
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # Messages are renamed into place whole (app.broker_fs), so a consumer can poll often without
            # ever reading a half-written file; five times a second keeps a test's task round trip short.
            "polling_interval": 0.2,
        }
    # Above the longest step's hard limit, so a slow transcode is not handed to a second worker.
    return {"visibility_timeout": 4 * 3600 + 600}


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    if settings.result_backend.startswith("file://"):
        Path(settings.result_backend[len("file://"):]).mkdir(parents=True, exist_ok=True)
    celery = Celery("classlab", task_cls=ClassLabTask)
    celery.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        task_track_started=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        include=["workers.startup", "workers.health", "workers.video", "workers.exports", "workers.notifications",
                 "workers.rehearsals", "workers.analytics"],
        beat_schedule={
            "sweep": {"task": VIDEO_SWEEP, "schedule": float(settings.sweep_seconds)},
        },
        classlab_settings=settings,
    )
    return celery


_celeries: dict[tuple[str, str], Celery] = {}
_current: Celery | None = None
_PENDING = "classlab.jobs.pending"


def bind(settings: Settings) -> Celery:
    """Send tasks to the broker of these settings (create_app and the CLI call this)."""
    global _current
    key = (settings.broker_url, settings.result_backend)
    if key not in _celeries:
        _celeries[key] = make_celery(settings)
    _current = _celeries[key]
    return _current


def celery() -> Celery:
    if _current is None:
        return bind(load_settings())  # a process that never called bind: the environment's broker
    return _current


def send(name: str, *args, key: str | None = None):
    """Hand a task to the broker now. Only the after-commit hook (and a health ping, which writes
    nothing) call this; everything else goes through `enqueue`."""
    return celery().send_task(name, args=list(args), task_id=key)


@dataclass(frozen=True)
class Job:
    name: str
    args: tuple
    key: str | None = None
    # Called with the exception when the broker refuses the job after the commit: the commit stands,
    # so this is where a job's row learns that nobody will work on it (an export marked failed).
    on_failure: Callable[[Exception], None] | None = field(default=None, compare=False)
    # The savepoint it was asked for in, if any: a rolled-back savepoint takes its jobs with it.
    savepoint: SessionTransaction | None = field(default=None, compare=False)


def enqueue(session: Session, name: str, *args, key: str | None = None,
            on_failure: Callable[[Exception], None] | None = None) -> None:
    """Ask for `name(*args)` once this session commits; asking twice for the same job sends it once."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still discards it
    job = Job(name, tuple(args), key, on_failure, session.get_nested_transaction())
    pending: list[Job] = session.info.setdefault(_PENDING, [])
    if job not in pending:
        pending.append(job)


def pending(session: Session) -> list[Job]:
    """The jobs this session will send when it commits (for tests and logs)."""
    return list(session.info.get(_PENDING, []))


def enqueue_step(session: Session, video_id: int, step: str, attempt: int = 0) -> None:
    """The next pipeline step of a video; the task id names the video, the step and the attempt."""
    enqueue(session, VIDEO_STEP[step], video_id, key=f"video:{video_id}:{step}:{attempt}")


@event.listens_for(db.session_factory, "after_commit")
def _send_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the work waits for the real commit
    for job in session.info.pop(_PENDING, []):
        try:
            send(job.name, *job.args, key=job.key)
        except Exception as exc:  # noqa: BLE001 - the commit stands; a broker that is down must not undo it
            log.exception("could not send %s%r after the commit", job.name, job.args)
            if job.on_failure is not None:
                try:
                    job.on_failure(exc)
                except Exception:  # noqa: BLE001 - the first failure is already logged
                    log.exception("the failure handler of %s%r failed too", job.name, job.args)


@event.listens_for(db.session_factory, "after_soft_rollback")
def _discard_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        kept = [j for j in session.info.get(_PENDING, []) if j.savepoint is not previous_transaction]
        session.info[_PENDING] = kept
    else:
        session.info.pop(_PENDING, None)


@event.listens_for(db.session_factory, "after_transaction_end")
def _discard_unsent(session: Session, transaction: SessionTransaction) -> None:
    """A unit of work closed without a commit (session.close()) sends nothing either."""
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)
