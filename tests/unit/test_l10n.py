"""Dates, times and numbers as readers in Israel write them, in English, Hebrew and Arabic (app/l10n.py), and the
template filters that put them on pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask, g
from flask_babel import Babel

from app import l10n

# 25 April 2030, 09:30 UTC: 12:30 in Jerusalem (summer time), a day past the 12th so that day-month and
# month-day orders cannot be mistaken for each other.
MOMENT = datetime(2030, 4, 25, 9, 30, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


@pytest.mark.parametrize("lang,short", [
    ("en", "25/04/2030, 12:30"),
    ("he", "25.4.2030, 12:30"),
    ("ar", "25\u200f/4\u200f/2030، 12:30"),
])
def test_a_moment_in_israeli_order_and_the_readers_zone(lang, short):
    assert l10n.format_datetime(MOMENT, "short", lang=lang, zone="Asia/Jerusalem") == short
    assert "4/25" not in short and "2:30 PM" not in short  # never the US order or clock


@pytest.mark.parametrize("lang,day", [("en", "25/04/2030"), ("he", "25.4.2030"), ("ar", "25\u200f/4\u200f/2030")])
def test_a_day(lang, day):
    assert l10n.format_date(date(2030, 4, 25), "short", lang=lang) == day


def test_a_moment_late_in_utc_is_the_next_day_in_jerusalem():
    late = datetime(2030, 4, 25, 22, 30, tzinfo=UTC)
    assert l10n.format_date(late, "short", lang="en", zone="Asia/Jerusalem") == "26/04/2030"
    # The database's naive datetimes are UTC.
    assert l10n.format_date(late.replace(tzinfo=None), "short", lang="en", zone="Asia/Jerusalem") == "26/04/2030"
    assert l10n.format_datetime(late.replace(tzinfo=None), "short", lang="he", zone="Asia/Jerusalem") == (
        "26.4.2030, 1:30")


def test_month_names_in_each_language():
    assert l10n.format_date(date(2030, 4, 1), "LLL y", lang="en") == "Apr 2030"
    assert l10n.format_date(date(2030, 4, 1), "LLLL y", lang="he") == "אפריל 2030"
    assert "2030" in l10n.format_date(date(2030, 4, 1), "LLLL y", lang="ar")


@pytest.mark.parametrize("lang", ["en", "he", "ar"])
def test_numbers_with_the_readers_separators(lang):
    assert l10n.format_decimal(0.9333, "0.00", lang=lang) == "0.93"
    assert l10n.format_decimal(1234.5, lang=lang) == "1,234.5"
    assert l10n.format_percent(0.5, lang=lang).replace("\u200e", "") == "50%"


def test_the_israeli_locale_of_each_language():
    assert [str(l10n.regional(x)) for x in ("en", "he", "ar", None, "he-IL", "fr")] == [
        "en_IL", "he_IL", "ar_IL", "en_IL", "he_IL", "fr"]


@pytest.fixture
def page_app():
    """A bare Flask app with Flask-Babel and our filters: the filters follow the page's language and zone."""
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: g.lang, timezone_selector=lambda: "Asia/Jerusalem")
    l10n.register(app)
    return app


def render(app, lang: str, source: str, **values) -> str:
    with app.test_request_context():
        g.lang = lang
        return app.jinja_env.from_string(source).render(**values)


@pytest.mark.parametrize("lang,expected", [
    ("en", "25/04/2030, 12:30 | 25/04/2030 | 12:30 | 0.93 | 50% | —"),
    ("he", "25.4.2030, 12:30 | 25.4.2030 | 12:30 | 0.93 | 50% | —"),
    ("ar", "25\u200f/4\u200f/2030، 12:30 | 25\u200f/4\u200f/2030 | 12:30 | 0.93 | 50%"),
])
def test_the_template_filters_per_language(page_app, lang, expected):
    text = render(page_app, lang, "{{ t|datetimeformat('short') }} | {{ t|dateformat('short') }} | "
                  "{{ t|timeformat('short') }} | {{ x|decimal('0.00') }} | {{ p|percent }} | {{ none|decimal }}",
                  t=MOMENT, x=0.9333, p=0.5)
    assert text.replace("\u200e", "").startswith(expected)


def test_the_bdi_filter_escapes_and_isolates(page_app):
    assert render(page_app, "he", "{{ _('Hello, %(name)s', name=n|bdi) }}", n="<b>Noa</b>") == (
        "Hello, <bdi>&lt;b&gt;Noa&lt;/b&gt;</bdi>")


def test_no_template_formats_a_date_or_a_number_by_hand():
    """Dates go through the filters (Israeli order in every language), never strftime or a bare isoformat shown as
    text; a number with decimals through |decimal, not '%.2f'|format. (isoformat() stays for <input type=date>
    values and bounds and for ids, which are machine text.)"""
    found = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in re.finditer(r"\{\{[^}]*(strftime|'%\.\d+f'\|format)[^}]*\}\}", line):
                if "url_for(" not in m.group():  # a number in a link (?t=12.5) is not shown
                    found.append(f"{path.relative_to(TEMPLATES)}:{n}")
            for m in re.finditer(r"\{\{[^}]*isoformat\(\)[^}]*\}\}", line):
                if not re.search(r'(value|min|max|id)="[^"]*$', line[:m.start()]):
                    found.append(f"{path.relative_to(TEMPLATES)}:{n}")
    assert not found, found
