"""Feedback on a lesson: timestamped comments and the observation frameworks their tags name."""

from __future__ import annotations

from datetime import datetime
from itertools import chain

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, UTCDateTime, utcnow
from app.video.models import Clip, Video


class ObservationFramework(Base):
    """One version of an observation framework (the YAML, as loaded). Tags name key, version and element."""

    __tablename__ = "observation_framework"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_observation_framework_key_version"),)


class Comment(Base):
    """Feedback at a moment (start) or over a range (start..end) of a lesson; replies form a thread."""

    __tablename__ = "video_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("video_comment.id", ondelete="CASCADE"), index=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    body: Mapped[str] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)  # a transcript line the comment refers to
    tags: Mapped[list] = mapped_column(JSON, default=list)  # [{"framework", "version", "element"}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Feedback given on a clip's own page; those who see only the clip see only these threads.
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("video_clip.id", ondelete="SET NULL"), index=True)

    video: Mapped[Video] = relationship()
    clip: Mapped[Clip | None] = relationship()
    author: Mapped[User] = relationship()
    replies: Mapped[list[Comment]] = relationship(order_by="Comment.created_at", cascade="all, delete-orphan",
                                                  passive_deletes=True)


@event.listens_for(Session, "before_flush")
def _bump_feedback_versions(session: Session, _context, _instances) -> None:
    """Any change to a lesson's comments (added, edited, deleted, by any code path) bumps the lesson's
    `feedback_version` in the same transaction, and so does a new name of someone who commented on it (names
    are part of what is shown). A SQL increment, not a read and write, so that two processes adding comments
    at once cannot both write the same version with different comments behind it. `updated_at` is kept:
    the sweeper reads it as the time a step was asked for."""
    lessons: set[int | None] = set()
    renamed: list[int] = []
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Comment):
            lessons.add(obj.video_id if obj.video_id is not None else
                        obj.video.id if obj.video is not None else None)
        elif isinstance(obj, User) and obj.id is not None and inspect(obj).attrs.display_name.history.has_changes():
            renamed.append(obj.id)
    if renamed:
        lessons.update(session.execute(select(Comment.video_id).where(Comment.author_id.in_(renamed))
                                       .distinct()).scalars())
    lessons.discard(None)
    if not lessons:
        return
    table = Video.__table__
    session.execute(table.update().where(table.c.id.in_(sorted(lessons)))
                    .values(feedback_version=table.c.feedback_version + 1, updated_at=table.c.updated_at))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Video) and obj.id in lessons:
            session.expire(obj, ["feedback_version"])
