"""Authored rich text beyond the starter bank: TeX teachers write, hostile stems, and the bank loader's reports."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import pytest

from app.diagnostics.bankfile import BankError, load_bank_text
from app.richtext import MATHML_NS, check, render_block, render_inline, sanitize, tex_to_mathml, with_digits

M = f"{{{MATHML_NS}}}"

# TeX a teacher writes in a stem, and a piece of what it must become.
TEACHERS_TEX = [
    ("\\left( \\frac{1}{2} \\right)^2", "<mfrac>"),
    ("\\overline{AB}", "<mover>"),
    ("\\pi r^2", "<mi>\u03c0</mi>"),
    ("\\angle ABC = 90^\\circ", "<mo>\u2220</mo>"),
    ("\\triangle ABC", "\u25b3"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "<mtable>"),
    ("\\begin{bmatrix} a & b \\end{bmatrix}", "<mtd>"),
    ("5\\,\\text{cm}", '<mspace width="0.167em">'),
    ("9.8\\,\\text{m/s}^2", "<mtext>m/s</mtext>"),
    ("2\\frac{1}{3}", "<mn>2</mn><mfrac>"),
    ("-3 < x \\le 5", "<mo>\u2264</mo>"),
    ("x \\ge -2", "<mo>\u2265</mo>"),
    ("x \\ne 0", "<mo>\u2260</mo>"),
    ("(2, -3)", "<mo>,</mo>"),
    ("90^\\circ", "<mo>\u2218</mo>"),
    ("\\sqrt[3]{8} = 2", "<mroot>"),
    ("\\sqrt{x^2 + y^2}", "<msqrt>"),
    ("\\text{ס\"מ}", "<mtext>ס\"מ</mtext>"),
    ("12\\,\\text{سم}", "<mtext>سم</mtext>"),
    ("\\text{אורך} = 5", "<mtext>אורך</mtext>"),
    ("25\\%", "%"),
    ("3 \\times 4 \\div 2", "<mo>\u00d7</mo>"),
    ("a^2 + b^2 = c^2", "<msup>"),
    ("x_1, x_2", "<msub>"),
    ("\\frac{a}{b} \\cdot \\frac{c}{d}", "<mfrac>"),
    ("y = mx + c", "<mi>m</mi>"),
    ("1.5 \\approx \\frac{3}{2}", "<mo>\u2248</mo>"),
    ("\\{1, 2, 3\\}", "<mo"),
    ("|-4| = 4", "<mo"),
    ("\\sin 30^\\circ = 0.5", "<mi>sin</mi>"),
    ("2:3 = 4:6", "<mo>:</mo>"),
    ("\\pm 3", "\u00b1"),
    ("x \\in \\mathbb{N}", "<mo>\u2208</mo>"),
    ("\\vec{v}", "<mover>"),
    ("\\binom{n}{k}", "<mfrac"),
    ("\\displaystyle\\sum_{i=1}^{n} i", "<mo>\u2211</mo>"),
]


@pytest.mark.parametrize(("tex", "piece"), TEACHERS_TEX)
def test_teachers_tex_renders_to_well_formed_mathml(tex: str, piece: str) -> None:
    html = tex_to_mathml(tex)
    root = ET.fromstring(html)
    assert root.tag == f"{M}math"
    assert not [el for el in root.iter() if not el.tag.startswith(M)]
    assert "tex-error" not in html and "\\" not in html, html
    assert piece in html
    assert check(f"${tex}$") == []


def test_display_maths_and_teachers_tex_in_a_stem() -> None:
    html = render_block("Find $x$:\n\n$$\\frac{x}{2} = 3$$\n\nGive your answer in $\\text{cm}$.")
    root = ET.fromstring(f"<r>{html}</r>")
    maths = list(root.iter(f"{M}math"))
    assert [m.get("display") for m in maths] == [None, "block", None]


# ------------------------------------------------------------------------------------------ hostile


HOSTILE = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](x onerror=alert(1))",
    "$\\href{javascript:alert(1)}{x}$",
    "$\\href{https://example.org}{x}$",
    "$\\style{background:url(javascript:alert(1))}{x}$",
    "$\\class{x}{y}$",
    "$\\cssId{x}{y}$",
    "$\\url{javascript:alert(1)}$",
    "$\\text{<script>alert(1)</script>}$",
    "$\\text{&lt;script&gt;alert(1)&lt;/script&gt;}$",
    "$\\text{&#x3C;img src=x onerror=alert(1)&#x3E;}$",
    "$\\mathrm{<img src=x onerror=alert(1)>}$",
    '<math><maction actiontype="statusline#http://x" href="javascript:alert(1)"><mi>x</mi></maction></math>',
    '<math href="javascript:alert(1)"><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "**<script>**alert(1)",
    "`<script>alert(1)</script>`",
    "$\\newcommand{\\x}{\\href{javascript:alert(1)}{y}}\\x$",
    "$\\def\\x{y}\\x\\x$",
    "$\\color{red}{x}$ and $\\mathcolor{red}{x}$",
    '$x$" onmouseover="alert(1)',
    "<!-- <script>alert(1)</script> -->",
    "<style>body{display:none}</style>",
    '<iframe src="javascript:alert(1)"></iframe>',
]
_ELEMENTS = {"p", "br", "em", "strong", "code", "a", "ul", "ol", "li"}  # and MathML
_NOT_MATHML = {"maction", "semantics", "annotation", "annotation-xml", "mglyph", "malignmark"}


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_executable_survives_in_a_stem(text: str) -> None:
    for html in (render_block(text), render_inline(text), tex_to_mathml(text.strip("$"))):
        # what is left of the attack is text: every "<" in it is escaped
        assert "<script" not in html.lower() and "<img" not in html.lower() and "<style" not in html.lower()
        root = ET.fromstring(f"<r>{html}</r>")
        for el in list(root.iter())[1:]:
            local = el.tag.removeprefix(M)
            assert local in _ELEMENTS if el.tag == local else local not in _NOT_MATHML, html
            for name, value in el.attrib.items():
                assert not name.lower().startswith("on"), html
                assert name not in ("style", "actiontype", "src", "id", "xmlns"), html
                assert "href" not in name or el.tag == "a", html
                assert "script" not in value.lower() and "data:" not in value.lower(), html
            if el.tag == "a":
                assert el.get("href", "").startswith(("http://", "https://", "mailto:")), html


def test_a_safe_link_keeps_its_address_and_is_marked_as_foreign() -> None:
    html = render_inline("see [the lesson](https://example.org/a?b=1&c=2)")
    root = ET.fromstring(f"<r>{html}</r>")
    link = root.find("a")
    assert link.get("href") == "https://example.org/a?b=1&c=2" and link.text == "the lesson"
    assert set(link.get("rel").split()) == {"noopener", "noreferrer", "nofollow"}


def test_refused_tex_is_shown_as_text_and_reported() -> None:
    assert check("$\\href{https://example.org}{x}$") == ["\\href is not allowed in a formula"]
    assert check("$\\style{color:red}{x}$") == ["\\style is not allowed in a formula"]
    html = render_inline("$\\href{javascript:alert(1)}{x}$")
    assert html == (
        f'<math xmlns="{MATHML_NS}"><mtext class="tex-error">\\href{{javascript:alert(1)}}{{x}}</mtext></math>'
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("costs $5", 'unclosed $ in "costs $5": write \\$ for a dollar sign'),
        ("costs \\$5", None),
        ("$x$ and $$y", 'unclosed $$ in "and $$y": write \\$ for a dollar sign'),
        ("$\\bogus$", "unknown TeX command \\bogus"),
        ("$\\frac{1}$", "\\frac is missing a part in $\\frac{1}$"),
        ("$\\frac{1}{2$", "unbalanced braces in $\\frac{1}{2$: a { is not closed"),
        ("$x}$", "unbalanced braces in $x}$: a } has no {"),
        ("$x^$", "cannot convert $x^$: missing super script or subscript"),
        ("$\\left( x$", "cannot convert $\\left( x$: extra left or missing right"),
        ("$\\begin{pmatrix} 1$", "cannot convert $\\begin{pmatrix} 1$: missing end"),
        ("$" + "{" * 41 + "}" * 41 + "$", "a formula is nested too deeply"),
        ("$" + "x" * 2001 + "$", "a formula is longer than 2000 characters"),
        ("a \x07 b", "contains control character(s) U+0007; write TeX in single-quoted or block YAML strings"),
    ],
)
def test_check_names_what_an_author_should_fix(text: str, problem: str | None) -> None:
    assert check(text) == ([problem] if problem else [])
    html = render_block(text)  # and rendering still works
    ET.fromstring(f"<r>{html}</r>")
    if problem and "$" in text and "unclosed" not in problem and "control" not in problem:
        assert 'class="tex-error"' in html


def test_the_bank_loader_reports_tex_problems_by_file_line_and_field() -> None:
    text = """\
