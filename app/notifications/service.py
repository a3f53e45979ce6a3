"""Notifications: telling a person that something happened that concerns them (no Flask here).

Callers (feedback, sharing, coaching, communities, exports) call `notify` inside their own unit of
work. When SMTP is configured (`configure`), every notification created in a session is handed to the
e-mail task once that session commits: a rolled-back comment never sends a message, and a broker that
is down never breaks the request that commented.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import authz, jobs
from app.accounts.models import User
from app.config import Settings
from app.db import MAX_ID, utcnow
from app.notifications import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.notifications.messages import PARAMS
from app.notifications.models import Notification

log = logging.getLogger(__name__)
# Whether a new notification is also e-mailed (SMTP_HOST is set); the task is sent after the commit.
_email = False


def local_path(link: str | None) -> str:
    """The link when it is a path on this site, else "": a stored link must never lead elsewhere."""
    link = (link or "").strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link or any(ord(c) < 32 for c in link):
        return ""
    parts = urlsplit(link)
    return link if not parts.scheme and not parts.netloc else ""


def emailable(address: str | None) -> bool:
    """An address we can put in a To: header: one @, no spaces or line breaks."""
    local, at, domain = (address or "").partition("@")
    return bool(at and local and domain and "@" not in domain
                and not any(c.isspace() or ord(c) < 32 for c in address))


def notify(session: Session, user: User | None, kind: str, params: dict, link: str,
           actor: User | None = None) -> Notification | None:
    """Tell `user` that `kind` happened. Nobody is told about their own doing, nor an inactive account."""
    if kind not in PARAMS:
        raise ValueError(f"Unknown notification kind {kind!r}; add it to app/notifications/messages.py.")
    missing = [p for p in PARAMS[kind] if p not in params]
    if missing:
        raise ValueError(f"A {kind!r} notification needs the params {', '.join(missing)}.")
    if user is None or not user.active or (actor is not None and actor.id == user.id):
        return None
    note = Notification(user_id=user.id, kind=kind, params={k: str(v) for k, v in params.items()},
                        link=local_path(link))
    session.add(note)
    session.flush()
    if _email and emailable(user.email):
        jobs.enqueue(session, jobs.NOTIFICATIONS_EMAIL, note.id, key=f"notification:{note.id}:email")
    return note


def unread_count(session: Session, user: User) -> int:
    unread = authz.visible(user, select(Notification.id)).where(Notification.read_at.is_(None))
    return session.scalar(select(func.count()).select_from(unread.subquery())) or 0


def list_for(session: Session, user: User, limit: int = 50, *, unread_only: bool = False) -> list[Notification]:
    query = authz.visible(user, select(Notification))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(max(1, min(limit, 500)))))


def mark_read(session: Session, user: User, ids: Iterable[int] | Literal["all"]) -> int:
    """Mark the user's own notifications read (ids of anyone else's are ignored); how many changed."""
    own = authz.visible(user, select(Notification.id)).where(Notification.read_at.is_(None))
    if ids != "all":
        wanted = {int(i) for i in ids if 0 < int(i) <= MAX_ID}
        if not wanted:
            return 0
        own = own.where(Notification.id.in_(wanted))
    query = update(Notification).where(Notification.id.in_(own.scalar_subquery()))
    result = session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def get_notification(session: Session, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    authz.require(user, "view", note)
    return note


def open_notification(session: Session, user: User, notification_id: int) -> str:
    """Mark one notification read; where to go next: its link if that is a local path, else ""."""
    note = get_notification(session, user, notification_id)
    if note.read_at is None:
        note.read_at = utcnow()
    return local_path(note.link)


def configure(settings: Settings) -> None:
    """E-mail each notification after its commit when SMTP_HOST is set (the web app and the worker call this)."""
    global _email
    _email = bool(settings.smtp_host)
