"""The whole starter bank renders with app/richtext.py as it did with the hand-written markup.py it replaced.

tests/golden/bank_markup_old.json holds what markup.py made of every stem, translation, choice, model answer,
rubric line and misconception text. Each new rendering must equal the old one after a normalisation that only
removes what does not change what a reader sees, or be listed in EXPLAINED with the reason. The script that
made the golden file, tests/golden/make_bank_markup_old.py, is in the commit that added it (ec59908).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from app.diagnostics.bankfile import load_bank
from app.richtext import check, render_block, render_inline
from tests.golden.bank_texts import bank_texts

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "bank_markup_old.json").read_text(encoding="utf-8"))
_ROWS = {"math", "mrow", "msqrt", "mstyle", "mtd"}
_FENCES = {"(", ")", "[", "]", "{", "}", "|"}

# Texts whose rendering differs even after normalising, and why. Empty: every difference in the starter bank is
# one of the equivalences `normalise` documents.
EXPLAINED: dict[str, str] = {}

# Texts whose source the bank itself changed after the golden file was made (issue 11: prices in shekels, the
# Arabic stems in the plural imperative). The golden file is about the renderer, so these leave the comparison;
# any other change of source fails it. Texts added since (every language of every text) are checked for
# well-formed markup below, not against markup.py, which never saw them.
CHANGED_SINCE: dict[str, str] = {
    "item/cheese-cost/stem": "apples at ₪8 a kilogram instead of cheese at £8",
    "item/eq-letter-meaning/stem": "pens and rulers priced in shekels instead of pence",
    "item/eq-letter-meaning/choice/B": "pens and rulers priced in shekels instead of pence",
    "item/ratio-better-buy/stem": "prices in shekels instead of pounds",
    "item/ratio-better-buy/choice/B": "prices in shekels instead of pounds",
    "item/eq-one-step/ar": "the Arabic stem addresses the class (plural imperative), as Israeli textbooks do",
    "item/neg-subtract-negative/ar": "the Arabic stem addresses the class (plural imperative), as Israeli textbooks do",
}


def _normalise_math(el: ET.Element) -> None:
    for child in el:
        _normalise_math(child)
    i = 0
    while i < len(el):
        child = el[i]
        if el.tag in _ROWS and child.tag == "mrow" and not child.attrib:
            # (1) grouping rows: markup.py wrapped a signed number (−3) and a bracketed group in <mrow>; latex2mathml
            # writes them flat, as TeX does. A row inside a row shows the same as its children.
            el[i : i + 1] = list(child)
            continue
        if child.tag == "mo" and child.text in _FENCES and child.get("stretchy") == "false":
            # (2) latex2mathml marks brackets typed without \left \right as not stretchy, as TeX draws them;
            # markup.py's brackets around one-line contents did not stretch either.
            del child.attrib["stretchy"]
        if child.tag == "mi" and child.text == "\u25fb":
            # (3) \square: latex2mathml writes U+25FB WHITE MEDIUM SQUARE (unicode-math's \square), markup.py
            # U+25A1 WHITE SQUARE; both are the empty box of "8 + 4 = □ + 5".
            child.text = "\u25a1"
        i += 1


def normalise(html: str) -> str:
    """The same text as the reader sees it: MathML namespace declared or implied, whitespace between blocks, row
    grouping, stretchiness of brackets that do not stretch, and the glyph chosen for \\square set aside."""
    html = html.replace(f' xmlns="{"http://www.w3.org/1998/Math/MathML"}"', "")
    html = re.sub(r"\s+", " ", html)
    html = re.sub(r"\s*(</?(?:p|ul|ol|li)\b[^>]*>)\s*", r"\1", html)
    root = ET.fromstring(f"<root>{html}</root>")
    for math in root.iter("math"):
        _normalise_math(math)
    return ET.tostring(root, encoding="unicode")


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[str, str]]:
    out = {}
    for key, text, mode in bank_texts(load_bank()):
        html = render_block(text) if mode == "block" else render_inline(text)
        out[key] = (text, str(html))
    return out


def _compared(rendered) -> dict[str, tuple[str, str]]:
    return {k: v for k, v in rendered.items() if k in GOLDEN["entries"] and k not in CHANGED_SINCE}


def test_the_golden_file_covers_the_same_texts(rendered) -> None:
    assert set(GOLDEN["entries"]) <= set(rendered), "a text of the golden file is gone from the bank"
    for key, (text, _) in _compared(rendered).items():
        assert text == GOLDEN["entries"][key]["markdown"], f"{key}: the bank changed; remake the golden file"
    for key in CHANGED_SINCE:
        assert rendered[key][0] != GOLDEN["entries"][key]["markdown"], f"{key} is as it was: take it off the list"


def test_every_text_renders_to_well_formed_markup_without_problems(rendered) -> None:
    for key, (text, html) in rendered.items():
        assert check(text) == [], key
        root = ET.fromstring(f"<root>{html}</root>")
        assert "tex-error" not in html and "\\" not in html, key  # every TeX command was understood
        assert all(m.get("xmlns") == "http://www.w3.org/1998/Math/MathML" for m in root.iter("math")), key


def test_new_rendering_equals_the_old_or_is_an_explained_difference(rendered) -> None:
    unexplained, exact, normalised = [], 0, 0
    for key, (_, html) in _compared(rendered).items():
        old = GOLDEN["entries"][key]["html"]
        if html == old:
            exact += 1
        elif normalise(html) == normalise(old):
            normalised += 1
        elif key not in EXPLAINED:
            unexplained.append(f"{key}\n  old: {old}\n  new: {html}")
    assert not unexplained, "\n".join(unexplained)
    # the figures the commit message quotes: most texts are byte-identical apart from the MathML namespace
    assert exact + normalised + len(EXPLAINED) + len(CHANGED_SINCE) == len(GOLDEN["entries"])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<math><mrow><mo>\u2212</mo><mn>3</mn></mrow></math>", "<math><mo>\u2212</mo><mn>3</mn></math>"),
        ("<math><mrow><mo>(</mo><mn>1</mn><mo>)</mo></mrow></math>",
         '<math><mo stretchy="false">(</mo><mn>1</mn><mo stretchy="false">)</mo></math>'),
        ("<math><mi>\u25a1</mi></math>", "<math><mi>\u25fb</mi></math>"),
        ("<p>a</p><ul><li>b c</li></ul>", "<p>a</p>\n<ul>\n<li>b\nc</li>\n</ul>"),
    ],
)  # fmt: skip
def test_normalisation_sets_aside_only_what_it_says(old: str, new: str) -> None:
    assert normalise(old) == normalise(new)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("<math><mfrac><mn>1</mn><mn>2</mn></mfrac></math>", "<math><mfrac><mn>2</mn><mn>1</mn></mfrac></math>"),
        ("<math><mo>\u2212</mo><mn>3</mn></math>", "<math><mn>3</mn></math>"),
        ("<math><mi>x</mi></math>", "<math><mn>x</mn></math>"),
        ('<math><mo stretchy="true">(</mo></math>', "<math><mo>(</mo></math>"),
        ("<p>a <strong>b</strong></p>", "<p>a b</p>"),
    ],
)  # fmt: skip
def test_normalisation_keeps_real_differences(a: str, b: str) -> None:
    assert normalise(a) != normalise(b)
