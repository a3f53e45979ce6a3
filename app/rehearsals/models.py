"""Rehearsals: scenarios of a classroom moment, a teacher's recorded attempts at it, rubric scores, and group
rehearsals of a community.

A scenario is data (a YAML record, see docs/scenarios.md), stored one row per version like the items of the
diagnostic bank: editing a scenario adds a version, and an attempt stays tied to the version it answered. An
attempt's recording is a `Video` whose purpose is "rehearsal": the same upload, pipeline, player, transcript and
timestamped comments as a lesson, private to its owner until they share the attempt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow
from app.video.models import Clip, Video

# Where a scenario came from: the library we ship, a teacher's own file, or evidence in ClassLab.
SOURCES = ("library", "authored", "misconception", "diagnostic", "clip")
# The kinds of moment a scenario rehearses (the YAML's `move`).
MOVES = ("respond-to-misconception", "launch-task", "press-for-reasoning", "lead-discussion")
# Rubric levels are scored 1 (beginning) to 4 (accomplished).
LOWEST, HIGHEST = 1, 4


class Scenario(PublicId, Base):
    """One version of a scenario. `spec` is the scenario as its YAML says, every text a language map
    ({"en": ..., "he": ...}); `languages` are the languages it is written in."""

    __tablename__ = "rehearsal_scenario"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # None: the library's, seen by every signed-in person; else the author's own.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(80), default="", index=True)
    grade: Mapped[int | None] = mapped_column(Integer)
    move: Mapped[str] = mapped_column(String(40), default="")
    misconception_key: Mapped[str | None] = mapped_column(String(80), index=True)
    spec: Mapped[dict] = mapped_column(JSON)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    max_seconds: Mapped[int] = mapped_column(Integer, default=180)
    yaml_text: Mapped[str] = mapped_column(Text, default="")  # the record as written, for editing
    source: Mapped[str] = mapped_column(String(20), default="library")
    # The misconception's key, the assignment's or the clip's public id.
    source_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("video_clip.id", ondelete="SET NULL"), index=True)
    # {language: [{"key": storage key, "by": "espeak-ng" | "author"} or None, one per student turn]}
    voices: Mapped[dict] = mapped_column(JSON, default=dict)
    current: Mapped[bool] = mapped_column(Boolean, default=True, index=True)  # the newest version of its key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[User | None] = relationship()
    clip: Mapped[Clip | None] = relationship()

    def text(self, name: str, lang: str) -> str:
        return pick(self.spec.get(name), lang)

    @property
    def rubric(self) -> dict:
        return self.spec.get("rubric") or {"criteria": []}

    @property
    def turns(self) -> list[dict]:
        return self.spec.get("turns") or []


def pick(texts, lang: str) -> str:
    """The text in `lang`, else English, else any: a scenario written in one language still shows."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, dict) or not texts:
        return ""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


class RehearsalGroup(PublicId, Base):
    """A facilitator runs one scenario for a community: each member records an attempt, and the group watches
    the attempts whose authors agreed to show them."""

    __tablename__ = "rehearsal_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("rehearsal_scenario.id", ondelete="CASCADE"), index=True)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    scenario: Mapped[Scenario] = relationship()
    facilitator: Mapped[User | None] = relationship()
    # The community is a model of a layer beside this one: named, SQLAlchemy resolves it.
    community = relationship("Community")


class Attempt(PublicId, Base):
    """A teacher's try at a scenario: its recording (a Video of purpose "rehearsal"), their written reflection,
    and the lesson where they mean to try the move in class."""

    __tablename__ = "rehearsal_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("rehearsal_scenario.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)  # 1, 2, ... per teacher and scenario key
    language: Mapped[str] = mapped_column(String(8), default="en")
    media: Mapped[str] = mapped_column(String(10), default="camera")  # camera | mic
    video_id: Mapped[int | None] = mapped_column(ForeignKey("video.id", ondelete="SET NULL"), unique=True)
    reflection: Mapped[str] = mapped_column(Text, default="")
    reflected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_lesson_id: Mapped[int | None] = mapped_column(ForeignKey("video.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("rehearsal_group.id", ondelete="SET NULL"), index=True)
    shown_to_group: Mapped[bool] = mapped_column(Boolean, default=False)  # the author's consent
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)  # the facilitator's pick to watch together
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scenario: Mapped[Scenario] = relationship()
    owner: Mapped[User] = relationship()
    video: Mapped[Video | None] = relationship(foreign_keys=[video_id])
    next_lesson: Mapped[Video | None] = relationship(foreign_keys=[next_lesson_id])
    group: Mapped[RehearsalGroup | None] = relationship()
    scores: Mapped[list[RubricScore]] = relationship(back_populates="attempt", cascade="all, delete-orphan",
                                                     passive_deletes=True, order_by="RubricScore.id")
    shares: Mapped[list[AttemptShare]] = relationship(back_populates="attempt", cascade="all, delete-orphan",
                                                      passive_deletes=True, order_by="AttemptShare.id")

    __table_args__ = (CheckConstraint("media IN ('camera', 'mic')", name="media_kind"),)


class AttemptShare(Base):
    """An attempt shared with a colleague (a coach, a peer) to watch, comment on and score."""

    __tablename__ = "rehearsal_attempt_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("rehearsal_attempt.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="shares")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("attempt_id", "user_id", name="uq_rehearsal_share_attempt_user"),)


class RubricScore(Base):
    """One reviewer's level on one criterion of the scenario's rubric."""

    __tablename__ = "rehearsal_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("rehearsal_attempt.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    criterion: Mapped[str] = mapped_column(String(80))
    level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="scores")
    reviewer: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("attempt_id", "reviewer_id", "criterion", name="uq_rehearsal_score_attempt_reviewer"),
        CheckConstraint(f"level BETWEEN {LOWEST} AND {HIGHEST}", name="level_range"),
    )
