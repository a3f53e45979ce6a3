"""Timestamped feedback on a lesson: comments at a moment or over a range, threaded replies, tags from
observation frameworks (no Flask here)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import authz
from app.accounts.models import User
from app.db import utcnow
from app.errors import InvalidInput, Message, NotFound, msg
from app.feedback import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.feedback.models import Comment, ObservationFramework
from app.notifications.service import notify
from app.video import clips, service
from app.video.models import Clip
from app.video.timeline import check_times

BODY_MAX = 5000


def _text(body: str | None) -> str:
    body = unicodedata.normalize("NFC", (body or "").replace("\r\n", "\n")).strip()
    if not body:
        raise InvalidInput(msg("Write something: a comment cannot be empty."), field="body")
    if len(body) > BODY_MAX:
        raise InvalidInput(msg("A comment has at most %(most)d characters (this one has %(n)d).", most=BODY_MAX,
                               n=len(body)), field="body")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in body):
        raise InvalidInput(msg("A comment cannot contain control characters."), field="body")
    return body


def current_frameworks(session: Session) -> list[ObservationFramework]:
    return list(session.scalars(select(ObservationFramework).where(ObservationFramework.current.is_(True))
                                .order_by(ObservationFramework.title)))


def _tags(session: Session, tags: list[str] | None) -> list[dict]:
    """Tags arrive as 'framework:element'; each is pinned to the framework's current version."""
    if not tags:
        return []
    frameworks = {f.key: f for f in current_frameworks(session)}
    out = []
    for tag in dict.fromkeys(tags):
        key, _, element = str(tag).partition(":")
        framework = frameworks.get(key)
        elements = {e["key"] for d in (framework.data["dimensions"] if framework else []) for e in d["elements"]}
        if framework is None or element not in elements:
            raise InvalidInput(msg("Unknown framework element '%(tag)s'.", tag=tag), field="tags")
        out.append({"framework": key, "version": framework.version, "element": element})
    return out


def add_comment(session: Session, actor: User, public_id: str, *, body: str, start=None, end=None,
                parent_id: int | None = None, quote: str | None = None, tags: list[str] | None = None) -> Comment:
    video = service.get_video(session, actor, public_id, "view")
    parent = replied_to = None
    if parent_id is not None:
        parent, replied_to = reply_target(session, actor, parent_id, lambda c: c.video_id == video.id,
                                          msg("There is no such comment on this video."))
        start, end = parent.start, parent.end
    else:
        authz.require(actor, "comment", video, hide=False)
    start, end = check_times(video, start, end)
    quote = (quote or "").strip()[:2000] or None
    comment = Comment(video=video, author=actor, parent_id=parent.id if parent else None, start=start, end=end,
                      body=_text(body), quote=quote, tags=_tags(session, tags) if parent is None else [],
                      clip=parent.clip if parent else None)  # a reply stays in its thread's clip
    session.add(comment)
    session.flush()
    _tell(session, actor, comment, replied_to)
    return comment


def reply_target(session: Session, actor: User, parent_id: int, belongs,
                 missing: Message) -> tuple[Comment, Comment]:
    """For a reply: (the thread's top comment, whose times it takes; the comment answered, who is told)."""
    answered = session.get(Comment, parent_id)
    if answered is None or not belongs(answered):
        raise NotFound(missing)
    authz.require(actor, "reply", answered, hide=False)
    top = answered if answered.parent_id is None else session.get(Comment, answered.parent_id)
    return top, answered


def _tell(session: Session, actor: User, comment: Comment, replied_to: Comment | None) -> None:
    """A comment tells the lesson's owner; a reply also tells the author of the comment it answers. Never
    the writer, and only people who may see it (someone given only the clip is sent to the clip)."""
    video = comment.video
    recipients = [video.owner]
    if replied_to is not None and replied_to.deleted_at is None:
        recipients.insert(0, replied_to.author)
    kind = "comment" if replied_to is None else "reply"
    for user in {u.id: u for u in recipients}.values():
        if user.id == actor.id or not authz.may(user, "view", comment):
            continue
        if authz.may(user, "view", video) or comment.clip is None:
            title, link = video.title, f"/videos/{video.public_id}#comment-{comment.id}"
        else:
            title, link = comment.clip.title, f"/videos/clips/{comment.clip.public_id}#comment-{comment.id}"
        notify(session, user, kind, {"author": actor.display_name, "video_title": title}, link, actor=actor)


