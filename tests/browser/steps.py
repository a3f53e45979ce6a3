"""What the browser tests do again and again: set up people and lessons on the live server through the real
`classlab` CLI, and the steps a person takes in the pages (log in, record consent, share a lesson)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.processes import classlab

PASSWORD = "long enough password"
# Debian's Chromium (never a downloaded browser) and the flags every test browser starts with.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def create_user(server, email: str, name: str, role: str | None = None, organization: str | None = None, *,
                locale: str = "en", password: str = PASSWORD) -> None:
    """`classlab user create`; without a role or an organization the CLI's defaults apply."""
    args = ["user", "create", "--email", email, "--name", name]
    if role is not None:
        args += ["--role", role]
    if organization is not None:
        args += ["--organization", organization]
    classlab(server.env, *args, "--locale", locale, "--password", password)


def ingest(server, path: Path, owner: str, title: str, language: str = "en") -> str:
    """`classlab ingest --wait`: the lesson's public id once the real worker has made it ready. The generated
    recordings speak English, whatever their teacher's own language."""
    out = classlab(server.env, "ingest", str(path), "--owner", owner, "--title", title, "--language", language,
                   "--wait", "--json", "--timeout", "180", timeout=240)
    summary = json.loads(out.stdout)
    assert summary["status"] == "ready", summary
    return summary["id"]


def log_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/dashboard")


def signed_in(new_page, server, email: str) -> Page:
    """A page of a new browser context (the `new_page` fixture), logged in as `email`."""
    page = new_page()
    log_in(page, server.url, email)
    return page


def poll(condition: str) -> str:
    """A condition for wait_for_function as an arrow function. Playwright evals a bare expression again on
    every poll, which the pages' Content-Security-Policy (no 'unsafe-eval') refuses once polling goes past
    the first check; a function is evaluated once and then only called."""
    return f"() => {condition}"


def full_consent(page: Page) -> None:
    """On a lesson's page, its owner records the class's full consent."""
    page.select_option("#consent", "full")
    page.click("#consent-form button[type=submit]")
    page.wait_for_url(re.compile(r"#sharing$"))
    expect(page.locator("#share-blocked")).to_have_count(0)


def share_lesson(page: Page, email: str, right: str, shown_as: str) -> None:
    """On a lesson's page, its owner shares it with a person, who is then listed by name."""
    page.fill("#share-email", email)
    page.select_option("#share-right", right)
    page.click("#share-form button.primary")
    expect(page.locator("#shares li")).to_contain_text(shown_as)


# Every word of Latin script in the page's text, mathematics (MathML) set aside: a page for a class taught in
# Hebrew or Arabic has none (issue 11). textContent of a copy: hidden text counts too.
# A lone Latin letter is mathematics, not a word: the name of a line or a square (P, Q) or a unit's symbol (°C),
# which Israeli textbooks write in Latin letters in every language. Two letters or more are a word.
LATIN_WORDS = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('math, script, style').forEach(e => e.remove());
    return (body.textContent.match(/\\p{Script=Latin}+/gu) || []).filter(w => w.length > 1);
}"""


def latin_words(page: Page) -> list[str]:
    return page.evaluate(LATIN_WORDS)


def choose_tag(page: Page, n: int = 0) -> str:
    """In the comment form's tag picker, tick the n-th framework element; its label."""
    label = page.locator(".tag-picker .tag-options label").nth(n)
    text = label.inner_text().strip()
    label.locator("input").check()
    return text


def switch_language(page: Page, lang: str, select: str = "form.lang select[name=locale]") -> None:
    """Choose a language in the header's form and wait for the page it reloads into. The click starts a
    navigation: the wait covers it (a predicate run between two documents finds no documentElement)."""
    page.select_option(select, lang)
    with page.expect_navigation():
        page.click("form.lang button")
    page.wait_for_function(f"() => document.documentElement !== null && document.documentElement.lang === '{lang}'")


def shoot_widths(page: Page, folder: str, name: str) -> None:
    """The page at 1366 and 390 px wide (full length) as <name>-<width>.png; at 390 nothing may scroll sideways."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} scrolls sideways"
        page.screenshot(path=os.path.join(folder, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
