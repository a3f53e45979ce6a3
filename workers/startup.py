"""What a worker process does as it starts: point the session factory at the database, and load every
module's models and rules, as the web app does (a relationship may name a class of another module, and
the lower layers ask the higher ones through signals that only their imported policies answer).

Celery imports this module (the first of `include`) before it sends worker_init and worker_process_init.
"""

from __future__ import annotations

from celery import signals

import app.models  # noqa: F401 - every model and every rule
from app import db


@signals.worker_process_init.connect
@signals.worker_init.connect
def bind_database(sender=None, **_kwargs) -> None:
    from workers.celery_app import celery_app

    db.bind(celery_app.conf.classlab_settings.database_url)
