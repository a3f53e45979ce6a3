"""A printable page (a learning plan, a meeting's record) as a PDF, rendered on the server by WeasyPrint (Pango and
HarfBuzz shape Hebrew and Arabic, and the bidirectional algorithm orders mixed lines), from the same HTML as the
printable page.

WeasyPrint lays out HTML and CSS but not MathML, so the maths of the activities ($\\frac{1}{2}$ rendered by
app.richtext as <math>) is rewritten to spans first: a fraction becomes a numerator over a denominator with a rule
between, powers and indices become <sup>/<sub>, a root gets its sign. Nothing is fetched while rendering: the
page's styles are inline and every other URL is refused, so a plan's text cannot make the server reach out.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

from markupsafe import escape

from app.errors import ServiceUnavailable, msg

MATHML = "{http://www.w3.org/1998/Math/MathML}"
_MATH = re.compile(r"<math\b.*?</math>", re.S)


def _inner(el: ET.Element) -> str:
    return "".join(_span(child) for child in el)


def _span(el: ET.Element) -> str:
    tag = el.tag.removeprefix(MATHML)
    text = str(escape(el.text or ""))
    if tag in ("mi", "mn", "mo", "mtext", "ms"):
        italic = ' class="mi"' if tag == "mi" and len(el.text or "") == 1 else ""
        return f"<span{italic}>{text}</span>"
    if tag == "mspace":
        return " "
    kids = list(el)
    if tag == "mfrac" and len(kids) == 2:
        return (f'<span class="frac"><span class="num">{_span(kids[0])}</span>'
                f'<span class="den">{_span(kids[1])}</span></span>')
    if tag == "msup" and len(kids) == 2:
        return f"{_span(kids[0])}<sup>{_span(kids[1])}</sup>"
    if tag == "msub" and len(kids) == 2:
        return f"{_span(kids[0])}<sub>{_span(kids[1])}</sub>"
    if tag == "msubsup" and len(kids) == 3:
        return f"{_span(kids[0])}<sub>{_span(kids[1])}</sub><sup>{_span(kids[2])}</sup>"
    if tag == "msqrt":
        return f'√<span class="root">{_inner(el)}</span>'
    if tag == "mroot" and len(kids) == 2:
        return f'<sup>{_span(kids[1])}</sup>√<span class="root">{_span(kids[0])}</span>'
    return text + _inner(el)


def math_to_html(html: str) -> str:
    """Every <math> element of `html` as spans WeasyPrint can lay out (left to right, as maths reads)."""

    def one(match: re.Match[str]) -> str:
        try:
            root = ET.fromstring(match.group(0))
        except ET.ParseError:
            return str(escape(re.sub(r"<[^>]+>", "", match.group(0))))
        return f'<span class="math" dir="ltr">{_inner(root)}</span>'

    return _MATH.sub(one, html)


def stylesheet(name: str = "plan-print.css") -> str:
    """A printable page's stylesheet (app/static/css/), put inline in the PDF's HTML (the page links the same file)."""
    return (Path(__file__).resolve().parent / "static" / "css" / name).read_text(encoding="utf-8")


def render(html: str) -> bytes:
    """The PDF of the page; ServiceUnavailable, saying what to install, on a machine without Pango."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except OSError:  # WeasyPrint loads Pango with ctypes when imported
        raise ServiceUnavailable(msg("This server cannot make PDFs yet: it needs the Pango library (Debian: "
                                     "libpango-1.0-0). Use the printable page and your browser's Print "
                                     "instead.")) from None
    # No protocol is allowed: an image or stylesheet a text names is left out, never fetched.
    return HTML(string=math_to_html(html), url_fetcher=URLFetcher(allowed_protocols=()), base_url=".").write_pdf()
