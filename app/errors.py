"""Errors: domain exceptions raised by services, rendered as problem+json (API) or a page (HTML).

The exception classes are plain Python so that services and workers can raise them without Flask;
`register(app)` wires the Flask handlers.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ClassLabError(Exception):
    """A failure the user can understand. `detail` is shown to them; it never holds a stack trace."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(ClassLabError):
    status = 422
    title = "Invalid input"


class NotAuthenticated(ClassLabError):
    status = 401
    title = "Not authenticated"


class Forbidden(ClassLabError):
    status = 403
    title = "Forbidden"


class NotFound(ClassLabError):
    status = 404
    title = "Not found"


class Conflict(ClassLabError):
    status = 409
    title = "Conflict"


class Gone(ClassLabError):
    status = 410
    title = "Gone"


class TooLarge(ClassLabError):
    status = 413
    title = "Too large"


class PreconditionFailed(ClassLabError):
    status = 412
    title = "Precondition failed"


class UnsupportedMediaType(ClassLabError):
    status = 415
    title = "Unsupported media type"


class ChecksumMismatch(ClassLabError):
    status = 460  # tus checksum extension
    title = "Checksum mismatch"


class ServiceUnavailable(ClassLabError):
    status = 503
    title = "Service unavailable"


def problem(status: int, title: str, detail: str, **extra) -> dict:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def register(app) -> None:  # noqa: C901 - one handler per kind of failure, kept together
    from flask import jsonify, render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException, InternalServerError

    def wants_json() -> bool:
        return request.path.startswith("/api/") or (
            request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
            and "text/html" not in request.accept_mimetypes
        )

    def respond(status: int, title: str, detail: str, **extra):
        if wants_json():
            resp = jsonify(problem(status, title, detail, instance=request.path, **extra))
            resp.status_code = status
            resp.mimetype = "application/problem+json"
            if status == 401:
                resp.headers["WWW-Authenticate"] = 'Bearer realm="classlab"'
            return resp
        return render_template("error.html", status=status, title=title, detail=detail), status

    @app.errorhandler(ClassLabError)
    def domain_error(exc: ClassLabError):
        return respond(exc.status, exc.title, exc.detail, field=exc.field)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return respond(400, "CSRF check failed", f"{exc.description} Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        detail = exc.description or exc.name
        extra = {}
        # webargs (through flask-smorest) attaches the field errors of a rejected body here.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and data.get("messages"):
            extra["errors"] = data["messages"]
            detail = "The request body did not validate; see 'errors' for each field."
        if exc.code == 429:
            detail = f"{detail} Wait a minute and try again."
        resp = respond(exc.code or 500, exc.name, detail, **extra)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            resp = app.make_response(resp)
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = InternalServerError()
        return respond(500, err.name, "Something went wrong on our side. It has been logged.")
