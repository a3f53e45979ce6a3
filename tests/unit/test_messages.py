"""What the services say reaches the reader in their language: every raised detail is a translatable message,
and every message of the app (Python and templates) has a Hebrew and an Arabic translation."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import app.models  # noqa: F401 - every module's errors, so every ClassLabError subclass is known
from app.errors import ClassLabError, Message, Sentences, english, msg, render, sentences

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
TRANSLATIONS = APP / "translations"
# What marks a msgid for `pybabel extract` (besides its defaults: _, gettext, ngettext, ...): errors' msg,
# notifications' _l, Flask-Babel's lazy_gettext.
KEYWORDS = ("msg", "_l", "lazy_gettext")
TRANSLATING_CALLS = {"msg", "sentences", "_", "gettext", "lazy_gettext", "_l"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdrfg]")


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


ERROR_NAMES = {c.__name__ for c in {ClassLabError, *_subclasses(ClassLabError)}}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _runtime_value(module, node: ast.expr):
    """A constant a raise names (WRONG_CODES, tagstats.NO_SUCH_TEACHER), looked up in the imported module."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_runtime_value(module, node.value), node.attr)
    raise LookupError(ast.unparse(node))


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, list[ast.FunctionDef]]:
    """For each node, the functions it sits in (innermost last)."""
    inside: dict[ast.AST, list[ast.FunctionDef]] = {}

    def walk(node, stack):
        for child in ast.iter_child_nodes(node):
            inside[child] = stack
            walk(child, [*stack, child] if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else stack)

    walk(tree, [])
    return inside


def _untranslated(path: Path, root: Path = ROOT) -> list[str]:
    """Each ClassLabError made in this file (raised, or kept to raise later) whose detail is not a translatable
    message, as file:line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = importlib.import_module(_module_name(path, root))
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    inside = _enclosing_functions(tree)
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _called(node) in ERROR_NAMES):
            continue
        call = node
        detail = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "message"), None)
        where = f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(call)[:100]}"
        if detail is None:
            bad.append(where + "  (no message)")
        elif _called(detail) in TRANSLATING_CALLS:
            if _called(detail) != "sentences" and not (
                    detail.args and isinstance(detail.args[0], ast.Constant) and isinstance(detail.args[0].value, str)):
                bad.append(where + "  (the msgid must be a literal string, for pybabel)")
        elif isinstance(detail, ast.Call):
            # A helper of this module that returns a Message (app.inputs._first_message).
            helper = functions.get(_called(detail) or "")
            if helper is None or helper.returns is None or ast.unparse(helper.returns) != "Message":
                bad.append(where)
        elif isinstance(detail, ast.Name) and any(
                a.arg == detail.id and a.annotation is not None and ast.unparse(a.annotation) == "Message"
                for f in inside.get(node, []) for a in f.args.args + f.args.kwonlyargs):
            continue  # a parameter declared as a Message (the caller's msg is checked where it is written)
        elif isinstance(detail, ast.Attribute) and detail.attr == "message":
            continue  # another ClassLabError's message, passed on
        elif isinstance(detail, ast.Subscript):
            try:
                table = _runtime_value(module, detail.value)
            except (LookupError, AttributeError):
                bad.append(where)
                continue
            if not table or not all(isinstance(v, Message) for v in table.values()):
                bad.append(where)
        else:
            try:
                value = _runtime_value(module, detail)
            except (LookupError, AttributeError):
                bad.append(where)
                continue
            if not isinstance(value, Message):
                bad.append(where)
    return bad


def test_every_raised_detail_is_a_translatable_message():
    """A service error says what went wrong in the reader's language: its detail is msg("...", params) (or a
    view's gettext), never an English str or f-string."""
    bad = [line for path in sorted(APP.rglob("*.py")) for line in _untranslated(path)]
    assert not bad, "details raised without translation:\n" + "\n".join(bad)


