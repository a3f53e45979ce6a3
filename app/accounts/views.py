"""Pages: login, logout, dashboard, language, API tokens, people, download of one's own data."""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from app import db
from app.accounts import service
from app.accounts.forms import (
    ORG_KIND_LABELS,
    ROLE_LABELS,
    ActionForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    ResetPasswordForm,
    TokenForm,
    UserForm,
    csrf_input,
)
from app.accounts.models import Role
from app.errors import ClassLabError, Forbidden, NotAuthenticated, form_errors_to, msg, render
from app.extensions import limiter, login_limit

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("accounts.dashboard")


@bp.app_context_processor
def forms_for_layout():
    """What every page's layout needs. Its two forms (language, log out) carry nothing but the CSRF field, written
    once per request: building two WTForms forms for each page cost more than the rest of the layout; any page's
    own form without fields of its own (a delete button) may use `csrf_field` too."""
    return {
        "csrf_field": csrf_input(),
        "role_labels": ROLE_LABELS,
        "org_kind_labels": ORG_KIND_LABELS,
    }


@bp.get("/")
def index():
    return redirect(url_for("accounts.dashboard" if current_user.is_authenticated else "accounts.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], error_message="Too many login attempts from here.")
@limiter.limit(
    login_limit,
    methods=["POST"],
    key_func=lambda: "login-email:" + (request.form.get("email") or "").strip().lower(),
    error_message="Too many login attempts for this account.",
)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(form.next.data))
    status = 200
    if form.validate_on_submit():
        try:
            user = service.authenticate(db.session(), form.email.data, form.password.data)
        except NotAuthenticated as exc:
            # The form is shown again with the reason; its 401 ends the unit of work without a commit.
            flash(exc.detail, "error")  # in the page's language
            status = 401
        else:
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            if user.locale:
                session["locale"] = user.locale
            return redirect(_safe_next(form.next.data))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


def _settings():
    from flask import current_app

    return current_app.extensions["classlab.settings"]


def _refused(form) -> int:
    """A posted form WTForms refused: each field's problem flashed with its label; the status to answer."""
    for field in form:
        if field.name != "csrf_token":
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "error")
    return 422


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.change_password(db.session(), current_user, form.current.data, form.password.data,
                                    form.repeat.data)
        except ClassLabError as exc:  # shown with the form; the error status rolls the request back
            flash(exc.detail, "error")
            status = exc.status
        else:
            flash(_("Your password is changed."), "info")
            return redirect(url_for("accounts.dashboard"))
    elif request.method == "POST":
        status = _refused(form)
    return render_template("accounts/password_change.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], error_message="Too many reset requests from here.")
def forgot_password():
    form = ForgotPasswordForm()
    email_enabled = bool(_settings().smtp_host)
    status, sent = 200, False
    if form.validate_on_submit():
        service.request_reset(db.session(), form.email.data, _settings().secret_key, email_enabled=email_enabled)
        sent = True
    elif request.method == "POST":
        status = _refused(form)
    return render_template("accounts/password_forgot.html", form=form, sent=sent,
                           email_enabled=email_enabled), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], error_message="Too many attempts from here.")
def reset_password(token: str):
    form = ResetPasswordForm()
    s = db.session()
    try:
        user = service.user_for_reset(s, token, _settings().secret_key)
    except ClassLabError as exc:
        return render_template("accounts/password_reset.html", form=None, problem=exc.detail), 400
    status = 200
    if form.validate_on_submit():
        try:
            service.reset_password(user, form.password.data, form.repeat.data)
        except ClassLabError as exc:
            flash(exc.detail, "error")
            status = exc.status
        else:
            logout_user()
            flash(_("Your password is changed. Log in with the new one."), "info")
            return redirect(url_for("accounts.login"))
    elif request.method == "POST":
        status = _refused(form)
    return render_template("accounts/password_reset.html", form=form, user=user, problem=None), status


@bp.post("/people/<int:user_id>/reset-link")
@login_required
@form_errors_to("accounts.people")
def admin_reset_link(user_id: int):
    s = db.session()
    person, token = service.admin_reset_link(s, current_user, user_id, _settings().secret_key)
    # Shown once on this page (not flashed: the session cookie is signed, not encrypted), to hand over in person.
    reset = {"name": person.display_name, "link": url_for("accounts.reset_password", token=token, _external=True)}
    return _people_page(s, UserForm(formdata=None), 200, reset=reset)


