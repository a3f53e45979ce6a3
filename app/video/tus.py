"""tus 1.0 over HTTP at /api/v1/uploads/: core, creation, creation-defer-length, termination, expiration and
checksum."""

from __future__ import annotations

import os
from email.utils import format_datetime

from flask import Blueprint, current_app, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import ClientDisconnected

from app import db
from app.db import MAX_BIGINT
from app.errors import ClassLabError, PreconditionFailed, UnsupportedMediaType, msg
from app.inputs import digits
from app.video import uploads

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-defer-length,termination,expiration,checksum"

bp = Blueprint("tus", __name__, url_prefix="/api/v1/uploads")


def _settings():
    return current_app.extensions["classlab.settings"]


def _store():
    return current_app.extensions["classlab.storage"]


@bp.after_request
def tus_headers(resp):
    resp.headers["Tus-Resumable"] = TUS_VERSION
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.before_request
def check_version():
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise PreconditionFailed(msg("Send 'Tus-Resumable: %(version)s': this server speaks tus %(version)s.",
                                     version=TUS_VERSION))


def _int_header(name: str) -> int:
    raw = request.headers.get(name)
    if raw is None:
        raise ClassLabError(msg("The %(name)s header is required.", name=name), field=name)
    value = digits(raw, MAX_BIGINT)
    if value is None:
        raise ClassLabError(msg("%(name)s must be a whole number of bytes, at most %(most)s, not '%(value)s'.",
                                name=name, most=MAX_BIGINT, value=raw[:40]), field=name)
    return value


def _upload_headers(upload) -> dict[str, str]:
    # A deferred length not given yet: tus says so with Upload-Defer-Length and no Upload-Length.
    length = {"Upload-Defer-Length": "1"} if upload.length is None else {"Upload-Length": str(upload.length)}
    return {
        "Upload-Offset": str(upload.offset),
        **length,
        "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
        "ClassLab-Video-Id": upload.video.public_id,
    }


def _creation_length() -> int | None:
    """Upload-Length, or None for 'Upload-Defer-Length: 1' (a recording still being made)."""
    defer = request.headers.get("Upload-Defer-Length")
    if defer is None:
        return _int_header("Upload-Length")
    if defer.strip() != "1":
        raise ClassLabError(msg("Upload-Defer-Length can only be 1 (the length is sent with a later chunk), not "
                                "'%(value)s'.", value=defer[:40]), field="Upload-Defer-Length")
    if "Upload-Length" in request.headers:
        raise ClassLabError(msg("Send either Upload-Length or 'Upload-Defer-Length: 1', not both."),
                            field="Upload-Defer-Length")
    return None


