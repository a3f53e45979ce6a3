"""School, network and city goals: who takes part (areas), the values of the indicators per school, term and grade,
the targets and roadmaps set on them, and the principal coaching log (coach–principal pairs, their sessions, the
actions agreed and followed up, and the coaches' own group meetings before each round).

The indicators themselves are data (app/goals/indicators/*.yaml); rows name an indicator by its key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization, User
from app.db import Base, PublicId, UTCDateTime, utcnow

SOURCES = ("imported", "hand", "computed")
STEP_KINDS = ("milestone", "action")
STEP_STATES = ("open", "done", "dropped")
SESSION_STATES = ("planned", "held")
ACTION_STATES = ("open", "done", "not_done")
TERMS = (1, 2, 3)
WHOLE_SCHOOL = 0  # the grade of a value about the whole school (computed indicators, counts)


class Area(PublicId, Base):
    """An organization that takes part in the goals: a school (with its ministry code, its network and its city), a
    school network, a municipality, or the institute (the national view)."""

    __tablename__ = "goal_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)  # a school's code (סמל מוסד)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("goal_area.id", ondelete="SET NULL"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("goal_area.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")
    network: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[network_id])
    city: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[city_id])

    @property
    def kind(self) -> str:
        return str(self.organization.kind)

    @property
    def name(self) -> str:
        return self.organization.name


class ValueImport(PublicId, Base):
    """One CSV file imported: who, when, from which file and encoding, how many values."""

    __tablename__ = "goal_value_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("goal_area.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    area: Mapped[Area] = relationship()
    by: Mapped[User | None] = relationship()


class Value(Base):
    """An indicator's value for one school, school year (the year it ends), term and grade; for a part of the
    indicator where it has parts (diagnostic mastery per misconception), `part` names it. Shares keep their counts
    (`numerator` of `students`) so that roll-ups add students, not percentages."""

    __tablename__ = "goal_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("goal_area.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    part: Mapped[str] = mapped_column(String(80), default="", server_default="")
    year: Mapped[int] = mapped_column(Integer)
    term: Mapped[int] = mapped_column(Integer)
    grade: Mapped[int] = mapped_column(Integer)
    numerator: Mapped[float | None] = mapped_column(Float)
    students: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10), default="hand")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("goal_value_import.id", ondelete="SET NULL"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    area: Mapped[Area] = relationship()

    __table_args__ = (
        UniqueConstraint("area_id", "indicator_key", "part", "year", "term", "grade", name="uq_goal_value_cell"),
        # Covering the roll-ups: a national roll-up reads this index alone, in order, never the table (bench/goals.py).
        Index("ix_goal_value_rollup", "part", "indicator_key", "year", "term", "grade", "numerator", "students"),
    )


class Target(PublicId, Base):
    """What an area aims for on one indicator by the end of one school year (for one grade, or WHOLE_SCHOOL for the
    grades together), from a baseline."""

    __tablename__ = "goal_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("goal_area.id", ondelete="CASCADE"), index=True)
    indicator_key: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    grade: Mapped[int] = mapped_column(Integer, default=WHOLE_SCHOOL)
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    area: Mapped[Area] = relationship()
    set_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("area_id", "indicator_key", "year", "grade", name="uq_goal_target"),)


class Step(PublicId, Base):
    """A step of an area's roadmap: a milestone, or an action, owned by a named person, due by a date."""

    __tablename__ = "goal_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("goal_area.id", ondelete="CASCADE"), index=True)
    indicator_key: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10), default="action")
    title: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    done_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    area: Mapped[Area] = relationship()


class PrincipalPair(PublicId, Base):
    """A coach coaching a school's principal through one school year (the programme runs seven sessions a year)."""

    __tablename__ = "goal_principal_pair"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("goal_area.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    coach: Mapped[User] = relationship(foreign_keys=[coach_id])
    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    area: Mapped[Area] = relationship()
    sessions: Mapped[list[PrincipalSession]] = relationship(back_populates="pair", cascade="all, delete-orphan",
                                                            passive_deletes=True, order_by="PrincipalSession.number")

    __table_args__ = (UniqueConstraint("coach_id", "principal_id", "year", name="uq_goal_principal_pair"),)


class PrincipalSession(PublicId, Base):
    """One coaching session with a principal: its agenda, the data looked at (indicator charts), the notes, and the
    actions agreed (followed up at the next session)."""

    __tablename__ = "goal_principal_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("goal_principal_pair.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    agenda: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[list] = mapped_column(JSON, default=list)  # [{"indicator": key, "grade": g}, ...]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pair: Mapped[PrincipalPair] = relationship(back_populates="sessions")
    actions: Mapped[list[SessionAction]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True,
        foreign_keys="SessionAction.session_id", order_by="SessionAction.id")

    __table_args__ = (UniqueConstraint("pair_id", "number", name="uq_goal_principal_session"),)


class SessionAction(PublicId, Base):
    """An action agreed at a session: what, who, by when; followed up at a later session."""

    __tablename__ = "goal_session_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("goal_principal_session.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    follow_up: Mapped[str] = mapped_column(Text, default="")
    followed_up_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("goal_principal_session.id", ondelete="SET NULL"))

    session: Mapped[PrincipalSession] = relationship(back_populates="actions", foreign_keys=[session_id])
    followed_up_in: Mapped[PrincipalSession | None] = relationship(foreign_keys=[followed_up_in_id])


class CoachRound(PublicId, Base):
    """The coaches' own group meeting before a round of principal sessions: when, the agenda, notes, who came."""

    __tablename__ = "goal_coach_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    meets_on: Mapped[date] = mapped_column(Date)
    agenda: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    led_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    led_by: Mapped[User | None] = relationship()
    attendance: Mapped[list[RoundAttendance]] = relationship(back_populates="round", cascade="all, delete-orphan",
                                                             passive_deletes=True)

    __table_args__ = (UniqueConstraint("year", "number", name="uq_goal_coach_round"),)


class RoundAttendance(Base):
    __tablename__ = "goal_round_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("goal_coach_round.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    present: Mapped[bool] = mapped_column(Boolean, default=True)

    round: Mapped[CoachRound] = relationship(back_populates="attendance")
    coach: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("round_id", "coach_id", name="uq_goal_round_attendance"),)
