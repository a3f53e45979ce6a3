"""The list of lessons shows each one's poster frame: through the same signed, expiring media link as the watch
page, made out to the person looking, and only for lessons that person may see."""

from __future__ import annotations

import io
import re

from app.sharing import service as sharing
from app.video import service as videos
from app.video.models import Video, VideoStatus
from tests import builders
from tests.web import signed_in

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"poster bytes" + b"\xff\xd9"
THUMB = re.compile(r'<a class="thumb" href="/videos/([0-9a-f]{24})"[^>]*>(.*?)</a>', re.S)


def with_poster(app, session, owner, title: str) -> Video:
    """A processed lesson whose poster frame is stored where the pipeline stores it."""
    video = builders.ready_video(session, owner, title=title)
    video.has_video = True
    key = f"videos/{video.public_id}/transcode/poster.jpg"
    size = app.extensions["classlab.storage"].put(key, io.BytesIO(JPEG), content_type="image/jpeg")
    videos.put_asset(session, video, "poster", key, size, "image/jpeg")
    session.commit()
    return video


def thumbs(page: str) -> dict[str, str]:
    """Each lesson's thumbnail box on a page: the image's address, or the placeholder's kind."""
    found = {}
    for public_id, inner in THUMB.findall(page):
        img = re.search(r'<img src="([^"]+)"', inner)
        kind = re.search(r'data-kind="(\w+)"', inner)
        found[public_id] = img.group(1).replace("&amp;", "&") if img else kind.group(1)
    return found


def test_the_list_shows_posters_through_signed_links_and_placeholders_for_the_rest(app, session, people):
    teacher = people["teacher"]
    shown = with_poster(app, session, teacher, "Fractions")
    waiting = builders.ready_video(session, teacher, title="Still processing")
    waiting.status = VideoStatus.probed
    failed = builders.ready_video(session, teacher, title="Refused")
    failed.status, failed.failed_step = VideoStatus.failed, "refused"
    audio = builders.ready_video(session, teacher, title="A recording without picture")
    session.commit()

    client = signed_in(app, teacher.email, people["password"])
    page = client.get("/videos/").get_data(as_text=True)
    found = thumbs(page)
    assert found[waiting.public_id] == "waiting" and found[failed.public_id] == "failed"
    assert found[audio.public_id] == "audio"
    src = found[shown.public_id]
    assert re.search(r'<img src="[^"]+" alt="" loading="lazy" decoding="async" width="320" height="180">', page)
    if src.startswith("/media/"):  # a signed token, not a storage path anyone could write down
        assert len(src.removeprefix("/media/")) > 40 and "poster" not in src and shown.public_id not in src
        served = client.get(src)
        assert served.status_code == 200 and served.data == JPEG and served.mimetype == "image/jpeg"
    else:  # S3: a presigned, expiring link to the poster itself
        assert f"/videos/{shown.public_id}/transcode/poster.jpg" in src and "X-Amz-Signature=" in src
        assert "X-Amz-Expires=900" in src  # MEDIA_URL_SECONDS
    # The dashboard's short list shows the same thumbnails, signed the same way.
    dash = thumbs(client.get("/dashboard").get_data(as_text=True))
    assert dash[waiting.public_id] == "waiting"
    if src.startswith("/media/"):
        assert client.get(dash[shown.public_id]).data == JPEG
    else:
        assert "X-Amz-Signature=" in dash[shown.public_id]


def test_who_may_not_see_a_lesson_gets_no_thumbnail_and_cannot_use_anothers(app, session, people):
    teacher, colleague = people["teacher"], people["colleague"]
    video = with_poster(app, session, teacher, "Fractions")
    owner = signed_in(app, teacher.email, people["password"])
    src = thumbs(owner.get("/videos/").get_data(as_text=True))[video.public_id]

    other = signed_in(app, colleague.email, people["password"])
    assert video.public_id not in thumbs(other.get("/videos/").get_data(as_text=True))
    assert video.public_id not in thumbs(other.get("/dashboard").get_data(as_text=True))
    local = src.startswith("/media/")
    if local:  # a copied link answers as if it never existed, to another person and to nobody at all
        assert other.get(src).status_code == 404
        assert app.test_client().get(src).status_code == 404

    # Shared, the colleague gets a thumbnail of their own; once the share is withdrawn, it stops working.
    sharing.set_consent(session, teacher, video.public_id, "full")
    share = sharing.share(session, teacher, video.public_id, colleague.email, "view")
    session.commit()
    theirs = thumbs(other.get("/videos/").get_data(as_text=True))[video.public_id]
    if local:  # made out to the colleague (S3's presigned links are bearer links that end at their expiry)
        assert theirs != src and other.get(theirs).status_code == 200
        assert other.get(src).status_code == 404  # still the owner's link, not theirs
    sharing.revoke(session, teacher, share.id)
    session.commit()
    assert video.public_id not in thumbs(other.get("/videos/").get_data(as_text=True))
    if local:
        assert other.get(theirs).status_code == 403
