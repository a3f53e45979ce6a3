"""Who may see and change a lesson video and everything derived from it.

Video of minors is private by default: only its owner sees it. The owner shares the lesson, or one
clip of it, with named colleagues or a community, to view or to comment. Without the class's full
consent only the owner's coach can be reached by a share. Administrators and school leaders get no
blanket view.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import object_session

from app.accounts.models import User
from app.authz import may, rule, scope
from app.video.models import (
    Asset,
    Clip,
    Comment,
    Consent,
    ObservationFramework,
    Segment,
    Share,
    Transcript,
    Upload,
    Video,
)

VIDEO_ACTIONS = {"view", "download", "edit", "delete", "retry", "comment", "share", "audit"}


def _coached_teachers(actor: User) -> Select:
    from app.coaching.models import CoachLink

    return select(CoachLink.teacher_id).where(CoachLink.coach_id == actor.id, CoachLink.status == "active")


def _my_communities(actor: User) -> Select:
    from app.communities.models import CommunityMember

    return select(CommunityMember.community_id).where(CommunityMember.user_id == actor.id)


def reaching(actor: User):
    """Live shares that reach this actor and still hold under the lesson's consent.

    Consent is checked here, when the share is used, not only when it was made: a video without the
    class's full consent is seen by nobody but its owner and the owner's coach, whatever shares exist.
    """
    full = Video.consent == Consent.full.value
    return and_(
        Share.revoked_at.is_(None),
        or_(and_(Share.user_id == actor.id, or_(full, Video.owner_id.in_(_coached_teachers(actor)))),
            and_(Share.community_id.in_(_my_communities(actor)), full)),
    )


def share_rights(actor: User, video: Video, clip: Clip | None = None) -> set[str]:
    """The rights (view, comment) live shares give this actor on the whole lesson, or on one clip."""
    session = object_session(video)
    if session is None:
        return set()
    query = (select(Share.right).join(Video, Share.video_id == Video.id)
             .where(Share.video_id == video.id, reaching(actor)))
    query = query.where(Share.clip_id.is_(None)) if clip is None else query.where(Share.clip_id == clip.id)
    return set(session.scalars(query))


def _allowed(rights: set[str], action: str) -> bool:
    # Sharing gives view, or comment as well; never download, share on, edit or delete.
    return action == "view" and bool(rights) or action == "comment" and "comment" in rights


@rule(Video)
def video_rule(actor: User, action: str, video: Video) -> bool:
    if video.owner_id == actor.id:
        return action in VIDEO_ACTIONS
    if action not in {"view", "comment"}:
        return False
    return _allowed(share_rights(actor, video), action)


def shared_video_ids(actor: User) -> Select:
    return (select(Share.video_id).join(Video, Share.video_id == Video.id)
            .where(Share.clip_id.is_(None), reaching(actor)))


@scope(Video)
def video_scope(actor: User, query: Select) -> Select:
    return query.where((Video.owner_id == actor.id) | Video.id.in_(shared_video_ids(actor)))


@rule(Share)
def share_rule(actor: User, action: str, share: Share) -> bool:
    return share.video.owner_id == actor.id


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


@rule(Comment)
def comment_rule(actor: User, action: str, comment: Comment) -> bool:
    """Whoever may see the lesson sees its feedback; whoever was shared only a clip sees the feedback
    given on that clip. Only the author edits or deletes a comment."""
    clip = comment.clip

    def sees() -> bool:
        return may(actor, "view", comment.video) or (clip is not None and may(actor, "view", clip))

    if action == "view":
        return sees()
    if action in {"edit", "delete"}:
        return comment.author_id == actor.id and sees()
    if action in {"reply", "comment"}:  # to comment on a comment is to reply to it
        return may(actor, "comment", comment.video) or (clip is not None and may(actor, "comment", clip))
    if action == "download":  # the lesson's feedback export
        return may(actor, "download", comment.video)
    return False


@rule(ObservationFramework)
def framework_rule(actor: User, action: str, framework: ObservationFramework) -> bool:
    from app.accounts.models import Role

    return action == "view" or (action == "manage" and actor.role == Role.admin)


@rule(Clip)
def clip_rule(actor: User, action: str, clip: Clip) -> bool:
    """A clip is seen by whoever sees its lesson, and by those it was shared with on its own.

    Only the lesson's owner shares it (and downloads the lesson it comes from); its maker or the lesson's
    owner removes it."""
    video = clip.video
    if video.owner_id == actor.id:
        return action in {"view", "comment", "share", "delete"}
    if action in {"view", "comment"}:
        return may(actor, action, video) or _allowed(share_rights(actor, video, clip), action)
    if action == "delete":
        return actor.id == clip.creator_id and may(actor, "view", clip)
    return False


@scope(Clip)
def clip_scope(actor: User, query: Select) -> Select:
    shared = (select(Share.clip_id).join(Video, Share.video_id == Video.id)
              .where(Share.clip_id.is_not(None), reaching(actor)))
    lessons = select(Video.id).where((Video.owner_id == actor.id) | Video.id.in_(shared_video_ids(actor)))
    return query.where(Clip.video_id.in_(lessons) | Clip.id.in_(shared))
