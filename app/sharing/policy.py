"""What shares grant, under the class's consent, and who manages a share.

The owner shares the lesson, or one clip of it, with named colleagues or a community, to view or to
comment. Consent is checked when a share is used, not only when it was made: without the class's full
consent a lesson is seen by nobody but its owner and the owner's coach, whatever shares exist.

This module answers the lesson policy's `lesson_rights` and `reachable_lessons` signals. Whose coach an
actor is and which communities they belong to are known above this layer (coaching, communities),
which answer `coached_teachers` and `member_communities`.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, event, or_, select
from sqlalchemy.orm import Session, object_session

from app import signals
from app.accounts.models import User
from app.authz import rule
from app.sharing.models import Share
from app.video.models import Clip, Consent, Video
from app.video.policy import in_any


def reaching(actor: User):
    """Live shares that reach this actor and still hold under the lesson's consent."""
    full = Video.consent == Consent.full.value
    coached = in_any(Video.owner_id, signals.answers(signals.coached_teachers, actor))
    communities = in_any(Share.community_id, signals.answers(signals.member_communities, actor))
    return and_(
        Share.revoked_at.is_(None),
        or_(and_(Share.user_id == actor.id, or_(full, coached)), and_(communities, full)),
    )


_ASKED = "classlab.share_rights"


@signals.lesson_rights.connect
def share_rights(actor: User, video: Video, clip: Clip | None = None) -> set[str]:
    """The rights (view, comment) live shares give this actor on the whole lesson, or on one clip.

    A page asks several times (may they view? comment? see the clips?): the answer is kept in the session for
    the rest of its transaction, but only while the session holds no change of its own; any flush, commit or
    rollback forgets it, so a share withdrawn in this unit of work is seen at once."""
    session = object_session(video)
    if session is None:
        return set()
    clean = not (session.new or session.dirty or session.deleted)
    key = (actor.id, video.id, clip.id if clip is not None else None)
    asked = session.info.setdefault(_ASKED, {})
    if clean and key in asked:
        return set(asked[key])
    query = (select(Share.right).join(Video, Share.video_id == Video.id)
             .where(Share.video_id == video.id, reaching(actor)))
    query = query.where(Share.clip_id.is_(None)) if clip is None else query.where(Share.clip_id == clip.id)
    rights = set(session.scalars(query))
    if clean:
        asked[key] = frozenset(rights)
    return rights


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget_rights(session: Session, *_args) -> None:
    session.info.pop(_ASKED, None)


@signals.reachable_lessons.connect
def shared_ids(actor: User, clips: bool = False) -> Select:
    """The lessons shared with the actor as a whole, or (clips=True) the clips shared on their own."""
    if clips:
        return (select(Share.clip_id).join(Video, Share.video_id == Video.id)
                .where(Share.clip_id.is_not(None), reaching(actor)))
    return (select(Share.video_id).join(Video, Share.video_id == Video.id)
            .where(Share.clip_id.is_(None), reaching(actor)))


@rule(Share)
def share_rule(actor: User, action: str, share: Share) -> bool:
    return share.video.owner_id == actor.id
