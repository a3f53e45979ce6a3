"""Pages of lesson analytics: a lesson's measures, band, voices and markers; a teacher's trends over lessons."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import authz, db
from app.accounts.forms import ActionForm
from app.analytics import service, shown
from app.analytics.models import MARKER_KINDS
from app.errors import InvalidInput, form_errors_to, msg
from app.inputs import digits
from app.video.timeline import clock
from app.video.views import tag_choices

bp = Blueprint("analytics", __name__)

MARKER_LABELS = {
    "question_open": _l("Open question"), "question_closed": _l("Closed question"),
    "wait1": _l("Long wait after a question"), "wait2": _l("Long wait after an answer"),
    "uptake": _l("Uptake of a student's idea"), "monologue": _l("Longest teacher stretch"),
}
STATE_LABELS = {"machine": _l("Found automatically"), "confirmed": _l("Confirmed"), "corrected": _l("Corrected"),
                "dismissed": _l("Dismissed")}


@bp.app_template_filter("clock")
def clock_filter(seconds) -> str:
    return clock(float(seconds or 0))


@bp.app_context_processor
def analytics_labels():
    return {"marker_labels": MARKER_LABELS, "marker_state_labels": STATE_LABELS}


def _to_lesson(public_id: str, **_kw) -> str:
    return url_for("analytics.lesson", public_id=public_id)


@bp.get("/videos/<public_id>/analytics")
@login_required
def lesson(public_id: str):
    s = db.session()
    analysis = service.get(s, current_user, public_id)
    video = analysis.video
    turns = service.turns_shown(s, analysis)
    return render_template(
        "analytics/lesson.html", video=video, analysis=analysis, turns=turns[:service.LISTED],
        more_turns=max(0, len(turns) - service.LISTED), band=shown.band(analysis, turns),
        card=shown.card(analysis), voices=shown.voices(analysis),
        markers=[m for m in analysis.markers][:service.LISTED], kinds=MARKER_KINDS,
        owner=authz.may(current_user, "share", analysis), form=ActionForm(),
        tag_options=tag_choices(s))


@bp.post("/videos/<public_id>/analytics/teacher")
@login_required
@form_errors_to(_to_lesson, "#voices")
def set_teacher(public_id: str):
    voice = digits(request.form.get("voice", ""), 99)
    if voice is None:
        raise InvalidInput(msg("Choose one of the voices heard in this lesson."), field="voice")
    service.set_teacher(db.session(), current_user, public_id, voice)
    flash(_("Every turn of that voice is now the teacher's; the measures are being made again."), "info")
    return redirect(url_for("analytics.lesson", public_id=public_id) + "#voices")


@bp.post("/videos/<public_id>/analytics/share")
@login_required
@form_errors_to(_to_lesson, "#sharing")
def share(public_id: str):
    value = request.form.get("shared", "")
    if value not in ("yes", "no"):
        raise InvalidInput(msg("Say whether your coach may read these measures."), field="shared")
    service.set_shared(db.session(), current_user, public_id, value == "yes")
    flash(_("Your coach can now read these measures.") if value == "yes"
          else _("These measures are private to you again."), "info")
    return redirect(url_for("analytics.lesson", public_id=public_id) + "#sharing")


@bp.post("/videos/<public_id>/analytics/rerun")
@login_required
@form_errors_to(_to_lesson)
def rerun(public_id: str):
    service.rerun(db.session(), current_user, public_id)
    flash(_("The lesson is being analysed again."), "info")
    return redirect(url_for("analytics.lesson", public_id=public_id))


def _to_marker_lesson(marker_id: str, **_kw) -> str:
    marker = service.get_marker(db.session(), current_user, marker_id, "view")
    return url_for("analytics.lesson", public_id=marker.analysis.video.public_id) + f"#marker-{marker_id}"


@bp.post("/analytics/markers/<marker_id>/review")
@login_required
@form_errors_to(_to_marker_lesson)
def review(marker_id: str):
    f = request.form
    marker = service.review_marker(db.session(), current_user, marker_id, f.get("verdict", "")[:10],
                                   f.get("kind", "")[:20] or None)
    return redirect(url_for("analytics.lesson", public_id=marker.analysis.video.public_id) + f"#marker-{marker_id}")


@bp.post("/analytics/markers/<marker_id>/comment")
@login_required
@form_errors_to(_to_marker_lesson)
def to_comment(marker_id: str):
    f = request.form
    tags = [t for t in f.getlist("tags") if t][:10]
    comment = service.marker_to_comment(db.session(), current_user, marker_id, body=f.get("body", ""), tags=tags)
    flash(_("The moment is now a comment on the lesson."), "info")
    return redirect(url_for("video.watch", public_id=comment.video.public_id, comment=comment.id) +
                    f"#comment-{comment.id}")


@bp.get("/analytics/")
@login_required
def index():
    s = db.session()
    points = service.trends(s, current_user, current_user)
    return render_template("analytics/trends.html", teacher=current_user, points=points,
                           charts=shown.trend_charts(points), own=True,
                           coached=service.teachers_shared(s, current_user))


@bp.get("/analytics/teachers/<int:user_id>")
@login_required
def teacher(user_id: int):
    """A teacher's trends as their coach reads them: only the lessons the teacher shares (else: no such page)."""
    if user_id == current_user.id:
        return redirect(url_for("analytics.index"))
    points = service.shared_trends(db.session(), current_user, user_id)
    person = points[0].video.owner
    return render_template("analytics/trends.html", teacher=person, points=points,
                           charts=shown.trend_charts(points), own=False, coached=[])
