"""A round trip through the broker to a worker and back: proves the queue and a worker are alive."""

from __future__ import annotations

import os
import socket

from sqlalchemy import text

from app import db, jobs
from app.db import utcnow
from workers.celery_app import celery_app

PING = jobs.HEALTH_PING


@celery_app.task(name=PING)
def ping() -> dict:
    """Answers from the worker with its host, process and a check of the database it uses."""
    with db.session_scope() as s:
        s.execute(text("SELECT 1"))
    return {"host": socket.gethostname(), "pid": os.getpid(), "database": "ok", "answered_at": utcnow().isoformat()}


def ping_worker(timeout: float = 10) -> dict:
    """Send the ping by name and wait for the answer; raises a specific error when nobody answers."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from app.errors import ServiceUnavailable

    result = celery_app.send_task(PING, expires=timeout)
    try:
        return result.get(timeout=timeout)
    except CeleryTimeout:
        raise ServiceUnavailable(f"No worker answered within {timeout:g} s. Is `classlab worker` running?") from None
