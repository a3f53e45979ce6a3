"""A teacher drops a recording on the upload page: the title fills in from the file name before anything is sent, the
same resumable upload runs, and once the worker has made a poster the lesson list shows it as a thumbnail."""

from __future__ import annotations

import base64
import re
import time

import pytest
from playwright.sync_api import expect

from tests import media_files
from tests.browser.steps import create_user, log_in, poll

pytestmark = pytest.mark.browser

# Builds a File from base64 bytes in the page and fires the drag events a real drop fires, on the drop zone.
DROP = """([name, type, data]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type }));
    const zone = document.querySelector('#dropzone');
    const fire = (kind) => zone.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true,
                                                                     dataTransfer: transfer }));
    fire('dragenter');
    const highlighted = zone.classList.contains('over');
    const accepted = !fire('dragover');  // a cancelled dragover is the page saying "drop here"
    fire('drop');
    return { highlighted, accepted, after: zone.classList.contains('over') };
}"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return media_files.make_video(tmp_path_factory.mktemp("drop") / "שיעור שברים ח'3.mp4", seconds=3)


def drop(page, name: str, type_: str, data: bytes) -> dict:
    return page.evaluate(DROP, [name, type_, base64.b64encode(data).decode()])


def test_a_dropped_recording_fills_the_title_uploads_and_shows_its_poster_in_the_list(live_server, page, recording):
    create_user(live_server, "dror@tichon.example", "דרור", locale="he")
    log_in(page, live_server.url, "dror@tichon.example")
    page.goto(live_server.url + "/videos/upload")
    assert page.locator("html").get_attribute("dir") == "rtl"

    # The chooser is still reachable from the keyboard, and the zone shows where the focus is.
    page.focus("#title")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "lesson-language"  # the language it is taught in
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"
    assert page.eval_on_selector("#dropzone", "z => getComputedStyle(z).outlineStyle") == "solid"

    # Something that is not a recording is refused on the spot, and nothing is chosen.
    refused = drop(page, "notes.txt", "text/plain", b"not a video")
    assert refused == {"highlighted": True, "accepted": True, "after": False}
    expect(page.locator("#file-chosen")).to_have_class(re.compile("field-error"))
    assert page.input_value("#title") == ""
    assert page.evaluate("document.querySelector('#file').files.length") == 0

    dropped = drop(page, recording.name, "video/mp4", recording.read_bytes())
    assert dropped["accepted"] and not dropped["after"]
    # The teacher sees the title taken from the file name before pressing Upload, and the file is chosen.
    assert page.input_value("#title") == "שיעור שברים ח'3"
    assert page.evaluate("document.querySelector('#file').files[0].name") == recording.name
    expect(page.locator("#file-chosen")).to_contain_text(recording.name)
    expect(page.locator("#file-chosen")).not_to_have_class(re.compile("field-error"))
    assert page.locator("#upload-status").is_hidden()  # nothing sent yet

    page.click("#start")
    page.wait_for_url(re.compile(r"/videos/[0-9a-f]{24}$"), timeout=60000)
    public_id = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == "שיעור שברים ח'3"

    # Once the worker has made the poster, the list shows it, loaded through a signed media link.
    deadline = time.monotonic() + 180
    selector = f'a.thumb[href="/videos/{public_id}"]'
    thumb = page.locator(f"{selector} img")
    while True:
        page.goto(live_server.url + "/videos/")
        if thumb.count() or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert thumb.get_attribute("src").startswith("/media/")
    assert thumb.get_attribute("loading") == "lazy"
    page.wait_for_function(poll(f"document.querySelector('{selector} img').naturalWidth > 0"))
    box = page.locator(selector).bounding_box()
    assert box["width"] / box["height"] == pytest.approx(16 / 9, abs=0.02)
