"""Data export pieces that need no database: folder names from titles, and who may open an export."""

from __future__ import annotations

import pytest

from app import authz
from app.accounts.models import DataExport, Role, User
from app.export.service import safe_name


@pytest.mark.parametrize("title,expected", [
    ("Fractions: lesson 1", "Fractions-lesson-1"),
    ("שיעור שני", "שיעור-שני"),
    ("الكسور / الدرس ٣", "الكسور-الدرس-٣"),
    ("../../etc/passwd", "etc-passwd"),
    ("a\\b\x00c", "a-b-c"),
    ("", "untitled"),
    ("???", "untitled"),
    ("x" * 200, "x" * 60),
])
def test_safe_name_keeps_letters_of_any_script_and_nothing_path_like(title, expected):
    assert safe_name(title) == expected


def test_only_its_own_user_may_open_an_export():
    owner = User(id=1, email="a@x.example", display_name="A", role=Role.teacher, active=True)
    admin = User(id=2, email="b@x.example", display_name="B", role=Role.admin, active=True)
    export = DataExport(id=5, public_id="abc", user_id=1, status="ready")
    assert authz.may(owner, "view", export) and authz.may(owner, "download", export)
    assert not authz.may(owner, "delete", export)
    assert not authz.may(admin, "view", export) and not authz.may(admin, "download", export)
