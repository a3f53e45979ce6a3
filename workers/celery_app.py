"""The worker's Celery application: `classlab worker` runs it, and every task in workers/ registers on it.

Its configuration (acks late, prefetch 1, retries with backoff, the brokers' folders) and the task
conventions are in app/jobs.py, where the web app, the CLI and the workers all find them.
"""

from __future__ import annotations

from app.jobs import ClassLabTask, TransientError, broker_options, make_celery

__all__ = ["ClassLabTask", "TransientError", "broker_options", "celery_app", "make_celery"]

celery_app = make_celery()