items:
  - key: bad-tex
    topic: fractions
    type: choice
    stem: 'Work out $\\frac{1}{2} + \\bogus$.'
    choices:
      A: {text: 'costs $5', correct: true}
      B: {text: '$\\frac{1}{2$', misconception: m}
"""
    with pytest.raises(BankError) as caught:
        load_bank_text({"teacher.yaml": text})
    lines = str(caught.value).splitlines()
    assert "teacher.yaml:5: item 'bad-tex': stem: unknown TeX command \\bogus" in lines
    where = "teacher.yaml:{}: item 'bad-tex': choices.{}.text: ".format
    assert where(7, "A") + 'unclosed $ in "costs $5": write \\$ for a dollar sign' in lines
    assert where(8, "B") + "unbalanced braces in $\\frac{1}{2$: a { is not closed" in lines


def test_nothing_in_the_input_raises() -> None:
    for text in ["", " ", "$", "$$", "$$$", "\\", "$\\$", "$\\\\$", "**", "- ", "1. ", "> q", "    code", "[a](", "<"]:
        for html in (render_block(text), render_inline(text)):
            ET.fromstring(f"<r>{html}</r>")
        check(text)
    for hostile in ("[" * 5000, "> " * 5000 + "x", "- " * 3000 + "x", "*" * 10000, "$" + "\\sqrt" * 3000 + "$"):
        ET.fromstring(f"<r>{render_block(hostile)}</r>")
        check(hostile)


@pytest.mark.parametrize(
    "html",
    [
        '<math><maction actiontype="statusline#http://x"><mi>x</mi><mi>y</mi></maction></math>',
        '<math><mrow href="javascript:alert(1)"><mi>x</mi></mrow></math>',
        '<math><mi xlink:href="javascript:alert(1)" xmlns:xlink="http://www.w3.org/1999/xlink">x</mi></math>',
        '<math><mi style="background:url(javascript:alert(1))" onclick="alert(1)" id="i" class="c">x</mi></math>',
        '<math><semantics><mi>x</mi><annotation-xml encoding="text/html"><img src=x onerror=alert(1)>'
        "</annotation-xml></semantics></math>",
        "<math><mtext><mglyph><style><img src=x onerror=alert(1)></style></mglyph></mtext></math>",
        "<math><mtext><table><mglyph><style><!--</style><img title=\"--&gt;&lt;img src=1 onerror=alert(1)&gt;\">",
        '<p><a href="javascript:alert(1)">x</a><a href="https://example.org" onclick="alert(1)">y</a></p>',
        "<p><script>alert(1)</script><svg><script>alert(1)</script></svg><iframe src=x></iframe></p>",
    ],
)
def test_the_sanitizer_keeps_only_presentation_mathml(html: str) -> None:
    clean = sanitize(html)
    root = ET.fromstring(f"<r>{clean}</r>")
    for el in list(root.iter())[1:]:
        local = el.tag.removeprefix(M)
        assert local not in _NOT_MATHML | {"script", "img", "style", "svg", "iframe", "table"}, clean
        for name, value in el.attrib.items():
            assert name in ("display", "href", "rel") or name in _PRESENTATION, clean
            assert "javascript" not in value and "alert" not in value, clean


@pytest.mark.parametrize(
    "html",
    [
        '<p><img src="x" onerror="alert(1)"><img src="https://tracker.example/p.gif" alt="a"></p>',
        '<p><img src="javascript:alert(1)"><img src="data:image/png;base64,AAAA"><img alt="no source"></p>',
        f'<p><a href="item-media:{"a" * 64}.png">not a page</a></p>',
    ],
)
def test_images_are_only_an_items_own_files(html: str) -> None:
    clean = sanitize(html)
    root = ET.fromstring(f"<r>{clean}</r>")
    assert not root.findall(".//img") and "item-media" not in clean, clean
    own = sanitize(f'<p><img src="item-media:{"b" * 64}.png" alt="the graph of y = 2x" onerror="alert(1)"></p>')
    img = ET.fromstring(own).find("img")
    assert img.attrib == {"src": f"item-media:{'b' * 64}.png", "alt": "the graph of y = 2x"}


_PRESENTATION = {"mathvariant", "stretchy", "fence", "form", "width", "accent", "class"}


def test_arabic_indic_digits_in_the_text_and_the_maths_but_not_in_the_markup() -> None:
    html = render_block("ثمن 8 ₪. كم ثمن $0.4\\text{ كغم}$؟ [المصدر](https://example.org/p2?q=3.5) $x_1 = 12.25$")
    arabic = with_digits(html, "arabic-indic")
    assert "ثمن ٨ ₪" in arabic
    assert "<mn>٠٫٤</mn>" in arabic  # the decimal point between digits is the Arabic decimal separator
    assert "<msub><mi>x</mi><mn>١</mn></msub>" in arabic and "<mn>١٢٫٢٥</mn>" in arabic
    assert 'href="https://example.org/p2?q=3.5"' in arabic  # attributes keep their digits
    assert not re.search(r">[^<]*[0-9][^<]*<", arabic)  # no Western digit left in any text
    ET.fromstring(f"<r>{arabic}</r>")
    assert with_digits(html, "western") == html
    assert with_digits("1 &amp; 2 &#169;", "arabic-indic") == "١ &amp; ٢ &#169;"
    with pytest.raises(ValueError, match="unknown digits 'roman'"):
        with_digits(html, "roman")
