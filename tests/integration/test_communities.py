"""Communities, sharing a lesson or one clip with them, and a clip shared on its own."""

from __future__ import annotations

import re

import pytest

from app import authz
from app.communities import service as communities
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.feedback import service as feedback
from app.sharing import service as sharing
from app.video import clips, service
from app.video.models import Clip
from tests import builders
from tests.web import csrf_token, login, signed_in
from workers import media
from workers.pipeline import cut_clip


@pytest.fixture
def video(app, session, people, lesson_file):
    return builders.processed_video(app, session, people["teacher"], lesson_file(6), "Ratio tables")


@pytest.fixture
def plc(session, people):
    return builders.community(session, people["facilitator"], "Grade 8 mathematics PLC",
                              members=("teacher@a.example", "teacher@b.example"))


def test_communities_are_run_by_their_facilitators(session, people, plc):
    with pytest.raises(Forbidden, match="facilitators"):
        communities.create_community(session, people["teacher"], "Mine")
    with pytest.raises(InvalidInput, match="name"):
        communities.create_community(session, people["facilitator"], " ")
    with pytest.raises(Forbidden):  # a member does not manage
        communities.add_member(session, people["teacher"], plc.public_id, "colleague@a.example")
    with pytest.raises(NotFound):  # an outsider does not even see it
        communities.get_community(session, people["colleague"], plc.public_id)
    with pytest.raises(NotFound, match="no ClassLab user"):
        communities.add_member(session, people["facilitator"], plc.public_id, "ghost@x.example")
    with pytest.raises(InvalidInput, match="facilitator or a member"):
        communities.add_member(session, people["facilitator"], plc.public_id, "colleague@a.example", "owner")
    with pytest.raises(Conflict, match="at least one facilitator"):
        communities.remove_member(session, people["facilitator"], plc.public_id, people["facilitator"].id)
    assert {c.public_id for c in communities.list_communities(session, people["other_teacher"])} == {plc.public_id}
    assert communities.list_communities(session, people["colleague"]) == []
    communities.remove_member(session, people["other_teacher"], plc.public_id, people["other_teacher"].id)
    session.commit()
    assert communities.list_communities(session, people["other_teacher"]) == []


def test_consent_blocks_sharing_with_a_community(session, people, video, plc):
    with pytest.raises(Conflict, match="cannot be shared with a community"):
        sharing.share(session, people["teacher"], video.public_id, None, "comment", community_id=plc.public_id)
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    with pytest.raises(NotFound, match="no such community"):  # only into a community you belong to
        other = communities.create_community(session, people["admin"], "Science PLC")
        sharing.share(session, people["teacher"], video.public_id, None, "view", community_id=other.public_id)
    sharing.share(session, people["teacher"], video.public_id, None, "comment", community_id=plc.public_id)
    session.commit()
    member, outsider = people["other_teacher"], people["colleague"]
    assert authz.may(member, "comment", video) and not authz.may(member, "download", video)
    assert not authz.may(outsider, "view", video) and not authz.may(people["facilitator"], "share", video)
    assert [s.video_id for s in communities.shared_with(session, member, plc)] == [video.id]
    # Consent is checked when the share is used: partial consent hides it at once (and revokes it).
    sharing.set_consent(session, people["teacher"], video.public_id, "partial")
    session.commit()
    assert not authz.may(member, "view", video) and communities.shared_with(session, member, plc) == []
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    sharing.share(session, people["teacher"], video.public_id, None, "view", community_id=plc.public_id)
    session.commit()
    assert authz.may(member, "view", video)
    communities.remove_member(session, people["facilitator"], plc.public_id, member.id)
    session.commit()
    assert not authz.may(member, "view", video)  # leaving the community ends what it gave


