"""Account use cases: plain functions taking a session and, where it matters, the acting user."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app import authz, jobs
from app.accounts import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.accounts.models import ApiToken, Organization, OrgKind, Role, User
from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, msg

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not a password")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "clb_"
MIN_PASSWORD = 10
LOCALES = ("en", "he", "ar")
WRONG_LOGIN = msg("Wrong e-mail or password.")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(msg("'%(email)s' is not an e-mail address.", email=email), field="email")
    return email


def find_active_user(session: Session, email: str) -> User:
    """The active user with this e-mail, for sharing, coaching and communities (not a login check)."""
    wanted = (email or "").strip().lower()
    user = session.scalar(select(User).where(User.email == wanted)) if wanted else None
    if user is None or not user.active:
        raise NotFound(msg("There is no ClassLab user with the e-mail %(email)s.",
                           email=wanted[:254] or msg("(empty)")))
    return user


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(msg("A password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password")
    return _hasher.hash(password)


def create_organization(session: Session, name: str, kind: OrgKind | str, parent: Organization | None = None):
    name = (name or "").strip()
    if not name:
        raise InvalidInput(msg("An organization needs a name."), field="name")
    try:
        kind = OrgKind(kind)
    except ValueError:
        raise InvalidInput(msg("Unknown organization kind '%(kind)s'.", kind=kind), field="kind") from None
    org = Organization(name=name, kind=kind, parent=parent)
    session.add(org)
    session.flush()
    return org


def find_or_create_organization(session: Session, name: str, kind: OrgKind | str = OrgKind.school):
    org = session.scalar(select(Organization).where(Organization.name == name.strip()))
    return org or create_organization(session, name, kind)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str = "",
    role: Role | str = Role.teacher,
    organization: Organization | None = None,
    locale: str | None = None,
) -> User:
    email = normalise_email(email)
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(msg("Unknown role '%(role)s'; choose one of %(choices)s.", role=role, choices=choices),
                           field="role") from None
    if locale is not None and locale not in LOCALES:
        raise InvalidInput(msg("Unknown language '%(locale)s'.", locale=locale), field="locale")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(msg("A user with e-mail %(email)s already exists.", email=email), field="email")
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0]).strip()[:200],
        password_hash=hash_password(password),
        role=role,
        organization=organization,
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


# ------------------------------------------------------------------------------------------- passwords

# A reset link lives this long; it also dies as soon as the password changes (it carries a fingerprint of
# the hash it was issued against), so it works once.
RESET_SECONDS = 3600
_RESET_SALT = "classlab.password-reset"


def _check_new(new: str, repeat: str) -> str:
    if (new or "") != (repeat or ""):
        raise InvalidInput(msg("The two new passwords are not the same."), field="repeat")
    return hash_password(new)


def change_password(session: Session, user: User, current: str, new: str, repeat: str) -> None:
    """The signed-in person changes their own password; the current one is asked again."""
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise InvalidInput(msg("The current password is not right."), field="current") from None
    if current == new:
        raise InvalidInput(msg("Choose a new password different from the current one."), field="password")
    user.password_hash = _check_new(new, repeat)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _serializer(secret: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt=_RESET_SALT)


def reset_token(user: User, secret: str) -> str:
    """A signed link token for one user's password reset (made on request; never stored)."""
    return _serializer(secret).dumps({"u": user.id, "h": _fingerprint(user)})


def user_for_reset(session: Session, token: str, secret: str, max_age: int = RESET_SECONDS) -> User:
    from itsdangerous import BadSignature, SignatureExpired

    expired = InvalidInput(msg("This reset link has expired or was already used. Ask for a new one."), field="token")
    try:
        data = _serializer(secret).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise expired from None
    except BadSignature:
        raise InvalidInput(msg("This reset link is not valid. Copy the whole link from the e-mail."),
                           field="token") from None
    user = session.get(User, data.get("u")) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("h") != _fingerprint(user):
        raise expired
    return user


def reset_password(user: User, new: str, repeat: str) -> None:
    """The new password of the user a reset link was checked for (user_for_reset, once per request)."""
    user.password_hash = _check_new(new, repeat)


