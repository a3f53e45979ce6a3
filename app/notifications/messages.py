"""What each kind of notification says, rendered when it is shown, in the reader's language.

A notification stores its kind and params, never its text: the same row reads in Hebrew on one
reader's page and in English in another's e-mail. `render` takes the gettext of wherever it is shown
(Flask-Babel's in pages, babel.support.Translations in the worker), so this module imports no Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _l(msgid: str) -> str:
    """Marks a msgid for `pybabel extract -k _l`; it is translated later, by the reader's gettext."""
    return msgid


# kind -> the params its callers pass (app.notifications.service.notify checks them).
PARAMS: dict[str, tuple[str, ...]] = {
    "comment": ("author", "video_title"),
    "reply": ("author", "video_title"),
    "share": ("owner", "video_title", "right"),
    "clip_share": ("owner", "clip_title", "right"),
    "community_share": ("owner", "title", "community"),
    "coach_request": ("coach", "assigned_by"),
    "coach_accepted": ("teacher",),
    "coach_declined": ("teacher",),
    "cycle_started": ("coach", "focus"),
    "cycle_lesson": ("teacher", "video_title"),
    "next_steps": ("author",),
    "export_ready": (),
    "community_added": ("community", "by"),
    "rehearsal_share": ("owner", "scenario"),
    "rehearsal_scored": ("reviewer", "scenario"),
    "rehearsal_group": ("facilitator", "scenario", "community"),
    "meeting_scheduled": ("facilitator", "title", "community"),
    "meeting_next_step": ("facilitator", "title"),
    "portfolio_to_score": ("cohort",),
    "certified": ("cohort",),
    "portfolio_decided": ("cohort",),
    "principal_session": ("number", "school"),
}

MESSAGES: dict[str, str] = {
    "comment": _l("%(author)s commented on “%(video_title)s”."),
    "reply": _l("%(author)s replied to a comment on “%(video_title)s”."),
    "share": _l("%(owner)s shared the lesson “%(video_title)s” with you to watch."),
    "clip_share": _l("%(owner)s shared the clip “%(clip_title)s” with you to watch."),
    "community_share": _l("%(owner)s shared “%(title)s” with the community %(community)s."),
    "coach_request": _l("%(assigned_by)s proposed %(coach)s as your coach."),
    "coach_accepted": _l("%(teacher)s accepted the coaching request."),
    "coach_declined": _l("%(teacher)s declined the coaching request."),
    "cycle_started": _l("A coaching cycle with %(coach)s as coach has started: %(focus)s."),
    "cycle_lesson": _l("%(teacher)s added the lesson “%(video_title)s” to the coaching cycle."),
    "next_steps": _l("%(author)s updated the next steps of your coaching cycle."),
    "export_ready": _l("Your data export is ready to download."),
    "community_added": _l("%(by)s added you to the community %(community)s."),
    "rehearsal_share": _l("%(owner)s shared a rehearsal of “%(scenario)s” with you to watch, comment and score."),
    "rehearsal_scored": _l("%(reviewer)s scored your rehearsal of “%(scenario)s” on the rubric."),
    "rehearsal_group": _l("%(facilitator)s started a group rehearsal of “%(scenario)s” in %(community)s."),
    "meeting_scheduled": _l("%(facilitator)s scheduled the meeting “%(title)s” of %(community)s: its evidence is "
                            "ready to watch."),
    "meeting_next_step": _l("%(facilitator)s assigned you a next step from the meeting “%(title)s”."),
    "portfolio_to_score": _l("A portfolio of the cohort “%(cohort)s” is waiting for your score."),
    "certified": _l("Congratulations: your portfolio in “%(cohort)s” met every standard. Your certificate is ready."),
    "portfolio_decided": _l("The assessment of your portfolio in “%(cohort)s” is complete. See each standard's "
                            "result."),
    "principal_session": _l("Coaching session %(number)s for %(school)s is planned: see its agenda and the data "
                            "to look at."),
}

# Whole sentences for the cases a param changes the wording: translators get a sentence, never a
# fragment glued into another one.
SHARED_TO_COMMENT = {
    "share": _l("%(owner)s shared the lesson “%(video_title)s” with you to watch and comment."),
    "clip_share": _l("%(owner)s shared the clip “%(clip_title)s” with you to watch and comment."),
}
COACH_OFFERS_SELF = _l("%(coach)s would like to be your coach.")
# Either side may start a cycle or write next steps, and either may read it: worded for both.
CYCLE_WITHOUT_FOCUS = _l("A coaching cycle with %(coach)s as coach has started.")
GENERIC = _l("You have a new notification.")

EMAIL_SUBJECT = _l("ClassLab: %(message)s")
EMAIL_OPEN = _l("Open it in ClassLab:")
EMAIL_FOOTER = _l("You receive this e-mail because you have an account on ClassLab. "
                  "All your notifications are at %(url)s")


class _Params(dict):
    """A missing param reads as an ellipsis rather than breaking the page."""

    def __missing__(self, key: str) -> str:
        return "…"


def msgid_for(kind: str, params: Mapping) -> str:
    if kind in SHARED_TO_COMMENT and params.get("right") == "comment":
        return SHARED_TO_COMMENT[kind]
    if kind == "coach_request" and params.get("assigned_by", "") in ("", params.get("coach")):
        return COACH_OFFERS_SELF
    if kind == "cycle_started" and not params.get("focus"):
        return CYCLE_WITHOUT_FOCUS
    return MESSAGES.get(kind, GENERIC)


def render(kind: str, params: Mapping | None, gettext: Callable[[str], str]) -> str:
    """The sentence for one notification, in the language of `gettext`. Never raises: an unknown kind
    is the generic sentence, a translation with a broken placeholder falls back to English."""
    values = _Params({k: str(v) for k, v in (params or {}).items()})
    msgid = msgid_for(kind, values)
    try:
        return gettext(msgid) % values
    except (KeyError, TypeError, ValueError):
        return msgid % values


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (a NullTranslations, i.e. English, when there is none)."""
    return Translations.load(str(TRANSLATIONS), [locale], domain="messages")
