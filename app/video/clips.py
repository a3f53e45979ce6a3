"""Clips: named segments of a lesson, the unit later used in community sessions (no Flask here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz, jobs
from app.accounts.models import User
from app.errors import InvalidInput, NotFound, msg
from app.video import service
from app.video.models import Clip, Video
from app.video.timeline import check_times


def create_clip(session: Session, actor: User, public_id: str, *, title: str, start, end, note: str = "") -> Clip:
    video = service.get_video(session, actor, public_id, "view")
    authz.require(actor, "comment", video, hide=False)  # whoever may give feedback may cut a clip
    start, end = check_times(video, start, end)
    if end is None:
        raise InvalidInput(msg("A clip needs an end time."), field="end")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise InvalidInput(msg("A clip needs a title of 1 to 300 characters."), field="title")
    clip = Clip(video=video, creator=actor, title=title, note=(note or "").strip()[:5000], start=start, end=end)
    session.add(clip)
    session.flush()
    # A worker cuts the clip's own file (what those shared only the clip receive), once this commits.
    jobs.enqueue(session, jobs.VIDEO_CUT_CLIP, clip.id)
    return clip


def get_clip(session: Session, actor: User, clip_id: str, action: str = "view") -> Clip:
    return authz.load(session, actor, Clip, clip_id, action)


def clips_of(session: Session, actor: User, video: Video) -> list[Clip]:
    if not authz.may(actor, "view", video):
        raise NotFound(authz.NO_SUCH_OBJECT)
    return list(session.scalars(select(Clip).where(Clip.video_id == video.id).order_by(Clip.start)))


def delete_clip(session: Session, actor: User, clip_id: str, store=None) -> str:
    """Remove the clip and its cut file; returns its lesson's public id (where the page goes back to)."""
    clip = get_clip(session, actor, clip_id, "delete")
    if clip.cut_key and store is not None:
        store.delete(clip.cut_key)
    session.delete(clip)
    return clip.video.public_id


def playable(actor: User, clip: Clip):
    """What this viewer plays: (storage key, offset of the file's 0 on the lesson's timeline), or None.

    Those who may see the lesson play its rendition from clip.start (no wait for the cut); those shared
    only the clip get the cut file, which holds nothing outside the clip."""
    video = clip.video
    if authz.may(actor, "view", video):
        asset = video.asset("web") or video.asset("low") or (video.asset("original") if not video.has_video else None)
        if asset is not None:
            return asset.key, 0.0
    if clip.cut_status == "ready" and clip.cut_key:
        return clip.cut_key, clip.start
    return None


def media_url(store, seconds: int, actor: User, clip: Clip) -> tuple[str | None, float | None]:
    """A signed, expiring URL of what this viewer plays, and where its 0 lies in the lesson."""
    media = playable(actor, clip)
    if media is None:
        return None, None
    return store.signed_url(media[0], seconds, audience=actor.id), media[1]
