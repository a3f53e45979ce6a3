"""Accounts service on an in-memory database: passwords, tokens, validation."""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import app.models  # noqa: F401
from app.accounts import service
from app.db import Base, utcnow
from app.errors import Conflict, InvalidInput, NotAuthenticated


@pytest.fixture
def s():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def test_passwords_are_hashed_with_argon2_and_verified(s):
    user = service.create_user(s, email="Noa@School.example ", password="a long password")
    assert user.email == "noa@school.example"
    assert user.password_hash.startswith("$argon2")
    assert "a long password" not in user.password_hash
    assert service.authenticate(s, "NOA@school.example", "a long password") is user
    assert user.last_login_at is not None


@pytest.mark.parametrize("email,password", [("noa@school.example", "wrong password"), ("nobody@x.example", "x")])
def test_wrong_credentials_get_one_message_that_reveals_nothing(s, email, password):
    service.create_user(s, email="noa@school.example", password="a long password")
    with pytest.raises(NotAuthenticated, match="Wrong e-mail or password."):
        service.authenticate(s, email, password)


def test_deactivated_account_cannot_log_in(s):
    user = service.create_user(s, email="noa@school.example", password="a long password")
    user.active = False
    with pytest.raises(NotAuthenticated, match="deactivated"):
        service.authenticate(s, "noa@school.example", "a long password")


@pytest.mark.parametrize(
    "kwargs,field,message",
    [
        ({"email": "not-an-email", "password": "a long password"}, "email", "not an e-mail"),
        ({"email": "a@b.example", "password": "short"}, "password", "at least 10"),
        ({"email": "a@b.example", "password": "a long password", "role": "wizard"}, "role", "Unknown role"),
        ({"email": "a@b.example", "password": "a long password", "locale": "fr"}, "locale", "Unknown language"),
    ],
)
def test_invalid_user_fields_are_named(s, kwargs, field, message):
    with pytest.raises(InvalidInput, match=message) as err:
        service.create_user(s, **kwargs)
    assert err.value.field == field


def test_duplicate_email_is_a_conflict(s):
    service.create_user(s, email="a@b.example", password="a long password")
    with pytest.raises(Conflict, match="already exists"):
        service.create_user(s, email="A@B.example", password="another password")


def test_token_lifecycle_expired_revoked_forged(s):
    user = service.create_user(s, email="a@b.example", password="a long password")
    issued = service.issue_token(s, user, "laptop", 30)
    assert issued.secret.startswith("clb_")
    assert issued.secret not in issued.token.token_hash and len(issued.token.token_hash) == 64
    assert service.user_for_token(s, issued.secret) is user
    assert issued.token.last_used_at is not None
    first = issued.token.last_used_at
    service.user_for_token(s, issued.secret)
    assert issued.token.last_used_at == first  # used again within the minute: no write for each call
    issued.token.last_used_at = first - service.TOKEN_USE_PRECISION
    service.user_for_token(s, issued.secret)
    assert issued.token.last_used_at > first

    with pytest.raises(NotAuthenticated, match="not recognised"):
        service.user_for_token(s, issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"))

    issued.token.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        service.user_for_token(s, issued.secret)

    other = service.issue_token(s, user, "phone", 30)
    service.revoke_token(s, user, other.token.id)
    with pytest.raises(NotAuthenticated, match="revoked"):
        service.user_for_token(s, other.secret)


@pytest.mark.parametrize("name,days,field", [("", 30, "name"), ("x" * 101, 30, "name"), ("ok", 0, "days"),
                                             ("ok", 400, "days")])
def test_token_parameters_are_checked(s, name, days, field):
    user = service.create_user(s, email="a@b.example", password="a long password")
    with pytest.raises(InvalidInput) as err:
        service.issue_token(s, user, name, days)
    assert err.value.field == field


def test_initial_admin_is_created_once(s):
    first = service.ensure_initial_admin(s)
    assert first is not None
    email, password = first
    assert service.authenticate(s, email, password).role.value == "admin"
    assert service.ensure_initial_admin(s) is None
