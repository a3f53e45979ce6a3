"""Personalized learning plans: the activity library, a student's (or a small group's) plan of goals drawn from a
diagnostic result, the activities chosen for each goal, and the record of every change made to a plan.

A plan is the teacher's, like the class it is for. Each goal works on one misconception the evidence showed, cites
that evidence (the answers that revealed it, the lesson moments tagged with it) and carries a check item probing
the same misconception. A re-assessment sets each goal to met, partly or not yet from a newer result.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow
from app.diagnostics.models import Assignment, ClassGroup, Student

KINDS = ("student", "group")
# A goal starts "working"; a re-assessment (or the teacher) sets it to met, partly or not yet.
GOAL_STATES = ("working", "met", "partly", "not_yet")
CHECK_RESULTS = ("correct", "incorrect")


class Activity(Base):
    """One activity of the library (app/plans/activities/*.yaml), kept current by `classlab plans import`."""

    __tablename__ = "plan_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    grouping: Mapped[str] = mapped_column(String(20))
    misconceptions: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    spec: Mapped[dict] = mapped_column(JSON)  # title, materials, look_for: {lang: text}; steps: [{lang: text}]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Prerequisite(Base):
    """Work on `first` before `after` (both misconception keys): a plan's goals follow these, most fundamental first."""

    __tablename__ = "plan_prerequisite"
    __table_args__ = (UniqueConstraint("first", "after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first: Mapped[str] = mapped_column(String(80))
    after: Mapped[str] = mapped_column(String(80))


class LearningPlan(PublicId, Base):
    __tablename__ = "learning_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("class_group.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="student")
    title: Mapped[str] = mapped_column(String(200), default="")
    # The result the plan was drafted from, and the newest result it was re-assessed against.
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"), index=True)
    reassessed_with_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"))
    target_date: Mapped[date] = mapped_column(Date)
    shared_with_coach: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    class_group: Mapped[ClassGroup] = relationship()
    teacher: Mapped[User] = relationship()
    assignment: Mapped[Assignment | None] = relationship(foreign_keys=[assignment_id])
    reassessed_with: Mapped[Assignment | None] = relationship(foreign_keys=[reassessed_with_id])
    members: Mapped[list[PlanMember]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                                     passive_deletes=True, order_by="PlanMember.id")
    goals: Mapped[list[PlanGoal]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                                 passive_deletes=True, order_by="PlanGoal.position")
    changes: Mapped[list[PlanChange]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                                     passive_deletes=True, order_by="PlanChange.id")

    @property
    def students(self) -> list[Student]:
        return [m.student for m in self.members]


class PlanMember(Base):
    """A student the plan is for: one for a student's plan, several for a small group's."""

    __tablename__ = "plan_member"
    __table_args__ = (UniqueConstraint("plan_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)

    plan: Mapped[LearningPlan] = relationship(back_populates="members")
    student: Mapped[Student] = relationship()


class PlanGoal(Base):
    __tablename__ = "plan_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    misconception: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(10), default="working")
    # [{"student", "assignment", "item", "question", "value"}]: the answers that revealed the misconception, and
    # [{"video", "title", "start", "comment", "clip"}]: lesson moments tagged with it when the plan was drafted.
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    check_item: Mapped[str | None] = mapped_column(String(80))
    check_result: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[LearningPlan] = relationship(back_populates="goals")
    activities: Mapped[list[GoalActivity]] = relationship(back_populates="goal", cascade="all, delete-orphan",
                                                          passive_deletes=True, order_by="GoalActivity.position")


class GoalActivity(Base):
    __tablename__ = "plan_goal_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goal.id", ondelete="CASCADE"), index=True)
    activity_key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    day: Mapped[date | None] = mapped_column(Date)  # when the teacher plans to do it (the week view)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    goal: Mapped[PlanGoal] = relationship(back_populates="activities")


class PlanChange(Base):
    """Who changed what in a plan, and when: every edit after the draft is recorded here."""

    __tablename__ = "plan_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    what: Mapped[str] = mapped_column(String(40))  # a code: target_date, goal_status, activity_added, ...
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[LearningPlan] = relationship(back_populates="changes")
    actor: Mapped[User | None] = relationship()
