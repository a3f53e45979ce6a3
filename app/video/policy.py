"""Who may see and change a lesson video and everything derived from it.

Video of minors is private by default: only its owner sees it. Sharing (with a coach, named
colleagues, a community) extends these rules in a later module; administrators get no blanket view.
"""

from __future__ import annotations

from sqlalchemy import Select

from app.accounts.models import User
from app.authz import may, rule, scope
from app.video.models import Asset, Comment, ObservationFramework, Segment, Transcript, Upload, Video

VIDEO_ACTIONS = {"view", "download", "edit", "delete", "retry", "comment"}


@rule(Video)
def video_rule(actor: User, action: str, video: Video) -> bool:
    return action in VIDEO_ACTIONS and video.owner_id == actor.id


@scope(Video)
def video_scope(actor: User, query: Select) -> Select:
    return query.where(Video.owner_id == actor.id)


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