@bp.route("/", methods=["OPTIONS"], strict_slashes=False)
def options():
    return "", 204, {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(_settings().max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
    }


@bp.route("/", methods=["POST"], strict_slashes=False)
@login_required
def create():
    settings = _settings()
    s = db.session()
    upload = uploads.create_upload(
        s, _store(), current_user, length=_creation_length(),
        metadata=uploads.parse_metadata(request.headers.get("Upload-Metadata")),
        max_bytes=settings.max_upload_bytes, expiry_hours=settings.upload_expiry_hours,
    )
    location = url_for("tus.upload", upload_id=upload.id, _external=True)
    return "", 201, {"Location": location, **_upload_headers(upload)}


@bp.route("/<upload_id>", methods=["HEAD"])
@login_required
def upload(upload_id: str):
    found = uploads.get_upload(db.session(), current_user, upload_id)
    return "", 200, _upload_headers(found)


class _Body:
    """The request body, with a dropped connection reported as OSError (what the service expects)."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, n: int) -> bytes:
        try:
            return self.stream.read(n)
        except ClientDisconnected as exc:
            raise OSError("client disconnected") from exc


@bp.route("/<upload_id>", methods=["PATCH"])
@login_required
def patch(upload_id: str):
    if request.mimetype != "application/offset+octet-stream":
        raise UnsupportedMediaType(msg("A tus PATCH needs 'Content-Type: application/offset+octet-stream'."))
    settings = _settings()
    offset = _int_header("Upload-Offset")
    checksum = uploads.parse_checksum(request.headers.get("Upload-Checksum"))
    # A deferred upload's length arrives with a chunk (often an empty last one).
    length = _int_header("Upload-Length") if "Upload-Length" in request.headers else None
    # The last chunk also asks for the first processing step, sent when the request commits.
    found = uploads.append_chunk(
        db.session(), _store(), current_user, upload_id, offset=offset, stream=_Body(request.stream),
        checksum=checksum, spool_dir=os.path.join(settings.work_folder, "uploads"),
        expiry_hours=settings.upload_expiry_hours, max_bytes=settings.max_upload_bytes, length=length,
    )
    return "", 204, _upload_headers(found)


@bp.route("/<upload_id>", methods=["DELETE"])
@login_required
def delete(upload_id: str):
    s = db.session()
    uploads.terminate(s, _store(), current_user, upload_id)
    return "", 204


def document(spec) -> None:
    """tus is a protocol of headers, not JSON bodies: describe it in the OpenAPI document by hand. Its refusals
    are problem+json like every other error (the "default" response of each operation)."""
    tus = {"name": "Tus-Resumable", "in": "header", "required": True, "schema": {"type": "string", "enum": ["1.0.0"]}}
    header = lambda name, desc: {"name": name, "in": "header", "required": True,  # noqa: E731
                                 "schema": {"type": "string"}, "description": desc}
    from werkzeug.routing import Rule

    errors = {"default": "DEFAULT_ERROR"}
    optional = lambda name, desc, **schema: {**header(name, desc), "required": False,  # noqa: E731
                                             "schema": {"type": "string", **schema}}

    spec.path(rule=Rule("/api/v1/uploads/"), operations={
        "options": {"tags": ["uploads"], "summary": "tus capabilities", "security": [],
                    "responses": {"204": {"description": "Tus-Version, Tus-Extension, Tus-Max-Size"}, **errors}},
        "post": {"tags": ["uploads"], "summary": "Create an upload (tus creation, creation-defer-length)",
                 "description": "Send Upload-Length, or 'Upload-Defer-Length: 1' when the length is not known yet "
                                "(a recording uploaded while it is made): a later PATCH then gives Upload-Length.",
                 "parameters": [tus, optional("Upload-Length", "bytes (required unless Upload-Defer-Length is sent)"),
                                optional("Upload-Defer-Length", "1: the length is sent with a later chunk",
                                         enum=["1"]),
                                optional("Upload-Metadata", "filename, title, language: he, ar or en (base64)")],
                 "responses": {"201": {"description": "Location of the upload; ClassLab-Video-Id"},
                               "413": {"description": "over MAX_UPLOAD_BYTES"}, **errors}},
    })
    spec.path(rule=Rule("/api/v1/uploads/<upload_id>"), parameters=[
        {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}], operations={
        "head": {"tags": ["uploads"], "summary": "Offset of an upload", "parameters": [tus],
                 "responses": {"200": {"description": "Upload-Offset, Upload-Length (or 'Upload-Defer-Length: 1' "
                                                     "while a deferred length is not given yet), Upload-Expires"},
                               "410": {"description": "expired"}, **errors}},
        "patch": {"tags": ["uploads"], "summary": "Append a chunk",
                  "description": "The chunk that makes Upload-Offset reach Upload-Length completes the upload and "
                                 "starts processing; for a deferred upload that may be an empty PATCH that only "
                                 "gives Upload-Length.",
                  "parameters": [tus, header("Upload-Offset", "where this chunk starts"),
                                 optional("Upload-Checksum", "e.g. 'sha256 <base64>'"),
                                 optional("Upload-Length", "a deferred upload's length, once known (given once; at "
                                                           "least the offset after this chunk)")],
                  "requestBody": {"content": {"application/offset+octet-stream": {
                      "schema": {"type": "string", "format": "binary"}}}},
                  "responses": {"204": {"description": "new Upload-Offset"},
                                "409": {"description": "wrong offset, or a different Upload-Length than given"},
                                "413": {"description": "a deferred upload past MAX_UPLOAD_BYTES"},
                                "460": {"description": "checksum mismatch"}, **errors}},
        "delete": {"tags": ["uploads"], "summary": "Cancel an upload (tus termination)", "parameters": [tus],
                   "responses": {"204": {"description": "cancelled, storage freed"}, **errors}},
    })
