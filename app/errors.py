"""Errors: domain exceptions raised by services, rendered as problem+json (API) or a page (HTML).

The exception classes are plain Python so that services and workers can raise them without Flask;
`register(app)` wires the Flask handlers. This is the one place a domain error becomes an answer:

- an API call, or a page without a form to go back to, gets problem+json or the error page;
- a page form declared with `@form_errors_to(...)` gets the error's detail as a flashed message and
  a redirect back to the form, when it is something the user can act on (`form_message`): a refusal
  by `app.authz` is not (it keeps its 404/403, the same answer as for a guessed id).

Either way the request's unit of work has already been rolled back (ClassLabFlask.dispatch_request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
FORM_ERRORS_TO = "classlab_form_errors_to"


class ClassLabError(Exception):
    """A failure the user can understand. `detail` is shown to them; it never holds a stack trace."""

    status = 400
    title = "Bad request"
    # Shown as a message above the page form that caused it (the user can correct the input and send
    # again); False: answered with the error page even on a form.
    form_message = True

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
    form_message = False


class Forbidden(ClassLabError):
    status = 403
    title = "Forbidden"


class NotFound(ClassLabError):
    status = 404
    title = "Not found"


class NotVisible(NotFound):
    """app.authz: no such object, or one this user may not see. Never a form message: a page answers 404."""

    form_message = False


class NotPermitted(Forbidden):
    """app.authz: the user sees the object but may not do this to it. Never a form message: a page answers 403."""

    form_message = False


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


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra) -> dict:
    """The body of an error answer (RFC 9457); ProblemSchema documents it in the API's OpenAPI document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_schema():
    """The marshmallow schema of `problem()`'s body, for the OpenAPI document (built on first use, so that a
    worker importing the exceptions never imports marshmallow)."""
    from marshmallow import Schema, fields

    class ProblemSchema(Schema):
        type = fields.String(required=True)
        title = fields.String(required=True)
        status = fields.Integer(required=True)
        detail = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
        instance = fields.String(metadata={"description": "the path asked for"})
        field = fields.String(metadata={"description": "the input that was refused"})
        errors = fields.Dict(metadata={"description": "a refused body's messages, by location and field"})

    return ProblemSchema


def form_errors_to(target: str | Callable[..., str], anchor: str = "") -> Callable:
    """Declare where a page form goes back to when a service refuses its input.

    `target` is an endpoint (built with those of the view's URL arguments it takes) or a function of
    the view's URL arguments that returns a URL; `anchor` is added to it ("#feedback"). The error's
    detail is flashed and the browser redirected there; the unit of work was rolled back. Views keep
    no rollback/flash blocks of their own.
    """

    def declare(view: Callable) -> Callable:
        setattr(view, FORM_ERRORS_TO, (target, anchor))
        return view

    return declare


def register(app) -> None:  # noqa: C901 - one handler per kind of failure, kept together
    from flask import flash, jsonify, redirect, render_template, request, url_for
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException, InternalServerError

    def fresh_session() -> None:
        """The page about to be rendered loads current_user: after a failed flush or statement (a database
        that refused a value) outside the view's unit of work (a before_request hook), the session must be
        rolled back first, or the error page itself fails. An error answer never commits, so this loses
        nothing."""
        from app import db

        try:
            db.session().rollback()
        except Exception:  # noqa: BLE001 - a dead connection: the page renders without a user
            log.warning("rollback before the error page failed", exc_info=True)

    def wants_json() -> bool:
        return request.path.startswith("/api/") or (
            request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
            and "text/html" not in request.accept_mimetypes
        )

    def respond(status: int, title: str, detail: str, **extra):
        if wants_json():
            resp = jsonify(problem(status, title, detail, instance=request.path, **extra))
            resp.status_code = status
            resp.mimetype = PROBLEM_MEDIA_TYPE
            if status == 401:
                resp.headers["WWW-Authenticate"] = 'Bearer realm="classlab"'
            return resp
        fresh_session()
        return render_template("error.html", status=status, title=title, detail=detail), status

    def form_error_target(exc: ClassLabError) -> str | None:
        """Where a page form declared with @form_errors_to goes back to with this error, if anywhere."""
        if not exc.form_message or request.method in ("GET", "HEAD") or request.url_rule is None or wants_json():
            return None  # a page that failed to show has no form to go back to
        declared = getattr(app.view_functions.get(request.endpoint), FORM_ERRORS_TO, None)
        if declared is None:
            return None
        target, anchor = declared
        args = request.view_args or {}
        if callable(target):
            try:
                return target(**args) + anchor
            except ClassLabError:  # input refused before the view: the page to go back to may not exist
                return None
        # The view's URL arguments that the form's page takes too (a cycle's id, not a link's).
        wanted = set().union(*(rule.arguments for rule in app.url_map.iter_rules(target)))
        return url_for(target, **{k: v for k, v in args.items() if k in wanted}) + anchor

    @app.errorhandler(ClassLabError)
    def domain_error(exc: ClassLabError):
        back = form_error_target(exc)
        if back is not None:
            flash(exc.detail, "error")
            return redirect(back)
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
