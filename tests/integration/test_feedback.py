"""Timestamped feedback on a lesson: comments, ranges, replies, tags, and the bad input around them."""

from __future__ import annotations

import re

import pytest

from app.errors import InvalidInput, NotFound
from app.feedback import service as feedback
from app.feedback.models import Comment
from tests import builders
from tests.web import bearer, csrf_token, login, signed_in


@pytest.fixture
def video(app, session, people, lesson_file):
    return builders.processed_video(app, session, people["teacher"], lesson_file(4), "Lesson")


@pytest.fixture
def framework(session):
    return builders.talk_framework(session)


def test_point_and_range_comments_replies_and_tags(session, people, video, framework):
    teacher = people["teacher"]
    point = feedback.add_comment(session, teacher, video.public_id, body="Nice question here", start="0:02",
                                 tags=["talk:justify"])
    span = feedback.add_comment(session, teacher, video.public_id, body="Wait time", start=1, end=3.5,
                                quote="Good morning everyone")
    reply = feedback.add_comment(session, teacher, video.public_id, body="Agreed", parent_id=point.id)
    session.commit()
    assert (point.start, point.end) == (2.0, None) and (span.start, span.end) == (1.0, 3.5)
    assert point.tags == [{"framework": "talk", "version": 1, "element": "justify"}]
    assert reply.start == point.start and reply.parent_id == point.id
    threads = feedback.threads(session, teacher, video.public_id)
    assert [t.id for t in threads] == [span.id, point.id]  # ordered by time
    assert feedback.tag_summary(session, teacher, video.public_id) == {"talk:justify": 1}


@pytest.mark.parametrize(
    "kwargs,field,message",
    [
        ({"body": "x", "start": 99}, "start", "The time 1:39 is outside the lesson, which runs from 0:00 to"),
        ({"body": "x", "start": -1}, "start", "outside the lesson"),
        ({"body": "x", "start": 2, "end": 1}, "end", "must end after it starts"),
        ({"body": "x", "start": 1, "end": 60}, "end", "after the end of the lesson"),
        ({"body": "x", "start": "soon"}, "start", "minutes:seconds"),
        ({"body": "   ", "start": 1}, "body", "cannot be empty"),
        ({"body": "x" * 100_000, "start": 1}, "body", "at most 5000 characters"),
        ({"body": "x", "start": 1, "tags": ["talk:nope"]}, "tags", "Unknown framework element"),
    ],
)
def test_bad_comments_are_refused_with_the_field(session, people, video, framework, kwargs, field, message):
    with pytest.raises(InvalidInput, match=message) as err:
        feedback.add_comment(session, people["teacher"], video.public_id, **kwargs)
    assert err.value.field == field
    assert session.query(Comment).count() == 0


def test_only_the_author_edits_or_deletes_and_others_cannot_see_a_private_video(session, people, video):
    c = feedback.add_comment(session, people["teacher"], video.public_id, body="first", start=1)
    r = feedback.add_comment(session, people["teacher"], video.public_id, body="reply", parent_id=c.id)
    session.commit()
    for who in ("colleague", "other_teacher", "admin"):
        with pytest.raises(NotFound):
            feedback.add_comment(session, people[who], video.public_id, body="hi", start=1)
        with pytest.raises(NotFound):
            feedback.edit_comment(session, people[who], c.id, "hacked")
    feedback.edit_comment(session, people["teacher"], c.id, "first, edited")
    feedback.delete_comment(session, people["teacher"], c.id)  # has a reply: kept, marked deleted
    session.commit()
    assert session.get(Comment, c.id).deleted_at is not None and session.get(Comment, r.id) is not None
    feedback.delete_comment(session, people["teacher"], r.id)
    session.commit()
    assert feedback.threads(session, people["teacher"], video.public_id) == []


def test_the_watch_page_renders_comments_inert_with_markers(client, session, people, video, framework):
    login(client, "teacher@a.example", people["password"])
    url = f"/videos/{video.public_id}"
    token = csrf_token(client, url)
    resp = client.post(url + "/comments", data={"body": "<script>alert(1)</script> & <b>bold</b>", "start": "0:01",
                                                "end": "0:03", "tags": "talk:build", "csrf_token": token})
    assert resp.status_code == 302 and re.search(r"#comment-\d+$", resp.headers["Location"])
    page = client.get(url).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert 'class="marker range"' in page and "Reasoning › Building on ideas" in page
    assert ' style="' not in page  # the Content-Security-Policy forbids inline styles
    bad = client.post(url + "/comments", data={"body": "x", "start": "9:00", "csrf_token": token},
                      follow_redirects=True)
    assert "The time 9:00 is outside the lesson" in bad.get_data(as_text=True)


