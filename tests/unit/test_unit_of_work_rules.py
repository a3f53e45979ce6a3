"""The unit of work's rules that a parser can check: views, API endpoints and tus never end a transaction,
and task names live in app/jobs.py only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_FILES = sorted(p for name in ("views.py", "api.py", "tus.py") for p in (ROOT / "app").rglob(name))


def _transaction_calls(source: str, name: str) -> list[str]:
    """`x.commit()` / `x.rollback()` calls in this source, as "name:line .commit()"."""
    return [f"{name}:{node.lineno} .{node.func.attr}()" for node in ast.walk(ast.parse(source, name))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("commit", "rollback")]


def test_views_api_and_tus_never_commit_or_roll_back():
    assert len(WEB_FILES) >= 15, "the scan found too few web files: did the layout change?"
    offenders = [hit for path in WEB_FILES
                 for hit in _transaction_calls(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert offenders == [], "the request's unit of work commits (app/__init__.py):\n" + "\n".join(offenders)


def test_the_checker_sees_a_commit_and_a_rollback():
    source = "def view(s):\n    s.commit()\n    if s:\n        db.session().rollback()\n    s.comit = 1\n"
    assert _transaction_calls(source, "views.py") == ["views.py:2 .commit()", "views.py:4 .rollback()"]


def test_task_names_are_written_once():
    """Every `classlab.<...>` task name string is in app/jobs.py; the rest of the code uses its constants."""
    pattern = re.compile(r"""["']classlab\.(video|accounts|notifications|health)\.[a-z_{}]+["']""")
    elsewhere = [f"{p.relative_to(ROOT)}:{i}" for folder in ("app", "workers") for p in (ROOT / folder).rglob("*.py")
                 if p.name != "jobs.py" for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert elsewhere == []
