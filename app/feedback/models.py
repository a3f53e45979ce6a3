"""Feedback on a lesson: timestamped comments and the observation frameworks their tags name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