def get_comment(session: Session, actor: User, comment_id: int, action: str = "view") -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is not None and comment.deleted_at is not None:
        comment = None
    authz.require(actor, action, comment)
    return comment


def edit_comment(session: Session, actor: User, comment_id: int, body: str, tags: list[str] | None = None) -> Comment:
    comment = get_comment(session, actor, comment_id, "edit")
    comment.body = _text(body)
    if tags is not None and comment.parent_id is None:
        comment.tags = _tags(session, tags)
    comment.edited_at = utcnow()
    return comment


def delete_comment(session: Session, actor: User, comment_id: int) -> str:
    """A comment with replies keeps its place in the thread, marked deleted; one without goes.
    Returns the video's public id."""
    comment = get_comment(session, actor, comment_id, "delete")
    public_id = comment.video.public_id
    if any(r.deleted_at is None for r in comment.replies):
        comment.deleted_at, comment.body, comment.quote, comment.tags = utcnow(), "", None, []
        return public_id
    parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
    session.delete(comment)
    session.flush()
    if parent is not None:
        session.refresh(parent)
        if parent.deleted_at is not None and not any(r.deleted_at is None for r in parent.replies):
            session.delete(parent)  # the last reply of a deleted comment: nothing is left to show
    return public_id


def threads(session: Session, actor: User, public_id: str) -> list[ShownComment]:
    video = service.get_video(session, actor, public_id)
    return threads_where(session, Comment.video_id == video.id)


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a comment, as shown: a name, not a User (what is read for showing outlives the session)."""

    id: int
    display_name: str


@dataclass(slots=True, eq=False)
class ShownComment:
    """A comment as read for showing it: the page, the API, the exports and the tag charts only read, and a
    lesson's 500 comments as plain objects cost a fraction of as many ORM instances. They may be kept and shared
    between requests (app.feedback.shown): whoever holds one reads it and never changes it."""

    id: int
    parent_id: int | None
    clip_id: int | None
    author_id: int
    start: float
    end: float | None
    body: str
    quote: str | None
    tags: list
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    author: Author | None = None
    replies: list[ShownComment] = field(default_factory=list)


_SHOWN = (Comment.id, Comment.parent_id, Comment.clip_id, Comment.author_id, Comment.start, Comment.end, Comment.body,
          Comment.quote, Comment.tags, Comment.created_at, Comment.edited_at, Comment.deleted_at)


def threads_where(session: Session, condition) -> list[ShownComment]:
    """Top-level comments matching `condition` (a lesson's, a clip's) with their replies, in time order;
    a deleted comment stays only while it has replies. The caller has checked who may read them.

    Three queries whatever the number of comments: the threads, their replies, their authors."""
    top = Comment.parent_id.is_(None)
    tops = [ShownComment(*row) for row in session.execute(
        select(*_SHOWN).where(condition, top).order_by(Comment.start, Comment.created_at, Comment.id))]
    if not tops:
        return []
    by_id = {c.id: c for c in tops}
    replies = [ShownComment(*row) for row in session.execute(
        select(*_SHOWN).where(Comment.parent_id.in_(select(Comment.id).where(condition, top)))
        .order_by(Comment.created_at, Comment.id))]
    for r in replies:
        by_id[r.parent_id].replies.append(r)
    shown = [c for c in tops if c.deleted_at is None or any(r.deleted_at is None for r in c.replies)]
    authors = {row.id: Author(row.id, row.display_name) for row in session.execute(select(User.id, User.display_name)
               .where(User.id.in_({c.author_id for c in shown} | {r.author_id for c in shown for r in c.replies})))}
    for c in shown:
        c.author = authors.get(c.author_id)
        for r in c.replies:
            r.author = authors.get(r.author_id)
    return shown


EXPORT_COLUMNS = ["id", "reply_to", "start", "end", "author", "body", "quote", "tags", "created_at"]


def export_rows(session: Session, actor: User, public_id: str) -> list[dict]:
    """The video's live feedback, threads and their replies in order, as rows for the CSV/JSON exports."""
    rows = []
    for c in threads(session, actor, public_id):
        for item in [c, *[r for r in c.replies if r.deleted_at is None]]:
            if item.deleted_at is None:
                rows.append({"id": item.id, "reply_to": item.parent_id, "start": item.start, "end": item.end,
                             "author": item.author.display_name, "body": item.body, "quote": item.quote,
                             "tags": [f"{t['framework']}:{t['element']}" for t in item.tags],
                             "created_at": item.created_at.isoformat()})
    return rows


