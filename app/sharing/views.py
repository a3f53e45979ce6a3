"""Pages of sharing: share a lesson or a clip, withdraw a share, record the class's consent, the audit log.

The forms are on the lesson's watch and clip pages (app/video/views.py); they post here.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import db
from app.errors import form_errors_to, msg, render
from app.inputs import read_form
from app.sharing import service as sharing
from app.sharing.schemas import ConsentIn, ShareIn
from app.video import service

bp = Blueprint("sharing", __name__, url_prefix="/videos")


@bp.post("/clips/<clip_id>/share")
@login_required
@form_errors_to("video.clip", "#sharing")
def share_clip(clip_id: str):
    _share_from_form(sharing.share_clip, clip_id)
    return redirect(url_for("video.clip", clip_id=clip_id) + "#sharing")


def _share_from_form(share, target: str) -> None:
    """The sharing form of a lesson or a clip: a person's e-mail or a community, and a right."""
    wanted = read_form(ShareIn, request.form)
    found = share(db.session(), current_user, target, wanted["email"], wanted["right"],
                  community_id=wanted["community"] or None)
    flash(render(msg("Shared with %(name)s.", name=_audience(found))), "info")


def _audience(found) -> str:
    return found.user.display_name if found.user is not None else found.community.name


@bp.post("/<public_id>/share")
@login_required
@form_errors_to("video.watch", "#sharing")
def share(public_id: str):
    _share_from_form(sharing.share, public_id)
    return redirect(url_for("video.watch", public_id=public_id) + "#sharing")


@bp.post("/shares/<int:share_id>/revoke")
@login_required
def revoke_share(share_id: int):
    found = sharing.revoke(db.session(), current_user, share_id)
    flash(_("Access withdrawn."), "info")
    if found.clip is not None:
        return redirect(url_for("video.clip", clip_id=found.clip.public_id) + "#sharing")
    return redirect(url_for("video.watch", public_id=found.video.public_id) + "#sharing")


@bp.post("/<public_id>/consent")
@login_required
@form_errors_to("video.watch", "#sharing")
def consent(public_id: str):
    consent = read_form(ConsentIn, request.form)
    sharing.set_consent(db.session(), current_user, public_id, consent["status"], consent["note"])
    flash(_("Consent saved."), "info")
    return redirect(url_for("video.watch", public_id=public_id) + "#sharing")


@bp.get("/<public_id>/audit")
@login_required
def audit(public_id: str):
    s = db.session()
    video = service.get_video(s, current_user, public_id, "audit")
    return render_template("sharing/audit.html", video=video, events=sharing.audit_log(s, current_user, public_id))
