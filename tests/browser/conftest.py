"""A real ClassLab (`classlab run --with-worker`, exactly what `make run` starts) and Debian's Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.steps import CHROMIUM, CHROMIUM_ARGS
from tests.processes import classlab, free_port, stop_group


class LiveServer:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"CLASSLAB_INSTANCE": str(tmp / "instance"), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
                    # Every browser test logs in from 127.0.0.1; the throttle's own test is elsewhere.
                    "LOGIN_RATE_LIMIT": "200 per minute"}
        self.log = tmp / "server.log"
        classlab(self.env, "db", "upgrade")
        exe = Path(sys.executable).with_name("classlab")
        self.fh = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(exe), "run", "--with-worker", "--port", str(self.port)], env={**os.environ, **self.env},
            stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text())
            try:
                urllib.request.urlopen(self.url + "/api/v1/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("server did not start:\n" + self.log.read_text())
        found = re.search(r"log in as (\S+) with password (\S+) ", self.log.read_text())
        assert found, self.log.read_text()
        self.admin = (found.group(1), found.group(2))

    def stop(self):
        stop_group(self.proc)
        self.fh.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright per test session: its sync API runs an event loop, and a second one cannot start beside it
    (a module that needs a browser with other flags launches it from this one)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def new_page(browser):
    """A page in a browser context of its own: one per person, so each keeps their own login."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="en-US")
        contexts.append(context)
        p = context.new_page()
        p.set_default_timeout(15000)
        return p

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
