""""Download all my data": one ZIP archive of everything a user owns, built by a worker (no Flask here).

The archive is written to a temporary file on disk, one entry at a time (media is streamed from storage in
chunks, never held in memory), then uploaded to storage under a deterministic key, so a re-run replaces it.

    README.txt                     what is inside, in the user's language where translated
    profile.json                   the account
    videos/<title>-<id>/           per video the user owns: video.json (metadata, consent, shares), the original
                                   file, transcript.vtt/.txt/.json, comments.json/.csv, clips.json, audit.json
    my_comments_on_others.json     what the user wrote on other people's videos (text only, no media)
    diagnostics/<class>-<id>/      per class the user teaches: students.csv and one results CSV per assignment
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import authz, db, jobs
from app.accounts import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.accounts.models import ApiToken, DataExport, User
from app.db import utcnow
from app.errors import Conflict, msg
from storage import Storage

log = logging.getLogger(__name__)
ACTIVE = ("pending", "running")
TEXT = zipfile.ZIP_DEFLATED
MEDIA = zipfile.ZIP_STORED  # lesson video is already compressed: deflating it costs time and saves nothing


class ExportFailed(Exception):
    """A reason to show the user (in English, like a video's failure reason)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def export_key(export: DataExport) -> str:
    return f"exports/{export.user_id}/{export.public_id}.zip"


def request_export(session: Session, actor: User) -> DataExport:
    """A new archive for `actor`, or Conflict while one is still being prepared. The export task is sent
    when the caller's unit of work commits; if the broker refuses it then, the export is marked failed."""
    query = select(User).where(User.id == actor.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # two clicks at once: the second waits, then sees the first
    session.scalar(query)
    busy = session.scalar(select(DataExport).where(DataExport.user_id == actor.id, DataExport.status.in_(ACTIVE)))
    if busy is not None:
        raise Conflict(msg("An archive of your data is already being prepared. Wait until it is ready, then ask "
                           "again."))
    export = DataExport(user_id=actor.id, status="pending")
    session.add(export)
    session.flush()
    jobs.enqueue(session, jobs.ACCOUNTS_EXPORT, export.id, key=f"{jobs.ACCOUNTS_EXPORT}:{export.public_id}",
                 on_failure=partial(_not_queued, export.id))
    return export


def _not_queued(export_id: int, _exc: Exception) -> None:
    """The broker refused the task after the commit: say so on the page instead of leaving it pending for hours."""
    with db.session_scope() as s:
        fail_export(s, export_id, "The job queue could not be reached. Please try again in a few minutes.")


def get_export(session: Session, actor: User, public_id: str, action: str = "view") -> DataExport:
    return authz.load(session, actor, DataExport, public_id, action)


def exports_of(session: Session, actor: User, limit: int = 10) -> list[DataExport]:
    query = authz.visible(actor, select(DataExport)).order_by(DataExport.created_at.desc(), DataExport.id.desc())
    return list(session.scalars(query.limit(limit)))


def download_url(store: Storage, export: DataExport, seconds: int) -> str | None:
    """A signed, expiring link to a ready archive, issued to its own user (checked again on local delivery)."""
    if export.status != "ready" or not export.key:
        return None
    name = f"classlab-data-{export.created_at:%Y-%m-%d}.zip"
    return store.signed_url(export.key, seconds, filename=name, audience=export.user_id)


def may_serve(session: Session, key: str, audience: int | None) -> bool:
    """Whether a local media link to `key` (under exports/) may still be served to the user it was issued to."""
    parts = key.split("/")
    if len(parts) != 3 or audience is None or not parts[2].endswith(".zip"):
        return False
    export = session.scalar(select(DataExport).where(DataExport.public_id == parts[2].removesuffix(".zip")))
    user = session.get(User, audience)
    return (export is not None and user is not None and export.key == key and export.status == "ready"
            and authz.may(user, "download", export))


def mark_running(session: Session, export_id: int) -> DataExport | None:
    """Claim the export for a worker; None when there is nothing to do (gone, or already ready)."""
    export = session.get(DataExport, export_id)
    if export is None or export.status not in ACTIVE:
        return None
    export.status, export.error = "running", None
    return export


def fail_export(session: Session, export_id: int, reason: str) -> None:
    export = session.get(DataExport, export_id)
    if export is not None and export.status != "ready":
        export.status, export.error, export.finished_at = "failed", reason[:2000], utcnow()


# ---------------------------------------------------------------------------------------------------- building


def build_export(session: Session, store: Storage, export_id: int, *, work_folder: str | None = None) -> DataExport:
    """Write the archive, upload it, mark the export ready. Raises ExportFailed with a reason for the user."""
    export = session.get(DataExport, export_id)
    if export is None:
        raise ExportFailed("This export no longer exists.")
    if export.status == "ready":
        return export
    export.status, export.error = "running", None
    user = session.get(User, export.user_id)
    if work_folder:
        Path(work_folder).mkdir(parents=True, exist_ok=True)
    key = export_key(export)
    with tempfile.TemporaryDirectory(dir=work_folder, prefix="export-") as tmp:
        path = os.path.join(tmp, "export.zip")
        with zipfile.ZipFile(path, "w", compression=TEXT, allowZip64=True) as zf:
            _Archive(zf, session, store, user, export.created_at or utcnow()).write()
        with open(path, "rb") as fh:
            size = store.put(key, fh, content_type="application/zip")
    export.key, export.size, export.status, export.finished_at = key, size, "ready", utcnow()
    return export


def announce_ready(session: Session, export: DataExport) -> None:
    """Tell the user their archive is ready, through the notifications module where it exists."""
    try:
        from app.notifications.service import notify
    except ImportError:
        return
    notify(session, export.user, "export_ready", {}, "/account/data")


def safe_name(title: str, limit: int = 60) -> str:
    """A folder name from a title: letters of any script, digits and marks kept, anything else a dash."""
    title = unicodedata.normalize("NFC", title or "")
    kept = "".join(c if unicodedata.category(c)[0] in "LNM" or c in "_" else "-" for c in title)
    name = "-".join(part for part in kept.split("-") if part)[:limit].strip("-")
    return name or "untitled"


def _when(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


class _Archive:
    def __init__(self, zf: zipfile.ZipFile, session: Session, store: Storage, user: User, when: datetime):
        self.zf, self.session, self.store, self.user = zf, session, store, user
        self.date_time = max(when, datetime(1980, 1, 1, tzinfo=when.tzinfo)).timetuple()[:6]

    def text(self, name: str, data: str) -> None:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = TEXT
        info.external_attr = 0o644 << 16
        self.zf.writestr(info, data.encode("utf-8"))

    def media(self, name: str, key: str, expected_sha256: str | None) -> None:
        size = self.store.size(key)
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = MEDIA
        info.external_attr = 0o644 << 16
        info.file_size = size  # zipfile then writes ZIP64 headers up front for a file above 2 GiB
        digest = hashlib.sha256()
        with self.zf.open(info, "w") as out:
            for chunk in self.store.stream(key):
                digest.update(chunk)
                out.write(chunk)
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            raise ExportFailed(f"The stored original of '{name}' no longer matches its checksum; "
                               "nothing was exported. Please tell your administrator.")

    def write(self) -> None:
        from app.video.models import Video

        videos = list(self.session.scalars(
            select(Video).where(Video.owner_id == self.user.id).options(selectinload(Video.assets))
            .order_by(Video.created_at, Video.id)))
        folders = {v.id: f"videos/{safe_name(v.title)}-{v.public_id}/" for v in videos}
        self.text("README.txt", _readme(self.user, len(videos)))
        self.text("profile.json", _json(self.profile()))
        for video in videos:
            self.video(video, folders[video.id])
        self.text("my_comments_on_others.json", _json(self.comments_on_others()))
        self.diagnostics()
        self.plans()
        self.meetings()
        self.analytics()
        self.certification()
        self.goals()
        self.rehearsals(folders)

    def goals(self) -> None:
        """The targets and roadmap steps the user set, the principal coaching sessions they took part in (as coach or
        principal) with the actions agreed, and the coaches' group meetings they attended."""
        from app.goals.service import export_for

        found = export_for(self.session, self.user)
        if any(found.values()):
            self.text("goals/goals.json", _json(found))

    def certification(self) -> None:
        """The user's portfolios and commentary, the scores they gave as an assessor, their training and their
        certificates exactly as signed."""
        from app.standards.service import export_for

        found = export_for(self.session, self.user)
        if any(found.values()):
            self.text("certification/certification.json", _json(found))

    def analytics(self) -> None:
        """Each analysed lesson's measures, voices, speaker turns and markers (with what the user made of them)."""
        from app.analytics.service import export_for

        found = export_for(self.session, self.user)
        if found:
            self.text("analytics/lessons.json", _json(found))

    def meetings(self) -> None:
        """What the user wrote in PLC meetings, the meetings they ran (with their summaries) and their next steps."""
        from app.meetings.service import export_for

        found = export_for(self.session, self.user)
        if any(found.values()):
            self.text("meetings/meetings.json", _json(found))

    def plans(self) -> None:
        """The learning plans of the user's classes, with goals, evidence, activities, checks and their record."""
        from app.plans.models import LearningPlan

        found = list(self.session.scalars(select(LearningPlan).where(LearningPlan.teacher_id == self.user.id)
                                          .order_by(LearningPlan.created_at, LearningPlan.id)))
        if not found:
            return
        self.text("plans/plans.json", _json([{
            "id": p.public_id, "kind": p.kind, "title": p.title, "class": p.class_group.name,
            "students": [{"code": s.code, "name": s.name} for s in p.students],
            "drafted_from": p.assignment.public_id if p.assignment else None,
            "reassessed_with": p.reassessed_with.public_id if p.reassessed_with else None,
            "target_date": p.target_date.isoformat(), "shared_with_coach": p.shared_with_coach, "closed": p.closed,
            "created_at": _when(p.created_at), "updated_at": _when(p.updated_at),
            "goals": [{
                "misconception": g.misconception, "status": g.status, "note": g.note, "evidence": g.evidence,
                "check_item": g.check_item, "check_result": g.check_result,
                "activities": [{"activity": a.activity_key, "day": a.day.isoformat() if a.day else None,
                                "done_at": _when(a.done_at)} for a in g.activities],
            } for g in p.goals],
            "changes": [{"at": _when(c.at), "by": c.actor.display_name if c.actor else None, "what": c.what,
                         "before": c.before, "after": c.after} for c in p.changes],
        } for p in found]))

    def rehearsals(self, folders: dict[int, str]) -> None:
        """Scenarios written, attempts (their recordings are among the videos), scores received and given."""
        from app.rehearsals.models import Attempt, RubricScore, Scenario

        mine = list(self.session.scalars(select(Scenario).where(Scenario.owner_id == self.user.id)
                                         .order_by(Scenario.key, Scenario.version)))
        for scenario in mine:
            self.text(f"rehearsals/scenarios/{safe_name(scenario.key)}-v{scenario.version}.yaml", scenario.yaml_text)
        attempts = list(self.session.scalars(select(Attempt).where(Attempt.owner_id == self.user.id)
                                             .order_by(Attempt.created_at, Attempt.id)))
        given = list(self.session.scalars(select(RubricScore).join(Attempt, RubricScore.attempt_id == Attempt.id)
                                          .where(RubricScore.reviewer_id == self.user.id,
                                                 Attempt.owner_id != self.user.id).order_by(RubricScore.id)))
        if not (mine or attempts or given):
            return
        self.text("rehearsals/attempts.json", _json({
            "attempts": [{
                "id": a.public_id, "scenario": a.scenario.key, "scenario_version": a.scenario.version,
                "number": a.number, "language": a.language, "media": a.media, "created_at": _when(a.created_at),
                "recording": folders.get(a.video_id) if a.video_id else None,
                "reflection": a.reflection, "reflected_at": _when(a.reflected_at),
                "next_lesson": a.next_lesson.public_id if a.next_lesson else None,
                "group": a.group.public_id if a.group else None, "shown_to_group": a.shown_to_group,
                "shared_with": [{"name": s.user.display_name, "email": s.user.email, "at": _when(s.created_at)}
                                for s in a.shares],
                "scores": [{"criterion": r.criterion, "level": r.level, "by": r.reviewer.display_name,
                            "at": _when(r.updated_at)} for r in a.scores],
            } for a in attempts],
            "scores_i_gave": [{"attempt": r.attempt.public_id, "teacher": r.attempt.owner.display_name,
                               "criterion": r.criterion, "level": r.level, "at": _when(r.updated_at)}
                              for r in given],
        }))

    def profile(self) -> dict:
        u = self.user
        tokens = self.session.scalars(select(ApiToken).where(ApiToken.user_id == u.id).order_by(ApiToken.created_at))
        return {
            "email": u.email, "display_name": u.display_name, "role": u.role.value, "locale": u.locale,
            "timezone": u.timezone, "organization": u.organization.name if u.organization else None,
            "created_at": _when(u.created_at), "last_login_at": _when(u.last_login_at), "exported_at": _when(utcnow()),
            "api_tokens": [{"name": t.name, "starts_with": t.prefix, "created_at": _when(t.created_at),
                            "expires_at": _when(t.expires_at), "revoked_at": _when(t.revoked_at)} for t in tokens],
        }

    def video(self, video, folder: str) -> None:
        from app.feedback import service as feedback
        from app.sharing import service as sharing
        from app.sharing.models import Share
        from app.video import captions
        from app.video.models import Clip

        shares = self.session.scalars(select(Share).where(Share.video_id == video.id).order_by(Share.created_at))
        self.text(folder + "video.json", _json({
            "id": video.public_id, "title": video.title, "original_filename": video.original_filename,
            "status": video.status.value, "failure_reason": video.failure_reason, "duration": video.duration,
            "size": video.size, "sha256": video.sha256, "container": video.container,
            "video_codec": video.video_codec, "audio_codec": video.audio_codec, "width": video.display_width,
            "height": video.display_height, "fps": video.fps, "created_at": _when(video.created_at),
            "ready_at": _when(video.ready_at),
            "consent": {"status": video.consent, "note": video.consent_note, "date": _when(video.consent_date)},
            "shares": [{"with": s.user.display_name if s.user else s.community.name,
                        "email": s.user.email if s.user else None, "kind": "user" if s.user else "community",
                        "right": s.right, "clip": s.clip.title if s.clip else None,
                        "created_at": _when(s.created_at), "revoked_at": _when(s.revoked_at)} for s in shares],
        }))
        original = video.asset("original")
        if original is not None and self.store.exists(original.key):
            ext = original.key.rsplit(".", 1)[-1] if "." in original.key.rsplit("/", 1)[-1] else "bin"
            self.media(f"{folder}original.{ext}", original.key, video.sha256)
        if video.transcript is not None:
            cues = captions.video_cues(video)
            self.text(folder + "transcript.vtt", captions.to_webvtt(cues))
            self.text(folder + "transcript.txt", captions.to_text(cues))
            t = video.transcript
            self.text(folder + "transcript.json", _json({
                "language": t.language, "model": t.model, "created_at": _when(t.created_at),
                "corrected_at": _when(t.corrected_at),
                "segments": [{"start": s.start, "end": s.end, "text": s.shown,
                              "heard": s.text if s.corrected is not None else None, "words": s.words}
                             for s in t.segments],
            }))
        rows = feedback.export_rows(self.session, self.user, video.public_id)
        self.text(folder + "comments.json", _json(rows))
        self.text(folder + "comments.csv", feedback.rows_csv(rows))
        clips = self.session.scalars(select(Clip).where(Clip.video_id == video.id).order_by(Clip.start, Clip.id))
        self.text(folder + "clips.json", _json([
            {"id": c.public_id, "title": c.title, "note": c.note, "start": c.start, "end": c.end,
             "by": c.creator.display_name, "created_at": _when(c.created_at)} for c in clips]))
        events = sharing.audit_log(self.session, self.user, video.public_id)
        self.text(folder + "audit.json", _json([
            {"at": _when(e.at), "action": e.action, "by": e.actor.display_name if e.actor else None,
             "detail": e.detail} for e in reversed(events)]))

    def comments_on_others(self) -> list[dict]:
        from app.feedback.models import Comment
        from app.video.models import Video

        query = (select(Comment, Video).join(Video, Comment.video_id == Video.id)
                 .where(Comment.author_id == self.user.id, Video.owner_id != self.user.id,
                        Comment.deleted_at.is_(None))
                 .order_by(Video.created_at, Video.id, Comment.start, Comment.created_at))
        return [{"video": v.title, "video_id": v.public_id, "id": c.id, "reply_to": c.parent_id, "start": c.start,
                 "end": c.end, "body": c.body, "quote": c.quote,
                 "tags": [f"{t['framework']}:{t['element']}" for t in c.tags],
                 "created_at": _when(c.created_at), "edited_at": _when(c.edited_at)}
                for c, v in self.session.execute(query)]

    def diagnostics(self) -> None:
        import csv
        import io

        from app.diagnostics import service as diagnostics
        from app.diagnostics.models import Assignment, ClassGroup

        classes = self.session.scalars(select(ClassGroup).where(ClassGroup.teacher_id == self.user.id)
                                       .order_by(ClassGroup.created_at, ClassGroup.id))
        for group in classes:
            folder = f"diagnostics/{safe_name(group.name)}-{group.id}/"
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["code", "name"])
            for student in group.students:
                writer.writerow([student.code, student.name or ""])
            self.text(folder + "students.csv", "\ufeff" + out.getvalue())
            assignments = self.session.scalars(select(Assignment).where(Assignment.class_id == group.id)
                                               .order_by(Assignment.created_at, Assignment.id))
            for a in assignments:
                table = diagnostics.results_csv(diagnostics.results(self.session, self.user, a.public_id))
                self.text(f"{folder}{safe_name(a.title)}-{a.public_id}.csv", "\ufeff" + table)
        self.own_items()

    def own_items(self) -> None:
        """The items of the user's own bank, as a QTI 3.0 package with their images (what any QTI tool imports)."""
        import tempfile

        from app.diagnostics import bankfile, qti
        from app.diagnostics import service as diagnostics
        from app.diagnostics.models import Item

        own = self.session.scalars(select(Item).where(Item.owner_id == self.user.id, Item.current.is_(True))
                                   .order_by(Item.key))
        items = {i.key: diagnostics.spec_item(i.spec) for i in own}
        if not items:
            return
        with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
            qti.bank_to_qti_package(bankfile.Bank(topics={}, misconceptions={}, items=items, diagnostics={}),
                                    tmp.name, media=lambda ref: diagnostics.read_media(self.store, ref))
            info = zipfile.ZipInfo("diagnostics/my-items-qti3.zip", date_time=self.date_time)
            info.compress_type = MEDIA
            info.external_attr = 0o644 << 16
            with open(tmp.name, "rb") as fh:
                self.zf.writestr(info, fh.read())


def _readme(user: User, videos: int) -> str:
    _ = _translator(user.locale)
    lines = [
        _("ClassLab: all your data"),
        "",
        _("This archive holds everything you own in ClassLab, as it was when you asked for it."),
        "",
        _("profile.json: your account (name, e-mail, role, organization, language, API tokens without their secrets)."),
        _("videos/: one folder per lesson video you uploaded (%(n)d in all), each with:") % {"n": videos},
        "  video.json: " + _("title, technical details, the class's consent and who it was shared with"),
        "  original.*: " + _("the file you uploaded, byte for byte"),
        "  transcript.vtt, transcript.txt, transcript.json: " + _("the transcript with your corrections"),
        "  comments.json, comments.csv: " + _("all feedback on the lesson, replies included"),
        "  clips.json: " + _("the named clips of the lesson"),
        "  audit.json: " + _("who viewed, downloaded or shared the lesson, and when"),
        "my_comments_on_others.json: " + _("the comments you wrote on other people's lessons (text only)"),
        "diagnostics/: " + _("your classes' student codes and the results of each assignment, as CSV"),
        "diagnostics/my-items-qti3.zip: " + _("the items of your own bank, as a QTI 3.0 package with their images"),
        "plans/plans.json: " + _("your students' learning plans: goals with their evidence, activities, checks and "
                                 "the record of every change"),
        "meetings/meetings.json: " + _("your responses in PLC meetings, the meetings you facilitated with their "
                                       "summaries, and the next steps assigned to you"),
        "analytics/lessons.json: " + _("each analysed lesson's measures (talk, questions, wait times, uptake), its "
                                       "voices, speaker turns and the moments found, with your reviews"),
        "certification/certification.json: " + _("your certification portfolios with your commentary, the scores "
                                                 "you gave as an assessor with their rationale, your assessor "
                                                 "training, and your certificates as signed credentials"),
        "rehearsals/: " + _("the scenarios you wrote (YAML), and your attempts with their reflections, the rubric "
                            "scores they received and the ones you gave (attempts.json); each attempt's recording "
                            "is among the videos"),
        "",
        _("Times are in UTC. Text files are UTF-8."),
    ]
    return "\n".join(lines) + "\n"


def _translator(locale: str | None) -> Callable[[str], str]:
    """gettext for the user's language from the app's compiled catalogues, without Flask (this runs in a worker)."""
    from babel.support import Translations

    folder = Path(__file__).resolve().parent.parent / "translations"
    return Translations.load(str(folder), [locale or "en"]).gettext


# ---------------------------------------------------------------------------------------------------- retention


def expire_exports(session: Session, store: Storage, days: int, *, stuck_after: timedelta | None = None,
                   now: datetime | None = None) -> int:
    """Delete archives older than `days` (object and row); an export stuck before it was ready for longer than
    `stuck_after` is marked failed, so that the user may ask again. Returns the number of exports deleted."""
    now = now or utcnow()
    old = list(session.scalars(select(DataExport).where(DataExport.created_at < now - timedelta(days=days))))
    for export in old:
        store.delete(export_key(export))  # the deterministic key: also an upload whose row never said ready
        if export.key and export.key != export_key(export):
            store.delete(export.key)
        session.delete(export)
    if stuck_after is not None:
        for export in session.scalars(select(DataExport).where(DataExport.status.in_(ACTIVE),
                                                               DataExport.created_at < now - stuck_after)):
            export.status, export.finished_at = "failed", now
            export.error = "Preparing the archive took too long and was stopped. Please ask again."
    return len(old)
