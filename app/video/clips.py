"""Clips: named segments of a lesson, the unit later used in community sessions (no Flask here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz
from app.accounts.models import User
from app.errors import InvalidInput, NotFound
from app.video import feedback, service
from app.video.models import Clip, Video


def create_clip(session: Session, actor: User, public_id: str, *, title: str, start, end, note: str = "") -> Clip:
    video = service.get_video(session, actor, public_id, "view")
    authz.require(actor, "comment", video, hide=False)  # whoever may give feedback may cut a clip
    start, end = feedback.check_times(video, start, end)
    if end is None:
        raise InvalidInput("A clip needs an end time.", field="end")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise InvalidInput("A clip needs a title of 1 to 300 characters.", field="title")
    clip = Clip(video=video, creator=actor, title=title, note=(note or "").strip()[:5000], start=start, end=end)
    session.add(clip)
    session.flush()
    return clip


def get_clip(session: Session, actor: User, clip_id: str, action: str = "view") -> Clip:
    clip = session.scalar(select(Clip).where(Clip.public_id == str(clip_id)[:32]))
    authz.require(actor, action, clip)
    return clip


def clips_of(session: Session, actor: User, video: Video) -> list[Clip]:
    if not authz.may(actor, "view", video):
        raise NotFound("No such object, or you may not see it.")
    return list(session.scalars(select(Clip).where(Clip.video_id == video.id).order_by(Clip.start)))


def delete_clip(session: Session, actor: User, clip_id: str) -> str:
    """Remove the clip; returns its lesson's public id (where the page goes back to)."""
    clip = get_clip(session, actor, clip_id, "delete")
    session.delete(clip)
    return clip.video.public_id
