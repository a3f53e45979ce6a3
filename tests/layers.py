"""ClassLab's layers, bottom to top, and the checker that holds the code to them.

A module may import from its own layer and the layers below it, never from a layer above; a lower
module learns of events above it through signals or registered hooks. Between packages there are no
cycles, even inside one layer. Every module under app/, workers/ and storage/ belongs to a layer.

    python -m tests.layers [ROOT]      prints every violation with file:line, exits 1 if there is any

What counts as an import: every `import` and `from ... import` statement anywhere in a file, at the
top, inside a function, a class, a `try` or an `if TYPE_CHECKING:` block. An import moved into a
function still needs the other package to exist and still ties the two together; moving it there is
how circles were hidden so far, so it is shown, marked "in function". TYPE_CHECKING imports count too:
a type annotation naming another package's class is a dependency on it (marked "TYPE_CHECKING").
Imports of anything outside app/, workers/ and storage/ (Flask, SQLAlchemy, the migrations folder) are
not the layers' business. Celery task names sent as strings are not imports and are not seen.

Why the declaration lives in tests/ and not in app/: it is read only by this checker and its tests,
never at run time, and a module in app/ would itself need a layer; the README's layer diagram points
here.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENTRY_MODULES: tuple[str, ...] = tuple(
    f"app.{package}.{module}"
    for package in ("accounts", "analytics", "coaching", "communities", "diagnostics", "export", "feedback", "goals",
                    "meetings", "notifications", "plans", "rehearsals", "sharing", "standards", "video")
    for module in ("views", "api", "forms", "tus")
)

# Bottom to top. A unit is a module or a package (then with everything in it, except parts declared as
# units of their own: the longest declared name wins).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "storage", "app.config", "app.db", "app.errors", "app.charts", "app.richtext", "app.yamlbank",
        # Serialized answers kept per process under version keys, and sending them with their ETag.
        "app.cache", "app.http",
        "app.pdf",  # a printable page as a PDF (WeasyPrint): plans, meeting records
        "app.inputs",  # reads a page's form with the use case's schema (the API reads JSON with the same one)
        "app.l10n",  # dates, times and numbers in the reader's Israeli locale (en-IL, he-IL, ar-IL)
        "app.speechmodels",  # the Whisper models installed in the instance, and which language uses which
        # The questions lower layers ask higher ones (blinker signals), and the Flask extensions that views
        # share without importing the application factory.
        "app.signals", "app.extensions",
        # Sending a task needs the Celery application, so its configuration (app.jobs) sits below
        # everything that asks for work; the tasks themselves are in `workers`, at the top.
        "app.jobs", "app.broker_fs",  # the embedded broker's transport, registered by app.jobs
    )),
    ("accounts", ("app.authz", "app.accounts")),
    # Anyone may tell a person something: a comment, a share, a coaching request. So the inbox sits just
    # above accounts and every domain calls notify() downwards.
    ("notifications", ("app.notifications",)),
    # Diagnostics needs nothing but accounts and the chart kit, so it sits as low as that allows, beside the
    # lesson: learning plans and standards, still to come, may build on either.
    ("lesson and diagnostics", ("app.video", "app.diagnostics")),
    # Who else reaches a lesson, and what is said about it. The lesson asks sharing through signals.
    ("feedback and sharing", ("app.feedback", "app.sharing")),
    # Sharing asks these (whose coach, which communities) through signals.
    ("people and programs", ("app.coaching", "app.communities")),
    # Lesson analytics read a lesson's recording and transcript, turn a marker into a feedback comment, and let the
    # teacher's coach (coaching's links) read what the teacher shares.
    ("lesson analytics", ("app.analytics",)),
    # Rehearsals build on lessons (the recording is a Video), feedback (its comments), diagnostics (scenarios from a
    # misconception or a class's result), communities (group rehearsals) and coaching's people.
    ("practice", ("app.rehearsals",)),
    # A student's plan is drawn from a diagnostic result, cites lesson moments (feedback comments tagged with a
    # misconception) and links to rehearsals of the response; the coach reads it through coaching's links.
    ("plans", ("app.plans",)),
    # A community's meeting looks at evidence from every module below: clips shared with the community, a class's
    # anonymised result or one item's answers, a rehearsal attempt shown to the community's group.
    ("meetings", ("app.meetings",)),
    # Certification reads evidence from every module below (a candidate's clips, the coaching cycles they led, the
    # meetings they facilitated, their rehearsal attempts) and lets assessors watch what a portfolio holds.
    ("certification", ("app.standards",)),
    # Goals read ClassLab's own data for their computed indicators (coaching cycles closed, community meetings held,
    # diagnostic mastery) and link a principal's coaching sessions to the indicator charts of the school.
    ("goals", ("app.goals",)),
    # "Download all my data" gathers every module's records of one person.
    ("the whole account", ("app.export",)),
    ("entry points", (
        "app",  # create_app() in app/__init__.py: wires every blueprint
        "app.cli", "app.cli_models", "app.delivery", "app.health",
        # Every module's tables and rules in one import (Alembic, workers, tests), and the migration runner.
        "app.models", "app.migrate",
        "workers",
        # The web entry points of each module: pages, JSON API, forms and the tus endpoint compose the
        # services of several modules (the watch page shows feedback and sharing), so they sit on top.
        *ENTRY_MODULES,
    )),
)

# The folders whose Python files are checked; imports of anything else are ignored.
ROOTS: tuple[str, ...] = ("app", "workers", "storage")

# Packages that are only a roof over units of their own: the name stands for the package's __init__.py
# alone, so a new module under app/ must be given a layer instead of silently joining `app`.
ROOFS: frozenset[str] = frozenset({"app"})


@dataclass(frozen=True)
class Import:
    path: str  # relative to the checked root, with forward slashes
    line: int
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (for `from pkg import name`, pkg.name when that is a module)
    in_function: bool = False
    type_checking: bool = False

    def where(self) -> str:
        marks = [m for m, on in (("in function", self.in_function), ("TYPE_CHECKING", self.type_checking)) if on]
        return f"{self.path}:{self.line}" + (f" ({', '.join(marks)})" if marks else "")


@dataclass(frozen=True)
class Cycle:
    path: tuple[str, ...]  # units, the first repeated at the end: a -> b -> a
    imports: tuple[tuple[Import, ...], ...]  # for each step of the path, the imports that make it

    def __str__(self) -> str:
        return " -> ".join(self.path)


@dataclass
class Report:
    upward: list[tuple[Import, str, str]] = field(default_factory=list)  # import, its unit, the target's unit
    cycles: list[Cycle] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)  # files
    imports: list[Import] = field(default_factory=list)  # every project import seen
    functions_imports: int = 0  # import statements inside functions, project or not

    @property
    def ok(self) -> bool:
        return not (self.upward or self.cycles or self.unassigned)

    def format(self, layers: Sequence[tuple[str, Sequence[str]]] = LAYERS) -> str:
        level = {unit: n for n, (_, units) in enumerate(layers) for unit in units}

        def tag(unit: str) -> str:
            return f"{unit} [{level[unit]} {layers[level[unit]][0]}]"

        out: list[str] = []
        if self.upward:
            pairs: dict[tuple[str, str], list[Import]] = defaultdict(list)
            for imp, src, dst in self.upward:
                pairs[src, dst].append(imp)
            out.append(f"{len(self.upward)} upward import(s), {len(pairs)} pair(s) of packages:")
            for (src, dst), found in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                out.append(f"  {tag(src)} -> {tag(dst)}: {len(found)}")
                out.extend(f"    {imp.where()}: {imp.source} imports {imp.target}" for imp in found)
        if self.cycles:
            out.append(f"{len(self.cycles)} cycle(s) between packages:")
            for cycle in self.cycles:
                out.append(f"  {cycle}")
                for src, dst, found in zip(cycle.path, cycle.path[1:], cycle.imports, strict=False):
                    out.append(f"    {src} -> {dst}: {len(found)}")
                    out.extend(f"      {imp.where()}: {imp.source} imports {imp.target}" for imp in found)
        if self.unassigned:
            out.append(f"{len(self.unassigned)} module(s) in no layer:")
            out.extend(f"  {path}:1" for path in self.unassigned)
        return "\n".join(out) if out else "layers: no upward import, no cycle, every module in a layer"


# ---------------------------------------------------------------------------------------------- reading


def module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path, roots: Iterable[str] = ROOTS) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the given folders of `root`."""
    found: dict[str, Path] = {}
    for top in roots:
        for path in sorted((root / top).rglob("*.py")):
            found[module_name(path.relative_to(root))] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement with (inside a function?, inside `if TYPE_CHECKING:`?)."""

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> Iterator:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function, type_checking
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, in_function, True)
            for child in node.orelse:
                yield from walk(child, in_function, type_checking)
            return
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            yield from walk(child, inner, type_checking)

    yield from walk(tree, False, False)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path, modules: dict[str, Path]) -> list[str]:
    """The modules a statement names, resolved to the longest existing module of the tree (else dropped)."""

    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = _package_of(module, path).split(".")
            anchor = ".".join(package[: len(package) - (node.level - 1)])
            base = f"{anchor}.{base}" if base else anchor
        # `from pkg import name`: name is a submodule when the tree has one, else an attribute of pkg.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    return [t for t in dict.fromkeys(known(n) for n in names) if t]


def read_imports(root: Path, roots: Iterable[str] = ROOTS) -> tuple[dict[str, Path], list[Import], int]:
    """Every import between modules of the tree, and how many import statements sit inside functions."""
    modules = python_files(root, roots)
    found: list[Import] = []
    in_functions = 0
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = path.relative_to(root).as_posix()
        for node, in_function, type_checking in _statements(tree):
            in_functions += in_function
            for target in _targets(node, module, path, modules):
                found.append(Import(relative, node.lineno, module, target, in_function, type_checking))
    return modules, found, in_functions


# --------------------------------------------------------------------------------------------- checking


def unit_of(module: str, units: Iterable[str], roofs: frozenset[str] = ROOFS) -> str | None:
    """The longest declared unit that contains `module`; a roof contains only itself."""
    best = None
    for unit in units:
        inside = module == unit or (module.startswith(unit + ".") and unit not in roofs)
        if inside and (best is None or len(unit) > len(best)):
            best = unit
    return best


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively written so a deep graph cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_cycle(graph: dict[str, set[str]], start: str, within: set[str]) -> tuple[str, ...]:
    """Breadth first from `start` back to it, through `within` only; ties go to the alphabetically first."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child not in within:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return (*reversed(path), start)
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    return (start,)


