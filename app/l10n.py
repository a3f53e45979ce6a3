"""Dates, times and numbers as a reader in Israel writes them, in each of our languages.

The interface languages are plain `en`, `he` and `ar` (the catalogues, `<html lang>`, right-to-left), but Babel's
formats for a bare language are another country's: `en` writes 12 April 2026 as 4/12/26, a US order nobody
here reads. Formats come from the Israeli locales instead: en-IL (12/04/2026, 14:05), he-IL (12.4.2026, 14:05),
ar-IL (12/4/2026، 14:05), always in the reader's time zone. Pages use these through the template filters that
`register` installs in place of Flask-Babel's (`datetimeformat`, `dateformat`, `timeformat`) and beside them
(`decimal`, `percent`); everything else calls the functions below with a language and a zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

# The language of the interface -> the locale whose formats its readers expect.
REGIONAL = {"en": "en_IL", "he": "he_IL", "ar": "ar_IL"}
DEFAULT_ZONE = "Asia/Jerusalem"


@cache
def regional(lang: str | None) -> Locale:
    """The Israeli locale of an interface language ("he" -> he_IL); any other language as Babel knows it."""
    lang = (lang or "en").replace("-", "_")
    return Locale.parse(lang if "_" in lang else REGIONAL.get(lang, lang))


def _zone(zone: tzinfo | str | None) -> tzinfo:
    if isinstance(zone, tzinfo):
        return zone
    return ZoneInfo(str(zone or DEFAULT_ZONE))


def format_datetime(value: datetime, format: str = "medium", *, lang: str | None,  # noqa: A002 - Babel's name
                    zone: tzinfo | str | None = None) -> str:
    """A moment in the reader's zone ("short", "medium", "long", "full" or a Babel pattern). A naive datetime is UTC,
    as the database stores it."""
    return babel_dates.format_datetime(value, format, tzinfo=_zone(zone), locale=regional(lang))


def format_date(value: date | datetime, format: str = "medium", *, lang: str | None,  # noqa: A002
                zone: tzinfo | str | None = None) -> str:
    """A day. A datetime is first moved to the reader's zone (late on the 3rd in UTC is the 4th in Jerusalem)."""
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_zone(zone)).date()
    return babel_dates.format_date(value, format, locale=regional(lang))


def format_time(value: time | datetime, format: str = "short", *, lang: str | None,  # noqa: A002
                zone: tzinfo | str | None = None) -> str:
    return babel_dates.format_time(value, format, tzinfo=_zone(zone), locale=regional(lang))


def format_decimal(value: float | int, format: str | None = None, *, lang: str | None) -> str:  # noqa: A002
    """A number with the reader's separators ("0.00" keeps two decimals: 0.93, 1,234.50)."""
    return babel_numbers.format_decimal(value, format=format, locale=regional(lang))


def format_percent(value: float, format: str | None = None, *, lang: str | None) -> str:  # noqa: A002
    """A proportion as a percentage (0.5 -> 50%), its sign where the reader's language puts it."""
    return babel_numbers.format_percent(value, format=format, locale=regional(lang))


def register(app) -> None:
    """Template filters in the page's language and zone. They replace Flask-Babel's, which would format with the
    bare language (US order for English)."""
    from flask_babel import get_locale, get_timezone
    from markupsafe import Markup

    def lang() -> str:
        locale = get_locale()
        return locale.language if locale else "en"

    def datetimeformat(value, format="medium"):  # noqa: A002
        return "" if value is None else format_datetime(value, format, lang=lang(), zone=get_timezone())

    def dateformat(value, format="medium"):  # noqa: A002
        return "" if value is None else format_date(value, format, lang=lang(), zone=get_timezone())

    def timeformat(value, format="short"):  # noqa: A002
        return "" if value is None else format_time(value, format, lang=lang(), zone=get_timezone())

    def decimal(value, format=None):  # noqa: A002
        return "—" if value is None else format_decimal(value, format, lang=lang())

    def percent(value, format=None):  # noqa: A002
        return "—" if value is None else format_percent(value, format, lang=lang())

    def bdi(value):
        """A name, key or code inserted into a sentence (a translated message's param) as its own bidi island."""
        return Markup("<bdi>%s</bdi>") % ("" if value is None else value)

    app.jinja_env.filters.update(datetimeformat=datetimeformat, dateformat=dateformat, timeformat=timeformat,
                                 decimal=decimal, percent=percent, bdi=bdi)
