"""Student records are the teacher's: a class, its students, assignments and answers are visible to
the class's teacher only. The shared bank (items, misconceptions, diagnostics) is readable by everyone
signed in; importing it is for administrators. A teacher's own items (imported from QTI) are theirs alone."""

from __future__ import annotations

from sqlalchemy import Select

from app.accounts.models import Role, User
from app.authz import may, rule, scope
from app.diagnostics.models import (
    Answer,
    Assignment,
    ClassGroup,
    Diagnostic,
    Item,
    Misconception,
    Student,
    Submission,
)

CLASS_ACTIONS = {"view", "edit", "delete", "assign", "score", "export"}


@rule(ClassGroup)
def class_rule(actor: User, action: str, group: ClassGroup) -> bool:
    return action in CLASS_ACTIONS and group.teacher_id == actor.id


@scope(ClassGroup)
def class_scope(actor: User, query: Select) -> Select:
    return query.where(ClassGroup.teacher_id == actor.id)


@rule(Student)
def student_rule(actor: User, action: str, student: Student) -> bool:
    return may(actor, action, student.class_group)


@rule(Assignment)
def assignment_rule(actor: User, action: str, assignment: Assignment) -> bool:
    return may(actor, action, assignment.class_group)


@scope(Assignment)
def assignment_scope(actor: User, query: Select) -> Select:
    return query.join(ClassGroup, Assignment.class_id == ClassGroup.id).where(ClassGroup.teacher_id == actor.id)


@rule(Submission)
def submission_rule(actor: User, action: str, submission: Submission) -> bool:
    return may(actor, action, submission.assignment)


@rule(Answer)
def answer_rule(actor: User, action: str, answer: Answer) -> bool:
    return may(actor, action, answer.submission)


def _bank_rule(actor: User, action: str, _obj) -> bool:
    return action == "view" or (action == "manage" and actor.role == Role.admin)


for _model in (Misconception, Diagnostic):
    rule(_model)(_bank_rule)
    scope(_model)(lambda actor, query: query)


@rule(Item)
def item_rule(actor: User, action: str, item: Item) -> bool:
    """The shared bank: everyone reads it, administrators import into it. A teacher's own items: theirs alone, and
    anyone signed in may import items into their own bank ("import")."""
    if action == "import":
        return True
    if item.owner_id is not None:
        return item.owner_id == actor.id and action in ("view", "manage")
    return _bank_rule(actor, action, item)


@scope(Item)
def item_scope(actor: User, query: Select) -> Select:
    return query.where((Item.owner_id.is_(None)) | (Item.owner_id == actor.id))
