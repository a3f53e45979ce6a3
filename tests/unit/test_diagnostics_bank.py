"""The starter question bank, its loader's validation, and stem rendering (Markdown + TeX to HTML + MathML)."""

from __future__ import annotations

import random
from xml.etree import ElementTree as ET

import pytest

from app.diagnostics.bankfile import BankError, load_bank, load_bank_text
from app.richtext import MATHML_NS, check, render_block, render_inline, tex_to_mathml

TOPICS = ("fractions", "ratio", "negative_numbers", "linear_equations", "linear_graphs")


@pytest.fixture(scope="module")
def bank():
    return load_bank()


# ---------------------------------------------------------------------------------------------- the bank


def test_bank_size_and_coverage(bank) -> None:
    assert len(bank.items) >= 40
    assert len(bank.misconceptions) >= 15
    assert set(bank.topics) == set(TOPICS)
    for topic in TOPICS:
        assert len(bank.items_for_topic(topic)) >= 7, topic
    assert {i.type for i in bank.items.values()} == {"choice", "numeric", "text"}


def test_every_misconception_is_sourced_and_used(bank) -> None:
    used = {m for item in bank.items.values() for m in item.misconceptions}
    for m in bank.misconceptions.values():
        assert m.source.authors and m.source.title and m.source.venue, m.key
        assert 1900 < m.source.year <= 2025, m.key
        assert m.source.citation.startswith(f"{m.source.authors} ({m.source.year}). "), m.key
        assert 2 <= len(m.teaching_ideas) <= 3, m.key
        assert m.description and m.typical_reasoning and m.title, m.key
        assert m.topic in bank.topics, m.key
        assert m.key in used, f"no item diagnoses {m.key}"


def test_every_distractor_and_wrong_answer_is_mapped(bank) -> None:
    for item in bank.items.values():
        if item.type == "choice":
            assert [c.correct for c in item.choices].count(True) == 1, item.key
            assert all(c.key in "ABCD" for c in item.choices), item.key
            for choice in item.choices:
                if choice.correct:
                    assert choice.misconception is None, item.key
                else:
                    assert choice.misconception in bank.misconceptions, (item.key, choice.key)
        elif item.type == "numeric":
            assert item.answer is not None and item.tolerance is not None and item.tolerance >= 0, item.key
            assert item.wrong_answers, item.key
            for wrong in item.wrong_answers:
                assert wrong.misconception in bank.misconceptions, item.key
                assert abs(wrong.value - item.answer) > item.tolerance, item.key
        else:
            assert item.rubric and len(item.rubric.levels) >= 2 and item.rubric.patterns, item.key
            assert all(p.misconception in bank.misconceptions for p in item.rubric.patterns), item.key
        assert item.misconceptions, item.key


def test_misconception_of_gives_the_analysis_lookup(bank) -> None:
    assert bank.items["frac-compare-same-numerator"].misconception_of() == {"B": "larger-denominator-larger"}
    assert bank.items["eq-missing-number"].misconception_of() == {
        "12": "equals-as-operator",
        "17": "equals-as-operator",
    }
    assert bank.items["eq-two-step"].misconception_of() == {"7": "move-term-keep-sign", "2.2": "conjoining-terms"}


def test_diagnostics(bank) -> None:
    assert len(bank.diagnostics) == 4
    for diagnostic in bank.diagnostics.values():
        assert 8 <= len(diagnostic.items) <= 12, diagnostic.key
        assert diagnostic.targets, diagnostic.key
        revealed = {m for item in bank.items_of(diagnostic.key) for m in item.misconceptions}
        assert set(diagnostic.targets) <= revealed, diagnostic.key
    assert bank.diagnostics["linear-equations-and-graphs"].title == "Linear equations and their graphs"


def test_some_items_have_hebrew_and_arabic_stems(bank) -> None:
    translated = [i for i in bank.items.values() if i.translations]
    assert len(translated) >= 3
    for item in translated:
        assert set(item.translations) <= {"he", "ar"}
        for text in item.translations.values():
            assert check(text) == [], item.key
            # the formulas are the same in every language
            assert text.count("$") == item.stem.count("$"), item.key


