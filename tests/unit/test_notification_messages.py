"""What each kind of notification says, in which language, and that nothing about it can break a page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from app.config import load_settings
from app.notifications import messages
from app.notifications.service import emailable, local_path

EXAMPLES = {
    "comment": {"author": "Noa Levi", "video_title": "Fractions, lesson 3"},
    "reply": {"author": "Noa Levi", "video_title": "Fractions, lesson 3"},
    "share": {"owner": "Noa Levi", "video_title": "Fractions, lesson 3", "right": "view"},
    "clip_share": {"owner": "Noa Levi", "clip_title": "Wait time", "right": "view"},
    "community_share": {"owner": "Noa Levi", "title": "Wait time", "community": "Math PLC"},
    "coach_request": {"coach": "Dana Cohen", "assigned_by": "Rina Adler"},
    "coach_accepted": {"teacher": "Noa Levi"},
    "coach_declined": {"teacher": "Noa Levi"},
    "cycle_started": {"coach": "Dana Cohen", "focus": "Questioning"},
    "cycle_lesson": {"teacher": "Noa Levi", "video_title": "Fractions, lesson 3"},
    "next_steps": {"author": "Dana Cohen"},
    "export_ready": {},
    "community_added": {"community": "Math PLC", "by": "Rina Adler"},
    "rehearsal_share": {"owner": "Noa Levi", "scenario": "Comparing fractions"},
    "rehearsal_scored": {"reviewer": "Dana Cohen", "scenario": "Comparing fractions"},
    "rehearsal_group": {"facilitator": "Rina Adler", "scenario": "Comparing fractions", "community": "Math PLC"},
    "meeting_scheduled": {"facilitator": "Rina Adler", "title": "Looking at 1/3 and 1/4", "community": "Math PLC"},
    "meeting_next_step": {"facilitator": "Rina Adler", "title": "Looking at 1/3 and 1/4"},
    "portfolio_to_score": {"cohort": "Coaches 2027"},
    "principal_session": {"number": "3", "school": "Tichon Hey"},
    "certified": {"cohort": "Coaches 2027"},
    "portfolio_decided": {"cohort": "Coaches 2027"},
}


def english(msgid: str) -> str:
    return msgid


def test_the_examples_cover_every_kind_with_exactly_its_params():
    assert set(EXAMPLES) == set(messages.PARAMS) == set(messages.MESSAGES)
    for kind, params in EXAMPLES.items():
        assert tuple(params) == messages.PARAMS[kind]


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_kind_reads_as_a_sentence_with_its_params_filled_in(kind):
    text = messages.render(kind, EXAMPLES[kind], english)
    assert "%(" not in text and "…" not in text and text.endswith(".")
    for name, value in EXAMPLES[kind].items():
        if name != "right":
            assert value in text
    assert text != messages.GENERIC


def test_sentences_as_a_reader_sees_them():
    assert messages.render("comment", EXAMPLES["comment"], english) == "Noa Levi commented on “Fractions, lesson 3”."
    assert messages.render("share", EXAMPLES["share"], english) == (
        "Noa Levi shared the lesson “Fractions, lesson 3” with you to watch.")
    assert messages.render("share", {**EXAMPLES["share"], "right": "comment"}, english) == (
        "Noa Levi shared the lesson “Fractions, lesson 3” with you to watch and comment.")
    assert messages.render("clip_share", {**EXAMPLES["clip_share"], "right": "comment"}, english).endswith(
        "with you to watch and comment.")
    # A coach who asked for themself, or a cycle without a focus, gets a sentence of its own.
    assert messages.render("coach_request", {"coach": "Dana", "assigned_by": "Dana"}, english) == (
        "Dana would like to be your coach.")
    assert messages.render("coach_request", {"coach": "Dana", "assigned_by": ""}, english) == (
        "Dana would like to be your coach.")
    assert messages.render("cycle_started", {"coach": "Dana", "focus": ""}, english) == (
        "A coaching cycle with Dana as coach has started.")


def test_unknown_kinds_missing_params_and_broken_translations_never_fail():
    assert messages.render("no_such_kind", {"x": 1}, english) == "You have a new notification."
    assert messages.render("comment", {}, english) == "… commented on “…”."
    assert messages.render("comment", None, english) == "… commented on “…”."
    # A translator's typo in a placeholder: the English sentence rather than an error page.
    assert messages.render("comment", EXAMPLES["comment"], lambda s: "%(auteur)s %(" ) == (
        "Noa Levi commented on “Fractions, lesson 3”.")
    assert messages.render("comment", {"author": "50% off", "video_title": "%(x)s"}, english) == (
        "50% off commented on “%(x)s”.")


def test_the_translated_sentence_is_used_when_there_is_one():
    fake = {messages.MESSAGES["comment"]: "%(author)s הגיב/ה על „%(video_title)s”."}
    text = messages.render("comment", EXAMPLES["comment"], lambda s: fake.get(s, s))
    assert text == "Noa Levi הגיב/ה על „Fractions, lesson 3”."


def test_catalogues_load_per_locale_and_fall_back_to_english():
    he = messages.translations("he")
    if (messages.TRANSLATIONS / "he" / "LC_MESSAGES" / "messages.mo").exists():  # compiled by make
        assert type(he).__name__ == "Translations"
    unknown = messages.translations("xx")
    assert unknown.gettext(messages.GENERIC) == messages.GENERIC
    # Until the Hebrew .po has the sentence, Hebrew readers get the English one, not an error.
    text = messages.render("export_ready", {}, he.gettext)
    assert text in {messages.MESSAGES["export_ready"], he.gettext(messages.MESSAGES["export_ready"])}


def test_pybabel_extracts_every_sentence():
    found = {msg for _line, msg, _comments, _ctx in
             extract_from_file("python", str(Path(messages.__file__)), keywords={"_l": None})}
    expected = {*messages.MESSAGES.values(), *messages.SHARED_TO_COMMENT.values(), messages.COACH_OFFERS_SELF,
                messages.CYCLE_WITHOUT_FOCUS, messages.GENERIC, messages.EMAIL_SUBJECT, messages.EMAIL_OPEN,
                messages.EMAIL_FOOTER}
    assert expected <= found
    # python-format placeholders only, so the extractor flags them for translators.
    for msgid in expected:
        assert not re.search(r"\{[a-z_]+\}", msgid)


@pytest.mark.parametrize("link,kept", [
    ("/videos/abc#comment-3", True), ("/notifications/", True), ("", False), ("videos/abc", False),
    ("//evil.example/x", False), ("/\\evil.example", False), ("https://evil.example/", False),
    ("javascript:alert(1)", False), ("/ok\r\nSet-Cookie: x", False),
])
def test_only_local_paths_are_links(link, kept):
    assert local_path(link) == (link if kept else "")


@pytest.mark.parametrize("address,ok", [
    ("noa@school.example", True), ("נועה@בית-ספר.example", True), ("", False), ("no-at-sign", False),
    ("a@b@c", False), ("a b@c.example", False), ("a@c.example\r\nBcc: x@y", False), ("@c.example", False),
])
def test_emailable_addresses(address, ok):
    assert emailable(address) is ok


def test_smtp_settings(tmp_path):
    base = {"CLASSLAB_INSTANCE": str(tmp_path), "SECRET_KEY": "k"}
    s = load_settings(base)
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls, s.public_url) == ("", 587, True, "http://127.0.0.1:5000")
    s = load_settings({**base, "SMTP_HOST": "mail.example", "SMTP_PORT": "2525", "SMTP_USER": "u",
                       "SMTP_PASSWORD": "hunter2", "SMTP_STARTTLS": "false", "MAIL_FROM": "ClassLab <c@x.example>",
                       "PUBLIC_URL": "https://classlab.example/"})
    assert (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_starttls) == ("mail.example", 2525, "u", False)
    assert s.mail_from == "ClassLab <c@x.example>" and s.public_url == "https://classlab.example"
    assert s.masked()["SMTP_PASSWORD"] == "********" and "hunter2" not in repr(s)
