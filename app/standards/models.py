"""Certification of teacher leaders: training cohorts per role (their course meetings and attendance), each
candidate's evidence portfolio, assessors' training and scores, the certificates issued and the institute's
signing keys.

The standards themselves are data (app/standards/frameworks/*.yaml); rows name them by the framework's ref
("leaders@2027"), the role's key and the standard's key, so a portfolio and its certificate stay readable under
the version they were made with after a newer version ships.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization, User
from app.db import Base, PublicId, UTCDateTime, utcnow

PORTFOLIO_STATES = ("draft", "submitted", "certified", "not_certified")
ROUNDS = (1, 2, 3)  # first scoring, the second (double) scoring, a third assessor resolving a disagreement
ATTENDANCE = ("present", "absent", "excused")


class Cohort(PublicId, Base):
    """A training cohort for one role under one version of the standards: its candidates, course meetings,
    the portfolio deadline, and how its portfolios are assessed (blind or not, the share scored twice)."""

    __tablename__ = "cert_cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role_key: Mapped[str] = mapped_column(String(40))
    framework_ref: Mapped[str] = mapped_column(String(60))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    double_share: Mapped[float] = mapped_column(Float, default=0.25)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    leader: Mapped[User | None] = relationship(foreign_keys=[leader_id])
    members: Mapped[list[CohortMember]] = relationship(back_populates="cohort", cascade="all, delete-orphan",
                                                       passive_deletes=True)
    sessions: Mapped[list[CohortSession]] = relationship(back_populates="cohort", cascade="all, delete-orphan",
                                                         passive_deletes=True, order_by="CohortSession.held_at")


class CohortMember(Base):
    __tablename__ = "cert_cohort_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cert_cohort.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("cohort_id", "user_id", name="uq_cert_cohort_member"),)


class CohortSession(Base):
    """One meeting of the cohort's course, and who attended it."""

    __tablename__ = "cert_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cert_cohort.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(300), default="")

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")
    attendance: Mapped[list[SessionAttendance]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class SessionAttendance(Base):
    __tablename__ = "cert_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("cert_session.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="present")  # present | absent | excused

    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_cert_attendance"),)


class Portfolio(PublicId, Base):
    """A candidate's evidence for each standard of their cohort's role. `frozen` is what assessors read: written
    at submission from the evidence as it was then, so later edits to a clip, a cycle or a meeting record do not
    change it."""

    __tablename__ = "cert_portfolio"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cert_cohort.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(14), default="draft", index=True)
    double_scored: Mapped[bool] = mapped_column(Boolean, default=False)
    frozen: Mapped[dict | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    candidate: Mapped[User] = relationship()
    entries: Mapped[list[PortfolioEntry]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(PortfolioEntry.standard_key, PortfolioEntry.position)")
    scores: Mapped[list[Score]] = relationship(back_populates="portfolio", cascade="all, delete-orphan",
                                               passive_deletes=True)
    certificate: Mapped[Certificate | None] = relationship(viewonly=True, uselist=False,
                                                           primaryjoin="Certificate.portfolio_id == Portfolio.id")

    __table_args__ = (UniqueConstraint("cohort_id", "candidate_id", name="uq_cert_portfolio_candidate"),)


class PortfolioEntry(Base):
    """One piece of evidence for one standard (a clip, a cycle led, a meeting facilitated, a rehearsal attempt)
    with the candidate's commentary on it."""

    __tablename__ = "cert_portfolio_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("cert_portfolio.id", ondelete="CASCADE"), index=True)
    standard_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # clip | cycle | meeting | attempt
    ref_id: Mapped[int] = mapped_column(Integer)
    commentary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    portfolio: Mapped[Portfolio] = relationship(back_populates="entries")

    __table_args__ = (UniqueConstraint("portfolio_id", "standard_key", "kind", "ref_id",
                                       name="uq_cert_entry_evidence"),)


class AssessorTraining(Base):
    """An assessor is anyone trained to score a standard: training is recorded per standard of a role under one
    version of the standards, and only the trained are assigned its scoring."""

    __tablename__ = "cert_assessor_training"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    framework_ref: Mapped[str] = mapped_column(String(60))
    role_key: Mapped[str] = mapped_column(String(40))
    standard_key: Mapped[str] = mapped_column(String(40))
    trained_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("user_id", "framework_ref", "role_key", "standard_key",
                                       name="uq_cert_training"),)


class Score(Base):
    """One assessor's scoring of one standard of one portfolio in one round: assigned, then scored."""

    __tablename__ = "cert_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("cert_portfolio.id", ondelete="CASCADE"), index=True)
    standard_key: Mapped[str] = mapped_column(String(40))
    round: Mapped[int] = mapped_column(Integer, default=1)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    level: Mapped[int | None] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    portfolio: Mapped[Portfolio] = relationship(back_populates="scores")
    assessor: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("portfolio_id", "standard_key", "round", name="uq_cert_score_round"),)


class CredentialKey(Base):
    """A public signing key of the institute (the private half is a file in the instance folder of the machines
    that issue). A retired key signs nothing new; what it signed stays valid."""

    __tablename__ = "cert_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_multibase: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Certificate(PublicId, Base):
    """A certificate issued: the signed Open Badges 3.0 credential exactly as issued, and whether it was revoked."""

    __tablename__ = "cert_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int | None] = mapped_column(ForeignKey("cert_portfolio.id", ondelete="SET NULL"),
                                                     unique=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    role_key: Mapped[str] = mapped_column(String(40), index=True)
    framework_ref: Mapped[str] = mapped_column(String(60))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"),
                                                        index=True)
    organization_name: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    key_multibase: Mapped[str] = mapped_column(String(80))
    document: Mapped[dict] = mapped_column(JSON)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    holder: Mapped[User | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    portfolio: Mapped[Portfolio | None] = relationship()
