"""Framework-tag summaries: counts across a lesson's timeline and per month over a teacher's lessons, as charts
and tables, counting only feedback the reader may see."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from app import signals
from app.errors import InvalidInput, NotFound
from app.feedback import service as feedback
from app.feedback import tagstats
from app.feedback.models import Comment, ObservationFramework
from app.sharing.models import Share
from app.video.models import Video
from tests import builders
from tests.web import login, signed_in

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def framework(session):
    return builders.talk_framework(session, hebrew=True)


def lesson(session, owner, title="Lesson", seconds=1500.0, consent="none") -> Video:
    """A processed lesson without media files: the counts only need its length and its comments."""
    return builders.ready_video(session, owner, title, seconds, consent)


def share(session, video, user, right="comment") -> None:
    """A live share, made directly: these tests are about counting, not about sharing."""
    session.add(Share(video=video, user=user, right=right))
    session.commit()


def comment(session, who, video, start, tags, at=None, **kw) -> Comment:
    c = feedback.add_comment(session, who, video.public_id, body="note", start=start, tags=tags, **kw)
    if at is not None:
        c.created_at = at
    session.commit()
    return c


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))  # well formed, or this raises
    assert root.tag == f"{SVG}svg"
    assert all("style" not in el.attrib for el in root.iter()) and not list(root.iter(f"{SVG}script"))
    return root


def unembedded(text: str | None) -> str | None:
    """A label as read: a right-to-left chart holds its words in an embedding (RLE ... PDF) to keep their order."""
    return text.removeprefix("\u202b").removesuffix("\u202c") if text else text


def bars(root: ET.Element) -> list[tuple[int, str, int, float]]:
    """(column, series, count, x) of every bar in the chart."""
    out = []
    for g in root.iter(f"{SVG}g"):
        if "data-column" in g.attrib:
            for r in g.iter(f"{SVG}rect"):
                out.append((int(g.get("data-column")), r.get("data-key"), int(r.get("data-value")), float(r.get("x"))))
    return out


def test_counts_per_five_minutes_of_the_lesson(session, people, framework):
    teacher = people["teacher"]
    v = lesson(session, teacher)  # 25 minutes: five buckets
    comment(session, teacher, v, 10, ["talk:justify", "talk:build"])
    comment(session, teacher, v, "4:59", ["talk:justify"])
    comment(session, teacher, v, "5:00", ["talk:justify"])
    comment(session, teacher, v, "25:00", ["talk:build"])  # the very end: the last bucket, not a sixth one
    untagged = comment(session, teacher, v, 700, [])
    feedback.add_comment(session, teacher, v.public_id, body="a reply", parent_id=untagged.id)
    gone = comment(session, teacher, v, 800, ["talk:build"])
    feedback.delete_comment(session, teacher, gone.id)
    kept = comment(session, teacher, v, 900, ["talk:justify"])
    feedback.add_comment(session, teacher, v.public_id, body="reply keeps it", parent_id=kept.id)
    feedback.delete_comment(session, teacher, kept.id)  # shown as deleted, its tags gone
    session.commit()

    t = tagstats.video_tag_timeline(session, teacher, v.public_id)
    assert t.starts == (0, 300, 600, 900, 1200) and t.bucket_seconds == 300
    assert t.keys == ("talk:justify", "talk:build")
    assert t.counts == {"talk:justify": (2, 1, 0, 0, 0), "talk:build": (1, 0, 0, 0, 1)}
    assert t.totals == {"talk:justify": 3, "talk:build": 2} and t.total == 5
    assert feedback.tag_summary(session, teacher, v.public_id) == dict(t.totals)

    ten = tagstats.video_tag_timeline(session, teacher, v.public_id, bucket_seconds=600)
    assert ten.starts == (0, 600, 1200) and ten.counts["talk:justify"] == (3, 0, 0)
    with pytest.raises(InvalidInput, match="whole number of seconds"):
        tagstats.video_tag_timeline(session, teacher, v.public_id, bucket_seconds=0)


def test_an_empty_or_short_lesson_has_one_bucket(session, people, framework):
    v = lesson(session, people["teacher"], seconds=4.0)
    t = tagstats.video_tag_timeline(session, people["teacher"], v.public_id)
    assert (t.starts, t.keys, t.total) == ((0,), (), 0)


def test_the_timeline_only_counts_what_the_reader_may_see(session, people, framework):
    teacher, coach = people["teacher"], people["coach"]
    v = lesson(session, teacher, consent="full")
    comment(session, teacher, v, 10, ["talk:justify"])
    for who in ("coach", "other_teacher", "colleague", "admin"):
        with pytest.raises(NotFound):
            tagstats.video_tag_timeline(session, people[who], v.public_id)
    share(session, v, coach)
    comment(session, coach, v, 400, ["talk:build"])
    seen = tagstats.video_tag_timeline(session, coach, v.public_id)
    assert seen.counts == {"talk:build": (0, 1, 0, 0, 0), "talk:justify": (1, 0, 0, 0, 0)}


def test_teacher_summary_per_month_in_the_readers_time_zone(session, people, framework):
    teacher, colleague = people["teacher"], people["colleague"]
    v1 = lesson(session, teacher, "Fractions")
    v2 = lesson(session, teacher, "Graphs")
    theirs = lesson(session, colleague, "Colleague's lesson", consent="full")
    share(session, theirs, teacher)
    # Jerusalem is UTC+2 in winter and UTC+3 from 28 March 2025.
    comment(session, teacher, v1, 10, ["talk:justify"], at=datetime(2025, 2, 28, 21, 59, tzinfo=UTC))  # 23:59 Feb
    comment(session, teacher, v1, 20, ["talk:justify", "talk:build"],
            at=datetime(2025, 2, 28, 22, 30, tzinfo=UTC))  # 00:30 on 1 March
    comment(session, teacher, v2, 30, ["talk:justify"], at=datetime(2025, 3, 31, 20, 59, tzinfo=UTC))  # 23:59 Mar
    comment(session, teacher, v2, 40, ["talk:build"], at=datetime(2025, 3, 31, 21, 0, tzinfo=UTC))  # 00:00 April
    comment(session, teacher, v2, 50, ["talk:build"], at=datetime(2024, 12, 1, 12, tzinfo=UTC))  # before the window
    comment(session, teacher, v2, 60, [], at=datetime(2025, 4, 2, tzinfo=UTC))  # untagged
    comment(session, teacher, theirs, 70, ["talk:justify"], at=datetime(2025, 4, 2, tzinfo=UTC))  # not their lesson

    now = datetime(2025, 4, 15, 9, tzinfo=UTC)
    s = tagstats.teacher_tag_summary(session, teacher, teacher, months=3, now=now)
    assert s.timezone == "Asia/Jerusalem" and s.months == ((2025, 2), (2025, 3), (2025, 4))
    assert s.counts == {"talk:justify": (1, 2, 0), "talk:build": (0, 1, 1)}
    assert s.keys == ("talk:justify", "talk:build") and s.total == 5 and s.videos == 2

    teacher.timezone = "UTC"
    session.commit()
    in_utc = tagstats.teacher_tag_summary(session, teacher, teacher, months=3, now=now)
    assert in_utc.counts == {"talk:justify": (2, 1, 0), "talk:build": (1, 1, 0)}

    year = tagstats.teacher_tag_summary(session, teacher, teacher, now=now)
    assert len(year.months) == 12 and year.months[0] == (2024, 5) and year.counts["talk:build"][7] == 1
    with pytest.raises(InvalidInput, match="months"):
        tagstats.teacher_tag_summary(session, teacher, teacher, months=0)


def test_only_the_teacher_sees_their_summary_unless_coaching_says_so(session, people, framework, monkeypatch):
    teacher, coach = people["teacher"], people["coach"]
    private = lesson(session, teacher, "Private")
    shared = lesson(session, teacher, "Shared", consent="full")
    share(session, shared, coach)
    comment(session, teacher, private, 10, ["talk:justify"])
    comment(session, teacher, shared, 10, ["talk:build"])
    comment(session, coach, shared, 20, ["talk:build"])
    assert tagstats.teacher_tag_summary(session, teacher, teacher).totals == {"talk:build": 2, "talk:justify": 1}
    for who in ("coach", "colleague", "other_teacher", "leader", "admin"):
        with pytest.raises(NotFound):
            tagstats.teacher_tag_summary(session, people[who], teacher)
    with pytest.raises(NotFound):
        tagstats.teacher_tag_summary(session, teacher, None)

    # A higher module (coaching) widens who may ask through the signal; what is counted is still only what
    # the coach may see.
    def reader(actor, teacher):
        return actor.id == coach.id and teacher.id == people["teacher"].id

    with signals.teacher_summary_readers.connected_to(reader):
        seen = tagstats.teacher_tag_summary(session, coach, teacher)
        assert seen.totals == {"talk:build": 2} and seen.videos == 1
        with pytest.raises(NotFound):
            tagstats.teacher_tag_summary(session, people["colleague"], teacher)


def test_labels_follow_the_language_and_old_versions(session, framework):
    session.add(ObservationFramework(key="talk", version=2, title="Talk", current=True, data={
        "key": "talk", "version": 2, "title": "Talk", "dimensions": [{"key": "reasoning", "title": "Reasoning",
                                                                        "elements": [{"key": "justify",
                                                                                      "title": "Justifying"}]}]}))
    framework.current = False
    session.commit()
    labels = tagstats.tag_labels(session, ["talk:justify", "talk:build", "gone:x"], "he")
    assert labels == {"talk:justify": "Reasoning › Justifying",  # the current version
                      "talk:build": "הנמקה › Building on ideas",  # only version 1 has it
                      "gone:x": "gone:x"}


def test_the_chart_is_well_formed_and_mirrored_for_right_to_left():
    columns = ["0:00", "5:00", "10:00"]
    odd = "Reasoning › <Justify> & \"why\""  # escaped, not markup
    series = {odd: [2, 0, 1], "הנמקה": [1, 0, 0]}
    ltr = parse(tagstats.render_stacked_columns_svg(columns, series, title="Tags"))
    rtl = parse(tagstats.render_stacked_columns_svg(columns, series, title="תגיות", rtl=True))
    for root in (ltr, rtl):
        got = sorted((col, key, n) for col, key, n, _ in bars(root))
        assert got == [(0, odd, 2), (0, "הנמקה", 1), (2, odd, 1)]
        columns_ = [g for g in root.iter(f"{SVG}g") if "data-column" in g.attrib]
        totals = {g.get("data-column"): g.get("data-total") for g in columns_}
        assert totals == {"0": "3", "1": "0", "2": "1"}
        assert f"{odd} (3)" in [unembedded(t.text) for t in root.iter(f"{SVG}text")]
    x_of = lambda root, col: next(x for c, _, _, x in bars(root) if c == col)  # noqa: E731
    assert x_of(ltr, 0) < x_of(ltr, 2) and x_of(rtl, 0) > x_of(rtl, 2)  # time runs right to left
    empty = parse(tagstats.render_stacked_columns_svg(["0:00"], {}, title="Tags"))
    assert bars(empty) == []
    with pytest.raises(ValueError, match="needs 3 counts"):
        tagstats.render_stacked_columns_svg(columns, {"x": [1]}, title="Tags")


def inline_svg(page: str) -> ET.Element:
    return parse(re.search(r"<svg .*?</svg>", page, re.S).group(0))


def test_the_watch_page_shows_the_lesson_chart_and_totals(client, session, people, framework):
    teacher = people["teacher"]
    v = lesson(session, teacher)
    comment(session, teacher, v, 10, ["talk:justify"])
    comment(session, teacher, v, 610, ["talk:justify", "talk:build"])
    login(client, "teacher@a.example", people["password"])
    resp = client.get(f"/videos/{v.public_id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="tag-timeline"' in page and ' style="' not in page
    assert sorted((c, k, n) for c, k, n, _ in bars(inline_svg(page))) == [
        (0, "Reasoning › Students justify", 1), (2, "Reasoning › Building on ideas", 1),
        (2, "Reasoning › Students justify", 1)]
    totals = re.findall(r'<th scope="row" dir="auto">([^<]+)</th><td>(\d+)</td>', page)
    assert totals == [("Reasoning › Students justify", "2"), ("Reasoning › Building on ideas", "1")]
    assert 'href="/videos/tags"' in page

    bare = lesson(session, teacher, "No tags")
    page = client.get(f"/videos/{bare.public_id}").get_data(as_text=True)
    assert 'id="no-tags"' in page and "<svg" not in page


def test_the_teacher_page_renders_and_refuses_others(app, client, session, people, framework):
    teacher = people["teacher"]
    teacher.locale = "he"
    session.commit()
    v = lesson(session, teacher)
    comment(session, teacher, v, 10, ["talk:justify"])
    comment(session, teacher, v, 20, ["talk:justify", "talk:build"])
    assert client.get("/videos/tags").status_code == 302  # log in first

    login(client, "teacher@a.example", people["password"])
    assert 'href="/videos/tags"' in client.get("/videos/").get_data(as_text=True)
    resp = client.get("/videos/tags")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and ' style="' not in page and 'dir="rtl"' in page
    root = inline_svg(page)
    assert {(k, n) for _, k, n, _ in bars(root)} == {("הנמקה › התלמידים מנמקים", 2), ("הנמקה › Building on ideas", 1)}
    assert max(c for c, _, _, _ in bars(root)) == 11  # this month is the last of twelve columns
    legend = [unembedded(t.text) for t in root.iter(f"{SVG}text")]
    assert "הנמקה › התלמידים מנמקים (2)" in legend
    rows = re.findall(r'<tr><th scope="row" dir="auto">([^<]+)</th>((?:<td>\d+</td>)+)<td><strong>(\d+)</strong>', page)
    assert [(label, total, cells.count("<td>")) for label, cells, total in rows] == [
        ("הנמקה › התלמידים מנמקים", "2", 12), ("הנמקה › Building on ideas", "1", 12)]
    assert client.get(f"/videos/tags?teacher={teacher.id}").status_code == 200
    assert client.get(f"/videos/tags?teacher={people['colleague'].id}").status_code == 404
    assert client.get("/videos/tags?teacher=999999").status_code == 404
    assert client.get("/videos/tags?teacher=me").status_code == 404

    other = signed_in(app, "colleague@a.example", people["password"])
    assert other.get(f"/videos/tags?teacher={teacher.id}").status_code == 404
    empty = other.get("/videos/tags").get_data(as_text=True)
    assert 'id="no-tags"' in empty and "<svg" not in empty
