"""The `classlab.accounts.export` task: a thin wrapper around app.export.service.build_export."""

from __future__ import annotations

import logging
from functools import cache

from celery.exceptions import SoftTimeLimitExceeded

from app import db, jobs
from app.export import service as exports
from storage import open_storage
from workers.celery_app import celery_app

log = logging.getLogger(__name__)
SETTINGS = celery_app.conf.classlab_settings
LIMIT = SETTINGS.step_time_limit


@cache
def _store():
    return open_storage(SETTINGS)


@celery_app.task(name=jobs.ACCOUNTS_EXPORT, bind=True, max_retries=2, soft_time_limit=LIMIT, time_limit=LIMIT + 300,
                 autoretry_for=())
def export(self, export_id: int) -> str:
    with db.session_scope() as s:
        if exports.mark_running(s, export_id) is None:
            return "skipped"  # gone, or a duplicate delivery of an export that is already ready
    try:
        with db.session_scope() as s:
            exports.build_export(s, _store(), export_id, work_folder=SETTINGS.work_folder)
    except exports.ExportFailed as exc:
        return _fail(export_id, exc.reason)
    except SoftTimeLimitExceeded:
        return _fail(export_id, f"Preparing the archive took longer than its limit of {LIMIT // 60} minutes.")
    except Exception as exc:  # noqa: BLE001 - storage or database may be passing; retry, then give a reason
        if self.request.retries < self.max_retries:
            log.warning("export %s failed (%s); retrying", export_id, exc)
            raise self.retry(exc=exc, countdown=min(300, 10 * 2 ** self.request.retries)) from exc
        log.exception("export %s failed", export_id)
        return _fail(export_id, f"Preparing the archive kept failing ({type(exc).__name__}). Please ask again later.")
    try:
        with db.session_scope() as s:
            exports.announce_ready(s, s.get(exports.DataExport, export_id))
    except Exception:  # noqa: BLE001 - the archive is ready either way; the page shows it
        log.exception("could not notify the owner of export %s", export_id)
    return "ready"


def _fail(export_id: int, reason: str) -> str:
    with db.session_scope() as s:
        exports.fail_export(s, export_id, reason)
    return "failed"
