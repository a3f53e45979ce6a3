"""The real tree keeps to its declared layers (tests/layers.py; the README's design notes draw them)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.layers import check

ROOT = Path(__file__).resolve().parents[2]


def test_the_code_keeps_to_its_layers():
    report = check(ROOT)
    assert report.ok, "\n" + report.format()


def _copy(tmp_path: Path) -> Path:
    for top in ("app", "workers", "storage"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("*.pyc", "__pycache__", "static",
                                                                                   "templates", "translations"))
    return tmp_path


def test_a_lesson_that_imported_coaching_would_fail(tmp_path):
    root = _copy(tmp_path)
    policy = root / "app" / "video" / "policy.py"
    policy.write_text(policy.read_text() + "\n\ndef coached():\n    from app.coaching.models import CoachLink\n"
                      "    return CoachLink\n")
    report = check(root)
    assert not report.ok
    assert any(imp.path == "app/video/policy.py" and dst == "app.coaching" for imp, _src, dst in report.upward)
    assert "app/video/policy.py" in report.format()


def test_a_service_that_imported_a_page_would_fail(tmp_path):
    root = _copy(tmp_path)
    service = root / "app" / "feedback" / "service.py"
    service.write_text(service.read_text() + "\nfrom app.video import views  # noqa\n")
    assert any(dst == "app.video.views" for _imp, _src, dst in check(root).upward)
