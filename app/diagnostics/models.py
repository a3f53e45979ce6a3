from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import richtext
from app.accounts.models import User
from app.db import Base, PublicId, UTCDateTime, utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a classroom


def new_class_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def new_student_code() -> str:
    """Eight random symbols (40 bits) as XXXX-XXXX: the class code is on the board, so the student code is the secret;
    with the sign-in throttle nobody in the room can walk it."""
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{symbols[:4]}-{symbols[4:]}"


#: How a class's students see numbers in the bank's texts: 0-9, or ٠-٩ (for classes taught in Arabic).
DIGITS = richtext.DIGITS


class Topic(Base):
    """A topic of the bank; `title` is its English title, `texts` every language (app.diagnostics.bankfile)."""

    __tablename__ = "diagnostic_topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    texts: Mapped[dict] = mapped_column(JSON, default=dict)  # {"languages": [...], "title": {lang: text}}


class Misconception(Base):
    """The plain columns hold the English texts (the API's and the reports' stable names); `texts` holds them in
    every language, with the languages of the bank it came from. A row stored before banks had languages has no
    `texts`: it is English only."""

    __tablename__ = "misconception"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    topic: Mapped[str] = mapped_column(String(80), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    typical_reasoning: Mapped[str] = mapped_column(Text)
    teaching_ideas: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[dict] = mapped_column(JSON, default=dict)
    texts: Mapped[dict | None] = mapped_column(JSON)  # {"languages", "title", "description", ...: {lang: text}}


class Item(Base):
    """One version of an item. Editing an item that an assignment uses adds a version; results stay
    tied to the version the students saw."""

    __tablename__ = "diagnostic_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    topic: Mapped[str] = mapped_column(String(80), index=True)
    type: Mapped[str] = mapped_column(String(10))
    stem: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict] = mapped_column(JSON)  # the whole item (choices, answers, rubric), as the bank file says
    digest: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None: the shared bank, which everyone reads. A teacher's own items (imported from QTI) are theirs alone; their
    # keys start with "u<owner id>-", so they never meet another bank's.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_diagnostic_item_key_version"),)


class Diagnostic(Base):
    """A ready-made diagnostic: an ordered list of item keys targeting some misconceptions."""

    __tablename__ = "diagnostic"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    item_keys: Mapped[list] = mapped_column(JSON, default=list)
    targets: Mapped[list] = mapped_column(JSON, default=list)
    texts: Mapped[dict | None] = mapped_column(JSON)  # {"languages", "title", "description": {lang: text}}


class ClassGroup(Base):
    """A teacher's class. Students join with the class code and their own pseudonymous code, and see the bank and
    the pages in the class's `language`, with its numbers in `digits` (DIGITS)."""

    __tablename__ = "class_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_class_code)
    language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    digits: Mapped[str] = mapped_column(String(12), default="western", server_default="western")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    teacher: Mapped[User] = relationship()
    students: Mapped[list[Student]] = relationship(back_populates="class_group", order_by="Student.code",
                                                   cascade="all, delete-orphan", passive_deletes=True)


class Student(Base):
    __tablename__ = "student"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("class_group.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))  # optional, shown to the teacher only

    class_group: Mapped[ClassGroup] = relationship(back_populates="students")

    __table_args__ = (UniqueConstraint("class_id", "code", name="uq_student_class_code"),)


class Assignment(PublicId, Base):
    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("class_group.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    diagnostic_key: Mapped[str | None] = mapped_column(String(80))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    class_group: Mapped[ClassGroup] = relationship()
    items: Mapped[list[AssignmentItem]] = relationship(order_by="AssignmentItem.position",
                                                       cascade="all, delete-orphan", passive_deletes=True)
    submissions: Mapped[list[Submission]] = relationship(back_populates="assignment",
                                                         cascade="all, delete-orphan", passive_deletes=True)


class AssignmentItem(Base):
    __tablename__ = "assignment_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_item.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer)

    item: Mapped[Item] = relationship()


class Submission(Base):
    """One student's work on one assignment: answers are saved as they go; submitting closes it."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(10), default="student")  # student | teacher | csv

    assignment: Mapped[Assignment] = relationship(back_populates="submissions")
    student: Mapped[Student] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="submission", cascade="all, delete-orphan",
                                                 passive_deletes=True)

    __table_args__ = (UniqueConstraint("assignment_id", "student_id", name="uq_submission_assignment_student"),)


class Answer(Base):
    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_item.id", ondelete="RESTRICT"))
    value: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None] = mapped_column(Boolean)  # None: not answered, or text awaiting the teacher
    misconception: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[int | None] = mapped_column(Integer)  # rubric level for text items
    scored_by: Mapped[str] = mapped_column(String(10), default="auto")  # auto | teacher
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="answers")
    item: Mapped[Item] = relationship()

    __table_args__ = (UniqueConstraint("submission_id", "item_id", name="uq_answer_submission_item"),)
