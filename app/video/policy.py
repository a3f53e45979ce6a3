"""Who may see and change a lesson video and everything derived from it.

Video of minors is private by default: only its owner sees it. Sharing (with a coach, named
colleagues, a community) extends these rules in a later module; administrators get no blanket view.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from app.accounts.models import User
from app.authz import may, rule, scope
from app.video.models import (
    Asset,
    Clip,
    Comment,
    ObservationFramework,
    Segment,
    Share,
    Transcript,
    Upload,
    Video,
)

VIDEO_ACTIONS = {"view", "download", "edit", "delete", "retry", "comment", "share", "audit"}


def _share_right(actor: User, video: Video) -> str | None:
    session = object_session(video)
    if session is None:
        return None
    return session.scalar(select(Share.right).where(Share.video_id == video.id, Share.user_id == actor.id,
                                                    Share.revoked_at.is_(None)))


@rule(Video)
def video_rule(actor: User, action: str, video: Video) -> bool:
    if video.owner_id == actor.id:
        return action in VIDEO_ACTIONS
    # Others see a video only through a live share: view, or comment as well. Never download or share on.
    if action not in {"view", "comment"}:
        return False
    right = _share_right(actor, video)
    return right == "comment" or (right == "view" and action == "view")


@scope(Video)
def video_scope(actor: User, query: Select) -> Select:
    shared = select(Share.video_id).where(Share.user_id == actor.id, Share.revoked_at.is_(None))
    return query.where((Video.owner_id == actor.id) | Video.id.in_(shared))


@rule(Share)
def share_rule(actor: User, action: str, share: Share) -> bool:
    return share.video.owner_id == actor.id


# Assets, transcripts and segments follow their video, so there is one rule to get right.
@rule(Asset)
def asset_rule(actor: User, action: str, asset: Asset) -> bool:
    return may(actor, action, asset.video)


@rule(Transcript)
def transcript_rule(actor: User, action: str, transcript: Transcript) -> bool:
    return may(actor, action, transcript.video)


@rule(Segment)
def segment_rule(actor: User, action: str, segment: Segment) -> bool:
    return may(actor, action, segment.transcript.video)


@rule(Upload)
def upload_rule(actor: User, action: str, upload: Upload) -> bool:
    return upload.owner_id == actor.id and action in {"view", "edit", "delete"}


@rule(Comment)
def comment_rule(actor: User, action: str, comment: Comment) -> bool:
    """Whoever may see the video sees its feedback; only the author edits or deletes a comment."""
    if action == "view":
        return may(actor, "view", comment.video)
    if action in {"edit", "delete"}:
        return comment.author_id == actor.id and may(actor, "view", comment.video)
    if action == "reply":
        return may(actor, "comment", comment.video)
    return False


@rule(ObservationFramework)
def framework_rule(actor: User, action: str, framework: ObservationFramework) -> bool:
    from app.accounts.models import Role

    return action == "view" or (action == "manage" and actor.role == Role.admin)


@rule(Clip)
def clip_rule(actor: User, action: str, clip: Clip) -> bool:
    """A clip is seen by whoever sees its lesson; its maker or the lesson's owner removes it."""
    if action == "view":
        return may(actor, "view", clip.video)
    if action == "delete":
        return may(actor, "view", clip.video) and actor.id in (clip.creator_id, clip.video.owner_id)
    return False
