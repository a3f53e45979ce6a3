"""The main path in a real browser: first-run admin logs in, switches to Hebrew and Arabic, logs out."""

import os

import pytest

from tests.browser.steps import create_user, log_in, switch_language

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_admin_logs_in_switches_language_and_logs_out(live_server, page):
    email, password = live_server.admin
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    page.fill("#email", email)
    page.fill("#password", "wrong password")
    page.click("button[type=submit].primary")
    assert "Wrong e-mail or password." in page.locator(".flash-error").inner_text()

    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/dashboard")
    assert page.locator("h1").inner_text() == "Hello, Administrator"
    assert page.locator("#organizations-panel").is_visible()

    switch_language(page, "he", "#locale")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "he"
    assert page.locator("h1").inner_text() == "שלום, Administrator"
    # Right-to-left for real: the brand sits at the right edge, the tools at the left.
    brand = page.locator(".brand").bounding_box()
    tools = page.locator(".tools").bounding_box()
    assert brand["x"] > tools["x"] + tools["width"]
    assert brand["x"] + brand["width"] > 1100
    _shot(page, "dashboard-he")

    switch_language(page, "ar", "#locale")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "مرحبًا" in page.locator("h1").inner_text()

    # The language is the user's: it survives logging out and in again.
    page.click("text=تسجيل الخروج")
    page.wait_for_url("**/login")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/dashboard")
    assert "مرحبًا" in page.locator("h1").inner_text()


def test_teacher_creates_an_api_token_in_hebrew_and_the_worker_answers(live_server, page):
    create_user(live_server, "noa@tichon.example", "נועה לוי", organization="תיכון אלף", locale="he")
    log_in(page, live_server.url, "noa@tichon.example")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() == "שלום, נועה לוי"
    page.click("text=ניהול אסימוני API")
    page.fill("#name", "מחשב נייד")
    page.click("button[type=submit].primary")
    secret = page.locator("#new-token code").inner_text()
    assert secret.startswith("clb_")
    _shot(page, "tokens-he")

    api = page.request
    me = api.get(live_server.url + "/api/v1/accounts/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.ok and me.json()["display_name"] == "נועה לוי"
    health = api.get(live_server.url + "/api/v1/health?worker=true")
    assert health.ok, health.text()
    assert health.json()["worker"]["database"] == "ok"
