"""Pages: coaching (the coach's dashboard, the teacher's coaches, assigning), and one coaching cycle."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz, db
from app.accounts.forms import ActionForm
from app.coaching import policy, service
from app.errors import form_errors_to, msg, render
from app.feedback import service as feedback
from app.video.models import Video

bp = Blueprint("coaching", __name__, url_prefix="/coaching")


def _back(anchor: str = ""):
    return redirect(url_for("coaching.index") + anchor)


@bp.get("/")
@login_required
def index():
    s = db.session()
    links = service.links_for(s, current_user)
    me = current_user.id
    return render_template(
        "coaching/index.html", action_form=ActionForm(), today=date.today(),
        board=service.dashboard(s, current_user) if current_user.role in policy.COACH_ROLES else None,
        my_coaches=[lk for lk in links if lk.teacher_id == me and lk.status in service.LIVE],
        managed=[lk for lk in links if me not in (lk.teacher_id, lk.coach_id)],
        can_assign=current_user.role.value in ("admin", "school_leader"),
    )


@bp.post("/assign")
@login_required
@form_errors_to("coaching.index", "#assign")
def assign():
    link = service.assign_coach(db.session(), current_user, request.form.get("coach", ""),
                                request.form.get("teacher", ""))
    flash(render(msg("%(coach)s was proposed as coach of %(teacher)s; the teacher is asked to accept.",
                     coach=link.coach.display_name, teacher=link.teacher.display_name)), "info")
    return _back("#assign")


def _link_action(link_id: int, do, message: str):
    """An outsider gets 404 from the service's check; a refused step a message (@form_errors_to)."""
    do(db.session())
    flash(message, "info")
    return _back()


@bp.post("/links/<int:link_id>/accept")
@login_required
@form_errors_to("coaching.index")
def accept(link_id: int):
    return _link_action(link_id, lambda s: service.respond(s, current_user, link_id, True), _("Coaching accepted."))


@bp.post("/links/<int:link_id>/decline")
@login_required
@form_errors_to("coaching.index")
def decline(link_id: int):
    return _link_action(link_id, lambda s: service.respond(s, current_user, link_id, False), _("Coaching declined."))


@bp.post("/links/<int:link_id>/end")
@login_required
@form_errors_to("coaching.index")
def end(link_id: int):
    return _link_action(link_id, lambda s: service.end_link(s, current_user, link_id), _("Coaching ended."))


@bp.post("/links/<int:link_id>/cycles")
@login_required
@form_errors_to("coaching.index")
def new_cycle(link_id: int):
    cycle = service.start_cycle(db.session(), current_user, link_id, request.form.get("focus_goal", ""),
                                request.form.get("starts_on"), request.form.get("due_on"))
    return redirect(url_for("coaching.cycle", public_id=cycle.public_id))


@bp.get("/cycles/<public_id>")
@login_required
def cycle(public_id: str):
    s = db.session()
    found = service.get_cycle(s, current_user, public_id)
    link = found.link
    lessons = [lesson for lesson in found.lessons if authz.may(current_user, "view", lesson.video)]
    feedback_by_video = {lesson.video_id: feedback.threads(s, current_user, lesson.video.public_id)
                         for lesson in lessons}
    mine = []
    if authz.may(current_user, "add_lesson", found):
        taken = {lesson.video_id for lesson in found.lessons}
        mine = [v for v in s.scalars(select(Video).where(Video.owner_id == current_user.id, Video.purpose == "lesson")
                                     .order_by(Video.created_at.desc())) if v.id not in taken]
    return render_template(
        "coaching/cycle.html", cycle=found, link=link, lessons=lessons, feedback_by_video=feedback_by_video,
        my_videos=mine, action_form=ActionForm(), can_edit=authz.may(current_user, "edit", found),
        can_agree=authz.may(current_user, "agree", found), can_close=authz.may(current_user, "close", found),
    )


def _cycle_action(public_id: str, do, anchor: str = ""):
    do(db.session())
    return redirect(url_for("coaching.cycle", public_id=public_id) + anchor)


@bp.post("/cycles/<public_id>/edit")
@login_required
@form_errors_to("coaching.cycle", "#next-steps")
def edit_cycle(public_id: str):
    form = request.form
    return _cycle_action(public_id, lambda s: service.update_cycle(
        s, current_user, public_id, focus_goal=form.get("focus_goal"), starts_on=form.get("starts_on"),
        due_on=form.get("due_on"), next_steps=form.get("next_steps")), "#next-steps")


@bp.post("/cycles/<public_id>/lessons")
@login_required
@form_errors_to("coaching.cycle", "#lessons")
def add_lesson(public_id: str):
    return _cycle_action(public_id, lambda s: service.add_lesson(s, current_user, public_id,
                                                                 request.form.get("video", "")), "#lessons")


@bp.post("/cycles/<public_id>/agree")
@login_required
@form_errors_to("coaching.cycle", "#next-steps")
def agree(public_id: str):
    return _cycle_action(public_id, lambda s: service.agree_next_steps(s, current_user, public_id), "#next-steps")


@bp.post("/cycles/<public_id>/close")
@login_required
@form_errors_to("coaching.cycle")
def close(public_id: str):
    return _cycle_action(public_id, lambda s: service.close_cycle(s, current_user, public_id))
