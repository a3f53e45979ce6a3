"""Sharing with consent, and the audit log (no Flask here)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app import authz, signals
from app.accounts.models import User
from app.accounts.service import find_active_user
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound, msg
from app.notifications.service import notify
from app.sharing import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.sharing.models import AuditEvent, Share
from app.video import service
from app.video.models import Clip, Consent, Video

RIGHTS = ("view", "comment")


VIEW_QUIET_MINUTES = 10
# (lesson's public id, viewer, detail) -> the time of a view event this process read back from the database:
# while it is younger than VIEW_QUIET_MINUTES, a reload is not a new view and needs no query to know it. Only
# events read back are remembered (committed, so never one a failed request rolled back); audit events are
# never deleted, so the database would answer the same.
_views_seen: dict[tuple[str, int, str], datetime] = {}
_VIEWS_SEEN_MAX = 10_000


def record(session: Session, video: Video, actor: User | None, action: str, detail: str = "") -> None:
    if action == "view" and actor is not None and _viewed_lately(session, video, actor, detail[:300]):
        return  # a reload (or the page refreshing itself while the video is processed) is not a new view
    session.add(AuditEvent(video_public_id=video.public_id, owner_id=video.owner_id,
                           actor_id=actor.id if actor else None, action=action, detail=detail[:300]))


def _viewed_lately(session: Session, video: Video, actor: User, detail: str) -> bool:
    since = utcnow() - timedelta(minutes=VIEW_QUIET_MINUTES)
    key = (video.public_id, actor.id, detail)
    seen = _views_seen.get(key)
    if seen is not None and seen >= since:
        return True
    latest = session.scalar(select(AuditEvent.at).where(
        AuditEvent.video_public_id == video.public_id, AuditEvent.actor_id == actor.id, AuditEvent.action == "view",
        AuditEvent.detail == detail, AuditEvent.at >= since).order_by(AuditEvent.at.desc()).limit(1))
    if latest is None:
        return False
    if len(_views_seen) >= _VIEWS_SEEN_MAX:
        _views_seen.clear()
    _views_seen[key] = latest
    return True


def active_coach_ids(session: Session, teacher_id: int) -> set[int]:
    """The teacher's active coaches (coaching answers): the one audience beyond full consent."""
    ids: set[int] = set()
    for answer in signals.answers(signals.active_coaches, session, teacher_id=teacher_id):
        ids |= set(answer)
    return ids


def audience_name(found: Share) -> str:
    return found.user.email if found.user is not None else f"community {found.community.name}"


def set_consent(session: Session, actor: User, public_id: str, status: str, note: str = "",
                on: datetime | None = None) -> Video:
    video = service.get_video(session, actor, public_id, "edit")
    try:
        video.consent = Consent(status).value
    except ValueError:
        raise InvalidInput(msg("Consent is none, partial or full, not '%(value)s'.", value=status),
                           field="consent") from None
    video.consent_note = (note or "").strip()[:2000]
    video.consent_date = on or utcnow()
    if video.consent != Consent.full:
        # Consent withdrawn: every share ends at once, except to the owner's own coach.
        coaches = active_coach_ids(session, video.owner_id)
        for found in session.scalars(select(Share).where(Share.video_id == video.id, Share.revoked_at.is_(None))):
            if found.user_id is not None and found.user_id in coaches:
                continue
            found.revoked_at = utcnow()
            record(session, video, actor, "revoke", f"{audience_name(found)} (consent {video.consent})")
    record(session, video, actor, "consent", video.consent)
    return video


