"""Serves local-storage media behind signed, expiring URLs, with HTTP byte ranges for seeking.

A link is made out to the user it was issued to (its `audience`) and served only to that user's session, or
to a program sending that user's API token: a copied or leaked link answers 404 to anyone else. A `<video>`
element's requests carry the page's cookie, so the watch page needs nothing more.

With S3 storage the signed URL points at S3 itself and this view is not involved: a presigned URL is a bearer
link, which is why MEDIA_URL_SECONDS is short.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, request

from app.errors import msg
from storage.base import LinkExpired, ObjectNotFound, StorageError
from storage.local import LocalStorage

bp = Blueprint("delivery", __name__)


def _check_still_allowed(key: str, audience: int | None, *, download: bool) -> None:
    """A copied link stops working once its user may no longer see the video (a share revoked); an archive of
    someone's data (exports/) is served only to that user, and only while it exists."""
    from sqlalchemy import select

    from app import authz, db
    from app.accounts.models import User
    from app.sharing.service import record
    from app.video.models import Clip, Video

    s = db.session()
    if key.startswith("exports/"):
        from app.export.service import may_serve

        if not may_serve(s, key, audience):
            abort(403, msg("This archive is not yours, or it was deleted."))
        return
    parts = key.split("/")
    if key.startswith("scenarios/"):  # a student turn's voice: heard by whoever may read the scenario
        from app.rehearsals.models import Scenario

        scenario = s.scalar(select(Scenario).where(Scenario.public_id == parts[1]))
        user = s.get(User, audience) if audience is not None else None
        if scenario is None or user is None or not authz.may(user, "view", scenario):
            abort(403, msg("Access to this scenario was withdrawn."))
        return
    video = s.scalar(select(Video).where(Video.public_id == parts[1]))
    user = s.get(User, audience) if audience is not None else None
    # A clip's own file is also served to those who were shared only that clip.
    target = video
    if video is not None and len(parts) == 4 and parts[2] == "clips":
        target = s.scalar(select(Clip).where(Clip.video_id == video.id, Clip.cut_key == key))
    if target is None or user is None or not authz.may(user, "view", target):
        abort(403, msg("Access to this video was withdrawn."))
    if download:
        record(s, video, user, "download", key.rsplit("/", 1)[-1])


def _requester_id() -> int | None:
    """Who is asking: the browser's session, else the user of a bearer token (an API client fetching a link the
    API gave it)."""
    from flask_login import current_user

    if current_user.is_authenticated:
        return current_user.id
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    from app import db
    from app.accounts.service import user_for_token
    from app.errors import NotAuthenticated

    try:
        return user_for_token(db.session(), secret.strip()).id
    except NotAuthenticated:
        return None


@bp.get("/media/<token>")
def media(token: str):
    store = current_app.extensions["classlab.storage"]
    if not isinstance(store, LocalStorage):
        abort(404)
    try:
        key, filename, audience = store.resolve_signed_for(token)
        size = store.size(key)
    except ObjectNotFound:
        abort(404, msg("This media no longer exists."))
    except LinkExpired:
        abort(403, msg("This media link has expired; reload the page for a new one."))
    except StorageError:
        abort(403, msg("This media link is not valid."))
    if audience is not None and _requester_id() != audience:
        abort(404)  # the same answer as a link that never existed: nothing tells the holder it was real
    if key.startswith(("videos/", "exports/")):
        _check_still_allowed(key, audience, download=bool(filename))
    mimetype = mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=0"}
    if filename:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    rng = request.range
    if rng is not None and rng.units == "bytes" and len(rng.ranges) == 1:
        bounds = rng.range_for_length(size)
        if bounds is None:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, stop = bounds
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        headers["Content-Length"] = str(stop - start)
        return Response(store.stream(key, start, stop - 1), 206, headers=headers, mimetype=mimetype)
    headers["Content-Length"] = str(size)
    return Response(store.stream(key), 200, headers=headers, mimetype=mimetype)
