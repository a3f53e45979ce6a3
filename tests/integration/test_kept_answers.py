"""A lesson's comments a page at a time, and the answers each web process keeps (app.cache): revalidated with
ETags, never stale after a change made by any process, never shown to a reader who has lost access."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.feedback import service as feedback
from app.sharing import service as sharing
from tests import builders
from tests.web import bearer, csrf_token, login, signed_in

LINES = ("so what do you notice", "could someone explain why", "think about it with your partner")


@pytest.fixture
def lesson(session, people):
    """A ten-minute lesson with a transcript, shared with the colleague to comment."""
    video = builders.ready_video(session, people["teacher"], "Fractions", seconds=600.0)
    builders.transcribed_lines(session, video, *LINES)
    return builders.shared(session, video, "colleague@a.example")


def threads(session, people, video, n: int) -> list[int]:
    """n threads, one every 20 s, every third with a reply; their ids in the order a list shows them."""
    made = []
    for i in range(n):
        author = people["teacher"] if i % 2 else people["colleague"]
        comment = feedback.add_comment(session, author, video.public_id, body=f"thread {i}", start=20 * i + 1)
        if i % 3 == 0:
            feedback.add_comment(session, people["teacher"], video.public_id, body=f"reply {i}", parent_id=comment.id)
        made.append(comment.id)
    session.commit()
    return made


def links(resp) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', resp.headers.get("Link", ""))}


def comments_url(video) -> str:
    return f"/api/v1/videos/{video.public_id}/comments"


# ----------------------------------------------------------------------------------------------- pages


def test_the_comments_api_gives_threads_a_page_at_a_time_with_links(client, session, people, lesson):
    made = threads(session, people, lesson, 7)
    auth = bearer(session, people["colleague"])
    everything = client.get(comments_url(lesson), headers=auth)
    # An old client that never asks for a page gets the first 50 threads, the array it always got.
    assert everything.status_code == 200 and [t["id"] for t in everything.get_json()] == made
    assert everything.headers["X-Total-Count"] == "7" and "next" not in links(everything)
    assert [r["body"] for r in everything.get_json()[0]["replies"]] == ["reply 0"]

    seen, url, pages = [], comments_url(lesson) + "?limit=3", 0
    while url:
        resp = client.get(url, headers=auth)
        assert resp.status_code == 200 and len(resp.get_json()) <= 3
        seen += [t["id"] for t in resp.get_json()]
        url, pages = links(resp).get("next"), pages + 1
    assert seen == made and pages == 3
    last = client.get(comments_url(lesson) + "?page=3&limit=3", headers=auth)
    assert links(last)["prev"].endswith("page=2&limit=3") and links(last)["first"].endswith("page=1&limit=3")
    past = client.get(comments_url(lesson) + "?page=4&limit=3", headers=auth)
    assert past.status_code == 200 and past.get_json() == [] and "next" not in links(past)
    assert len(client.get(comments_url(lesson) + "?limit=200", headers=auth).get_json()) == 7


@pytest.mark.parametrize("query,field", [
    ("page=0", "page"), ("page=-1", "page"), ("page=two", "page"), ("page=1.5", "page"), ("page=", "page"),
    ("page=99999999999999999999999", "page"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=x", "limit"),
    ("limit=%00", "limit"),
])
def test_bad_page_arguments_are_refused_naming_the_field(client, session, people, lesson, query, field):
    resp = client.get(f"{comments_url(lesson)}?{query}", headers=bearer(session, people["teacher"]))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json", resp.get_data(as_text=True)
    body = resp.get_json()
    assert field in body.get("errors", {}).get("query", {}) or body.get("field") == field, body


def test_the_watch_page_shows_a_page_of_threads_and_links_to_the_next(client, session, people, lesson):
    made = threads(session, people, lesson, 25)
    login(client, "colleague@a.example", people["password"])
    url = f"/videos/{lesson.public_id}"
    first = client.get(url).get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<li class="comment" id="comment-(\d+)"', first)]
    assert shown == made[:20]
    assert f'href="{url}?page=2#feedback"' in first and 'id="earlier-comments"' not in first
    assert 'data-api="/api/v1/videos/' in first  # where player.js fetches the next pages
    second = client.get(f"{url}?page=2").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'<li class="comment" id="comment-(\d+)"', second)] == made[20:]
    assert f'href="{url}?page=1#feedback"' in second and 'id="more-comments"' not in second
    # A link to one comment opens the page that holds it, a reply's too.
    reply = feedback.threads(session, people["colleague"], lesson.public_id)[21].replies[0]
    session.commit()  # ends the read's transaction: its connection goes back to the pool
    held = client.get(f"{url}?comment={reply.id}").get_data(as_text=True)
    assert f'id="comment-{reply.id}"' in held and f'id="comment-{made[0]}"' not in held
    for bad in ("page=0", "page=x", "comment=x", "comment=0"):
        assert client.get(f"{url}?{bad}").status_code == 422, bad
    # A comment added from the page goes back to the page that shows it.
    resp = client.post(f"{url}/comments", data={"body": "late thought", "start": "9:59",
                                                "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 302 and re.search(r"\?comment=(\d+)#comment-\1$", resp.headers["Location"])
    assert "late thought" in client.get(resp.headers["Location"]).get_data(as_text=True)


# ----------------------------------------------------------------------------------------------- ETags


def test_answers_carry_an_etag_and_a_client_that_has_them_gets_304(client, session, people, lesson):
    threads(session, people, lesson, 2)
    auth = bearer(session, people["teacher"])
    transcript = f"/api/v1/videos/{lesson.public_id}/transcript"
    for path in (comments_url(lesson), comments_url(lesson) + "?limit=1", transcript):
        first = client.get(path, headers=auth)
        tag = first.headers["ETag"]
        assert first.status_code == 200 and re.fullmatch(r'"[0-9a-f]{32}"', tag)
        assert first.headers["Cache-Control"] == "private, no-cache"
        again = client.get(path, headers={**auth, "If-None-Match": tag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag
        assert client.get(path, headers={**auth, "If-None-Match": '"other"'}).status_code == 200
    # A new comment is a new list; a correction is a new transcript (and new captions).
    old = client.get(comments_url(lesson), headers=auth).headers["ETag"]
    assert client.post(comments_url(lesson), json={"body": "new", "start": 5}, headers=auth).status_code == 201
    fresh = client.get(comments_url(lesson), headers={**auth, "If-None-Match": old})
    assert fresh.status_code == 200 and "new" in [t["body"] for t in fresh.get_json()]
    login(client, "teacher@a.example", people["password"])
    captions = f"/videos/{lesson.public_id}/captions.vtt"
    old_transcript = client.get(transcript, headers=auth).headers["ETag"]
    old_captions = client.get(captions)
    assert old_captions.status_code == 200 and old_captions.mimetype == "text/vtt"
    assert client.get(captions, headers={"If-None-Match": old_captions.headers["ETag"]}).status_code == 304
    corrected = client.put(f"{transcript}/1", json={"text": "could someone explain it"}, headers=auth)
    assert corrected.status_code == 200
    fresh = client.get(transcript, headers={**auth, "If-None-Match": old_transcript})
    assert fresh.status_code == 200 and fresh.get_json()["segments"][1]["text"] == "could someone explain it"
    fresh = client.get(captions, headers={"If-None-Match": old_captions.headers["ETag"]})
    assert fresh.status_code == 200 and "could someone explain it" in fresh.get_data(as_text=True)
    download = client.get(f"/videos/{lesson.public_id}/transcript.srt")
    assert "could someone explain it" in download.get_data(as_text=True)
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_client_that_accepts_gzip_gets_the_answer_gzipped_under_a_tag_of_its_own(client, session, people, lesson):
    import gzip

    threads(session, people, lesson, 30)
    auth = bearer(session, people["teacher"])
    small = client.get(f"/api/v1/videos/{lesson.public_id}/transcript", headers={**auth, "Accept-Encoding": "gzip"})
    assert len(small.data) < 1400 and "Content-Encoding" not in small.headers  # one packet either way
    for path in (comments_url(lesson), comments_url(lesson) + "?limit=20"):
        plain = client.get(path, headers=auth)
        packed = client.get(path, headers={**auth, "Accept-Encoding": "gzip, br"})
        assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.data) == plain.data
        assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
        assert packed.headers["ETag"] != plain.headers["ETag"]
        again = client.get(path, headers={**auth, "Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
        assert again.status_code == 304
        # The plain representation's tag does not stand for the gzipped one.
        other = client.get(path, headers={**auth, "Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]})
        assert other.status_code == 200


# ------------------------------------------------------------------------------------------ invalidation


def test_a_change_made_through_one_process_is_seen_through_the_other(app, settings, session, people, lesson):
    """Two web processes (gunicorn's workers): each keeps its own answers, and the database is all they share."""
    other = create_app(settings)
    one, two = app.test_client(), other.test_client()
    auth = bearer(session, people["teacher"])
    base = comments_url(lesson)

    def bodies(client) -> list:
        return [(t["body"], [r["body"] for r in t["replies"]]) for t in client.get(base, headers=auth).get_json()]

    assert bodies(one) == bodies(two) == []
    made = one.post(base, json={"body": "first", "start": 1}, headers=auth).get_json()
    assert bodies(two) == bodies(one) == [("first", [])]
    reply = two.post(base, json={"body": "a reply", "parent_id": made["id"]}, headers=auth).get_json()
    assert bodies(one) == [("first", ["a reply"])]
    assert one.patch(f"/api/v1/videos/comments/{made['id']}", json={"body": "edited"}, headers=auth).status_code == 200
    assert bodies(two) == [("edited", ["a reply"])]
    assert two.delete(f"/api/v1/videos/comments/{reply['id']}", headers=auth).status_code == 204
    assert bodies(one) == [("edited", [])]
    assert one.delete(f"/api/v1/videos/comments/{made['id']}", headers=auth).status_code == 204
    assert bodies(two) == []
    # The page's forms change the same lists, and the watch page of the other process shows it.
    login(one, "teacher@a.example", people["password"])
    login(two, "teacher@a.example", people["password"])
    page = f"/videos/{lesson.public_id}"
    assert "No feedback yet." in two.get(page).get_data(as_text=True)
    one.post(page + "/comments", data={"body": "from the page", "start": "0:02", "csrf_token": csrf_token(one, page)})
    assert "from the page" in two.get(page).get_data(as_text=True)
    assert bodies(two) == [("from the page", [])]
    # A new name is part of what is shown.
    people["teacher"].display_name = "Noa Levi-Cohen"
    session.commit()
    assert two.get(base, headers=auth).get_json()[0]["author"] == "Noa Levi-Cohen"
    assert "Noa Levi-Cohen" in one.get(page).get_data(as_text=True)


def test_a_transcript_written_again_is_a_new_version(client, session, people, lesson):
    """As the worker does when it transcribes again: the old lines deleted in SQL, new ones added."""
    from sqlalchemy import delete

    from app.video.models import Segment, Transcript

    auth = bearer(session, people["teacher"])
    path = f"/api/v1/videos/{lesson.public_id}/transcript"
    before = client.get(path, headers=auth)
    assert [x["text"] for x in before.get_json()["segments"]] == list(LINES)
    transcript = session.query(Transcript).filter_by(video_id=lesson.id).one()
    version = transcript.version
    session.execute(delete(Segment).where(Segment.transcript_id == transcript.id))
    session.add(Segment(transcript=transcript, position=0, start=0.0, end=4.0, text="a better model heard this",
                        words=[]))
    session.commit()
    assert transcript.version == version + 1
    session.commit()  # ends the transaction the version's read began
    after = client.get(path, headers={**auth, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and [x["text"] for x in after.get_json()["segments"]] == [
        "a better model heard this"]


@pytest.mark.parametrize("how", ["share withdrawn", "consent withdrawn"])
def test_a_reader_who_lost_access_gets_nothing_that_was_kept(app, session, people, lesson, how):
    threads(session, people, lesson, 3)
    colleague = signed_in(app, "colleague@a.example", people["password"])
    paths = [comments_url(lesson), f"/api/v1/videos/{lesson.public_id}/transcript", f"/videos/{lesson.public_id}",
             f"/videos/{lesson.public_id}/captions.vtt"]
    tags = {}
    for path in paths:
        for _ in range(2):  # the second read is served from what the process kept
            resp = colleague.get(path)
            assert resp.status_code == 200, path
        tags[path] = resp.headers.get("ETag")
    owner = signed_in(app, "teacher@a.example", people["password"])
    page = f"/videos/{lesson.public_id}"
    if how == "share withdrawn":
        share = sharing.shares_of(session, lesson)[0]
        session.commit()  # ends the read's transaction: its connection goes back to the pool
        resp = owner.post(f"/videos/shares/{share.id}/revoke", data={"csrf_token": csrf_token(owner, page)})
    else:
        resp = owner.post(f"{page}/consent", data={"status": "partial", "csrf_token": csrf_token(owner, page)})
    assert resp.status_code == 302
    for path in paths:
        assert colleague.get(path).status_code == 404, path
        if tags[path]:
            assert colleague.get(path, headers={"If-None-Match": tags[path]}).status_code == 404, path
    assert owner.get(comments_url(lesson)).status_code == 200


# ----------------------------------------------------------------------------------------- the page kept whole


def _watch_renders(app):
    """How many times the watch page's template is rendered (a page served from what was kept is not)."""
    from flask import template_rendered

    seen = []

    def count(_sender, template, context, **_extra):
        if template.name == "video/watch.html":
            seen.append(1)

    template_rendered.connect(count, app, weak=False)
    return seen


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_the_watch_page_is_kept_whole_with_each_views_token_and_links(app, session, people, lesson):
    """Two sessions of the same person (a laptop and a phone): the second view of each is served from what was
    kept, yet each page carries its own session's CSRF token and freshly signed links, and its forms work."""
    builders.with_original(app, session, lesson, b"not really a video")
    threads(session, people, lesson, 2)
    renders = _watch_renders(app)
    laptop = signed_in(app, "teacher@a.example", people["password"])
    phone = signed_in(app, "teacher@a.example", people["password"])
    page = f"/videos/{lesson.public_id}"
    first = laptop.get(page).get_data(as_text=True)
    again = laptop.get(page).get_data(as_text=True)
    on_phone = phone.get(page).get_data(as_text=True)
    assert len(renders) == 1, "the second view and the other session's are served from what was kept"
    for html in (first, again, on_phone):
        assert "\ue000" not in html and "thread 1" in html and "Download the original" in html
        assert html.count(_token(html)) >= 6  # the layout's forms, the comment form, each thread's, data-csrf
    assert _token(on_phone) != _token(first)
    assert re.sub(r'value="[^"]+"|data-csrf="[^"]+"|href="/media/[^"]+"|src="/media/[^"]+"', "", again) == \
        re.sub(r'value="[^"]+"|data-csrf="[^"]+"|href="/media/[^"]+"|src="/media/[^"]+"', "", first)
    download = re.search(r'<a href="([^"]+)">Download the original', on_phone).group(1).replace("&amp;", "&")
    if download.startswith("http"):  # S3's own signed link
        import urllib.request

        with urllib.request.urlopen(download, timeout=30) as got:
            assert got.read() == b"not really a video"
    else:  # the app's media view, for this session's user
        assert phone.get(download).get_data() == b"not really a video"
    # Each session's kept page posts with that session's token.
    resp = phone.post(f"{page}/comments", data={"body": "from the phone", "start": "0:03",
                                                "csrf_token": _token(on_phone)})
    assert resp.status_code == 302
    assert "from the phone" in laptop.get(page).get_data(as_text=True)
    assert laptop.post(f"{page}/comments", data={"body": "stale", "start": "0:01", "csrf_token": _token(on_phone)}
                       ).status_code == 400


def test_whatever_the_watch_page_shows_changes_it_at_the_next_view(app, session, people, lesson):
    """Each change to something the page shows, made by anyone, is on the owner's next view of a kept page."""
    from app.notifications.service import notify

    owner = signed_in(app, "teacher@a.example", people["password"])
    page = f"/videos/{lesson.public_id}"

    def view() -> str:
        owner.get(page)  # the first view after the change may render; the next is the kept one
        return owner.get(page).get_data(as_text=True)

    assert "No clips yet." in view() and 'class="badge"' not in view()
    builders.clip(session, people["colleague"], lesson, "The number line moment", 10, 40)
    assert "The number line moment" in view()
    people["colleague"].display_name = "Dana Cohen-Haddad"
    session.commit()
    assert "Dana Cohen-Haddad" in view()  # the share list names her
    builders.community(session, people["facilitator"], "Fractions PLC", ("teacher@a.example",))
    assert "Fractions PLC" in view()  # a community the lesson can be shared with
    sharing.set_consent(session, people["teacher"], lesson.public_id, "partial", "two students opted out")
    session.commit()
    assert "two students opted out" in view() and 'id="share-blocked"' in view()
    badge = re.compile(r'<span class="badge">(\d+)<span class="visually-hidden"> unread</span></span>')
    before = int(badge.search(view()).group(1))  # being added to the community told her so
    notify(session, people["teacher"], "comment", {"author": "Dana", "video_title": "Fractions"}, page)
    session.commit()
    assert int(badge.search(view()).group(1)) == before + 1
    # A message after a form is shown once, and the page after it is kept again.
    owner.post(f"{page}/consent", data={"status": "full", "note": "", "csrf_token": _token(view())})
    shown_once = owner.get(page).get_data(as_text=True)
    assert "Consent saved." in shown_once and "Consent saved." not in view()
    # Another language is another page.
    owner.post("/language", data={"locale": "he", "next": page, "csrf_token": _token(view())})
    assert 'dir="rtl"' in view() and "הסכמה ושיתוף" in view()