def test_comments_api_and_exports(client, session, people, video, framework):
    from app.video import captions

    auth = bearer(session, people["teacher"])
    base = f"/api/v1/videos/{video.public_id}/comments"
    made = client.post(base, json={"body": "Good pause", "start": "0:01", "end": 2, "tags": ["talk:justify"]},
                       headers=auth)
    assert made.status_code == 201 and made.get_json()["tags"][0]["element"] == "justify"
    cid = made.get_json()["id"]
    assert client.post(base, json={"body": "reply", "parent_id": cid}, headers=auth).status_code == 201
    bad = client.post(base, json={"body": "x", "start": 1, "end": 0.5}, headers=auth)
    assert bad.status_code == 422 and bad.get_json()["field"] == "end"
    listed = client.get(base, headers=auth).get_json()
    assert len(listed) == 1 and listed[0]["replies"][0]["body"] == "reply"
    edited = client.patch(f"/api/v1/videos/comments/{cid}", json={"body": "Good wait time"}, headers=auth)
    assert edited.status_code == 200 and edited.get_json()["edited_at"]
    other = bearer(session, people["colleague"], "other")
    assert client.patch(f"/api/v1/videos/comments/{cid}", json={"body": "x"}, headers=other).status_code == 404
    login(client, "teacher@a.example", people["password"])
    csv_text = client.get(f"/videos/{video.public_id}/comments.csv").get_data(as_text=True)
    assert "Good wait time" in csv_text and "talk:justify" in csv_text
    rows = client.get(f"/videos/{video.public_id}/comments.json").get_json()
    assert [r["body"] for r in rows] == ["Good wait time", "reply"]
    cues = captions.parse_webvtt(client.get(f"/videos/{video.public_id}/comments.vtt").get_data(as_text=True))
    assert [(c.start, c.end) for c in cues] == [(1.0, 2.0)]
    assert client.get(f"/videos/{video.public_id}/comments.pdf").status_code == 404


def test_clips_are_cut_named_played_from_the_lesson_and_follow_its_privacy(app, client, session, people, video):
    from app.sharing import service as sharing
    from app.video import clips

    with pytest.raises(InvalidInput, match="needs an end"):
        clips.create_clip(session, people["teacher"], video.public_id, title="x", start=1, end=None)
    with pytest.raises(InvalidInput, match="must end after it starts"):
        clips.create_clip(session, people["teacher"], video.public_id, title="x", start=2, end=1)
    with pytest.raises(InvalidInput, match="title of 1 to 300"):
        clips.create_clip(session, people["teacher"], video.public_id, title=" ", start=1, end=2)
    with pytest.raises(NotFound):
        clips.create_clip(session, people["colleague"], video.public_id, title="x", start=1, end=2)
    login(client, "teacher@a.example", people["password"])
    url = f"/videos/{video.public_id}"
    resp = client.post(url + "/clips", data={"title": "The key question", "start": "0:01", "end": "0:03",
                                             "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 302 and "/videos/clips/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "The key question" in page and "#t=1.0,3.0" in page and 'data-end="3.0"' in page
    assert "The key question" in client.get(url).get_data(as_text=True)
    other = signed_in(app, "colleague@a.example", people["password"])
    assert other.get(resp.headers["Location"]).status_code == 404
    sharing.set_consent(session, people["teacher"], video.public_id, "full")
    sharing.share(session, people["teacher"], video.public_id, "colleague@a.example", "view")
    session.commit()
    assert other.get(resp.headers["Location"]).status_code == 200
    clip_id = resp.headers["Location"].rsplit("/", 1)[1]
    denied = other.post(f"/videos/clips/{clip_id}/delete", data={"csrf_token": csrf_token(other, url)})
    assert denied.status_code == 403
    gone = client.post(f"/videos/clips/{clip_id}/delete", data={"csrf_token": csrf_token(client, url)})
    assert gone.status_code == 302 and client.get(resp.headers["Location"]).status_code == 404
