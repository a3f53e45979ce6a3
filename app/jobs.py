"""Enqueueing background work by task name, so the web app never imports the worker code."""

from __future__ import annotations

from celery import Celery

from app.config import Settings

_celeries: dict[tuple[str, str], Celery] = {}
_current: Celery | None = None


def bind(settings: Settings) -> Celery:
    """Send tasks to the broker of these settings (create_app calls this)."""
    global _current
    from workers.celery_app import make_celery

    key = (settings.broker_url, settings.result_backend)
    if key not in _celeries:
        _celeries[key] = make_celery(settings)
    _current = _celeries[key]
    return _current


def celery() -> Celery:
    if _current is None:
        from workers.celery_app import celery_app

        return celery_app
    return _current


def enqueue(name: str, *args, key: str | None = None):
    return celery().send_task(name, args=list(args), task_id=key)


def enqueue_step(video_id: int, step: str, attempt: int = 0):
    """The next pipeline step of a video; the task id names the video, the step and the attempt."""
    return enqueue(f"classlab.video.{step}", video_id, key=f"video:{video_id}:{step}:{attempt}")
