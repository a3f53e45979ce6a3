"""Who else may reach a lesson: shares with a colleague or a community, and the audit log of access."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, UTCDateTime, utcnow
from app.video.models import Clip, Video


class Share(Base):
    """A video, or one clip of it, shared with a named colleague or a community, to watch (view) or
    also to give feedback (comment). Exactly one of user and community is set."""

    __tablename__ = "video_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), index=True)
    # Set when only this clip is shared, not the whole lesson.
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("video_clip.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    right: Mapped[str] = mapped_column(String(10))  # view | comment
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    video: Mapped[Video] = relationship()
    clip: Mapped[Clip | None] = relationship()
    user: Mapped[User | None] = relationship()
    # The community is a model of a higher layer: named, not imported; SQLAlchemy resolves the name.
    community = relationship("Community")

    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (community_id IS NULL)", name="one_audience"),)


class AuditEvent(Base):
    """Who viewed, downloaded, shared, revoked or deleted what: the owner reads it for their videos."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_public_id: Mapped[str] = mapped_column(String(32), index=True)  # kept after the video is deleted
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
