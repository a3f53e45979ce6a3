"""Sharing with consent, and the audit log (no Flask here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz
from app.accounts.models import User
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.video import service
from app.video.models import AuditEvent, Consent, Share, Video

RIGHTS = ("view", "comment")


def record(session: Session, video: Video, actor: User | None, action: str, detail: str = "") -> None:
    session.add(AuditEvent(video_public_id=video.public_id, owner_id=video.owner_id,
                           actor_id=actor.id if actor else None, action=action, detail=detail[:300]))


def set_consent(session: Session, actor: User, public_id: str, status: str, note: str = "",
                on: datetime | None = None) -> Video:
    video = service.get_video(session, actor, public_id, "edit")
    try:
        video.consent = Consent(status).value
    except ValueError:
        raise InvalidInput(f"Consent is none, partial or full, not '{status}'.", field="consent") from None
    video.consent_note = (note or "").strip()[:2000]
    video.consent_date = on or utcnow()
    if video.consent != Consent.full:
        # Consent withdrawn: every share ends at once.
        for share in session.scalars(select(Share).where(Share.video_id == video.id, Share.revoked_at.is_(None))):
            share.revoked_at = utcnow()
            record(session, video, actor, "revoke", f"{share.user.email} (consent {video.consent})")
    record(session, video, actor, "consent", video.consent)
    return video


def share(session: Session, actor: User, public_id: str, email: str, right: str) -> Share:
    video = service.get_video(session, actor, public_id, "share")
    if right not in RIGHTS:
        raise InvalidInput(f"Share to view or to comment, not '{right}'.", field="right")
    if video.consent != Consent.full:
        raise Conflict("This video does not have the class's full consent, so it stays private to you. "
                       "Record full consent first.")
    target = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if target is None or not target.active:
        raise NotFound(f"There is no ClassLab user with the e-mail {email}.")
    if target.id == video.owner_id:
        raise InvalidInput("This is your own video.", field="email")
    current = session.scalar(select(Share).where(Share.video_id == video.id, Share.user_id == target.id,
                                                 Share.revoked_at.is_(None)))
    if current is not None:
        current.right = right
    else:
        current = Share(video=video, user=target, right=right)
        session.add(current)
    record(session, video, actor, "share", f"{target.email} ({right})")
    session.flush()
    return current


def revoke(session: Session, actor: User, share_id: int) -> None:
    found = session.get(Share, share_id)
    if found is None or found.revoked_at is not None:
        raise NotFound("No such share.")
    authz.require(actor, "revoke", found)
    found.revoked_at = utcnow()
    record(session, found.video, actor, "revoke", found.user.email)


def shares_of(session: Session, video: Video) -> list[Share]:
    return list(session.scalars(select(Share).where(Share.video_id == video.id, Share.revoked_at.is_(None))
                                .order_by(Share.created_at)))


def audit_log(session: Session, actor: User, public_id: str) -> list[AuditEvent]:
    video = service.get_video(session, actor, public_id, "audit")
    return list(session.scalars(select(AuditEvent).where(AuditEvent.video_public_id == video.public_id)
                                .order_by(AuditEvent.at.desc()).limit(500)))
