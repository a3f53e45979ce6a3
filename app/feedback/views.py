"""Pages of feedback: comments and replies on a lesson or a clip, their exports, and tag summaries.

The watch and clip pages themselves are the lesson's (app/video/views.py); their forms post here.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import db
from app.errors import NotFound, form_errors_to, msg
from app.feedback import service as feedback
from app.feedback import tagstats
from app.feedback.schemas import ClipCommentIn, CommentEdit, CommentIn
from app.inputs import read_form
from app.video import captions, service

bp = Blueprint("feedback", __name__, url_prefix="/videos")


@bp.get("/tags")
@login_required
def tag_summary():
    """A teacher's framework tags per month over their lessons (?teacher=<id> for someone allowed to see them)."""
    from datetime import date

    from flask_babel import get_locale
    from markupsafe import Markup

    from app.accounts.models import User
    from app.config import RTL
    from app.l10n import format_date

    s = db.session()
    wanted = request.args.get("teacher", "")
    if wanted and not wanted.isdigit():
        raise NotFound(tagstats.NO_SUCH_TEACHER)
    teacher = s.get(User, int(wanted)) if wanted else current_user._get_current_object()
    summary = tagstats.teacher_tag_summary(s, current_user, teacher)
    lang = str(get_locale() or "en")
    labels = tagstats.tag_labels(s, summary.keys, lang)
    months = [format_date(date(y, m, 1), "LLL", lang=lang) + (f"\n{y}" if m == 1 or i == 0 else "")
              for i, (y, m) in enumerate(summary.months)]
    chart = Markup(tagstats.render_stacked_columns_svg(
        months, {labels[k]: summary.counts[k] for k in summary.keys}, title=_("Framework tags per month"),
        rtl=lang.split("_")[0] in RTL, totals_label=_("Total"))) if summary.total else None
    return render_template("feedback/tag_summary.html", summary=summary, labels=labels, chart=chart,
                           months=[format_date(date(y, m, 1), "LLL y", lang=lang) for y, m in summary.months],
                           own=teacher.id == current_user.id)


@bp.post("/<public_id>/comments")
@login_required
@form_errors_to("video.watch", "#feedback")
def add_comment(public_id: str):
    # Who may not see the lesson gets 404, who may only watch gets 403 (the service's check); bad input a message.
    comment = feedback.add_comment(db.session(), current_user, public_id, **read_form(CommentIn, request.form))
    return redirect(url_for("video.watch", public_id=public_id, comment=comment.id) + f"#comment-{comment.id}")


@bp.get("/<public_id>/comments.<fmt>")
@login_required
def comments_export(public_id: str, fmt: str):
    """The video's feedback as CSV, JSON or WebVTT chapters."""
    import json

    s = db.session()
    video = service.get_video(s, current_user, public_id, "download")
    rows = feedback.export_rows(s, current_user, public_id)
    name = quote(f"{video.title[:80]}-feedback.{fmt}", safe="")
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    if fmt == "json":
        return Response(json.dumps(rows, ensure_ascii=False, indent=2), mimetype="application/json",
                        headers=disposition)
    if fmt == "csv":
        return Response(feedback.rows_csv(rows), mimetype="text/csv", headers=disposition)
    if fmt == "vtt":
        duration = video.duration or 0.0
        cues = [captions.Cue(r["start"], r["end"] if r["end"] is not None else min(duration, r["start"] + 5.0),
                             f"{r['author']}: {r['body']}") for r in rows if r["reply_to"] is None]
        cues = [c for c in cues if c.end > c.start]
        return Response(captions.to_webvtt(cues), mimetype="text/vtt", headers=disposition)
    raise NotFound(msg("No feedback format '%(format)s': choose csv, json or vtt.", format=fmt))


@bp.post("/clips/<clip_id>/comments")
@login_required
@form_errors_to("video.clip", "#feedback")
def add_clip_comment(clip_id: str):
    comment = feedback.add_clip_comment(db.session(), current_user, clip_id, **read_form(ClipCommentIn, request.form))
    return redirect(url_for("video.clip", clip_id=clip_id) + f"#comment-{comment.id}")


def _comment_on_page(comment_id: int) -> str:
    comment = feedback.get_comment(db.session(), current_user, comment_id)
    # ?comment= opens the page of threads that holds it (the watch page shows them a page at a time).
    return url_for("video.watch", public_id=comment.video.public_id, comment=comment_id) + f"#comment-{comment_id}"


@bp.post("/comments/<int:comment_id>/edit")
@login_required
@form_errors_to(_comment_on_page)
def edit_comment(comment_id: int):
    edit = read_form(CommentEdit, request.form)
    feedback.edit_comment(db.session(), current_user, comment_id, edit["body"], edit["tags"])
    return redirect(_comment_on_page(comment_id))


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):
    public_id = feedback.delete_comment(db.session(), current_user, comment_id)
    return redirect(url_for("video.watch", public_id=public_id) + "#feedback")
