"""Talking to the app as a browser or an API client does: CSRF tokens, logging in, bearer tokens, and the app
served over real HTTP for clients that need a socket."""

from __future__ import annotations

import re
import threading
import time

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from app.accounts import service as accounts


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)


def login(client: FlaskClient, email: str, password: str) -> TestResponse:
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app: Flask, email: str, password: str) -> FlaskClient:
    """A test client of its own (its own cookies), logged in as `email`."""
    client = app.test_client()
    login(client, email, password)
    return client


def bearer(session, user, name: str = "tests") -> dict[str, str]:
    """The Authorization header of a fresh one-day API token of the user's."""
    issued = accounts.issue_token(session, user, name, 1)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


class LiveApp:
    """The test's Flask app served over real HTTP on loopback (tus clients need a socket)."""

    def __init__(self, application: Flask):
        self.server = make_server("127.0.0.1", 0, application, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, and wait for the requests still being answered: a page rendering in one of their threads
        while the next test creates its app trips CPython 3.11.7's shared AST counter (gh-106905)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        deadline = time.monotonic() + 10
        for thread in threading.enumerate():
            target = getattr(thread, "_target", None)  # socketserver's per-request threads (daemons: not joined)
            if thread is not threading.current_thread() and getattr(target, "__func__", None) is getattr(
                    type(self.server), "process_request_thread", object()):
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