def rows_csv(rows: list[dict]) -> str:
    """export_rows() as CSV, with a byte-order mark so that spreadsheet programs read Hebrew and Arabic as UTF-8."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow([r["id"], r["reply_to"] or "", r["start"], "" if r["end"] is None else r["end"],
                         r["author"], r["body"], r["quote"] or "", " ".join(r["tags"]), r["created_at"]])
    return "\ufeff" + out.getvalue()


def import_framework(session: Session, framework) -> ObservationFramework:
    """Store a framework version (from app.feedback.frameworks); a new version becomes the current one."""
    existing = session.scalar(select(ObservationFramework).where(
        ObservationFramework.key == framework.key, ObservationFramework.version == framework.version))
    data = framework.as_dict()
    if existing is not None:
        if existing.data != data:
            raise InvalidInput(msg("Framework %(key)s version %(version)s exists with other content: raise the version "
                                   "number.", key=framework.key, version=framework.version), field="version")
        return existing
    for old in session.scalars(select(ObservationFramework).where(ObservationFramework.key == framework.key)):
        old.current = old.version > framework.version and old.current
    newest = session.scalar(select(ObservationFramework).where(
        ObservationFramework.key == framework.key, ObservationFramework.version > framework.version))
    row = ObservationFramework(key=framework.key, version=framework.version, title=framework.title, data=data,
                               current=newest is None)
    session.add(row)
    session.flush()
    return row


def tag_summary(session: Session, actor: User, public_id: str) -> dict[str, int]:
    """How often each framework element was tagged on this video."""
    counts: dict[str, int] = {}
    for thread in threads(session, actor, public_id):
        for tag in thread.tags:
            label = f"{tag['framework']}:{tag['element']}"
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# The same cleaning for feedback given on a clip's own page (app/video/clips.py).
clean_body = _text
clean_tags = _tags
tell_about = _tell


# ------------------------------------------------------------------------------------------ on a clip's page


def clip_threads(session: Session, actor: User, clip: Clip) -> list[Comment]:
    authz.require(actor, "view", clip)
    return threads_where(session, Comment.clip_id == clip.id)


def add_clip_comment(session: Session, actor: User, clip_id: str, *, body: str, start=None, end=None,
                     parent_id: int | None = None, tags: list[str] | None = None) -> Comment:
    """Feedback given on a clip's page: within the clip's range, seen by everyone who sees the clip
    (and by the lesson's viewers, on the lesson's timeline)."""
    clip = clips.get_clip(session, actor, clip_id)
    parent = replied_to = None
    if parent_id is not None:
        parent, replied_to = reply_target(
            session, actor, parent_id, lambda c: c.clip_id == clip.id and (c.deleted_at is None or bool(c.replies)),
            msg("There is no such comment on this clip."))
        start, end = parent.start, parent.end
    else:
        authz.require(actor, "comment", clip, hide=False)
    start, end = check_times(clip.video, start, end)
    if not clip.start <= start <= clip.end or (end is not None and end > clip.end):
        raise InvalidInput(msg("Feedback on this clip is about its own range, %(start)s–%(end)s s.",
                               start=format(clip.start, "g"), end=format(clip.end, "g")), field="start")
    comment = Comment(video=clip.video, clip=clip, author=actor, parent_id=parent.id if parent else None,
                      start=start, end=end, body=clean_body(body),
                      tags=clean_tags(session, tags) if parent is None else [])
    session.add(comment)
    session.flush()
    tell_about(session, actor, comment, replied_to)
    return comment
