"""A lesson's feedback as shown to whoever may see the lesson: read once per feedback version, serialized
once, served in pages (no Flask here).

    comments_page(cache, session, actor, public_id, page, limit)  -> Page (a JSON array of threads, its ETag)
    lesson_feedback(cache, session, video)  -> LessonFeedback (threads, each as CommentOut JSON), for a lesson
                                               the caller has loaded through authz (the watch page)

Everyone who may view a lesson sees the same threads on it (feedback follows its lesson, app.feedback.policy),
so there is one visibility class per lesson and the lesson's `feedback_version` is the whole key. The caller
authorizes the reader on every request (`comments_page` does it itself) and loads the lesson for it: the version
the lesson's row carries was read before any comment is, so what is kept under a version is never older than
that version (app.cache).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.cache import AnswerCache, Body
from app.feedback.models import Comment
from app.feedback.schemas import DEFAULT_PAGE
from app.feedback.service import ShownComment, threads_where
from app.video import service
from app.video.models import Video

JSON = "application/json"

_TAG_KEYS = ("framework", "version", "element")


def comment_out(c: ShownComment, *, replies: bool) -> dict:
    """One CommentOut (app.feedback.api: the schema stays the contract and the documentation), built by hand:
    marshmallow took longer over 500 comments than reading them."""
    out = {"id": c.id, "parent_id": c.parent_id, "start": c.start, "end": c.end, "body": c.body, "quote": c.quote,
           "tags": [{k: t[k] for k in _TAG_KEYS if k in t} for t in c.tags], "author": c.author.display_name,
           "author_id": c.author_id,
           "created_at": c.created_at.isoformat(), "edited_at": c.edited_at.isoformat() if c.edited_at else None,
           "deleted": c.deleted_at is not None}
    if replies:
        out["replies"] = [comment_out(r, replies=False) for r in c.replies]
    return out


@dataclass(frozen=True, slots=True)
class LessonFeedback:
    """The lesson's threads in time order (replies nested), and each thread as its JSON text."""

    version: int
    threads: tuple[ShownComment, ...]
    items: tuple[str, ...]

    @property
    def size(self) -> int:
        # The JSON texts, and about as much again for the objects they were written from.
        return 2 * sum(len(i) for i in self.items) + 200


def lesson_feedback(cache: AnswerCache, session: Session, video: Video) -> LessonFeedback:
    version = video.feedback_version  # read with the lesson's row, before the comments

    def read() -> tuple[LessonFeedback, int]:
        threads = tuple(threads_where(session, Comment.video_id == video.id))
        items = tuple(json.dumps(comment_out(c, replies=True), separators=(",", ":")) for c in threads)
        found = LessonFeedback(version, threads, items)
        return found, found.size

    return cache.get_or_make(("feedback", video.public_id, video.id, version), read)


@dataclass(frozen=True, slots=True)
class Page:
    body: Body
    number: int
    limit: int
    total: int  # threads on the lesson

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def comments_page(cache: AnswerCache, session: Session, actor, public_id: str, number: int = 1,
                  limit: int = DEFAULT_PAGE) -> Page:
    """Threads (limit × (number - 1), limit × number] of the lesson, once `actor` may view it; past the last
    page, an empty array."""
    video = service.get_video(session, actor, public_id, assets=False)
    feedback = lesson_feedback(cache, session, video)
    first = (number - 1) * limit

    def write() -> tuple[Page, int]:
        body = Body.of("[" + ",".join(feedback.items[first:first + limit]) + "]\n", JSON)
        return Page(body, number, limit, len(feedback.items)), len(body) + 200

    if first >= len(feedback.items) and number > 1:
        return write()[0]  # past the end: not worth a place in the cache (nor a way to fill it)
    return cache.get_or_make(("comments page", video.public_id, video.id, feedback.version, number, limit), write)


def thread_page(feedback: LessonFeedback, number: int, limit: int = DEFAULT_PAGE) -> tuple[ShownComment, ...]:
    first = (number - 1) * limit
    return feedback.threads[first:first + limit]


def page_of(feedback: LessonFeedback, comment_id: int | None, limit: int = DEFAULT_PAGE) -> int | None:
    """The page (of `limit` threads) that shows this comment or reply; None when it is not shown."""
    if comment_id is None:
        return None
    for i, thread in enumerate(feedback.threads):
        if thread.id == comment_id or any(r.id == comment_id for r in thread.replies):
            return i // limit + 1
    return None
