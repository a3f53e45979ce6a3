"""PLC meetings: protocols (the library), a community's meeting, its agenda of steps (each a prompt and at most one
piece of evidence), the members' responses, who came and pre-watched, and the next steps the group agreed.

`Meeting.version` is the live channel: every change a member's screen shows (a step moved to, a response written,
revealed or highlighted, the meeting started or closed) bumps it in the same transaction, so any web process,
asked by any member's poll, sees a change the moment it is committed (app.meetings.live).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.communities.models import Community
from app.db import Base, PublicId, UTCDateTime, utcnow

MODES = ("in_person", "online", "hybrid")
STATUSES = ("planned", "live", "closed")
EVIDENCE = ("none", "clip", "result", "item", "attempt")


class Protocol(Base):
    """A discussion protocol of the library (app/meetings/protocols/*.yaml), kept current by
    `classlab meetings import`."""

    __tablename__ = "plc_protocol"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    suits: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    # title, purpose: {lang: text}; steps: [{title, prompt, minutes, responses}]
    spec: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Meeting(PublicId, Base):
    __tablename__ = "plc_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    mode: Mapped[str] = mapped_column(String(12), default="in_person")
    place: Mapped[str] = mapped_column(String(300), default="")  # a room, or the link of an online meeting
    status: Mapped[str] = mapped_column(String(10), default="planned", index=True)
    current_step: Mapped[int] = mapped_column(Integer, default=0)  # position of the step everyone is on
    version: Mapped[int] = mapped_column(Integer, default=1)
    summary: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    community: Mapped[Community] = relationship()
    created_by: Mapped[User | None] = relationship()
    steps: Mapped[list[MeetingStep]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                    passive_deletes=True, order_by="MeetingStep.position")
    next_steps: Mapped[list[NextStep]] = relationship(back_populates="meeting", cascade="all, delete-orphan",
                                                      passive_deletes=True, order_by="NextStep.position")


class MeetingStep(Base):
    """One step of the agenda: a title and prompt ({lang: text}, from a protocol or written for this meeting), a
    suggested time, whether responses are held for the facilitator first, and at most one piece of evidence."""

    __tablename__ = "plc_meeting_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("plc_meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    texts: Mapped[dict] = mapped_column(JSON)  # {"title": {lang: text}, "prompt": {lang: text}}
    minutes: Mapped[int] = mapped_column(Integer, default=10)
    responses: Mapped[str] = mapped_column(String(6), default="open")  # open | held
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)  # held responses shown to all
    protocol_key: Mapped[str | None] = mapped_column(String(80))
    evidence: Mapped[str] = mapped_column(String(10), default="none")  # none | clip | result | item | attempt
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("video_clip.id", ondelete="SET NULL"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"), index=True)
    item_key: Mapped[str | None] = mapped_column(String(80))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("rehearsal_attempt.id", ondelete="SET NULL"),
                                                   index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="steps")
    # Models of lower layers, named rather than imported where nothing here needs their classes.
    clip = relationship("Clip")
    assignment = relationship("Assignment")
    attempt = relationship("Attempt")


class MeetingResponse(Base):
    __tablename__ = "plc_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("plc_meeting.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("plc_meeting_step.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)  # the moment of the step's clip it points at
    highlighted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    step: Mapped[MeetingStep] = relationship()
    author: Mapped[User] = relationship()


class Attendance(Base):
    """A member's part in one meeting: pre-watched the evidence (when), came (present)."""

    __tablename__ = "plc_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("plc_meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    prewatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("meeting_id", "user_id", name="uq_plc_attendance_meeting_user"),)


class NextStep(Base):
    """A next step the group agreed, optionally a member's to do by a date (shown on their dashboard)."""

    __tablename__ = "plc_next_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("plc_meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    due: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="next_steps")
    assignee: Mapped[User | None] = relationship()
