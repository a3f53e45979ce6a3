"""A page kept whole with holes (app.http): what fills them, what can never pose as one, what the key is made of."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from app.accounts.models import User
from app.http import KeptPage, hole, row_state, state


def test_holes_are_filled_with_each_requests_values_escaped_as_the_template_would():
    page = KeptPage.of(f'<a href="{hole("url_web")}">x</a><form>{hole("csrf_field")}</form>{hole("url_web")}')
    assert page.holes == ("url_web", "csrf_field", "url_web")
    filled = page.fill({"url_web": "/media/a?exp=1&sig=b", "csrf_field": Markup('<input name="csrf_token">')})
    assert filled == ('<a href="/media/a?exp=1&amp;sig=b">x</a><form><input name="csrf_token"></form>'
                      "/media/a?exp=1&amp;sig=b")


def test_a_page_without_holes_is_itself_and_a_missing_value_is_an_error_not_an_empty_hole():
    assert KeptPage.of("<p>plain</p>").fill({}) == "<p>plain</p>"
    with pytest.raises(KeyError):
        KeptPage.of(f"<p>{hole('csrf_token')}</p>").fill({})


def test_text_a_user_wrote_cannot_pose_as_a_hole():
    """The marker holds a random per-process nonce: a comment quoting the markers' shape stays text."""
    forged = "\ue000" + "0" * 16 + ":csrf_token\ue001"
    page = KeptPage.of(f"<p>{forged}</p>{hole('csrf_token')}")
    assert page.holes == ("csrf_token",)
    assert page.fill({"csrf_token": "T"}) == f"<p>{forged}</p>T"


def test_the_key_changes_with_any_column_of_a_row_it_shows_and_never_holds_a_secret():
    user = User(id=7, email="noa@a.example", display_name="Noa", password_hash="argon2-secret")
    shown = row_state(user)
    assert ("display_name", "Noa") in shown and not any(k == "password_hash" for k, *_ in shown[1:])
    before = state(shown, "he", "/videos/x?t=3")
    user.display_name = "Noa Levi"
    assert state(row_state(user), "he", "/videos/x?t=3") != before
    assert state(shown, "he", "/videos/x?t=3") == before  # the same inputs, the same key, in any process
    assert state(shown, "ar", "/videos/x?t=3") != before and state(shown, "he", "/videos/x?t=4") != before
    assert row_state(None) is None
