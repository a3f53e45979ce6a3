"""The Celery app and the task conventions every ClassLab task follows.

- acks_late + reject_on_worker_lost + prefetch 1: a task whose worker dies is redelivered, not lost.
- Transient failures (TransientError, connection errors) retry with exponential backoff and jitter.
- Tasks are idempotent, keyed by object id + step (`task_key`): running one twice overwrites.
- The web app enqueues by task name (`enqueue`), so it never imports worker code.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task

from app.config import Settings, load_settings


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
        from app import db

        db.Session_.remove()


def broker_options(settings: Settings) -> dict:
    if settings.broker_url.startswith("filesystem://"):
        folder = Path(settings.broker_folder)
        for sub in ("queue", "processed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
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
        include=["workers.startup", "workers.health", "workers.video", "workers.exports", "workers.notifications"],
        beat_schedule={
            "sweep": {"task": "classlab.video.sweep", "schedule": float(settings.sweep_seconds)},
        },
        classlab_settings=settings,
    )
    return celery


def task_key(name: str, object_id: int | str, step: str) -> str:
    """The deterministic task id of one step on one object."""
    return f"{name}:{object_id}:{step}"


celery_app = make_celery()


def enqueue(name: str, *args, key: str | None = None, **kwargs):
    return celery_app.send_task(name, args=args, kwargs=kwargs, task_id=key)
