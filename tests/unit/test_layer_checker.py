"""The layer checker (tests/layers.py) on small trees written for each test: it must catch what it promises."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.layers import LAYERS, check, main, unit_of

# Two layers over three folders: `pkg` is a roof like `app`, `lib` and `tool` are whole packages, and
# `tool.settings` is declared on its own, below the rest of `tool`.
TEST_LAYERS = (
    ("base", ("lib", "pkg.low", "tool.settings")),
    ("top", ("pkg", "pkg.high", "pkg.side", "tool")),
)
ROOTS = ("pkg", "lib", "tool")
ROOFS = frozenset({"pkg"})

CLEAN = {
    "pkg/__init__.py": "from pkg.high import service\n",
    "pkg/low/__init__.py": "",
    "pkg/low/models.py": "import os\nfrom lib import base\n",
    "pkg/high/__init__.py": "",
    "pkg/high/service.py": "from . import views\nfrom ..low import models\nimport pkg.low.models\nimport flask\n",
    "pkg/high/views.py": "from pkg.low.models import Thing\n",
    "pkg/side.py": "from pkg.high import service\n",
    "lib/__init__.py": "",
    "lib/base.py": "import sqlalchemy\n",
    "tool/__init__.py": "",
    "tool/run.py": "from pkg import low\nfrom tool import settings\n",
    "tool/settings.py": "from lib.base import x\n",
}


def tree(tmp_path: Path, files: dict[str, str], **changes: str) -> Path:
    """Write `files` with `changes` (path -> new text) applied."""
    for name, text in {**files, **changes}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def run(root: Path):
    return check(root, TEST_LAYERS, ROOTS, ROOFS)


def test_a_clean_tree_passes(tmp_path):
    report = run(tree(tmp_path, CLEAN))
    assert report.ok, report.format(TEST_LAYERS)
    assert report.format(TEST_LAYERS).startswith("layers: no upward import")
    # Relative imports and `from pkg import module` are resolved; flask and sqlalchemy are not the tree's.
    targets = {(i.source, i.target) for i in report.imports}
    assert ("pkg.high.service", "pkg.high.views") in targets
    assert ("pkg.high.service", "pkg.low.models") in targets
    assert ("tool.run", "pkg.low") in targets
    assert not [i for i in report.imports if i.target.startswith(("flask", "sqlalchemy", "os"))]


def test_an_upward_import_fails_with_file_and_line(tmp_path):
    report = run(tree(tmp_path, CLEAN, **{"pkg/low/models.py": "import os\n\nfrom pkg.high.service import run\n"}))
    assert not report.ok
    [(imp, src, dst)] = report.upward
    assert (imp.path, imp.line, src, dst) == ("pkg/low/models.py", 3, "pkg.low", "pkg.high")
    text = report.format(TEST_LAYERS)
    assert "pkg.low [0 base] -> pkg.high [1 top]: 1" in text
    assert "pkg/low/models.py:3: pkg.low.models imports pkg.high.service" in text


def test_an_import_inside_a_function_counts_and_is_marked(tmp_path):
    body = """\
        import os


        def late():
            import json
            try:  # the way circles were dodged: late, and optional
                from ..high import service
            except ImportError:
                return None
            return service
        """
    report = run(tree(tmp_path, CLEAN, **{"pkg/low/models.py": body}))
    [(imp, _, _)] = report.upward
    assert (imp.path, imp.line, imp.target, imp.in_function) == ("pkg/low/models.py", 7, "pkg.high.service", True)
    assert "pkg/low/models.py:7 (in function): pkg.low.models imports pkg.high.service" in report.format(TEST_LAYERS)
    assert report.functions_imports == 2  # json too: the count is of statements, whatever they import


def test_type_checking_imports_count_and_are_marked(tmp_path):
    body = """\
        from typing import TYPE_CHECKING
        import typing

        if TYPE_CHECKING:
            from pkg.high.service import Run
        if typing.TYPE_CHECKING:
            pass
        else:
            import lib
        """
    report = run(tree(tmp_path, CLEAN, **{"pkg/low/models.py": body}))
    [(imp, _, _)] = report.upward
    assert (imp.line, imp.type_checking) == (5, True)
    assert "pkg/low/models.py:5 (TYPE_CHECKING)" in report.format(TEST_LAYERS)
    other = next(i for i in report.imports if i.target == "lib")
    assert not other.type_checking  # the else branch runs


def test_a_cycle_within_one_layer_fails_and_is_printed(tmp_path):
    report = run(tree(tmp_path, CLEAN, **{"pkg/high/views.py": "from pkg.low.models import Thing\nimport tool.run\n",
                                          "tool/run.py": "from pkg.high import views\n"}))
    assert not report.upward
    [cycle] = report.cycles
    assert cycle.path == ("pkg.high", "tool", "pkg.high")
    text = report.format(TEST_LAYERS)
    assert "pkg.high -> tool -> pkg.high" in text
    assert "pkg/high/views.py:2: pkg.high.views imports tool.run" in text
    assert "tool/run.py:1: tool.run imports pkg.high.views" in text


def test_a_longer_cycle_is_printed_once_as_its_shortest_path(tmp_path):
    report = run(tree(tmp_path, CLEAN, **{"pkg/high/views.py": "import tool.run\n",
                                          "tool/run.py": "import pkg.side\n",
                                          "pkg/side.py": "def f():\n    from pkg.high import views\n"}))
    assert [c.path for c in report.cycles] == [("pkg.high", "tool", "pkg.side", "pkg.high")]
    assert [len(step) for step in report.cycles[0].imports] == [1, 1, 1]


def test_a_module_in_no_layer_fails(tmp_path):
    # Under a roof every module needs a layer of its own; a new folder at the top level is never seen
    # unless it is one of the roots.
    report = run(tree(tmp_path, CLEAN, **{"pkg/extra.py": "", "pkg/more/__init__.py": "", "elsewhere/x.py": ""}))
    assert report.unassigned == ["pkg/extra.py", "pkg/more/__init__.py"]
    assert "2 module(s) in no layer:\n  pkg/extra.py:1" in report.format(TEST_LAYERS)


def test_the_longest_declared_unit_wins_and_a_roof_holds_only_itself():
    units = ["pkg", "pkg.high", "tool", "tool.settings"]
    assert unit_of("tool.settings", units, ROOFS) == "tool.settings"
    assert unit_of("tool.settings.more", units, ROOFS) == "tool.settings"
    assert unit_of("tool.run", units, ROOFS) == "tool"
    assert unit_of("pkg.high.views", units, ROOFS) == "pkg.high"
    assert unit_of("pkg", units, ROOFS) == "pkg"
    assert unit_of("pkg.other", units, ROOFS) is None
    assert unit_of("pkgx", units, ROOFS) is None


def test_a_unit_below_its_package_may_not_import_the_package(tmp_path):
    report = run(tree(tmp_path, CLEAN, **{"tool/settings.py": "from tool.run import x\n"}))
    assert [(src, dst) for _, src, dst in report.upward] == [("tool.settings", "tool")]


def test_a_unit_declared_twice_is_refused(tmp_path):
    with pytest.raises(ValueError, match="more than one layer: lib"):
        check(tree(tmp_path, CLEAN), (("a", ("lib",)), ("b", ("lib", "pkg"))), ROOTS, ROOFS)


def test_the_real_declaration_names_each_unit_once_and_the_command_reports(tmp_path, capsys):
    declared = [unit for _, units in LAYERS for unit in units]
    assert len(declared) == len(set(declared))
    for top in ("app", "workers", "storage"):
        (tmp_path / top).mkdir()
    (tmp_path / "app/__init__.py").write_text("from app import db\n")
    (tmp_path / "app/db.py").write_text("from app import cli\n")
    (tmp_path / "app/cli.py").write_text("")
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "app/db.py:1: app.db imports app.cli" in out
    assert "import statements inside functions" in out
