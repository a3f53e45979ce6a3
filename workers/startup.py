"""What a worker process does as it starts: point the session factory at the database, and load every
module's models and rules, as the web app does (a relationship may name a class of another module, and
the lower layers ask the higher ones through signals that only their imported policies answer).

Celery imports this module (the first of `include`) before it sends worker_init and worker_process_init.
"""

from __future__ import annotations

import logging

from celery import signals

import app.models  # noqa: F401 - every model and every rule
from app import db

log = logging.getLogger(__name__)


@signals.worker_process_init.connect
@signals.worker_init.connect
def bind_database(sender=None, **_kwargs) -> None:
    from workers.celery_app import celery_app

    db.bind(celery_app.conf.classlab_settings.database_url)


@signals.worker_process_init.connect
def load_speech_model(sender=None, **_kwargs) -> None:
    """Load the default Whisper model as each pool process starts, in the background: the first lesson's
    transcription then finds it in memory instead of paying for the load inside its step (measured with
    bench/pipeline.py). A model that cannot be loaded is reported by the transcription step, as before."""
    import threading

    from workers.celery_app import celery_app

    settings = celery_app.conf.classlab_settings

    def load() -> None:
        from workers import asr, pipeline

        try:
            asr.load_model(pipeline.asr_settings(settings))
        except asr.AsrError as exc:
            log.warning("the Whisper model was not preloaded: %s", exc.reason)

    threading.Thread(target=load, name="preload-whisper", daemon=True).start()
