"""The authorization matrix of issue 4, through the HTTP API and the pages.

Every role × every object × every action gets the exact expected answer. The lesson has the class's
full consent and is shared with the owner's coach (to comment, through a coaching cycle) and with a
community (to comment). Cells that name no operation (sharing a transcript, say) are checked through
`authz.may`, which every route goes through. A role that may not see an object gets 404 — the same
answer as for an id that does not exist — so nothing is learnt by guessing ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app import authz
from app.coaching.models import CoachLink
from app.feedback import service as feedback
from app.feedback.models import Comment
from app.video.models import Video
from tests import builders
from tests.web import csrf_token, login

ROLES = ["owner", "coach", "member", "colleague", "other_school", "leader", "admin", "anonymous"]
OBJECTS = ["video", "asset", "transcript", "comment", "clip", "audit"]
ACTIONS = ["view", "comment", "share", "download", "delete"]
EMAIL = {"owner": "teacher@a.example", "coach": "coach@a.example", "member": "member@b.example",
         "colleague": "colleague@a.example", "other_school": "teacher@b.example", "leader": "leader@a.example",
         "admin": "admin@classlab.example"}

SEES = {"owner", "coach", "member"}
# The expected answer of every cell; everything not listed is denied.
ALLOWED = {
    ("video", "view"): SEES, ("video", "comment"): SEES, ("video", "share"): {"owner"},
    ("video", "download"): {"owner"}, ("video", "delete"): {"owner"},
    ("asset", "view"): SEES, ("asset", "download"): {"owner"},
    ("transcript", "view"): SEES, ("transcript", "download"): {"owner"},
    # The comment was written by the coach: only its author deletes it; replying needs the comment right.
    ("comment", "view"): SEES, ("comment", "comment"): SEES, ("comment", "download"): {"owner"},
    ("comment", "delete"): {"coach"},
    ("clip", "view"): SEES, ("clip", "comment"): SEES, ("clip", "share"): {"owner"}, ("clip", "delete"): {"owner"},
    ("audit", "view"): {"owner"},
}


def expected(role: str, obj: str, action: str) -> bool:
    return role in ALLOWED.get((obj, action), set())


@dataclass
class World:
    """Ids only: every request ends the scoped session, so objects are loaded afresh for each check."""

    video: str
    spare: str  # deleted through the page, after `video` was deleted through the API
    comments: list[int]
    clips: list[str]
    users: dict[str, int | None]

    def objects(self) -> dict:
        from app import db
        from app.accounts.models import User
        from app.video.models import Clip

        s = db.session()
        video = s.scalar(select(Video).where(Video.public_id == self.video))
        clip = s.scalar(select(Clip).where(Clip.public_id == self.clips[0]))
        return {"video": video, "asset": video.asset("web") if video else None,
                "transcript": video.transcript if video else None, "comment": s.get(Comment, self.comments[0]),
                "clip": clip, "users": {r: s.get(User, i) if i else None for r, i in self.users.items()}}


def _lesson(app, session, people, lesson_file, plc, title):
    video = builders.processed_video(app, session, people["teacher"], lesson_file, title)
    return builders.shared(session, video, "coach@a.example", right="comment", community=plc, note="signed forms")


@pytest.fixture
def world(app, session, people, lesson_file):
    people["member"] = builders.user(session, "member@b.example", "teacher", people["orgs"]["b"],
                                     password=people["password"])
    session.add(CoachLink(coach=people["coach"], teacher=people["teacher"], status="active"))
    plc = builders.community(session, people["facilitator"], "PLC", members=("member@b.example", "teacher@a.example"))
    video = _lesson(app, session, people, lesson_file(4), plc, "Matrix lesson")
    spare = _lesson(app, session, people, lesson_file(4), plc, "Spare lesson")
    made = [feedback.add_comment(session, people["coach"], video.public_id, body=f"Coach note {i}", start=1, end=2)
            for i in range(2)]
    cut = [builders.ready_clip(app, session, people["teacher"], video, f"Clip {i}", 1, 3) for i in range(2)]
    key = {"owner": "teacher", "other_school": "other_teacher"}
    users = {role: people[key.get(role, role)].id if role != "anonymous" else None for role in ROLES}
    return World(video.public_id, spare.public_id, [c.id for c in made], [c.public_id for c in cut], users)


def _ok(resp) -> bool:
    """Allowed answers are 2xx, or a redirect that is not to the login page."""
    if 200 <= resp.status_code < 300:
        return True
    if resp.status_code in (301, 302, 303):
        return "/login" not in resp.headers.get("Location", "")
    return False


def _denied_properly(resp, role: str, sees: bool, api: bool) -> bool:
    if role == "anonymous":
        return resp.status_code == 401 if api else (resp.status_code == 302 and "/login" in resp.headers["Location"])
    if not sees:
        return resp.status_code == 404  # not even told it exists
    return resp.status_code in (403, 404)


class Probe:
    def __init__(self, app, world: World, role: str, password: str):
        self.app, self.w, self.role = app, world, role
        self.client = app.test_client()
        # Anonymous requests are well-formed too (a CSRF token from the login page): refused for not
        # being logged in, not for a missing token.
        self.token = csrf_token(self.client)
        if role != "anonymous":
            login(self.client, EMAIL[role], password)
            self.token = csrf_token(self.client, "/videos/")
        self.api_headers = {"X-CSRFToken": self.token}

    # --- requests, API (a) and page (p)
    def api(self, method: str, path: str, **kw):
        return getattr(self.client, method)("/api/v1/videos" + path, headers=self.api_headers, **kw)

    def page(self, method: str, path: str, data: dict | None = None):
        if method == "get":
            return self.client.get(path)
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token})

    def operations(self, obj: str, action: str):
        """(api response thunk, page response thunk) for a cell; None where the cell names no operation."""
        v, c, k = self.w.video, self.w.comments, self.w.clips
        table = {
            ("video", "view"): (lambda: self.api("get", f"/{v}"), lambda: self.page("get", f"/videos/{v}")),
            ("video", "comment"): (lambda: self.api("post", f"/{v}/comments", json={"body": "api", "start": 1}),
                                   lambda: self.page("post", f"/videos/{v}/comments", {"body": "page", "start": "1"})),
            ("video", "share"): (lambda: self.api("post", f"/{v}/shares", json={"email": "leader@haifa.example",
                                                                               "right": "view"}),
                                 lambda: self.page("post", f"/videos/{v}/share", {"email": "plc@a.example",
                                                                                  "right": "view"})),
            ("video", "download"): (lambda: self.api("get", f"/{v}/download"), None),
            ("video", "delete"): (lambda: self.api("delete", f"/{v}"),
                                  lambda: self.page("post", f"/videos/{self.w.spare}/delete")),
            ("asset", "view"): (self.asset_view, None),
            ("asset", "download"): (lambda: self.api("get", f"/{v}/download"), self.asset_download_link),
            ("transcript", "view"): (lambda: self.api("get", f"/{v}/transcript"),
                                     lambda: self.page("get", f"/videos/{v}/captions.vtt")),
            ("transcript", "download"): (None, lambda: self.page("get", f"/videos/{v}/transcript.txt")),
            ("comment", "view"): (lambda: self.api("get", f"/comments/{c[0]}"), None),
            ("comment", "comment"): (
                lambda: self.api("post", f"/{v}/comments", json={"body": "reply", "parent_id": c[0]}),
                lambda: self.page("post", f"/videos/{v}/comments", {"body": "reply", "parent_id": str(c[0])})),
            ("comment", "download"): (None, lambda: self.page("get", f"/videos/{v}/comments.csv")),
            ("comment", "delete"): (lambda: self.api("delete", f"/comments/{c[0]}"),
                                    lambda: self.page("post", f"/videos/comments/{c[1]}/delete")),
            ("clip", "view"): (lambda: self.api("get", f"/clips/{k[0]}"),
                               lambda: self.page("get", f"/videos/clips/{k[0]}")),
            ("clip", "comment"): (
                lambda: self.api("post", f"/clips/{k[0]}/comments", json={"body": "clip", "start": 2}),
                lambda: self.page("post", f"/videos/clips/{k[0]}/comments", {"body": "clip", "start": "2"})),
            ("clip", "share"): (
                lambda: self.api("post", f"/clips/{k[0]}/shares", json={"email": "plc@a.example",
                                                                                  "right": "view"}),
                lambda: self.page("post", f"/videos/clips/{k[0]}/share", {"email": "leader@haifa.example",
                                                                                    "right": "view"})),
            ("clip", "delete"): (lambda: self.api("delete", f"/clips/{k[0]}"),
                                 lambda: self.page("post", f"/videos/clips/{k[1]}/delete")),
            ("audit", "view"): (lambda: self.api("get", f"/{v}/audit"), lambda: self.page("get", f"/videos/{v}/audit")),
        }
        return table.get((obj, action), (None, None))

    def asset_view(self):
        """The API hands out signed media URLs only to those who may view; the URL then serves the bytes."""
        resp = self.api("get", f"/{self.w.video}")
        if resp.status_code != 200:
            return resp
        url = next(a["url"] for a in resp.get_json()["assets"] if a["kind"] == "web")
        return self.client.get(url) if url.startswith("/media/") else resp

    def asset_download_link(self):
        """The watch page offers the download link to the owner only."""
        resp = self.page("get", f"/videos/{self.w.video}")
        if resp.status_code != 200:
            return resp
        linked = "Download the original" in resp.get_data(as_text=True)
        return type("R", (), {"status_code": 200 if linked else 403, "headers": {}})()


ORDER = [(o, a) for o in OBJECTS for a in ACTIONS if a != "delete"] + [
    ("comment", "delete"), ("clip", "delete"), ("asset", "delete"), ("transcript", "delete"), ("audit", "delete"),
    ("video", "delete")]


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, session, people, world, role):
    probe = Probe(app, world, role, people["password"])
    wrong: list[str] = []
    for obj, action in ORDER:
        want = expected(role, obj, action)
        loaded = world.objects()
        user = loaded["users"][role]
        if obj == "audit":
            got = user is not None and authz.may(user, "audit", loaded["video"]) and action == "view"
        else:
            got = user is not None and authz.may(user, action, loaded[obj])
        if got is not want:
            wrong.append(f"authz.may {role} {action} {obj}: {got}, expected {want}")
        sees = expected(role, obj, "view") or (obj == "audit" and role in SEES)
        for kind, thunk in zip(("api", "page"), probe.operations(obj, action), strict=True):
            if thunk is None:
                continue
            resp = thunk()
            if want and not _ok(resp):
                wrong.append(f"{kind} {role} {action} {obj}: {resp.status_code}, expected allowed")
            elif not want and not _denied_properly(resp, role, sees, kind == "api") and not (
                    kind == "page" and resp.status_code == 403 and role != "anonymous"):
                wrong.append(f"{kind} {role} {action} {obj}: {resp.status_code}, expected refused")
    assert not wrong, "\n".join(wrong)


def test_guessed_and_foreign_ids_get_404(app, session, people, world):
    probe = Probe(app, world, "colleague", people["password"])
    for path in ("/ffffffffffffffffffffffff", "/clips/ffffffffffffffffffffffff", "/comments/999999",
                 "/comments/99999999999999999999", f"/{world.video}/audit"):
        assert probe.api("get", path).status_code == 404, path
    owner = Probe(app, world, "owner", people["password"])
    assert owner.api("get", f"/comments/{world.comments[0]}").status_code == 200
    page = owner.page("get", f"/videos/{world.video}").get_data(as_text=True)
    local = re.findall(r"/media/([A-Za-z0-9_.-]+)", page)
    signed = re.findall(r"X-Amz-Signature=([0-9a-f]+)", page)
    assert local or signed  # media URLs are signed and expiring, never a bare storage key
    assert all(len(i) > 40 for i in local) and all(len(i) == 64 for i in signed)