def test_a_clip_shared_on_its_own_gives_that_range_and_nothing_more(app, session, people, video, tmp_path):
    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    clip = clips.create_clip(session, people["teacher"], video.public_id, title="The turn", start=2, end=4)
    session.commit()
    with pytest.raises(NotFound):  # only the lesson's owner shares its clips
        sharing.share_clip(session, people["colleague"], clip.public_id, "teacher@b.example", "view")
    sharing.share_clip(session, people["teacher"], clip.public_id, "colleague@a.example", "comment")
    session.commit()
    colleague = people["colleague"]
    assert authz.may(colleague, "view", clip) and authz.may(colleague, "comment", clip)
    assert not authz.may(colleague, "view", video) and not authz.may(colleague, "view", video.transcript)
    assert not authz.may(colleague, "share", clip) and not authz.may(colleague, "download", clip)
    assert clips.playable(colleague, clip) is None  # not cut yet: nothing to play rather than the whole lesson
    assert cut_clip(clip.id, settings, store) == "ready"
    session.expire_all()
    clip = session.get(Clip, clip.id)
    key, offset = clips.playable(colleague, clip)
    assert key == clip.cut_key and key.startswith(f"videos/{video.public_id}/clips/") and offset == 2
    out = tmp_path / "cut.mp4"
    store.download_to(key, str(out))
    assert media.probe(out).duration == pytest.approx(2.0, abs=0.25)
    assert clips.playable(people["teacher"], clip)[0] == video.asset("web").key
    # Feedback on the clip stays within its range and is what the clip's viewers see.
    with pytest.raises(InvalidInput, match="own range"):
        feedback.add_clip_comment(session, colleague, clip.public_id, body="outside", start=5)
    note = feedback.add_clip_comment(session, colleague, clip.public_id, body="Good pause", start=3)
    feedback.add_comment(session, people["teacher"], video.public_id, body="Lesson-only note", start=3)
    session.commit()
    assert [c.body for c in feedback.clip_threads(session, colleague, clip)] == ["Good pause"]
    # The owner hears of it; the owner's reply reaches the colleague, pointing at the clip, not the lesson.
    from app.notifications.models import Notification

    def last_link(user):
        return session.scalars(__import__("sqlalchemy").select(Notification.link).where(
            Notification.user_id == user.id).order_by(Notification.id.desc())).first()

    assert last_link(people["teacher"]).startswith(f"/videos/{video.public_id}#comment-{note.id}")
    reply = feedback.add_comment(session, people["teacher"], video.public_id, body="Thanks", parent_id=note.id)
    session.commit()
    assert reply.clip_id == clip.id and authz.may(colleague, "view", reply)
    assert last_link(colleague) == f"/videos/clips/{clip.public_id}#comment-{reply.id}"
    session.expire_all()  # a request starts with a fresh session; this test keeps one
    assert [r.body for r in feedback.clip_threads(session, colleague, clip)[0].replies] == ["Thanks"]
    assert "Good pause" in [c.body for c in feedback.threads(session, people["teacher"], video.public_id)]
    assert authz.may(colleague, "view", note)
    visible = {c.public_id for c in session.scalars(authz.visible(colleague, __import__("sqlalchemy").select(Clip)))}
    assert visible == {clip.public_id}
    # Deleting the lesson removes the cut with everything else.
    service.delete_video(session, store, people["teacher"], video.public_id)
    session.commit()
    assert not store.exists(key)


def test_clip_and_community_pages(app, client, session, people, video, plc):
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    clip = builders.ready_clip(app, session, people["teacher"], video, "The turn", 1, 3)
    login(client, "teacher@a.example", people["password"])
    url = f"/videos/clips/{clip.public_id}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="sharing"' in page and "Grade 8 mathematics PLC" in page
    token = csrf_token(client, url)
    resp = client.post(url + "/share", data={"community": plc.public_id, "right": "view", "csrf_token": token},
                       follow_redirects=True)
    assert "Shared with Grade 8 mathematics PLC" in resp.get_data(as_text=True)
    member = signed_in(app, "teacher@b.example", people["password"])
    home = member.get(f"/communities/{plc.public_id}").get_data(as_text=True)
    assert "The turn" in home and url in home
    clip_page = member.get(url).get_data(as_text=True)
    src = re.search(r'<video id="clip-player"[^>]* src="([^"]+)"', clip_page).group(1).replace("&amp;", "&")
    assert 'data-offset="1.0"' in clip_page and 'id="comment-form"' not in clip_page  # view right only
    if src.startswith("/media/"):
        assert member.get(src).status_code == 200
    assert member.get(f"/videos/{video.public_id}").status_code == 404
    captions = member.get(url + "/captions.vtt")
    assert captions.status_code == 200
    # A member who leaves loses the clip, and the copied media link with it.
    member.post(f"/communities/{plc.public_id}/members/{people['other_teacher'].id}/remove",
                data={"csrf_token": csrf_token(member, f"/communities/{plc.public_id}")})
    assert member.get(url).status_code == 404
    if src.startswith("/media/"):
        assert member.get(src).status_code == 403  # their own link, on their own session
        assert app.test_client().get(src).status_code == 404
    outsider = signed_in(app, "colleague@a.example", people["password"])
    assert outsider.get(f"/communities/{plc.public_id}").status_code == 404
    assert outsider.post(f"/communities/{plc.public_id}/members",
                         data={"email": "colleague@a.example", "csrf_token": csrf_token(outsider, "/communities/")}
                         ).status_code == 404
    fac = signed_in(app, "plc@a.example", people["password"])
    token = csrf_token(fac, "/communities/")
    made = fac.post("/communities/", data={"name": "קהילת מדעים", "csrf_token": token})
    assert made.status_code == 302 and "/communities/" in made.headers["Location"]
    assert "קהילת מדעים" in fac.get("/communities/").get_data(as_text=True)