def check(root: Path, layers: Sequence[tuple[str, Sequence[str]]] = LAYERS, roots: Iterable[str] = ROOTS,
          roofs: frozenset[str] = ROOFS) -> Report:
    roots = tuple(roots)
    declared = [unit for _, units in layers for unit in units]
    if twice := sorted({unit for unit in declared if declared.count(unit) > 1}):
        raise ValueError(f"declared in more than one layer: {', '.join(twice)}")
    level = {unit: n for n, (_, units) in enumerate(layers) for unit in units}
    modules, imports, in_functions = read_imports(root, roots)
    report = Report(imports=imports, functions_imports=in_functions)
    unit = {m: unit_of(m, level, roofs) for m in modules}
    report.unassigned = sorted(p.relative_to(root).as_posix() for m, p in modules.items() if unit[m] is None)
    graph: dict[str, set[str]] = defaultdict(set)
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        src, dst = unit[imp.source], unit[imp.target]
        if src is None or dst is None or src == dst:
            continue
        if level[src] < level[dst]:
            report.upward.append((imp, src, dst))
        graph[src].add(dst)
        edges[src, dst].append(imp)
    # Every pair of packages importing each other, then the shortest cycle through each package of a
    # tangle: enough to see each knot to cut, without listing the exponentially many longer cycles.
    paths: set[tuple[str, ...]] = set()
    for component in _strongly_connected(graph):
        members = set(component)
        for a in component:
            paths.update((a, b, a) for b in sorted(graph[a] & members) if a < b and a in graph[b])
        for a in component:
            if len(component) > 1:
                paths.add(_shortest_cycle(graph, a, members))
    canonical: dict[tuple[str, ...], tuple[str, ...]] = {}
    for path in paths:
        ring = path[:-1]
        turn = ring.index(min(ring))
        canonical.setdefault((*ring[turn:], *ring[:turn], ring[turn]), path)
    for path in sorted(canonical, key=lambda p: (len(p), p)):
        steps = tuple(tuple(edges[src, dst]) for src, dst in zip(path, path[1:], strict=False))
        report.cycles.append(Cycle(path, steps))
    return report


def main(argv: Sequence[str] = ()) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    report = check(root)
    print(report.format())
    print(f"{len(report.imports)} imports between modules; {report.functions_imports} import statements "
          "inside functions")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
