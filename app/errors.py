"""Errors: domain exceptions raised by services, rendered as problem+json (API) or a page (HTML).

The exception classes are plain Python so that services and workers can raise them without Flask;
`register(app)` wires the Flask handlers. This is the one place a domain error becomes an answer:

- an API call, or a page without a form to go back to, gets problem+json or the error page;
- a page form declared with `@form_errors_to(...)` gets the error's detail as a flashed message and
  a redirect back to the form, when it is something the user can act on (`form_message`): a refusal
  by `app.authz` is not (it keeps its 404/403, the same answer as for a guessed id).

Either way the request's unit of work has already been rolled back (ClassLabFlask.dispatch_request).

What an error says is a `Message` (`msg("...", name=value)`): the English sentence as a gettext msgid and
its params, translated when it is shown, in the language of whoever reads it (the page's, the API
client's Accept-Language, the student's), never when it is raised. `pybabel extract -k msg` finds them;
tests/unit/test_messages.py fails on a raise whose detail is not one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
FORM_ERRORS_TO = "classlab_form_errors_to"


def english(msgid: str) -> str:
    return msgid


# First-strong isolate ... pop directional isolate: the text equivalent of <bdi>. Around a name, an item key
# or a typed value inside a right-to-left sentence, so "שאלה cheese-cost: „three”" keeps its punctuation
# where the sentence puts it instead of where the Latin run drags it.
FSI, PDI = "\u2068", "\u2069"


class Message(str):
    """One sentence for a reader: a msgid and its params, rendered by `render(gettext)` in that gettext's
    language. A param may itself be a Message (rendered in the same language) or a list of them (joined
    with spaces), so "Nothing was imported. Row 3: ..." reads in one language throughout. With `isolate` (a
    right-to-left reader) each text param is bidi-isolated.

    As a str it is its English sentence (logs, the command line, anything that only wants text): so
    marshmallow takes it wherever it takes an error message (a validator's `error=`, a field's
    `error_messages`) and hands it back whole, and app.errors renders it for the reader of the answer."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        self = super().__new__(cls, _fill(msgid, {k: _render_param(v, english, False) for k, v in params.items()}))
        self.msgid, self.params = msgid, params
        return self

    def render(self, gettext: Callable[[str], str] = english, *, isolate: bool = False) -> str:
        values = {name: _render_param(value, gettext, isolate) for name, value in self.params.items()}
        text = gettext(self.msgid)
        try:
            return _fill(text, values)
        except (KeyError, TypeError, ValueError):  # a translator's broken placeholder: English, not an error
            log.warning("translation of %r does not fit its params", self.msgid)
            return _fill(self.msgid, values)

    def format(self, *_args: Any, **_kwargs: Any) -> Message:
        """marshmallow calls `message.format(input=..., min=...)` on a str message: ours is whole already."""
        return self

    def __repr__(self) -> str:
        return f"msg({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return (type(self), self.msgid, self.params) == (type(other), other.msgid, other.params)
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __reduce__(self):
        return (_rebuild, (type(self), self.msgid, self.params))


def _rebuild(cls: type, msgid: str, params: dict[str, Any]) -> Message:
    return cls(msgid, **params) if cls is Message else cls(params["parts"])


def _fill(text: str, values: dict[str, Any]) -> str:
    return text % values if values else text


def msg(msgid: str, /, **params: Any) -> Message:
    """A translatable sentence with its params (the msgid uses %(name)s placeholders, Python-format)."""
    return Message(msgid, **params)


class Sentences(Message):
    """Sentences that read one after the other (each problem of an answer sheet), each translated."""

    def __new__(cls, parts: list[Message | str]) -> Sentences:
        return super().__new__(cls, "%(parts)s", parts=list(parts))

    def render(self, gettext: Callable[[str], str] = english, *, isolate: bool = False) -> str:
        return _render_param(self.params["parts"], gettext, isolate)

    def __repr__(self) -> str:
        return f"sentences({self.params['parts']!r})"


def sentences(parts: list[Message | str]) -> Message:
    return Sentences(parts)


def _render_param(value: Any, gettext: Callable[[str], str], isolate: bool) -> Any:
    if isinstance(value, Message):
        return value.render(gettext, isolate=isolate)
    if isinstance(value, list | tuple):
        return " ".join(str(_render_param(v, gettext, isolate)) for v in value)
    if isolate and isinstance(value, str):
        return FSI + value + PDI
    return value


