"""Coaching: a coach linked to a teacher (assigned by a school leader or admin, accepted by the
teacher), and coaching cycles: focus goal -> observed lessons -> feedback -> agreed next steps."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow
from app.video.models import Video

LINK_STATUSES = ("pending", "active", "declined", "ended")


class CoachLink(Base):
    __tablename__ = "coach_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    teacher: Mapped[User] = relationship(foreign_keys=[teacher_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    cycles: Mapped[list[CoachingCycle]] = relationship(back_populates="link", order_by="CoachingCycle.starts_on",
                                                       cascade="all, delete-orphan", passive_deletes=True)


class CoachingCycle(PublicId, Base):
    __tablename__ = "coaching_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("coach_link.id", ondelete="CASCADE"), index=True)
    focus_goal: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    next_steps: Mapped[str] = mapped_column(Text, default="")
    next_steps_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    link: Mapped[CoachLink] = relationship(back_populates="cycles")
    lessons: Mapped[list[CycleLesson]] = relationship(back_populates="cycle", order_by="CycleLesson.added_at",
                                                      cascade="all, delete-orphan", passive_deletes=True)


class CycleLesson(Base):
    """A lesson the coach observes in this cycle."""

    __tablename__ = "coaching_cycle_lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("coaching_cycle.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cycle: Mapped[CoachingCycle] = relationship(back_populates="lessons")
    video: Mapped[Video] = relationship()

    __table_args__ = (UniqueConstraint("cycle_id", "video_id", name="uq_coaching_cycle_lesson_cycle_video"),)
