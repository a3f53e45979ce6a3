"""The one authorization point.

    may(user, action, obj)   -> bool   every single-object access
    require(user, action, obj)         the same, raising NotPermitted (a Forbidden) or NotVisible (a NotFound)
    visible(user, select)    -> select every query that lists objects

Each module's `policy.py` registers the rules for its own models with `@rule(Model)` and
`@scope(Model)`. A model without a rule is denied to everyone: forgetting a policy fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, false, select

from app.errors import NotAuthenticated, NotPermitted, NotVisible, msg

Rule = Callable[[Any, str, Any], bool]
Scope = Callable[[Any, Select], Select]
# The same words for a missing object and one the user may not see, so that ids cannot be probed.
NO_SUCH_OBJECT = msg("No such object, or you may not see it.")

_rules: dict[type, Rule] = {}
_scopes: dict[type, Scope] = {}


def rule(model: type) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _rules[model] = fn
        return fn

    return register


def scope(model: type) -> Callable[[Scope], Scope]:
    def register(fn: Scope) -> Scope:
        _scopes[model] = fn
        return fn

    return register


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)


def may(user, action: str, obj) -> bool:
    if obj is None or not _authenticated(user):
        return False
    for cls in type(obj).__mro__:
        fn = _rules.get(cls)
        if fn is not None:
            return bool(fn(user, action, obj))
    return False


def require(user, action: str, obj, *, hide: bool = True) -> None:
    """Raise unless `user` may do `action` on `obj`.

    With hide=True a denied object the user may not even view is reported as not found, so that ids
    cannot be probed for existence.
    """
    if not _authenticated(user):
        raise NotAuthenticated(msg("Log in to continue."))
    if may(user, action, obj):
        return
    if obj is None or (hide and (action == "view" or not may(user, "view", obj))):
        raise NotVisible(NO_SUCH_OBJECT)
    raise NotPermitted(msg("You may not %(action)s this.", action=action))


def load(session, user, model: type, public_id: str, action: str = "view", *, options: tuple = ()):
    """The object of this model with this public id (`app.db.PublicId`), once `user` may do `action` on it.

    Load by public id, then authorize, in one place: a missing object and one the user may not see
    answer the same "not found", so ids cannot be probed; a seen but refused action is "forbidden"."""
    # unique(): the options may load a collection in the same statement (one row per member).
    obj = session.execute(select(model).where(model.public_id == str(public_id)[:32]).options(*options)
                          ).unique().scalar_one_or_none()
    require(user, action, obj)
    return obj


def visible(user, query: Select) -> Select:
    entity = query.column_descriptions[0].get("entity")
    if not _authenticated(user) or entity is None:
        return query.where(false())
    for cls in entity.__mro__:
        fn = _scopes.get(cls)
        if fn is not None:
            return fn(user, query)
    return query.where(false())