def admin_reset_link(session: Session, actor: User, user_id: int, secret: str) -> tuple[User, str]:
    """An administrator (or the leader of the person's school) makes a reset link to hand over in person,
    for installations without e-mail."""
    user = session.get(User, user_id)
    authz.require(actor, "manage", user)
    return user, reset_token(user, secret)


def request_reset(session: Session, email: str, secret: str, *, email_enabled: bool) -> None:
    """"Forgot my password": when e-mail is set up and the address is an active account, a link is mailed after
    the commit. The page says the same whatever the address, so it cannot be used to find accounts."""
    user = active_user_by_email(session, email)
    if user is not None and email_enabled:
        jobs.enqueue(session, jobs.ACCOUNTS_PASSWORD_RESET, user.id, reset_token(user, secret))


def active_user_by_email(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except InvalidInput:
        return None
    return session.scalar(select(User).where(User.email == address, User.active.is_(True)))


def authenticate(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated(WRONG_LOGIN) from None
    if user is None:
        raise NotAuthenticated(WRONG_LOGIN)
    if not user.active:
        raise NotAuthenticated(msg("This account is deactivated. Ask your school's administrator."))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def set_locale(session: Session, user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput(msg("Unknown language '%(locale)s'.", locale=locale), field="locale")
    user.locale = locale


def users_visible_to(session: Session, actor: User) -> list[User]:
    return list(session.scalars(authz.visible(actor, select(User).order_by(User.display_name))))


def get_user(session: Session, actor: User, user_id: int) -> User:
    user = session.get(User, user_id)
    authz.require(actor, "view", user)
    return user


@dataclass
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str, days: int) -> IssuedToken:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(msg("Give the token a name of 1 to 100 characters."), field="name")
    if not 1 <= days <= 366:
        raise InvalidInput(msg("A token lives between 1 and 366 days."), field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_digest(secret),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


# How precisely a token's last use is kept: writing it on every call made each API read a write (a lock taken,
# a commit flushed to disk) for a time the tokens page shows to the minute.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def user_for_token(session: Session, secret: str) -> User:
    """The active user a bearer token belongs to (read with the token, in one query), or a specific
    NotAuthenticated."""
    token = session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                           .where(ApiToken.token_hash == _digest(secret or "")))
    if token is None:
        raise NotAuthenticated(msg("This API token is not recognised."))
    now = utcnow()
    if token.revoked_at is not None:
        raise NotAuthenticated(msg("This API token was revoked."))
    if token.expires_at <= now:
        raise NotAuthenticated(msg("This API token expired; create a new one on your tokens page."))
    if not token.user.active:
        raise NotAuthenticated(msg("This account is deactivated."))
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_PRECISION:
        token.last_used_at = now
    return token.user


def tokens_of(session: Session, actor: User) -> list[ApiToken]:
    return list(session.scalars(authz.visible(actor, select(ApiToken).order_by(ApiToken.created_at.desc()))))


def revoke_token(session: Session, actor: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    authz.require(actor, "revoke", token)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def dashboard(session: Session, user: User) -> dict:
    """What a user's dashboard shows, by role."""
    data: dict = {"user": user, "organization": user.organization}
    if user.role in (Role.admin, Role.school_leader):
        data["people"] = users_visible_to(session, user)
        counts: dict[str, int] = {}
        for person in data["people"]:
            counts[person.role.value] = counts.get(person.role.value, 0) + 1
        data["role_counts"] = counts
    if user.role == Role.admin:
        data["organizations"] = list(
            session.scalars(authz.visible(user, select(Organization).order_by(Organization.name)))
        )
    data["colleagues"] = [
        u for u in users_visible_to(session, user) if u.id != user.id and u.organization_id == user.organization_id
    ]
    data["tokens"] = [t for t in tokens_of(session, user) if t.revoked_at is None and t.expires_at > utcnow()]
    return data


def ensure_initial_admin(session: Session) -> tuple[str, str] | None:
    """On a database with no users, create an administrator; returns (email, password) once."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    org = find_or_create_organization(session, "ClassLab", OrgKind.institute)
    password = secrets.token_urlsafe(12)
    create_user(
        session, email="admin@classlab.local", password=password, display_name="Administrator",
        role=Role.admin, organization=org,
    )
    return "admin@classlab.local", password


def require_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(msg("No user with id %(id)s.", id=user_id))
    return user
