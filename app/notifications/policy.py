"""A notification is its recipient's alone: nobody else reads it or marks it read, administrators included."""

from __future__ import annotations

from sqlalchemy import Select

from app.accounts.models import User
from app.authz import rule, scope
from app.notifications.models import Notification


@rule(Notification)
def notification_rule(actor: User, action: str, notification: Notification) -> bool:
    return action in {"view", "read"} and notification.user_id == actor.id


@scope(Notification)
def notification_scope(actor: User, query: Select) -> Select:
    return query.where(Notification.user_id == actor.id)