def test_communities_and_sharing_api_with_bad_input(app, session, people, video):
    other_id, video_id = people["other_teacher"].id, video.public_id

    def client_for(email):
        c = signed_in(app, email, people["password"])
        return c, {"X-CSRFToken": csrf_token(c, "/communities/")}

    fac, fh = client_for("plc@a.example")
    assert fac.post("/api/v1/communities/", json={"name": ""}, headers=fh).status_code == 422
    made = fac.post("/api/v1/communities/", json={"name": "مجتمع الرياضيات"}, headers=fh)
    assert made.status_code == 201
    cid = made.get_json()["id"]
    assert fac.post(f"/api/v1/communities/{cid}/members", json={"email": "ghost@x.example"},
                    headers=fh).status_code == 404
    assert fac.post(f"/api/v1/communities/{cid}/members", json={"email": "teacher@a.example", "role": "boss"},
                    headers=fh).status_code == 422
    for email in ("teacher@a.example", "teacher@b.example"):
        assert fac.post(f"/api/v1/communities/{cid}/members", json={"email": email}, headers=fh).status_code == 201
    teacher, th = client_for("teacher@a.example")
    api = f"/api/v1/videos/{video_id}"
    blocked = teacher.post(api + "/shares", json={"community": cid, "right": "view"}, headers=th)
    assert blocked.status_code == 409 and "community" in blocked.get_json()["detail"]
    assert teacher.put(api + "/consent", json={"status": "maybe"}, headers=th).status_code == 422
    assert teacher.put(api + "/consent", json={"status": "full", "note": "forms"}, headers=th).status_code == 200
    both = teacher.post(api + "/shares", json={"community": cid, "email": "coach@a.example", "right": "view"},
                        headers=th)
    assert both.status_code == 422 and "not both" in both.get_json()["detail"]
    assert teacher.post(api + "/shares", json={"email": "ghost@x.example", "right": "view"},
                        headers=th).status_code == 404
    assert teacher.post(api + "/shares", json={"email": "coach@a.example", "right": "own"},
                        headers=th).status_code == 422
    assert teacher.post(api + "/shares", json={"community": cid, "right": "view"}, headers=th).status_code == 201
    clip = teacher.post(api + "/clips", json={"title": "Turn", "start": "0:01", "end": "0:09"}, headers=th)
    assert clip.status_code == 422 and "after the end" in clip.get_json()["detail"]
    clip = teacher.post(api + "/clips", json={"title": "Turn", "start": 1, "end": 3}, headers=th)
    assert clip.status_code == 201
    clip_id = clip.get_json()["id"]
    shared = teacher.post(f"/api/v1/videos/clips/{clip_id}/shares", json={"email": "colleague@a.example",
                                                                          "right": "comment"}, headers=th)
    assert shared.status_code == 201 and shared.get_json()["clip"] == clip_id
    member, mh = client_for("teacher@b.example")
    listing = member.get(f"/api/v1/communities/{cid}/shared").get_json()
    assert [(i["kind"], i["id"]) for i in listing] == [("lesson", video_id)]
    assert member.post(f"/api/v1/videos/clips/{clip_id}/shares", json={"email": "plc@a.example", "right": "view"},
                       headers=mh).status_code == 403  # sees the clip through the lesson, may not share it
    colleague, oh = client_for("colleague@a.example")
    got = colleague.get(f"/api/v1/videos/clips/{clip_id}").get_json()
    assert got["title"] == "Turn" and got["media_url"] is None  # not cut yet: nothing rather than the lesson
    huge = colleague.post(f"/api/v1/videos/clips/{clip_id}/comments", json={"body": "x" * 100_000, "start": 2},
                          headers=oh)
    assert huge.status_code == 422
    xss = colleague.post(f"/api/v1/videos/clips/{clip_id}/comments",
                         json={"body": "<script>alert(1)</script>", "start": 2}, headers=oh)
    assert xss.status_code == 201
    page = colleague.get(f"/videos/clips/{clip_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert colleague.get(api).status_code == 404
    assert fac.delete(f"/api/v1/communities/{cid}/members/{other_id}", headers=fh).status_code == 204
    assert member.get(f"/api/v1/communities/{cid}").status_code == 404


def test_a_reply_to_an_impossible_comment_id_is_refused_with_a_message(app, client, session, people, video):
    clip = clips.create_clip(session, people["teacher"], video.public_id, title="Turn", start=1, end=3)
    session.commit()
    pages = (f"/videos/{video.public_id}", f"/videos/clips/{clip.public_id}")
    login(client, "teacher@a.example", people["password"])
    for page in pages:
        token = csrf_token(client, page)
        for parent_id in ("99999999999999999999", "12a"):  # beyond any 64-bit id (PostgreSQL would overflow)
            resp = client.post(page + "/comments", data={"body": "x", "start": "2", "parent_id": parent_id,
                                                         "csrf_token": token}, follow_redirects=True)
            assert resp.status_code == 200 and "There is no such comment to reply to." in resp.get_data(as_text=True)
    assert feedback.threads(session, people["teacher"], video.public_id) == []  # nothing was stored