def _grant(session: Session, actor: User, video: Video, right: str, *, clip: Clip | None = None,
           email: str | None = None, community_id: str | None = None, quiet: bool = False) -> Share:
    """Share the lesson (or one clip of it) with one user or one community."""
    if right not in RIGHTS:
        raise InvalidInput(msg("Share to view or to comment, not '%(value)s'.", value=right), field="right")
    if video.purpose != "lesson":
        raise Conflict(msg("A rehearsal is shared from its own page, with the people who review it."))
    what = f"clip {clip.title}" if clip is not None else "lesson"
    target = community = None
    if community_id and (email or "").strip():
        raise InvalidInput(msg("Share with one person or one community at a time, not both."), field="email")
    if community_id:
        found = signals.answers(signals.community_for_sharing, session, actor=actor, public_id=str(community_id)[:32])
        community = found[0] if found else None
        if community is None:
            raise NotFound(msg("There is no such community among yours."))
        if video.consent != Consent.full:
            raise Conflict(msg("This video does not have the class's full consent, so it cannot be shared with a "
                               "community. Record full consent first."))
        audience = Share.community_id == community.id
    else:
        if not (email or "").strip():
            raise InvalidInput(msg("Give the e-mail of the person to share with."), field="email")
        target = find_active_user(session, email)
        if target.id == video.owner_id:
            raise InvalidInput(msg("This is your own video."), field="email")
        if video.consent != Consent.full and target.id not in active_coach_ids(session, video.owner_id):
            raise Conflict(msg("This video does not have the class's full consent, so it stays private to you and "
                               "your coach. Record full consent first."))
        audience = Share.user_id == target.id
    same = Share.clip_id.is_(None) if clip is None else Share.clip_id == clip.id
    current = session.scalar(select(Share).where(Share.video_id == video.id, same, audience,
                                                 Share.revoked_at.is_(None)))
    if current is not None:
        current.right = right
    else:
        current = Share(video=video, clip=clip, user=target, community=community, right=right)
        session.add(current)
    record(session, video, actor, "share", f"{what} with {audience_name(current)} ({right})")
    session.flush()
    if not quiet:
        _tell(session, actor, current)
    return current


def _tell(session: Session, actor: User, found: Share) -> None:
    link = f"/videos/clips/{found.clip.public_id}" if found.clip is not None else f"/videos/{found.video.public_id}"
    if found.user is not None:
        if found.clip is not None:
            notify(session, found.user, "clip_share", {"owner": actor.display_name, "clip_title": found.clip.title,
                                                      "right": found.right}, link, actor=actor)
        else:
            notify(session, found.user, "share", {"owner": actor.display_name, "video_title": found.video.title,
                                                 "right": found.right}, link, actor=actor)
        return
    title = found.clip.title if found.clip is not None else found.video.title
    for member in found.community.members:
        if member.user_id != actor.id:
            notify(session, member.user, "community_share", {"owner": actor.display_name, "title": title,
                                                             "community": found.community.name}, link, actor=actor)


def share(session: Session, actor: User, public_id: str, email: str | None, right: str, *,
          community_id: str | None = None, quiet: bool = False) -> Share:
    """Share a whole lesson with a user (by e-mail) or with one of the actor's communities."""
    video = service.get_video(session, actor, public_id, "share")
    return _grant(session, actor, video, right, email=email, community_id=community_id, quiet=quiet)


def share_clip(session: Session, actor: User, clip_id: str, email: str | None, right: str, *,
               community_id: str | None = None) -> Share:
    """Share one clip on its own: its recipients see that range, not the lesson."""
    clip = authz.load(session, actor, Clip, clip_id, "share")
    return _grant(session, actor, clip.video, right, clip=clip, email=email, community_id=community_id)


def revoke(session: Session, actor: User, share_id: int) -> Share:
    found = session.get(Share, share_id)
    if found is None or found.revoked_at is not None:
        raise NotFound(msg("No such share."))
    authz.require(actor, "revoke", found)
    found.revoked_at = utcnow()
    record(session, found.video, actor, "revoke", audience_name(found))
    return found


def shares_of(session: Session, video: Video, clip: Clip | None = None, *, lesson_only: bool = True) -> list[Share]:
    """Live shares of the lesson (lesson_only) or of one clip, with whom each reaches (the pages name them)."""
    query = (select(Share).where(Share.video_id == video.id, Share.revoked_at.is_(None)).order_by(Share.created_at)
             .options(joinedload(Share.user), joinedload(Share.community)))
    if clip is not None:
        query = query.where(Share.clip_id == clip.id)
    elif lesson_only:
        query = query.where(Share.clip_id.is_(None))
    return list(session.scalars(query))


def audit_log(session: Session, actor: User, public_id: str) -> list[AuditEvent]:
    video = service.get_video(session, actor, public_id, "audit")
    return list(session.scalars(select(AuditEvent).where(AuditEvent.video_public_id == video.public_id)
                                .order_by(AuditEvent.at.desc()).limit(500)))