def test_load_bank_from_a_folder(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text(MISCONCEPTIONS, encoding="utf-8")
    (tmp_path / "b.yml").write_text(ITEMS, encoding="utf-8")
    (tmp_path / "c.yaml").write_text(DIAGNOSTICS, encoding="utf-8")
    bank = load_bank(tmp_path)
    assert list(bank.items) == ["compare", "half", "explain"]
    (tmp_path / "d.yaml").write_bytes(b"items: [\xff]\n")
    with pytest.raises(BankError) as info:
        load_bank(tmp_path)
    assert "d.yaml: not UTF-8 text" in str(info.value)
    with pytest.raises(BankError, match="no .yaml files"):
        load_bank(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------- validation

MISCONCEPTIONS = """\
topics:
  - {key: fractions, title: Fractions}
misconceptions:
  - key: larger-denominator-larger
    topic: fractions
    title: A larger denominator means a larger fraction
    description: Compares the denominators as whole numbers.
    typical_reasoning: Eight is more than four.
    teaching_ideas: [Share one bar among more people., Put unit fractions on a number line.]
    source: {authors: 'Ni, Y., & Zhou, Y.-D.', year: 2005, title: Whole number bias, venue: Educational Psychologist}
  - key: add-numerators-denominators
    topic: fractions
    title: Adding the numerators and adding the denominators
    description: '$\\frac{1}{2} + \\frac{1}{3} = \\frac{2}{5}$'
    typical_reasoning: One and one is two, two and three is five.
    teaching_ideas: [Ask whether the sum is sensible., Use fraction strips.]
    source: {authors: 'Kerslake, D.', year: 1986, title: 'Fractions: Strategies and Errors', venue: NFER-Nelson}
"""

ITEMS = """\
items:
  - key: compare
    topic: fractions
    type: choice
    stem: 'Which is larger: $\\frac{1}{4}$ or $\\frac{1}{8}$?'
    choices:
      A: {text: '$\\frac{1}{4}$', correct: true}
      B: {text: '$\\frac{1}{8}$', misconception: larger-denominator-larger}
  - key: half
    topic: fractions
    type: numeric
    stem: 'Write $\\frac{1}{2}$ as a decimal.'
    answer: 0.5
    tolerance: 0.01
    wrong_answers:
      - {value: 1.2, misconception: larger-denominator-larger}
  - key: explain
    topic: fractions
    type: text
    stem: Explain which is larger, one quarter or one eighth.
    rubric:
      levels:
        - {score: 1, description: 'One quarter, with a reason.'}
        - {score: 0, description: Anything else.}
      patterns:
        - {pattern: Says one eighth because 8 > 4., misconception: larger-denominator-larger}
"""

DIAGNOSTICS = """\
diagnostics:
  - key: quick
    title: Quick check
    description: Two items.
    items: [compare, half]
    targets: [larger-denominator-larger]
"""


def _files(**changes: tuple[str, str]) -> dict[str, str]:
    """The valid test bank with `file=(old, new)` replacements (the old text must be there)."""
    files = {"misconceptions.yaml": MISCONCEPTIONS, "items.yaml": ITEMS, "diagnostics.yaml": DIAGNOSTICS}
    for name, (old, new) in changes.items():
        name = f"{name}.yaml"
        assert old in files[name], old
        files[name] = files[name].replace(old, new, 1)
    return files


def _problems(files: dict[str, str]) -> list[str]:
    with pytest.raises(BankError) as info:
        load_bank_text(files)
    assert str(info.value).splitlines()[1:] == info.value.problems
    return info.value.problems


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _assert_problem(problems: list[str], *parts: str) -> str:
    hits = [p for p in problems if all(part in p for part in parts)]
    assert hits, f"no problem with {parts} in:\n" + "\n".join(problems)
    return hits[0]


def test_the_test_bank_is_valid() -> None:
    bank = load_bank_text(_files())
    assert [i.type for i in bank.items.values()] == ["choice", "numeric", "text"]
    assert bank.items["half"].answer == 0.5 and bank.items["half"].tolerance == 0.01
    assert bank.items["explain"].rubric.max_score == 1


def test_unknown_misconception() -> None:
    files = _files(
        items=(
            "B: {text: '$\\frac{1}{8}$', misconception: larger-denominator-larger}",
            "B: {text: '$\\frac{1}{8}$', misconception: denominators-rule}",
        )
    )
    problem = _assert_problem(
        _problems(files),
        "items.yaml:",
        "item 'compare'",
        "choices.B.misconception",
        "unknown misconception 'denominators-rule'",
    )
    assert problem.startswith(f"items.yaml:{_line_of(files['items.yaml'], 'denominators-rule')}: ")


def test_unknown_misconception_in_wrong_answers_rubric_and_targets() -> None:
    problems = _problems(
        _files(
            items=("{value: 1.2, misconception: larger-denominator-larger}", "{value: 1.2, misconception: nope}"),
            diagnostics=("targets: [larger-denominator-larger]", "targets: [larger-denominator-larger, ghost]"),
        )
    )
    _assert_problem(
        problems, "items.yaml:", "item 'half'", "wrong_answers[0].misconception", "unknown misconception 'nope'"
    )
    _assert_problem(problems, "diagnostics.yaml:", "diagnostic 'quick'", "targets[1]", "unknown misconception 'ghost'")


def test_missing_correct_choice() -> None:
    files = _files(
        items=(
            "A: {text: '$\\frac{1}{4}$', correct: true}",
            "A: {text: '$\\frac{1}{4}$', misconception: larger-denominator-larger}",
        )
    )
    _assert_problem(_problems(files), "items.yaml:", "item 'compare'", "choices:", "no choice is marked correct")


def test_two_correct_choices() -> None:
    files = _files(
        items=(
            "B: {text: '$\\frac{1}{8}$', misconception: larger-denominator-larger}",
            "B: {text: '$\\frac{1}{8}$', correct: true}",
        )
    )
    _assert_problem(
        _problems(files), "items.yaml:", "item 'compare'", "choices:", "choices A and B are all marked correct"
    )


def test_distractor_without_misconception() -> None:
    files = _files(
        items=("B: {text: '$\\frac{1}{8}$', misconception: larger-denominator-larger}", "B: {text: '$\\frac{1}{8}$'}")
    )
    _assert_problem(
        _problems(files),
        "items.yaml:",
        "item 'compare'",
        "choices.B.misconception",
        "every distractor must name the misconception it reveals",
    )


def test_duplicate_keys_across_files() -> None:
    files = _files()
    files["more.yaml"] = ITEMS.split("  - key: half")[0]  # the header and the 'compare' item again
    problem = _assert_problem(_problems(files), "more.yaml:2: item 'compare': key:", "duplicate item key 'compare'")
    assert "first defined at items.yaml:2" in problem


def test_numeric_answer_not_a_number() -> None:
    files = _files(items=("answer: 0.5", "answer: one half"))
    problem = _assert_problem(_problems(files), "item 'half'", "answer:", "must be a number, not 'one half'")
    assert problem.startswith(f"items.yaml:{_line_of(files['items.yaml'], 'one half')}: ")
    # YAML booleans are not numbers either
    _assert_problem(_problems(_files(items=("answer: 0.5", "answer: yes"))), "item 'half'", "answer", "not True")


def test_negative_tolerance() -> None:
    _assert_problem(
        _problems(_files(items=("tolerance: 0.01", "tolerance: -0.5"))),
        "items.yaml:",
        "item 'half'",
        "tolerance:",
        "must not be negative",
    )


def test_unknown_type() -> None:
    _assert_problem(
        _problems(_files(items=("type: numeric", "type: slider"))),
        "items.yaml:",
        "item 'half'",
        "type:",
        "unknown type 'slider'",
    )


def test_diagnostic_naming_an_unknown_item() -> None:
    files = _files(diagnostics=("items: [compare, half]", "items: [compare, halves]"))
    problems = _problems(files)
    _assert_problem(problems, "diagnostics.yaml:", "diagnostic 'quick'", "items[1]", "unknown item 'halves'")


def test_malformed_yaml_names_the_line() -> None:
    files = _files(items=("    type: numeric", "    type: numeric: really"))
    line = _line_of(files["items.yaml"], "numeric: really")
    problem = _assert_problem(_problems(files), f"items.yaml:{line}:", "malformed YAML")
    assert "mapping values are not allowed here" in problem


def test_yaml_that_would_silently_lose_data_is_refused() -> None:
    # a second `stem:` would replace the first without a word from PyYAML
    files = _files(items=("    stem: Explain", "    stem: Explain\n    stem: Explain"))
    _assert_problem(_problems(files), "items.yaml:", "malformed YAML: duplicate key 'stem'")
    # aliases: a few bytes can expand into a huge structure
    files = _files(diagnostics=("items: [compare, half]", "items: &x [compare, half]\n    other: *x"))
    _assert_problem(_problems(files), "diagnostics.yaml:", "aliases")


def test_every_problem_is_reported_at_once() -> None:
    files = _files(
        items=("answer: 0.5", "answer: lots"),
        diagnostics=("items: [compare, half]", "items: [compare, nothing]"),
        misconceptions=("year: 2005", "year: recent"),
    )
    problems = _problems(files)
    assert len(problems) == 3, problems
    _assert_problem(problems, "items.yaml", "item 'half'", "answer")
    _assert_problem(problems, "diagnostics.yaml", "diagnostic 'quick'", "items[1]")
    _assert_problem(problems, "misconceptions.yaml", "misconception 'larger-denominator-larger'", "source.year")


@pytest.mark.parametrize(
    ("file", "old", "new", "parts"),
    [
        (
            "items",
            "    stem: Explain which",
            '    stem: "Which is larger, $\\frac{1}{4}$?"\n    he: Explain which',
            ("item 'explain'", "stem:", "control character", "single-quoted"),
        ),
        (
            "items",
            "    stem: Explain which",
            "    stem: Explain $\\frac{1}{4} which",
            ("item 'explain'", "stem:", "unclosed $"),
        ),
        (
            "items",
            "    stem: Explain which",
            "    stem: Explain $\\fraction{1}{4}$ which",
            ("item 'explain'", "stem:", "unknown TeX command \\fraction"),
        ),
        ("items", "    stem: Explain which", "    ar: Explain $x which", ("item 'explain'", "ar:", "unclosed $")),
        (
            "items",
            "{value: 1.2,",
            "{value: 0.505,",
            ("item 'half'", "wrong_answers[0].value", "would be marked correct"),
        ),
        (
            "items",
            "    type: text",
            "    type: text\n    answer: 3",
            ("item 'explain'", "answer:", "belongs to numeric items"),
        ),
        ("items", "    type: choice", "    type: choice\n    hint: look", ("item 'compare'", "hint:", "unknown field")),
        (
            "items",
            "topic: fractions\n    type: choice",
            "topic: algebra\n    type: choice",
            ("item 'compare'", "topic:", "unknown topic 'algebra'"),
        ),
        (
            "items",
            "A: {text: '$\\frac{1}{4}$', correct: true}",
            "E: {text: '$\\frac{1}{4}$', correct: true}",
            ("item 'compare'", "choices.E", "choice keys are A, B, C and D"),
        ),
        (
            "items",
            "A: {text: '$\\frac{1}{4}$', correct: true}",
            "A: {text: '$\\frac{1}{4}$', correct: true, misconception: larger-denominator-larger}",
            ("item 'compare'", "choices.A.misconception", "correct choice cannot reveal"),
        ),
        ("items", "- key: half", "- key: Half Item", ("item 'Half Item'", "key:", "must be a slug")),
        (
            "items",
            "{score: 0, description: Anything else.}",
            "{score: 1, description: Anything else.}",
            ("item 'explain'", "rubric.levels[1].score", "two levels have score 1"),
        ),
        (
            "items",
            "        - {pattern: Says one eighth because 8 > 4., misconception: larger-denominator-larger}\n",
            "",
            ("item 'explain'", "rubric.patterns", "a list of {pattern, misconception}"),
        ),
        (
            "misconceptions",
            "teaching_ideas: [Share one bar among more people., Put unit fractions on a number line.]",
            "teaching_ideas: [Just one idea.]",
            ("misconception 'larger-denominator-larger'", "teaching_ideas", "2 or 3"),
        ),
        (
            "misconceptions",
            ", venue: Educational Psychologist}",
            "}",
            ("misconception 'larger-denominator-larger'", "source.venue", "is required"),
        ),
        (
            "misconceptions",
            "- key: larger-denominator-larger",
            "- key: correct",
            ("misconception 'correct'", "key:", "reserved"),
        ),
        (
            "diagnostics",
            "targets: [larger-denominator-larger]",
            "targets: [larger-denominator-larger, add-numerators-denominators]",
            ("diagnostic 'quick'", "targets[1]", "no item of this diagnostic can reveal 'add-numerators-denominators'"),
        ),
        ("diagnostics", "diagnostics:", "quizzes:", ("diagnostics.yaml", "quizzes", "unknown section")),
    ],
)
def test_other_problems_name_file_record_and_field(file: str, old: str, new: str, parts: tuple[str, ...]) -> None:
    _assert_problem(_problems(_files(**{file: (old, new)})), f"{file}.yaml", *parts)


# ---------------------------------------------------------------------------------------------- rendering


def _texts(bank):
    for item in bank.items.values():
        yield item.key, item.stem, render_block
        for text in item.translations.values():
            yield item.key, text, render_block
        for choice in item.choices:
            yield item.key, choice.text, render_inline
        if item.rubric:
            for level in item.rubric.levels:
                yield item.key, level.description, render_inline
            for pattern in item.rubric.patterns:
                yield item.key, pattern.pattern, render_inline
    for m in bank.misconceptions.values():
        yield m.key, m.description, render_block
        yield m.key, m.typical_reasoning, render_inline


def test_every_text_in_the_bank_renders_to_well_formed_markup(bank) -> None:
    count = 0
    for key, text, render in _texts(bank):
        html = render(text)
        assert check(text) == [], (key, text)
        ET.fromstring(f"<root>{html}</root>")  # well formed: the QTI export embeds it as XML
        assert "\\" not in html, (key, text)  # every TeX command was understood
        count += 1
    assert count > 150


MATH = f'<math xmlns="{MATHML_NS}">'


def test_bank_stems_as_mathml_exactly(bank) -> None:
    assert render_block(bank.items["frac-compare-same-numerator"].stem) == (
        f"<p>Which is larger: {MATH}<mfrac><mn>3</mn><mn>4</mn></mfrac></math>"
        f" or {MATH}<mfrac><mn>3</mn><mn>8</mn></mfrac></math>?</p>"
    )
    # brackets typed without \left \right do not stretch, as in TeX
    assert render_block(bank.items["neg-subtract-negative"].stem) == (
        f"<p>Work out {MATH}<mn>5</mn><mo>\u2212</mo>"
        '<mo stretchy="false">(</mo><mo>\u2212</mo><mn>3</mn><mo stretchy="false">)</mo></math>.</p>'
    )
    assert render_block(bank.items["eq-missing-number"].stem) == (
        f"<p>What number goes in the box? {MATH}<mn>8</mn><mo>+</mo><mn>4</mn><mo>=</mo>"
        "<mi>\u25fb</mi><mo>+</mo><mn>5</mn></math></p>"
    )
    assert render_block(bank.items["frac-explain-denominator"].stem) == (
        f'<p>Mia says: "{MATH}<mfrac><mn>1</mn><mn>8</mn></mfrac></math> is bigger than '
        f'{MATH}<mfrac><mn>1</mn><mn>6</mn></mfrac></math>, because 8 is bigger than 6."</p>\n'
        "<p>Is Mia right? Explain your answer.</p>"
    )


@pytest.mark.parametrize(
    ("tex", "mathml"),
    [
        ("x^2", "<msup><mi>x</mi><mn>2</mn></msup>"),
        ("x^{10}", "<msup><mi>x</mi><mn>10</mn></msup>"),
        ("2^{-3}", "<msup><mn>2</mn><mrow><mo>\u2212</mo><mn>3</mn></mrow></msup>"),
        ("-x^2", "<mo>\u2212</mo><msup><mi>x</mi><mn>2</mn></msup>"),
        # TeX puts the exponent on the closing bracket, and so does latex2mathml; it shows the same
        (
            "(x+1)^2",
            '<mo stretchy="false">(</mo><mi>x</mi><mo>+</mo><mn>1</mn>'
            '<msup><mo stretchy="false">)</mo><mn>2</mn></msup>',
        ),
        ("\\frac{x+1}{2}", "<mfrac><mrow><mi>x</mi><mo>+</mo><mn>1</mn></mrow><mn>2</mn></mfrac>"),
        ("\\frac12", "<mfrac><mn>1</mn><mn>2</mn></mfrac>"),
        ("\\sqrt{16}", "<msqrt><mn>16</mn></msqrt>"),
        ("3x \\le 12", "<mn>3</mn><mi>x</mi><mo>\u2264</mo><mn>12</mn>"),
        ("a \\ge -0.5", "<mi>a</mi><mo>\u2265</mo><mo>\u2212</mo><mn>0.5</mn>"),
        (
            "6 \\times 4 \\div 2 \\cdot 1",
            "<mn>6</mn><mo>\u00d7</mo><mn>4</mn><mo>\u00f7</mo><mn>2</mn><mo>\u00b7</mo><mn>1</mn>",
        ),
        ("3 - -2", "<mn>3</mn><mo>\u2212</mo><mo>\u2212</mo><mn>2</mn>"),
        ("x < y > z", "<mi>x</mi><mo>&lt;</mo><mi>y</mi><mo>&gt;</mo><mi>z</mi>"),
        ("2:3", "<mn>2</mn><mo>:</mo><mn>3</mn>"),
        ("x_1", "<msub><mi>x</mi><mn>1</mn></msub>"),
        ("5\\text{ cm}", "<mn>5</mn><mtext>\u00a0cm</mtext>"),
        # what the converter cannot show is shown as its source, marked
        ("\\frac{1}", '<mtext class="tex-error">\\frac{1}</mtext>'),
        ("\\unknown{x}", '<mtext class="tex-error">\\unknown{x}</mtext>'),
    ],
)
def test_tex_to_mathml(tex: str, mathml: str) -> None:
    assert tex_to_mathml(tex) == f"{MATH}{mathml}</math>"


def test_display_maths() -> None:
    assert render_block("$$\\frac{a}{b}$$") == (
        f'<p><math display="block" xmlns="{MATHML_NS}"><mfrac><mi>a</mi><mi>b</mi></mfrac></math></p>'
    )


def test_markdown_subset() -> None:
    # CommonMark: a line break inside a paragraph is kept as a newline, which HTML shows as a space
    assert render_block("Line one\nline two\n\nSecond *para* with **bold**.") == (
        "<p>Line one\nline two</p>\n<p>Second <em>para</em> with <strong>bold</strong>.</p>"
    )
    assert render_block("Pick one:\n- $x$\n- **y**\n  continued\n\n3. three\n4. four") == (
        f"<p>Pick one:</p>\n<ul>\n<li>{MATH}<mi>x</mi></math></li>\n<li><strong>y</strong>\ncontinued</li>\n</ul>\n"
        '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'
    )
    assert render_block("$2 * 3$ and 2 * 3 and \\*not em\\* and costs \\$5") == (
        f"<p>{MATH}<mn>2</mn><mo>*</mo><mn>3</mn></math> and 2 * 3 and *not em* and costs $5</p>"
    )
    assert render_inline("**$x$** is *big*") == f"<strong>{MATH}<mi>x</mi></math></strong> is <em>big</em>"
    # stars pair up by CommonMark's rules, and tags always nest
    assert render_block("*a **b* c**") == "<p><em>a <em><em>b</em> c</em></em></p>"


def test_script_in_a_stem_is_inert() -> None:
    html = render_block('<script>alert("x")</script> <img src=x onerror=alert(1)> $<script>$')
    assert "<script" not in html and "<img" not in html
    assert html.startswith(f'<p>&lt;script&gt;alert("x")&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; {MATH}')
    assert "<mo>&lt;</mo><mi>s</mi>" in html
    assert render_inline("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert "\x00" not in render_block("a\x00b \x07")


def test_check_reports_what_an_author_should_fix() -> None:
    assert check("fine $x$") == []
    assert check("costs $5") == ['unclosed $ in "costs $5": write \\$ for a dollar sign']
    assert check("$\\bogus$") == ["unknown TeX command \\bogus"]
    assert "control character" in check("\x0crac{1}{2}")[0]
    assert check("$" + "{" * 50 + "$") == ["a formula is nested too deeply"]
    assert check("$x^2^3$") == ["cannot convert $x^2^3$: double superscripts"]
    assert check("$\\frac{1}$") == ["\\frac is missing a part in $\\frac{1}$"]


def test_rendering_never_raises_and_is_always_well_formed() -> None:
    pieces = list("$\\{}^_()[]+-*=<>ab12. \n&'\"") + [
        "\\frac",
        "\\sqrt",
        "\\sqrt[",
        "\\text",
        "\\left",
        "\\right",
        "$$",
        "**",
        "- ",
        "1. ",
        "<script>",
        "\\$",
        "\\foo",
        "\\",
    ]
    rng = random.Random(20240601)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        ET.fromstring(f"<r>{render_block(text)}</r>")
        ET.fromstring(f"<r>{render_inline(text)}</r>")
        check(text)
    for hostile in ("$" + "{" * 5000 + "$", "$" + "\\frac" * 3000 + "$", "$" + "x^" * 3000 + "$", "**a " * 5000):
        ET.fromstring(f"<r>{render_block(hostile)}</r>")
