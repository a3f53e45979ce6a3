"""Lesson analytics: who speaks when in a lesson, and the moments a coach looks for (questions, waits, uptake).

One `LessonAnalysis` per lesson, made by the worker after transcription and again whenever the transcript or the
speaker labels are corrected. Speaker turns are stored with their times and the *voice* they were heard in; the
teacher is whichever voice `teacher_voice` names, so correcting it in one click relabels every turn of that voice.
Markers are the moments found (a question, a long wait, an uptake, the longest monologue); a teacher or coach may
confirm, correct or dismiss one, or turn it into a comment with a framework tag. A re-run replaces only the markers
nobody has touched.

The analysis is the teacher's: private by default, read by their coach only while the teacher shares it. It is
never a score: the measures describe a lesson for the teacher's own reflection.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow
from app.video.models import Video

# waiting: asked for, not started · running · done · failed (the reason says why; the lesson itself is fine)
STATES = ("waiting", "running", "done", "failed")
# What a marker points at. A question is open or closed; a wait is a long one after a question (1) or after a
# student's answer (2); uptake is a teacher turn building on the student's words; the monologue is the longest.
MARKER_KINDS = ("question_open", "question_closed", "wait1", "wait2", "uptake", "monologue")
# Who looked at a marker: nobody yet (machine), or a person who confirmed, corrected (its kind) or dismissed it.
MARKER_STATES = ("machine", "confirmed", "corrected", "dismissed")


class LessonAnalysis(Base):
    __tablename__ = "lesson_analysis"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"), unique=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it failed, for the page (English; see service)
    language: Mapped[str] = mapped_column(String(8), default="")
    has_text: Mapped[bool] = mapped_column(Boolean, default=False)  # text measures need a transcript
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    teacher_voice: Mapped[int | None] = mapped_column(Integer)
    teacher_set_by: Mapped[str] = mapped_column(String(10), default="machine")  # machine | person
    voices: Mapped[list] = mapped_column(JSON, default=list)  # per voice: seconds, level_db, mean_f0
    speech: Mapped[list] = mapped_column(JSON, default=list)  # [[start, end], ...] heard as speech
    overlaps: Mapped[list] = mapped_column(JSON, default=list)  # [[start, end], ...] two voices at once
    measures: Mapped[dict] = mapped_column(JSON, default=dict)
    shared_with_coach: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    diarized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    video: Mapped[Video] = relationship()
    teacher: Mapped[User] = relationship()
    turns: Mapped[list[SpeakerTurn]] = relationship(back_populates="analysis", order_by="SpeakerTurn.position",
                                                    cascade="all, delete-orphan", passive_deletes=True)
    markers: Mapped[list[LessonMarker]] = relationship(back_populates="analysis", order_by="LessonMarker.start",
                                                       cascade="all, delete-orphan", passive_deletes=True)

    def role(self, voice: int) -> str:
        return "teacher" if voice == self.teacher_voice else "student"

    def student_number(self, voice: int) -> int:
        """Student 1, 2, … by how much each voice speaks (voice 0 speaks most)."""
        others = [v for v in range(len(self.voices)) if v != self.teacher_voice]
        return others.index(voice) + 1 if voice in others else 0


class SpeakerTurn(Base):
    __tablename__ = "speaker_turn"
    __table_args__ = (UniqueConstraint("analysis_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("lesson_analysis.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    voice: Mapped[int] = mapped_column(Integer)
    rising: Mapped[bool | None] = mapped_column(Boolean)  # the pitch rises at its end (a question's intonation)

    analysis: Mapped[LessonAnalysis] = relationship(back_populates="turns")


class LessonMarker(PublicId, Base):
    __tablename__ = "lesson_marker"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("lesson_analysis.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # text, seconds, shared words …
    state: Mapped[str] = mapped_column(String(10), default="machine")
    corrected_kind: Mapped[str | None] = mapped_column(String(20))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("video_comment.id", ondelete="SET NULL"))

    analysis: Mapped[LessonAnalysis] = relationship(back_populates="markers")

    @property
    def shown_kind(self) -> str:
        return self.corrected_kind or self.kind
