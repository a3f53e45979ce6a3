"""Who may see and change a lesson video and everything derived from it.

Video of minors is private by default: only its owner sees it. Who else reaches a lesson (named
colleagues, a community, the owner's coach, under the class's consent) is decided by sharing, a layer
above this one, which answers the `lesson_rights` and `reachable_lessons` signals. With nothing
connected the answer is empty: the lesson stays its owner's alone. Administrators and school leaders get
no blanket view.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from app import signals
from app.accounts.models import User
from app.authz import may, rule, scope
from app.video.models import Asset, Clip, Segment, Transcript, Upload, Video

VIDEO_ACTIONS = {"view", "download", "edit", "delete", "retry", "comment", "share", "audit"}


def granted_rights(actor: User, video: Video, clip: Clip | None = None) -> set[str]:
    """The rights (view, comment) others' grants give this actor on the whole lesson, or on one clip."""
    rights: set[str] = set()
    for answer in signals.answers(signals.lesson_rights, actor, video=video, clip=clip):
        rights |= set(answer)
    return rights


def _allowed(rights: set[str], action: str) -> bool:
    # A grant gives view, or comment as well; never download, share on, edit or delete.
    return action == "view" and bool(rights) or action == "comment" and "comment" in rights


def in_any(column, selects: list[Select]):
    """A condition 'column in any of these SELECTs' (receivers' answers); false when there is none."""
    if not selects:
        return false()
    condition = column.in_(selects[0])
    for extra in selects[1:]:
        condition = condition | column.in_(extra)
    return condition


def _reachable(actor: User, clips: bool):
    """A condition 'id in what others granted the actor'; false when nothing grants anything."""
    return in_any(Clip.id if clips else Video.id, signals.answers(signals.reachable_lessons, actor, clips=clips))


@rule(Video)
def video_rule(actor: User, action: str, video: Video) -> bool:
    if video.owner_id == actor.id:
        return action in VIDEO_ACTIONS
    if action not in {"view", "comment"}:
        return False
    return _allowed(granted_rights(actor, video), action)


@scope(Video)
def video_scope(actor: User, query: Select) -> Select:
    return query.where((Video.owner_id == actor.id) | _reachable(actor, clips=False))


# Assets, transcripts and segments follow their video, so there is one rule to get right.
# Only what makes sense for each: a file is watched or downloaded (it goes when its video goes); a
# transcript is read, downloaded or corrected. Commenting and sharing are done on the video.
@rule(Asset)
def asset_rule(actor: User, action: str, asset: Asset) -> bool:
    return action in {"view", "download"} and may(actor, action, asset.video)


@rule(Transcript)
def transcript_rule(actor: User, action: str, transcript: Transcript) -> bool:
    return action in {"view", "download", "edit"} and may(actor, action, transcript.video)


@rule(Segment)
def segment_rule(actor: User, action: str, segment: Segment) -> bool:
    return action in {"view", "download", "edit"} and may(actor, action, segment.transcript.video)


@rule(Upload)
def upload_rule(actor: User, action: str, upload: Upload) -> bool:
    return upload.owner_id == actor.id and action in {"view", "edit", "delete"}


@rule(Clip)
def clip_rule(actor: User, action: str, clip: Clip) -> bool:
    """A clip is seen by whoever sees its lesson, and by those it was shared with on its own.

    Only the lesson's owner shares it (and downloads the lesson it comes from); its maker or the lesson's
    owner removes it."""
    video = clip.video
    if video.owner_id == actor.id:
        return action in {"view", "comment", "share", "delete"}
    if action in {"view", "comment"}:
        return may(actor, action, video) or _allowed(granted_rights(actor, video, clip), action)
    if action == "delete":
        return actor.id == clip.creator_id and may(actor, "view", clip)
    return False


@scope(Clip)
def clip_scope(actor: User, query: Select) -> Select:
    lessons = select(Video.id).where((Video.owner_id == actor.id) | _reachable(actor, clips=False))
    return query.where(Clip.video_id.in_(lessons) | _reachable(actor, clips=True))