def _people_page(s, form, status: int, reset: dict | None = None):
    from app import authz

    people = service.users_visible_to(s, current_user)
    manageable = {u.id for u in people if u.id != current_user.id and authz.may(current_user, "manage", u)}
    return render_template("accounts/people.html", form=form, people=people, manageable=manageable, reset=reset,
                           action_form=ActionForm()), status


@bp.post("/logout")
def logout():
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.post("/language")
def language():
    form = LanguageForm()
    if not form.validate_on_submit():
        flash(_("Unknown language."), "error")
        return redirect(_safe_next(form.next.data)), 303
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        service.set_locale(db.session(), current_user, form.locale.data)
    return redirect(_safe_next(form.next.data) if form.next.data else request.referrer or "/"), 303


@bp.get("/dashboard")
@login_required
def dashboard():
    from app.diagnostics.service import assignments_of, classes_of
    from app.video.delivery import poster_urls
    from app.video.service import list_videos, posters

    s = db.session()
    data = service.dashboard(s, current_user)
    data["videos"] = list_videos(s, current_user)[:5]
    from flask import current_app

    data["thumbs"] = poster_urls(current_app.extensions["classlab.storage"], posters(s, data["videos"]),
                                 _settings().media_url_seconds, current_user.id)
    data["classes"] = classes_of(s, current_user)
    data["assignments"] = assignments_of(s, current_user)[:5]
    if current_user.role == Role.coach:
        from app.coaching.service import dashboard as coaching_dashboard

        data["board"] = coaching_dashboard(s, current_user)
    if current_user.role == Role.facilitator:
        from app.communities.service import facilitated_by, member_counts

        data["communities"] = facilitated_by(s, current_user)
        data["member_counts"] = member_counts(s, data["communities"])
    from app.plans import service as plans
    from app.rehearsals import service as rehearsals

    data["plans_due"] = plans.plans_due(s, current_user)
    data["plans_shared"] = plans.plans_shared_with(s, current_user)[:5]
    data["today"] = date.today()
    data["to_review"] = rehearsals.shared_with_me(s, current_user)[:5]
    data["my_attempts"] = rehearsals.attempts_of(s, current_user)[:5]
    from app.meetings import service as meetings

    data["meetings_soon"] = meetings.upcoming(s, current_user)
    data["meeting_steps"] = meetings.next_steps_for(s, current_user)
    from app.analytics import service as analytics

    mine = analytics.visible_analyses(s, current_user, current_user)
    data["latest_analysis"] = mine[-1] if mine else None
    data["analytics_shared"] = analytics.teachers_shared(s, current_user)
    from app.goals import service as goals

    data.update(goals.dashboard(s, current_user, data["today"]))
    data["action_form"] = ActionForm()
    data["first_steps"] = _first_steps(s, current_user, data)
    return render_template("accounts/dashboard.html", **data, Role=Role)