def rendered(value: Any) -> Any:
    """Every Message inside a JSON-able structure (a 422's `errors`) in the reader's language."""
    if isinstance(value, Message):
        return render(value)
    if isinstance(value, dict):
        return {k: rendered(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rendered(v) for v in value]
    return value


def render(text: Message | str, gettext: Callable[[str], str] | None = None, *, isolate: bool = False) -> str:
    """A detail as its reader reads it: with `gettext`, in that language; without, in the language of
    whoever reads it now (`reader`). Text that is already a str (a view's own gettext) stays as it is."""
    if not isinstance(text, Message):
        return str(text)
    if gettext is None:
        gettext, isolate = reader()
    return text.render(gettext, isolate=isolate)


def reader() -> tuple[Callable[[str], str], bool]:
    """The gettext of whoever reads an answer now, and whether they read right to left: Flask-Babel's inside
    a request (the locale chosen for it: the user's, the student's, the API client's Accept-Language),
    English elsewhere (the command line, workers, logs). Flask is imported only here, when asked, so
    raising needs none."""
    from flask import has_request_context

    if not has_request_context():
        return english, False
    from flask_babel import get_locale, gettext

    from app.config import RTL

    locale = get_locale()
    return gettext, bool(locale) and locale.language in RTL


class ClassLabError(Exception):
    """A failure the user can understand. `message` says what, as a Message translated when shown
    (`detail`); it never holds a stack trace."""

    status = 400
    title = msg("Bad request")
    # Shown as a message above the page form that caused it (the user can correct the input and send
    # again); False: answered with the error page even on a form.
    form_message = True

    def __init__(self, message: Message | str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def detail(self) -> str:
        """The message in the language of whoever reads it now (English outside a request)."""
        return render(self.message)

    def text(self, gettext: Callable[[str], str], *, isolate: bool = False) -> str:
        """The message in the language of `gettext` (a worker's catalogue of a user's language)."""
        return render(self.message, gettext, isolate=isolate)


class InvalidInput(ClassLabError):
    status = 422
    title = msg("Invalid input")


class NotAuthenticated(ClassLabError):
    status = 401
    title = msg("Not authenticated")
    form_message = False


class Forbidden(ClassLabError):
    status = 403
    title = msg("Forbidden")


class NotFound(ClassLabError):
    status = 404
    title = msg("Not found")


class NotVisible(NotFound):
    """app.authz: no such object, or one this user may not see. Never a form message: a page answers 404."""

    form_message = False


class NotPermitted(Forbidden):
    """app.authz: the user sees the object but may not do this to it. Never a form message: a page answers 403."""

    form_message = False


class Conflict(ClassLabError):
    status = 409
    title = msg("Conflict")


class Gone(ClassLabError):
    status = 410
    title = msg("Gone")


class TooLarge(ClassLabError):
    status = 413
    title = msg("Too large")


class PreconditionFailed(ClassLabError):
    status = 412
    title = msg("Precondition failed")


class UnsupportedMediaType(ClassLabError):
    status = 415
    title = msg("Unsupported media type")


class ChecksumMismatch(ClassLabError):
    status = 460  # tus checksum extension
    title = msg("Checksum mismatch")


class ServiceUnavailable(ClassLabError):
    status = 503
    title = msg("Service unavailable")


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra) -> dict:
    """The body of an error answer (RFC 9457); ProblemSchema documents it in the API's OpenAPI document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


# What the HTTP errors that no service raised are called and say, in the reader's language (werkzeug's
# names and descriptions are English; a description given to abort() is kept).
HTTP_TITLES: dict[int, Message] = {
    400: msg("Bad request"), 401: msg("Not authenticated"), 403: msg("Forbidden"), 404: msg("Not found"),
    405: msg("Method not allowed"), 409: msg("Conflict"), 410: msg("Gone"), 412: msg("Precondition failed"),
    413: msg("Too large"), 415: msg("Unsupported media type"), 422: msg("Invalid input"),
    429: msg("Too many requests"), 500: msg("Internal server error"), 503: msg("Service unavailable"),
}
HTTP_DETAILS: dict[int, Message] = {
    400: msg("The request was not understood."),
    401: msg("Log in to continue."),
    403: msg("You may not do this."),
    404: msg("The requested address was not found."),
    405: msg("This method is not allowed at this address."),
    413: msg("What was sent exceeds the size this address accepts."),
    415: msg("This address does not accept this kind of content."),
    500: msg("Something went wrong on our side. It has been logged."),
}


# Flask-WTF's reasons for refusing a form, in the reader's language.
CSRF_REASONS: dict[str, Message] = {m: m for m in (
    msg("The CSRF token is missing."), msg("The CSRF session token is missing."), msg("The CSRF token has expired."),
    msg("The CSRF token is invalid."), msg("The CSRF tokens do not match."), msg("The referrer header is missing."),
    msg("The referrer does not match the host."),
)}


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
    from werkzeug.exceptions import HTTPException

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

    def respond(status: int, title: Message | str, detail: Message | str, **extra):
        """problem+json or the error page, its title and detail in the reader's language; `type` and
        `status` stay the same in every language (what a program should branch on)."""
        fresh_session()  # the reader's language may need the signed-in user, loaded through the session
        title, detail = render(title), render(detail)
        if wants_json():
            resp = jsonify(problem(status, title, detail, instance=request.path, **extra))
            resp.status_code = status
            resp.mimetype = PROBLEM_MEDIA_TYPE
            if status == 401:
                resp.headers["WWW-Authenticate"] = 'Bearer realm="classlab"'
            return resp
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
        reason = CSRF_REASONS.get(str(exc.description), msg("The form's security check failed."))
        return respond(400, msg("CSRF check failed"), msg("%(reason)s Reload the page and try again.", reason=reason))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        title, detail = HTTP_TITLES.get(code, exc.name), exc.description or exc.name
        if detail == type(exc).description:  # werkzeug's own English sentence: ours, translated
            detail = HTTP_DETAILS.get(code, detail)
        extra = {}
        # webargs (through flask-smorest) attaches the field errors of a rejected body here.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and data.get("messages"):
            extra["errors"] = rendered(data["messages"])
            detail = msg("The request body did not validate; see 'errors' for each field.")
        if code == 429:
            detail = msg("Too many requests (%(limit)s). Wait a minute and try again.", limit=exc.description or "")
        resp = respond(code, title, detail, **extra)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            resp = app.make_response(resp)
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return respond(500, HTTP_TITLES[500], msg("Something went wrong on our side. It has been logged."))
