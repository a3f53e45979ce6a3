"""Who may read, write and manage feedback on a lesson.

Feedback follows its lesson: whoever may see the lesson sees its feedback; whoever was shared only a
clip sees the feedback given on that clip. Only the author edits or deletes a comment.
"""

from __future__ import annotations

from app.accounts.models import Role, User
from app.authz import may, rule
from app.feedback.models import Comment, ObservationFramework


@rule(Comment)
def comment_rule(actor: User, action: str, comment: Comment) -> bool:
    clip = comment.clip

    def sees() -> bool:
        return may(actor, "view", comment.video) or (clip is not None and may(actor, "view", clip))

    if action == "view":
        return sees()
    if action in {"edit", "delete"}:
        return comment.author_id == actor.id and sees()
    if action in {"reply", "comment"}:  # to comment on a comment is to reply to it
        return may(actor, "comment", comment.video) or (clip is not None and may(actor, "comment", clip))
    if action == "download":  # the lesson's feedback export
        return may(actor, "download", comment.video)
    return False


@rule(ObservationFramework)
def framework_rule(actor: User, action: str, framework: ObservationFramework) -> bool:
    return action == "view" or (action == "manage" and actor.role == Role.admin)
