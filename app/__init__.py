"""ClassLab web application: create_app() is the one place that wires extensions and blueprints."""

from __future__ import annotations

import logging

from flask import Flask, Request, g, request, session
from flask.json.provider import DefaultJSONProvider
from flask_login import current_user
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from app import db, errors, inputs, jobs, l10n
from app.cache import AnswerCache
from app.config import LANGUAGES, RTL, Settings, load_settings
from app.extensions import api, babel, csrf, limiter, login_limit, login_manager  # noqa: F401 - re-exported


class ClassLabJSON(DefaultJSONProvider):
    """Request bodies are read by app.inputs.loads: depth, NaN, number range and text refused in one place."""

    def loads(self, s, **kwargs):
        return inputs.loads(s)


class ClassLabRequest(Request):
    """Form fields and query arguments read by app.inputs: bytes that are not UTF-8 are refused by the text rule
    (naming the field) instead of reaching a view percent-encoded or as U+FFFD."""

    form_data_parser_class = inputs.FormParser

    @cached_property
    def args(self):
        return self.parameter_storage_class(inputs.parse_query(self.query_string))


class ClassLabFlask(Flask):
    """Flask with one unit of work per request (Indico's RH.process)."""

    json_provider_class = ClassLabJSON
    request_class = ClassLabRequest

    def dispatch_request(self):
        """Run the view in the request's unit of work and end it here, the only place that does.

        A response below 400 commits, before the response goes out: a commit that fails is answered
        as an error, never a silently lost write, and the work services asked for (app.jobs) is sent
        by that commit. An exception, or an error response a view chose to render (a form shown again
        with its message, a failed login), rolls back, like pyramid_tm's commit veto. So views and API
        endpoints call services and never commit or roll back; app.errors turns the exception into
        problem+json, an error page or a form message.
        """
        s = db.session()
        try:
            response = self.make_response(super().dispatch_request())
            if response.status_code < 400:
                s.commit()
            else:
                s.rollback()
        except BaseException:
            s.rollback()
            raise
        return response


class DatabaseInt(IntegerConverter):
    """Ids in URLs fit an id column (app.db.MAX_ID): a larger number is simply not found (not an overflow error)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=db.MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def select_locale() -> str:
    """A page's language: a student's pages are in their class's language; otherwise the user's choice, then the
    session's (a visitor's switch), then the browser's. An API client names the language of its answers
    (problem+json details included) with Accept-Language; without one it gets its user's language."""
    if request.path.startswith("/api/") and (asked := asked_language()):
        return asked
    if g.get("class_language") in LANGUAGES:  # a student's pages: the class's language (app.diagnostics.views)
        return g.class_language
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    from flask import current_app

    return asked_language() or current_app.config["BABEL_DEFAULT_LOCALE"]


def asked_language() -> str | None:
    """The first of our languages in the Accept-Language header, by quality: "he-IL, en;q=0.8" is Hebrew
    (werkzeug's best_match would take the exact "en" over the regional "he-IL")."""
    for value, quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return None


