"""Pages: my communities, one community (members, what was shared with it)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import authz, db
from app.accounts.forms import ActionForm
from app.communities import policy, service
from app.errors import form_errors_to, msg, render

bp = Blueprint("communities", __name__, url_prefix="/communities")


@bp.get("/")
@login_required
def index():
    s = db.session()
    found = service.list_communities(s, current_user)
    return render_template("communities/index.html", communities=found, counts=service.member_counts(s, found),
                           can_create=policy.may_create(current_user), action_form=ActionForm())


@bp.post("/")
@login_required
@form_errors_to("communities.index")
def create():
    community = service.create_community(db.session(), current_user, request.form.get("name", ""),
                                         request.form.get("description", ""),
                                         language=request.form.get("language", "")[:8] or None)
    return redirect(url_for("communities.show", public_id=community.public_id))


@bp.get("/<public_id>")
@login_required
def show(public_id: str):
    s = db.session()
    community = service.get_community(s, current_user, public_id)
    return render_template("communities/show.html", community=community, shares=service.shared_with(s, current_user,
                                                                                                    community),
                           can_manage=authz.may(current_user, "manage", community),
                           is_member=authz.may(current_user, "leave", community), action_form=ActionForm())


@bp.post("/<public_id>/members")
@login_required
@form_errors_to("communities.show", "#members")
def add_member(public_id: str):
    # An outsider gets 404 from the service's check (never a message); bad input a message.
    member = service.add_member(db.session(), current_user, public_id, request.form.get("email", ""),
                                request.form.get("role", "member"))
    flash(render(msg("%(name)s is in the community.", name=member.user.display_name)), "info")
    return redirect(url_for("communities.show", public_id=public_id) + "#members")


@bp.post("/<public_id>/members/<int:user_id>/remove")
@login_required
@form_errors_to("communities.show", "#members")
def remove_member(public_id: str, user_id: int):
    service.remove_member(db.session(), current_user, public_id, user_id)
    if user_id == current_user.id:
        flash(_("You left the community."), "info")
        return redirect(url_for("communities.index"))
    return redirect(url_for("communities.show", public_id=public_id) + "#members")


@bp.post("/<public_id>/language")
@login_required
@form_errors_to("communities.show", "#community-meetings")
def set_language(public_id: str):
    service.set_language(db.session(), current_user, public_id, request.form.get("language", "")[:8])
    flash(_("Saved."), "info")
    return redirect(url_for("communities.show", public_id=public_id) + "#community-meetings")
