"""Importing QTI items in a real browser, in Hebrew: an administrator chooses a package from another tool in which
one item is new, two are already in the bank, and one uses an interaction ClassLab cannot keep. The preview names
the refused item's reason and offers the others; the administrator unticks one and imports. The preview is
photographed at 1366 and 390 px wide and must not scroll sideways."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.browser.steps import PASSWORD, log_in
from tests.browser.steps import shoot_widths as _shoot

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CLASSLAB_SCREENSHOTS")
ADMIN = "qti-admin@bank.example"
NEW_KEY = "qti-browser-neg-lift"


@pytest.fixture(scope="module")
def staged_bank(live_server):
    from app import db
    from app.config import load_settings
    from app.diagnostics import bankfile
    from app.diagnostics import service as diagnostics
    from tests import builders

    settings = load_settings({"CLASSLAB_INSTANCE": live_server.env["CLASSLAB_INSTANCE"]})
    s = Session(db.get_engine(settings.database_url))
    try:
        import app.models  # noqa: F401 - every module's rules
        from app.accounts import service as accounts
        from app.accounts.models import OrgKind

        bank = bankfile.load_bank()
        if not diagnostics.current_items(s):
            diagnostics.import_bank(s, None, bank)
        institute = accounts.create_organization(s, "המכון — מאגר פריטים", OrgKind.institute)
        builders.user(s, ADMIN, "admin", institute, password=PASSWORD, display_name="מנהלת המאגר", locale="he")
        s.commit()
        yield {"package": builders.qti_package(bank, NEW_KEY), "session": s}
    finally:
        s.close()


def test_an_administrator_previews_a_package_and_imports_the_chosen_items(live_server, staged_bank, new_page,
                                                                          tmp_path):
    from app.diagnostics.models import Item

    folder = SHOTS or str(tmp_path)
    page = new_page()
    log_in(page, live_server.url, ADMIN)
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.goto(live_server.url + "/diagnostics/bank#qti")
    page.set_input_files("#qti-file", files=[{"name": "from-another-tool.zip", "mimeType": "application/zip",
                                              "buffer": staged_bank["package"]}])
    with page.expect_navigation():
        page.click("#qti button[type=submit]")
    expect(page.locator("h1")).to_have_text("ייבוא פריטי QTI")
    entries = page.locator("li.qti-entry")
    expect(entries).to_have_count(5)
    graph = entries.filter(has_text=f"{NEW_KEY}-graph")
    expect(graph.locator(".field-error")).to_contain_text("give a topic")  # another tool's item: no topic yet
    page.fill("#topic-check", "linear_graphs")
    with page.expect_navigation():
        page.click("#qti-topic-form button")
    graph = entries.filter(has_text=f"{NEW_KEY}-graph")
    expect(graph.locator("input[type=checkbox]")).to_be_checked()
    image = graph.locator(".qti-stem img")
    expect(image).to_have_attribute("alt", "a line through (0, 0) and (1, 2)")
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 120", arg=image.element_handle())
    expect(page.locator("#qti-summary")).to_contain_text("נדחה")
    refused = entries.filter(has_text="neg-compare")
    expect(refused.locator(".field-error")).to_contain_text("qti-match-interaction is not supported")
    expect(refused.locator("input[type=checkbox]")).to_have_count(0)
    new = page.locator(f'li.qti-entry:has(input[value="{NEW_KEY}"])')
    expect(new.locator(".pill").first).to_have_text("חדש")
    expect(new.locator("input[type=checkbox]")).to_be_checked()
    unchanged = entries.filter(has_text="neg-order")
    expect(unchanged.locator("input[type=checkbox]")).not_to_be_checked()
    same = entries.filter(has_text="frac-compare-same-numerator")
    same.locator("input[type=checkbox]").check()
    _shoot(page, folder, "qti-preview-he")
    same.locator("input[type=checkbox]").uncheck()
    preview_url = page.url
    with page.expect_navigation():
        page.click("#qti-import")
    expect(page.locator(".flash").first).to_contain_text("2")
    s = staged_bank["session"]
    s.expire_all()
    assert s.scalar(select(Item).where(Item.key == NEW_KEY)).version == 1
    graph_item = s.scalar(select(Item).where(Item.key == f"{NEW_KEY}-graph"))
    assert graph_item.topic == "linear_graphs" and "item-media:" in graph_item.spec["stem"]["he"]
    assert s.scalar(select(Item).where(Item.key == "neg-compare", Item.current.is_(True))) is not None
    # the upload is gone once imported: going back to the preview says so
    page.goto(preview_url)
    expect(page.locator("main")).to_contain_text("כבר אינו כאן")