def select_timezone() -> str | None:
    if current_user.is_authenticated:
        return current_user.timezone
    return None


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level)
    app = ClassLabFlask(__name__, instance_path=settings.instance_path)
    app.url_map.converters["int"] = DatabaseInt
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        # We call csrf.protect() ourselves, so that bearer-token API calls are exempt.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.default_timezone,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        LOGIN_RATE_LIMIT=settings.login_rate_limit,
        STUDENT_SIGNIN_LIMIT_PER_ADDRESS=settings.student_signin_limit_per_address,
        STUDENT_SIGNIN_LIMIT_PER_CLASS=settings.student_signin_limit_per_class,
        API_TITLE="ClassLab API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearer": []}],
            "info": {"description": "Errors are application/problem+json (RFC 9457)."},
        },
    )
    app.extensions["classlab.settings"] = settings
    app.extensions["classlab.cache"] = AnswerCache(settings.answer_cache_mb * 1024 * 1024)
    db.bind(settings.database_url)

    from storage import open_storage

    app.extensions["classlab.storage"] = open_storage(settings)
    jobs.bind(settings)
    media_origin = _media_origin(settings)

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    l10n.register(app)  # dates and numbers in Israeli formats (Flask-Babel's filters would use US order in English)
    limiter.init_app(app)
    api.init_app(app)

    from app.accounts import api as accounts_api
    from app.accounts import policy as _accounts_policy  # noqa: F401 - registers rules with app.authz
    from app.accounts import views as accounts_views
    from app.accounts.models import User
    from app.analytics import api as analytics_api
    from app.analytics import views as analytics_views
    from app.coaching import api as coaching_api
    from app.coaching import views as coaching_views
    from app.communities import api as communities_api
    from app.communities import views as communities_views
    from app.delivery import views as delivery_views
    from app.diagnostics import api as diagnostics_api
    from app.diagnostics import views as diagnostics_views
    from app.feedback import api as feedback_api
    from app.feedback import views as feedback_views
    from app.goals import api as goals_api
    from app.goals import policy as _goals_policy  # noqa: F401 - registers rules with app.authz
    from app.goals import views as goals_views
    from app.health import api as health_api
    from app.meetings import api as meetings_api
    from app.meetings import policy as _meetings_policy  # noqa: F401 - registers rules with app.authz
    from app.meetings import views as meetings_views
    from app.notifications import api as notifications_api
    from app.notifications import service as notifications_service
    from app.notifications import views as notifications_views
    from app.plans import api as plans_api
    from app.plans import policy as _plans_policy  # noqa: F401 - registers rules with app.authz
    from app.plans import views as plans_views
    from app.rehearsals import policy as _rehearsals_policy  # noqa: F401 - registers rules with app.authz
    from app.rehearsals import views as rehearsals_views
    from app.sharing import api as sharing_api
    from app.sharing import views as sharing_views
    from app.standards import api as standards_api
    from app.standards import views as standards_views
    from app.video import api as video_api
    from app.video import tus as video_tus
    from app.video import views as video_views

    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(delivery_views.bp)
    app.register_blueprint(video_views.bp)
    app.register_blueprint(video_views.search_bp)
    app.register_blueprint(feedback_views.bp)
    app.register_blueprint(sharing_views.bp)
    app.register_blueprint(video_tus.bp)
    app.register_blueprint(diagnostics_views.bp)
    app.register_blueprint(diagnostics_views.student_bp)
    app.register_blueprint(communities_views.bp)
    app.register_blueprint(coaching_views.bp)
    app.register_blueprint(notifications_views.bp)
    app.register_blueprint(rehearsals_views.bp)
    app.register_blueprint(plans_views.bp)
    app.register_blueprint(meetings_views.bp)
    app.register_blueprint(analytics_views.bp)
    app.register_blueprint(standards_views.bp)
    app.register_blueprint(standards_views.verify_bp)
    app.register_blueprint(goals_views.bp)
    api.register_blueprint(accounts_api.blp)
    api.register_blueprint(health_api.blp)
    api.register_blueprint(video_api.blp)
    api.register_blueprint(video_api.search_blp)
    api.register_blueprint(feedback_api.blp)
    api.register_blueprint(sharing_api.blp)
    api.register_blueprint(diagnostics_api.blp)
    api.register_blueprint(plans_api.blp)
    api.register_blueprint(meetings_api.blp)
    api.register_blueprint(analytics_api.blp)
    api.register_blueprint(standards_api.blp)
    api.register_blueprint(goals_api.blp)
    api.register_blueprint(notifications_api.blp)
    api.register_blueprint(communities_api.blp)
    api.register_blueprint(coaching_api.blp)
    video_tus.document(api.spec)
    notifications_service.configure(settings)  # e-mail notifications after commit when SMTP_HOST is set
    errors.register(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        if "api_user" in g:  # an API call that names its user with a bearer token acts as that user, whatever
            return g.api_user  # session cookie the same client also sends (Flask-Login asks the session first)
        try:
            user = db.session().get(User, int(user_id))
        except ValueError:
            return None
        return user if user and user.active else None

    @login_manager.request_loader
    def load_api_user(_request):
        return g.get("api_user")

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for

        if request.path.startswith("/api/"):
            raise errors.NotAuthenticated(errors.msg("Send 'Authorization: Bearer <token>' or log in first."))
        return redirect(url_for("accounts.login", next=request.full_path))

    @app.before_request
    def authenticate_and_protect():
        if request.method == "PATCH" and request.path.startswith("/api/v1/uploads/"):
            # tus chunks are large; set before anything (the CSRF check) looks at the body.
            request.max_content_length = settings.max_upload_bytes
        elif request.method == "POST" and request.path in ("/diagnostics/bank/qti", "/api/v1/diagnostics/qti"):
            # a QTI package is larger than a form; the service bounds what it unpacks to
            from app.diagnostics.service import MAX_QTI_BYTES

            request.max_content_length = MAX_QTI_BYTES + 1_000_000
        header = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and header:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise errors.NotAuthenticated(errors.msg("Use 'Authorization: Bearer <token>'."))
            from app.accounts.service import user_for_token

            # Its last use is stored by the request's own unit of work (committed with the request).
            g.api_user = user_for_token(db.session(), secret.strip())
            return  # a bearer token cannot be sent by another site, so no CSRF check
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        # A browser sends the session cookie by itself, so anything riding on it needs the CSRF token;
        # an API call without a session (exchanging a password for a token) has nothing to forge.
        if not request.path.startswith("/api/") or "_user_id" in session:
            csrf.protect()

    @app.before_request
    def refuse_bad_input():
        """One guard for what any endpoint is sent, before any view: a JSON body is read by app.inputs.loads
        (cached for request.get_json; flask-smorest's webargs re-reads the raw bytes with the stdlib only
        once they have passed here), and every form field, query argument and URL part is held to the same
        text rule. A refusal names the field: 422 problem+json for the API, the form's flashed message (or
        the error page) for pages."""
        if request.is_json and request.get_data(cache=True):  # any method: webargs reads a GET's body too
            request.get_json(silent=True)  # malformed JSON: webargs answers 400 with its "Invalid JSON body."
        for part in (request.view_args or {}).values():
            if isinstance(part, str) and inputs.text_refused(part):
                raise errors.NotFound(errors.msg("There is no such page."))
        fields = request.args.lists()
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields = [*fields, *request.form.lists()]
        for name, values in fields:
            inputs.check_text(name, name)
            for value in values:
                inputs.check_text(name, value)

    @app.teardown_appcontext
    def close_session(_exc):
        db.Session_.remove()

    @app.context_processor
    def layout_context():
        from flask_babel import get_locale

        lang = str(get_locale() or "en")
        return {"lang": lang, "text_dir": "rtl" if lang in RTL else "ltr", "languages": LANGUAGES}

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src 'self' data: blob: {media_origin}; media-src 'self' blob: {media_origin}; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
        )
        return resp

    return app


def _media_origin(settings: Settings) -> str:
    """Where signed media URLs point: this site, or the S3 endpoint the page must be allowed to load from."""
    if not settings.storage_url.startswith("s3://"):
        return ""
    if settings.s3_endpoint_url:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.s3_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return "https://*.amazonaws.com"


def settings_of(app: Flask) -> Settings:
    return app.extensions["classlab.settings"]