def test_the_scan_catches_an_english_detail(tmp_path, monkeypatch):
    """The scan above fails on the very thing it is for (an f-string, a plain string, a variable)."""
    package = tmp_path / "scanned"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "service.py"
    source.write_text(
        "from app.errors import InvalidInput, NotFound, msg\n"
        "MISSING = 'No such thing.'\n"
        "FOUND = msg('No such thing.')\n"
        "def a(x):\n    raise InvalidInput(f'{x} is not a number.')\n"
        "def b():\n    raise NotFound('No such thing.')\n"
        "def c():\n    raise NotFound(MISSING)\n"
        "def d(x):\n    raise InvalidInput(msg(f'{x}'))\n"
        "def e(x):\n    raise InvalidInput(msg('%(x)s is not a number.', x=x), field='x')\n"
        "def f():\n    raise NotFound(FOUND)\n"
        "def g():\n    later = NotFound('No such thing.')\n    raise later\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lines = _untranslated(source, tmp_path)
    assert [line.split(":")[1] for line in lines] == ["5", "7", "9", "11", "17"]


def test_a_message_reads_in_the_language_of_its_gettext():
    hebrew = {"%(label)s: '%(value)s' is not a number.": "%(label)s: „%(value)s” אינו מספר.",
              "Question %(n)d": "שאלה %(n)d", "Item %(key)s": "פריט %(key)s",
              "Nothing was imported. %(problems)s": "לא יובא דבר. %(problems)s",
              "row %(row)d: %(problem)s": "שורה %(row)d: %(problem)s"}
    gettext = lambda s: hebrew.get(s, s)  # noqa: E731
    item = msg("%(label)s: '%(value)s' is not a number.", label=msg("Item %(key)s", key="cheese-cost"), value="three")
    assert str(item) == "Item cheese-cost: 'three' is not a number."
    assert item.render(gettext) == "פריט cheese-cost: „three” אינו מספר."
    question = msg("%(label)s: '%(value)s' is not a number.", label=msg("Question %(n)d", n=3), value="three")
    assert question.render(gettext) == "שאלה 3: „three” אינו מספר."
    nested = msg("Nothing was imported. %(problems)s", problems=[msg("row %(row)d: %(problem)s", row=3, problem=item)])
    assert nested.render(gettext) == "לא יובא דבר. שורה 3: פריט cheese-cost: „three” אינו מספר."
    assert sentences([item, question]).render(english) == f"{item} {question}"
    assert isinstance(sentences([]), Sentences)
    # For a right-to-left reader each text param is isolated (the <bdi> of plain text); numbers stay numbers.
    assert item.render(gettext, isolate=True) == "פריט \u2068cheese-cost\u2069: „\u2068three\u2069” אינו מספר."
    assert msg("row %(row)d: %(problem)s", row=3, problem="x").render(gettext, isolate=True) == "שורה 3: \u2068x\u2069"
    # A translation whose placeholder is broken falls back to the English sentence, not an error page.
    assert item.render(lambda s: "%(kye)s") == "Item cheese-cost: 'three' is not a number."
    # A view's own gettext result (already in the page's language) passes through untouched.
    assert render("כבר בעברית") == "כבר בעברית"


def test_an_error_keeps_its_message_and_renders_its_detail():
    from app.errors import InvalidInput

    exc = InvalidInput(msg("A class needs a name of 1 to 200 characters."), field="name")
    assert exc.message == msg("A class needs a name of 1 to 200 characters.")
    assert exc.detail == "A class needs a name of 1 to 200 characters."  # no request: English (CLI, logs)
    assert exc.text(lambda s: "לכיתה צריך שם באורך 1 עד 200 תווים.") == "לכיתה צריך שם באורך 1 עד 200 תווים."
    assert str(exc) == exc.detail


# ------------------------------------------------------------------------------------ the catalogues


def _extracted() -> dict[str, tuple[str, ...]]:
    """msgid -> its plural forms' ids, for everything pybabel extracts from app/ (babel.cfg's method map)."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(APP), method_map, keywords={**_default_keywords(), **{k: None for k in KEYWORDS}}):
        ids = message if isinstance(message, tuple) else (message,)
        if ids[0]:
            found[ids[0]] = ids
    return found


def _default_keywords():
    from babel.messages.extract import DEFAULT_KEYWORDS

    return DEFAULT_KEYWORDS


def test_babel_cfg_is_what_the_scan_reads():
    assert (ROOT / "babel.cfg").read_text().split() == ["[python:", "**.py]", "[jinja2:", "templates/**.html]"]


@pytest.fixture(scope="module")
def extracted():
    return _extracted()


def test_every_error_message_is_extracted(extracted):
    """The messages raised above (and the errors' titles) are all in what pybabel extracts."""
    from app.errors import HTTP_DETAILS, HTTP_TITLES

    for message in [*HTTP_TITLES.values(), *HTTP_DETAILS.values(), *(c.title for c in _subclasses(ClassLabError))]:
        if isinstance(message, Message):
            assert message.msgid in extracted
    assert "%(label)s: '%(value)s' is not a number." in extracted and "Question %(n)d" in extracted
    assert "Nothing was imported. %(problems)s" in extracted


@pytest.mark.parametrize("lang", ["he", "ar"])
def test_every_message_has_a_translation(lang, extracted):
    """Every msgid of the app has a non-empty, non-fuzzy translation in the language's .po file, with the same
    placeholders (a translation that drops %(key)s loses the item's name)."""
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    problems = []
    for msgid, ids in sorted(extracted.items()):
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(s.strip() for s in strings):
            problems.append(f"{'fuzzy' if entry.fuzzy else 'empty'}: {msgid!r}")
            continue
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) - wanted or (len(ids) == 1 and set(PLACEHOLDER.findall(s)) != wanted):
                problems.append(f"placeholders differ: {msgid!r} -> {s!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)
