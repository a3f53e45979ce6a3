"""The plan's PDF: maths laid out without MathML, nothing fetched, and a clear answer on a machine without Pango."""

from __future__ import annotations

import builtins

import pytest

from app import pdf, richtext
from app.errors import ServiceUnavailable


def test_maths_becomes_spans_weasyprint_lays_out():
    html = str(richtext.render_inline(r"Compare $\frac{3}{4}$ and $x^2 + \sqrt{9}$"))
    assert "<math" in html
    out = pdf.math_to_html(html)
    assert "<math" not in out
    assert '<span class="frac"><span class="num"><span>3</span></span><span class="den"><span>4</span></span></span>' \
        in out
    assert '<span class="mi">x</span><sup><span>2</span></sup>' in out and "√" in out


def test_the_pdf_is_made_offline_in_hebrew():
    import io

    from pypdf import PdfReader

    data = pdf.render('<html lang="he" dir="rtl"><body><h1>תוכנית הלמידה שלי</h1>'
                      '<img src="http://example.invalid/x.png"><p>שברים</p></body></html>')
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "תוכנית הלמידה שלי" in text and "שברים" in text


def test_without_pango_the_pdf_is_refused_with_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(ServiceUnavailable) as caught:
        pdf.render("<p>x</p>")
    assert "libpango-1.0-0" in caught.value.message.msgid