def _first_steps(s, user, data) -> list[tuple[str, str, bool]]:
    """What a newcomer in this role does first, each step ticked once done: (label, where, done)."""
    from sqlalchemy import exists, select

    from app.coaching.models import CoachingCycle, CoachLink
    from app.communities.models import CommunityMember
    from app.feedback.models import Comment
    from app.sharing.models import Share
    from app.video.models import Video

    def any_(query) -> bool:
        return bool(s.scalar(select(exists(query))))

    mine = select(Video.id).where(Video.owner_id == user.id)
    if user.role == Role.teacher:
        return [
            (_("Upload a lesson video"), url_for("video.upload"), bool(data["videos"])),
            (_("Record your class's consent on a lesson"),
             url_for("video.index"), any_(mine.where(Video.consent != "none"))),
            (_("Share a lesson with a colleague or your coach"), url_for("video.index"),
             any_(select(Share.id).where(Share.video_id.in_(mine)))),
            (_("Create a class and its student codes"), url_for("diagnostics.index"), bool(data["classes"])),
            (_("Assign a diagnostic to a class"), url_for("diagnostics.index"), bool(data["assignments"])),
        ]
    if user.role == Role.coach:
        return [
            (_("Be accepted as coach by a teacher (a school leader proposes you)"), url_for("coaching.index"),
             any_(select(CoachLink.id).where(CoachLink.coach_id == user.id, CoachLink.status == "active"))),
            (_("Leave a comment at a moment of a lesson shared with you"), url_for("video.index"),
             any_(select(Comment.id).where(Comment.author_id == user.id))),
            (_("Start a coaching cycle with a focus goal"), url_for("coaching.index"),
             any_(select(CoachingCycle.id).join(CoachLink).where(CoachLink.coach_id == user.id))),
        ]
    if user.role == Role.facilitator:
        led = select(CommunityMember.community_id).where(CommunityMember.user_id == user.id,
                                                         CommunityMember.role == "facilitator")
        return [
            (_("Start a community"), url_for("communities.index"), any_(led)),
            (_("Add the teachers of your community"), url_for("communities.index"),
             any_(select(CommunityMember.id).where(CommunityMember.community_id.in_(led),
                                                   CommunityMember.user_id != user.id))),
            (_("Ask members to share a lesson or a clip with the community"), url_for("communities.index"),
             any_(select(Share.id).where(Share.community_id.in_(led)))),
        ]
    if user.role in (Role.school_leader, Role.admin):
        return [
            (_("Check the people of your school"), url_for("accounts.people"), data.get("role_counts") is not None),
            (_("Propose a coach for a teacher"), url_for("coaching.index"),
             any_(select(CoachLink.id).where(CoachLink.assigned_by_id == user.id))),
        ]
    return []


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    from flask import current_app

    s = db.session()
    form = TokenForm()
    if request.method == "GET":
        form.days.data = current_app.extensions["classlab.settings"].api_token_days
    issued = None
    status = 200
    if form.validate_on_submit():
        try:
            issued = service.issue_token(s, current_user, form.name.data, form.days.data)
        except ClassLabError as exc:  # shown with the form as typed; the error status rolls back
            flash(exc.detail, "error")
            status = exc.status
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "accounts/tokens.html", form=form, issued=issued, tokens=service.tokens_of(s, current_user),
            revoke_form=ActionForm(),
        ),
        status,
    )


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    service.revoke_token(db.session(), current_user, token_id)
    flash(_("Token revoked."), "info")
    return redirect(url_for("accounts.tokens"))


@bp.route("/people", methods=["GET", "POST"])
@login_required
def people():
    if current_user.role not in (Role.admin, Role.school_leader):
        raise Forbidden(msg("Only administrators and school leaders manage people."))
    s = db.session()
    form = UserForm()
    status = 200
    if current_user.role == Role.admin and form.validate_on_submit():
        try:
            user = service.create_user(
                s, email=form.email.data, password=form.password.data, display_name=form.display_name.data,
                role=form.role.data, organization=current_user.organization,
            )
            flash(render(msg("Account created for %(email)s.", email=user.email)), "info")
            return redirect(url_for("accounts.people"))
        except ClassLabError as exc:  # shown with the form as typed; the error status rolls back
            flash(exc.detail, "error")
            status = exc.status
    elif request.method == "POST":
        status = 422
    return _people_page(s, form, status)


EXPORT_STATUS_LABELS = {"pending": _l("Waiting for a worker"), "running": _l("Being prepared"), "ready": _l("Ready"),
                        "failed": _l("Failed")}


@bp.get("/account/data")
@login_required
def data():
    from flask import current_app

    from app.export import service as export

    settings = current_app.extensions["classlab.settings"]
    store = current_app.extensions["classlab.storage"]
    found = export.exports_of(db.session(), current_user)
    rows = [(e, export.download_url(store, e, settings.download_url_seconds)) for e in found]
    return render_template("accounts/data.html", exports=rows, form=ActionForm(), days=settings.export_days,
                           busy=any(e.status in export.ACTIVE for e in found), labels=EXPORT_STATUS_LABELS)


@bp.post("/account/data")
@login_required
@form_errors_to("accounts.data")
def request_data():
    from app.export import service as export

    export.request_export(db.session(), current_user)  # a Conflict while one is being prepared: its message
    # The task is sent after the commit; a broker that is down then marks the export failed, with the reason.
    flash(_("Your archive is being prepared. This page shows the download link when it is ready."), "info")
    return redirect(url_for("accounts.data"))
