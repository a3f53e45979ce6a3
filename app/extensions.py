"""The Flask extensions, created once and bound to the app by create_app().

They live apart from create_app so that views and API modules can use them (the login throttle, the API
blueprint registry) without importing the application factory that imports them.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from app import errors

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class ClassLabApi(Api):
    """flask-smorest, with our problem+json handlers instead of its own error format, and that format in the
    OpenAPI document: every error response (the default of each operation, the 422 of a body) is
    application/problem+json as app.errors writes it, so a client, or a fuzzer checking answers against the
    document, reads the errors it will get."""

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        import http

        from flask_smorest.utils import prepare_response

        schema = errors.problem_schema()
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = schema
            prepare_response(response, self.spec, errors.PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (RFC 9457 problem details)", "schema": schema}
        prepare_response(response, self.spec, errors.PROBLEM_MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


api = ClassLabApi()


def login_limit() -> str:
    """The login throttle (LOGIN_RATE_LIMIT), read per request so tests and settings can change it."""
    return current_app.config["LOGIN_RATE_LIMIT"]
