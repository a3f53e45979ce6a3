"""The authorization matrix for accounts: every role × object × action has one exact answer."""

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import app.models  # noqa: F401
from app import authz
from app.accounts import service
from app.accounts.models import ApiToken, Organization, OrgKind, User
from app.db import Base
from app.errors import Forbidden, NotAuthenticated, NotFound


class Anonymous:
    is_authenticated = False
    is_active = False
    id = None


@pytest.fixture(scope="module")
def world():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    s = Session(engine)
    inst = service.create_organization(s, "Institute", OrgKind.institute)
    city = service.create_organization(s, "Haifa", OrgKind.municipality, inst)
    a = service.create_organization(s, "School A", OrgKind.school, city)
    b = service.create_organization(s, "School B", OrgKind.school, city)
    pw = "a long password"
    u = {
        "teacher": service.create_user(s, email="t@a.x", password=pw, organization=a),
        "colleague": service.create_user(s, email="c@a.x", password=pw, organization=a),
        "coach": service.create_user(s, email="coach@a.x", password=pw, role="coach", organization=a),
        "other_school": service.create_user(s, email="t@b.x", password=pw, organization=b),
        "leader_a": service.create_user(s, email="l@a.x", password=pw, role="school_leader", organization=a),
        "leader_city": service.create_user(s, email="l@city.x", password=pw, role="school_leader", organization=city),
        "admin": service.create_user(s, email="admin@x.x", password=pw, role="admin", organization=inst),
    }
    token = service.issue_token(s, u["teacher"], "laptop", 30).token
    s.commit()
    yield s, u, {"inst": inst, "city": city, "a": a, "b": b}, token
    s.close()


ACTORS = ["teacher", "colleague", "coach", "other_school", "leader_a", "leader_city", "admin", "anonymous"]

# (object, action) -> the actors allowed; everyone else is denied.
MATRIX = {
    ("teacher", "view"): {"teacher", "colleague", "coach", "leader_a", "leader_city", "admin"},
    ("teacher", "edit"): {"teacher", "admin"},
    ("teacher", "manage"): {"leader_a", "leader_city", "admin"},
    ("other_school", "view"): {"other_school", "leader_city", "admin"},
    ("other_school", "manage"): {"leader_city", "admin"},
    ("admin", "manage"): {"admin"},
    ("org_a", "view"): {"teacher", "colleague", "coach", "leader_a", "leader_city", "admin"},
    ("org_a", "manage"): {"admin"},
    ("org_b", "view"): {"other_school", "leader_city", "admin"},
    ("org_city", "view"): {"teacher", "colleague", "coach", "other_school", "leader_a", "leader_city", "admin"},
    ("token", "view"): {"teacher", "admin"},
    ("token", "revoke"): {"teacher", "admin"},
}


def _obj(world, name):
    s, u, orgs, token = world
    if name == "token":
        return token
    if name.startswith("org_"):
        return orgs[name[4:]]
    return u[name]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("target,action", list(MATRIX))
def test_matrix(world, actor, target, action):
    s, u, orgs, token = world
    who = Anonymous() if actor == "anonymous" else u[actor]
    expected = actor in MATRIX[(target, action)]
    assert authz.may(who, action, _obj(world, target)) is expected


@pytest.mark.parametrize(
    "actor,expected",
    [
        ("teacher", {"t@a.x", "c@a.x", "coach@a.x", "l@a.x"}),
        ("other_school", {"t@b.x"}),
        ("leader_a", {"t@a.x", "c@a.x", "coach@a.x", "l@a.x"}),
        ("leader_city", {"t@a.x", "c@a.x", "coach@a.x", "l@a.x", "t@b.x", "l@city.x"}),
        ("admin", {"t@a.x", "c@a.x", "coach@a.x", "t@b.x", "l@a.x", "l@city.x", "admin@x.x"}),
        ("anonymous", set()),
    ],
)
def test_visible_users(world, actor, expected):
    s, u, _, _ = world
    who = Anonymous() if actor == "anonymous" else u[actor]
    assert {x.email for x in s.scalars(authz.visible(who, select(User)))} == expected


def test_visible_tokens_are_only_ones_own(world):
    s, u, _, token = world
    assert list(s.scalars(authz.visible(u["teacher"], select(ApiToken)))) == [token]
    assert list(s.scalars(authz.visible(u["colleague"], select(ApiToken)))) == []


def test_visible_organizations(world):
    s, u, _, _ = world
    names = lambda who: {o.name for o in s.scalars(authz.visible(who, select(Organization)))}  # noqa: E731
    assert names(u["teacher"]) == {"School A", "Haifa", "Institute"}
    assert names(u["leader_city"]) == {"School A", "School B", "Haifa", "Institute"}


def test_a_model_without_a_policy_is_denied_to_everyone(world):
    s, u, _, _ = world

    class Unprotected:
        pass

    assert authz.may(u["admin"], "view", Unprotected()) is False


def test_require_hides_what_cannot_be_seen_and_forbids_what_can(world):
    s, u, _, token = world
    with pytest.raises(NotAuthenticated):
        authz.require(Anonymous(), "view", u["teacher"])
    with pytest.raises(NotFound):
        authz.require(u["other_school"], "view", u["teacher"])
    with pytest.raises(NotFound):  # not visible, so not even "forbidden": no probing for ids
        authz.require(u["colleague"], "revoke", token)
    with pytest.raises(Forbidden):
        authz.require(u["colleague"], "edit", u["teacher"])
