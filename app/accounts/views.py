"""Pages: login, logout, dashboard, language, API tokens, people, download of one's own data."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from app import db
from app.accounts import service
from app.accounts.forms import ORG_KIND_LABELS, ROLE_LABELS, ActionForm, LanguageForm, LoginForm, TokenForm, UserForm
from app.accounts.models import Role
from app.errors import ClassLabError, Conflict, Forbidden, NotAuthenticated, form_errors_to
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
    from flask_wtf.csrf import generate_csrf
    from markupsafe import Markup

    field = Markup('<input id="csrf_token" name="csrf_token" type="hidden" value="{}">')
    return {
        "csrf_field": field.format(generate_csrf()),
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
            flash(_("Wrong e-mail or password.") if "Wrong" in exc.detail else exc.detail, "error")
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
    from app.video.service import list_videos

    s = db.session()
    data = service.dashboard(s, current_user)
    data["videos"] = list_videos(s, current_user)[:5]
    data["classes"] = classes_of(s, current_user)
    data["assignments"] = assignments_of(s, current_user)[:5]
    return render_template("accounts/dashboard.html", **data, Role=Role)


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
        raise Forbidden(_("Only administrators and school leaders manage people."))
    s = db.session()
    form = UserForm()
    status = 200
    if current_user.role == Role.admin and form.validate_on_submit():
        try:
            user = service.create_user(
                s, email=form.email.data, password=form.password.data, display_name=form.display_name.data,
                role=form.role.data, organization=current_user.organization,
            )
            flash(_("Account created for %(email)s.", email=user.email), "info")
            return redirect(url_for("accounts.people"))
        except ClassLabError as exc:  # shown with the form as typed; the error status rolls back
            flash(exc.detail, "error")
            status = exc.status
    elif request.method == "POST":
        status = 422
    return render_template("accounts/people.html", form=form, people=service.users_visible_to(s, current_user)), status


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

    try:
        export.request_export(db.session(), current_user)
    except Conflict:
        raise Conflict(_("An archive of your data is already being prepared. Wait until it is ready, then ask "
                         "again.")) from None  # the same words, in the page's language
    # The task is sent after the commit; a broker that is down then marks the export failed, with the reason.
    flash(_("Your archive is being prepared. This page shows the download link when it is ready."), "info")
    return redirect(url_for("accounts.data"))
