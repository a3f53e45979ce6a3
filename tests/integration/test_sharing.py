"""Sharing with consent, revocable media links, and the audit log."""

from __future__ import annotations

import pytest

from app import authz
from app.errors import Conflict, InvalidInput, NotFound
from app.feedback import service as feedback
from app.sharing import service as sharing
from app.video import service
from app.video.models import Video
from tests import builders
from tests.web import csrf_token, login, signed_in


@pytest.fixture
def video(app, session, people, lesson_file):
    return builders.processed_video(app, session, people["teacher"], lesson_file(3), "Shared")


ROLES = ["teacher", "coach", "colleague", "other_teacher", "leader", "admin"]


def test_private_by_default_and_consent_gates_sharing(session, people, video):
    for who in ROLES[1:]:
        assert not authz.may(people[who], "view", video)
    with pytest.raises(Conflict, match="full consent"):
        sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    sharing.set_consent(session, people["teacher"], video.public_id, "full", "forms signed 1.9")
    with pytest.raises(NotFound, match="no ClassLab user"):
        sharing.share(session, people["teacher"], video.public_id, "nobody@x.example", "view")
    with pytest.raises(InvalidInput, match="own video"):
        sharing.share(session, people["teacher"], video.public_id, "teacher@a.example", "view")
    with pytest.raises(InvalidInput, match="not 'edit'"):
        sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "edit")
    with pytest.raises(NotFound):  # only the owner shares
        sharing.share(session, people["colleague"], video.public_id, "coach@a.example", "view")
    sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    sharing.share(session, people["teacher"], video.public_id, "colleague@a.example", "view")
    session.commit()


# (role, action) -> allowed, once the video has full consent, the coach may comment and the colleague view.
MATRIX = {
    "teacher": {"view", "comment", "download", "share", "delete", "audit", "edit"},
    "coach": {"view", "comment"},
    "colleague": {"view"},
    "other_teacher": set(),
    "leader": set(),
    "admin": set(),
}
ACTIONS = ["view", "comment", "download", "share", "delete", "audit", "edit"]


@pytest.mark.parametrize("who", ROLES)
def test_authorization_matrix_for_a_shared_video(session, people, video, who):
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    sharing.share(session, people["teacher"], video.public_id, "colleague@a.example", "view")
    session.commit()
    for action in ACTIONS:
        assert authz.may(people[who], action, video) is (action in MATRIX[who]), (who, action)
    listed = {v.public_id for v in service.list_videos(session, people[who])}
    assert (video.public_id in listed) is ("view" in MATRIX[who])
    transcript_ok = authz.may(people[who], "view", video.transcript)
    assert transcript_ok is ("view" in MATRIX[who])
    for asset in video.assets:
        assert authz.may(people[who], "view", asset) is ("view" in MATRIX[who])


def test_withdrawing_consent_or_a_share_stops_a_copied_media_link(app, client, session, people, video):
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    share = sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "comment")
    session.commit()
    coach = signed_in(app, "coach@a.example", people["password"])
    page = coach.get(f"/videos/{video.public_id}").get_data(as_text=True)
    import re

    link = re.search(r'<source src="([^"]+)"', page).group(1).replace("&amp;", "&")
    local = link.startswith("/media/")
    if local:
        assert coach.get(link).status_code == 200
    else:  # S3 checks nothing but its signature: a presigned URL ends at its expiry, MEDIA_URL_SECONDS
        assert "X-Amz-Expires=900" in link  # MEDIA_URL_SECONDS: short, the watch page renews it
    feedback.add_comment(session, people["coach"], video.public_id, body="Nice wait time", start=1)
    sharing.revoke(session, people["teacher"], share.id)
    session.commit()
    if local:
        assert coach.get(link).status_code == 403  # the coach's own link, on the coach's session
        assert app.test_client().get(link).status_code == 404  # without that session it never worked
    assert coach.get(f"/videos/{video.public_id}").status_code == 404
    sharing.share(session, people["teacher"], video.public_id, "coach@a.example", "view")
    sharing.set_consent(session, people["teacher"], video.public_id, "partial", "one family withdrew")
    session.commit()
    assert coach.get(f"/videos/{video.public_id}").status_code == 404
    log = [(e.action, e.actor.email if e.actor else None) for e in
           sharing.audit_log(session, people["teacher"], video.public_id)]
    assert ("share", "teacher@a.example") in log and ("view", "coach@a.example") in log
    assert ("revoke", "teacher@a.example") in log and ("consent", "teacher@a.example") in log
    with pytest.raises(NotFound):
        sharing.audit_log(session, people["coach"], video.public_id)


def test_sharing_page_flow_and_comment_by_a_shared_coach(app, client, session, people, video):
    login(client, "teacher@a.example", people["password"])
    url = f"/videos/{video.public_id}"
    token = csrf_token(client, url)
    blocked = client.get(url).get_data(as_text=True)
    assert 'id="share-blocked"' in blocked
    client.post(url + "/consent", data={"status": "full", "note": "signed", "csrf_token": token})
    client.post(url + "/share", data={"email": "coach@a.example", "right": "comment", "csrf_token": token})
    unknown = client.post(url + "/share", data={"email": "ghost@x.example", "right": "view", "csrf_token": token},
                          follow_redirects=True)
    assert "no ClassLab user with the e-mail ghost@x.example" in unknown.get_data(as_text=True)
    coach = signed_in(app, "coach@a.example", people["password"])
    page = coach.get(url).get_data(as_text=True)
    assert 'id="comment-form"' in page and 'id="delete-form"' not in page and 'id="sharing"' not in page
    resp = coach.post(url + "/comments", data={"body": "Range at 0:01", "start": "0:01", "end": "0:02",
                                               "csrf_token": csrf_token(coach, url)})
    assert resp.status_code == 302
    assert "Range at 0:01" in client.get(url).get_data(as_text=True)
    assert client.get(url + "/audit").status_code == 200
    assert coach.get(url + "/audit").status_code == 403  # the coach sees the video, not its audit log
    assert coach.post(url + "/delete", data={"csrf_token": csrf_token(coach, url)}).status_code == 403


def test_a_reload_is_not_a_new_view_in_the_audit_log(client, session, people, video):
    url = f"/videos/{video.public_id}"
    login(client, "teacher@a.example", people["password"])
    for _ in range(3):  # the page reloads itself while a video is processed
        assert client.get(url).status_code == 200
    from sqlalchemy import select

    from app import db
    from app.accounts.models import User

    s = db.session()
    owner = s.scalar(select(User).where(User.email == "teacher@a.example"))
    public_id = s.scalar(select(Video.public_id))
    views = [e for e in sharing.audit_log(s, owner, public_id) if e.action == "view"]
    assert len(views) == 1


def test_saving_consent_on_the_page_confirms_it(client, session, people):
    from tests.builders import ready_video
    from tests.web import csrf_token, login

    video = ready_video(session, people["teacher"])
    login(client, people["teacher"].email, people["password"])
    url = f"/videos/{video.public_id}"
    resp = client.post(f"{url}/consent", data={"status": "full", "note": "", "csrf_token": csrf_token(client, url)},
                       follow_redirects=True)
    assert resp.status_code == 200 and "Consent saved." in resp.get_data(as_text=True)
