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

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class ClassLabApi(Api):
    """flask-smorest, with our problem+json handlers instead of its own error format."""

    def _register_error_handlers(self):
        pass


api = ClassLabApi()


def login_limit() -> str:
    """The login throttle (LOGIN_RATE_LIMIT), read per request so tests and settings can change it."""
    return current_app.config["LOGIN_RATE_LIMIT"]
