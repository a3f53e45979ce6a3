"""A lesson's pages and API read it in a fixed number of SQL queries, however many comments and transcript
lines it has: ten times the feedback must not mean ten times the round trips (bench/web.py measures the time)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app import db
from app.feedback.models import Comment, ObservationFramework
from app.sharing import service as sharing
from app.video.models import Clip, Segment, Transcript, Video, VideoStatus
from tests.web import login


@pytest.fixture
def framework(session):
    row = ObservationFramework(key="talk", version=1, title="Talk", current=True, data={
        "key": "talk", "version": 1, "title": "Talk",
        "dimensions": [{"key": "reasoning", "title": "Reasoning", "elements": [
            {"key": "justify", "title": "Students justify"}, {"key": "build", "title": "Building on ideas"}]}]})
    session.add(row)
    session.commit()
    return row


def lesson(session, people, n: int) -> Video:
    """A processed lesson (no media files) with `n` transcript lines and `n` comments: threads and replies, tagged
    and not, by the owner and a colleague it is shared with, some given on a clip, one thread deleted."""
    owner, colleague = people["teacher"], people["colleague"]
    video = Video(owner=owner, title=f"Lesson {n}", status=VideoStatus.ready, duration=10.0 * n + 60,
                  has_video=True, consent="full")
    session.add(video)
    session.flush()
    transcript = Transcript(video=video, language="en", model="small")
    session.add(transcript)
    session.add_all(Segment(transcript=transcript, position=i, start=10.0 * i, end=10.0 * i + 9, text=f"line {i}",
                            corrected="fixed" if i == 1 else None,
                            words=[{"start": 10.0 * i, "end": 10.0 * i + 4, "text": "line", "p": 0.9},
                                   {"start": 10.0 * i + 5, "end": 10.0 * i + 9, "text": f" {i}", "p": 0.8}])
                    for i in range(n))
    sharing.share(session, owner, video.public_id, colleague.email, "comment", quiet=True)
    clip = Clip(video=video, creator=owner, title="A moment", start=0.0, end=30.0)
    session.add(clip)
    tops: list[Comment] = []
    for i in range(n):
        author = (owner, colleague)[i % 2]
        if i % 3 == 2:
            parent = tops[-1]
            session.add(Comment(video=video, author=author, parent_id=parent.id, start=parent.start, body=f"reply {i}",
                                tags=[], clip=parent.clip))
            continue
        tags = [{"framework": "talk", "version": 1, "element": ("justify", "build")[i % 2]}] if i % 2 else []
        comment = Comment(video=video, author=author, start=10.0 * i, body=f"comment {i}", tags=tags,
                          clip=clip if i % 9 == 0 else None)
        session.add(comment)
        session.flush()
        tops.append(comment)
    tops[1].deleted_at, tops[1].body, tops[1].tags = video.created_at, "", []  # deleted, but kept for its reply
    session.commit()
    return video


@contextmanager
def counting():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.session().get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def queries(app, client, path: str) -> tuple[int, int]:
    """SQL statements one read of `path` makes when this process has kept nothing of the lesson (a lesson read for
    the first time, or changed since), and when it has (app.cache: the same read again)."""
    assert client.get(path).status_code == 200  # first: a page view is recorded once, the user's caches warm up
    app.extensions["classlab.cache"].clear()
    counts = []
    for _ in range(2):
        with counting() as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counts.append(len(statements))
    return counts[0], counts[1]


@pytest.mark.parametrize("who", ["teacher", "colleague"])
def test_a_lessons_reads_make_as_many_queries_for_100_comments_as_for_10(app, client, session, people, framework,
                                                                         who):
    small, large = lesson(session, people, 10), lesson(session, people, 100)
    login(client, people[who].email, people["password"])
    pages = {
        "comments": "/api/v1/videos/{}/comments",
        "transcript": "/api/v1/videos/{}/transcript",
        "watch page": "/videos/{}",
        "captions": "/videos/{}/captions.vtt",
    }
    counts = {name: (queries(app, client, path.format(small.public_id)),
                     queries(app, client, path.format(large.public_id))) for name, path in pages.items()}
    assert all(few == many for few, many in counts.values()), counts
    # The counts themselves, so that a new per-request query is a decision, not an accident. Every read: the user,
    # then the lesson (with its transcript's row, or its files) and, for a colleague, the share that lets them in.
    # The lesson's row carries the versions of its feedback and transcript: what the process kept under them
    # needs no more (the second number); the first read of a version also reads the threads, their replies and
    # authors (comments), or the lines (transcript, captions).
    shares = 0 if who == "teacher" else 1
    assert counts["comments"][0] == (5 + shares, 2 + shares), counts
    assert counts["transcript"][0] == (3 + shares, 2 + shares), counts
    assert counts["captions"][0] == (3 + shares, 2 + shares), counts
    # The page also reads the stored frameworks' ids, the clips, the unread notifications and the rehearsals that
    # named this lesson as where a move would be tried (issue 13); the owner's page the shares and the communities
    # to share with. A colleague's page asks the shares once, whatever it asks them
    # (may they view, comment, see the clips): the answer holds for the rest of the unit of work. And whether the
    # lesson has analytics this reader may see (issue 16): one query, whoever reads.
    watch = counts["watch page"][0]
    assert watch[1] == (9 if who == "teacher" else 8), counts
    # What the first read of a version adds: threads, replies, authors; lines; the current frameworks and the tag
    # chart's titles; and whether this viewer's view was recorded lately (then remembered by the process).
    assert watch[0] - watch[1] == 7, counts


def test_the_comments_list_keeps_its_shape(client, session, people, framework):
    """The list written without marshmallow keeps CommentOut's fields, replies nested, the deleted thread kept."""
    video = lesson(session, people, 10)
    login(client, people["colleague"].email, people["password"])
    threads = client.get(f"/api/v1/videos/{video.public_id}/comments").get_json()
    assert [t["start"] for t in threads] == sorted(t["start"] for t in threads)
    first = next(t for t in threads if t["deleted"])
    assert first["body"] == "" and [r["body"] for r in first["replies"]] == ["reply 2"]
    assert set(first) == {"id", "parent_id", "start", "end", "body", "quote", "tags", "author", "author_id",
                          "created_at", "edited_at", "deleted", "replies"}
    assert set(first["replies"][0]) == set(first) - {"replies"}
    tagged = next(t for t in threads if t["tags"])
    assert tagged["tags"] == [{"framework": "talk", "version": 1, "element": "build"}]
    assert {t["author"] for t in threads} == {"Noa Levi", "Dana Cohen"}
    transcript = client.get(f"/api/v1/videos/{video.public_id}/transcript").get_json()
    line = transcript["segments"][1]
    assert line == {"position": 1, "start": 10.0, "end": 19.0, "text": "fixed", "original": "line 1",
                    "corrected": True, "words": [{"start": 10.0, "end": 14.0, "text": "line", "p": 0.9},
                                                 {"start": 15.0, "end": 19.0, "text": " 1", "p": 0.8}]}


def test_the_lesson_list_and_dashboard_make_as_many_queries_for_20_lessons_as_for_2(app, client, session, people):
    """Thumbnails are one query for all the posters of a list, not one per lesson."""
    from app.video import service

    teacher = people["teacher"]
    login(client, teacher.email, people["password"])

    def add(n: int) -> None:
        for i in range(n):
            video = Video(owner=teacher, title=f"Lesson {i}", status=VideoStatus.ready, duration=60.0, has_video=True)
            session.add(video)
            session.flush()
            for kind in ("poster", "web", "storyboard"):
                service.put_asset(session, video, kind, f"videos/{video.public_id}/transcode/{kind}.jpg", 10,
                                  "image/jpeg")
        session.commit()

    add(2)
    few = {path: queries(app, client, path) for path in ("/videos/", "/dashboard")}
    add(18)
    many = {path: queries(app, client, path) for path in ("/videos/", "/dashboard")}
    assert client.get("/videos/").get_data(as_text=True).count('<img src="') == 20
    assert few == many, (few, many)
