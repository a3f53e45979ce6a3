"""conftest.py holds fixtures only: a test that needs a plain helper imports it from its module (builders, web,
processes, stacks), never from a conftest, which pytest loads on its own and which is not meant to be imported."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def conftest_imports(source: str) -> list[int]:
    """Line numbers of every import of a conftest module (`tests.conftest`, `tests.browser.conftest`, `conftest`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module or ''}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        if any(name.split(".")[-1] == "conftest" or ".conftest." in f".{name}." for name in names):
            lines.append(node.lineno)
    return lines


def test_the_checker_finds_every_spelling():
    found = conftest_imports("from tests.conftest import login\nimport tests.conftest\nfrom tests import conftest\n"
                             "def f():\n    from tests.browser.conftest import LiveServer\n"
                             "from tests.web import login\n")
    assert found == [1, 2, 3, 5]


def test_no_test_module_imports_a_conftest():
    offenders = [f"{path.relative_to(TESTS.parent)}:{line}" for path in sorted(TESTS.rglob("*.py"))
                 for line in conftest_imports(path.read_text(encoding="utf-8"))]
    assert offenders == [], "import helpers from tests/builders.py, web.py, processes.py or stacks.py instead"
