"""Pages: the notification list, opening one (marks it read), mark all read; the unread badge in the nav."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from markupsafe import Markup

from app import db
from app.accounts.forms import ActionForm
from app.notifications import messages, service

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def text_of(note) -> str:
    """The notification's sentence in the language of this request (the reader's)."""
    return messages.render(note.kind, note.params, gettext)


@bp.app_context_processor
def unread_badge():
    """The count, and the nav's badge made of it (a page kept whole, app.http.kept_page, puts the badge of the
    moment in its place)."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0, "unread_badge": Markup("")}
    if "unread_badge" not in g:  # read once per request, however many times a page's context is made
        count = service.unread_count(db.session(), current_user)
        badge = Markup(' <span class="badge">{}<span class="visually-hidden"> {}</span></span>').format(
            count, gettext("unread")) if count else Markup("")
        g.unread_badge = {"unread_notifications": count, "unread_badge": badge}
    return g.unread_badge


@bp.get("/")
@login_required
def index():
    notes = service.list_for(db.session(), current_user, limit=200)
    return render_template("notifications/list.html", notes=notes, text_of=text_of, form=ActionForm())


@bp.get("/<int:notification_id>/open")
@login_required
def open_(notification_id: int):
    """A plain link (it also works from an e-mail): marking one's own notification read is harmless to
    forge, so it needs no CSRF token. Only a local path is followed, never another site."""
    s = db.session()
    target = service.open_notification(s, current_user, notification_id)
    return redirect(target or url_for("notifications.index"))


@bp.post("/read")
@login_required
def read_all():
    # The CSRF token of the form is checked for every POST in create_app's before_request.
    s = db.session()
    service.mark_read(s, current_user, "all")
    return redirect(url_for("notifications.index"))
