"""How a lesson's analytics read on a page: the band under the player, the summary card, the voices, the trends.

Kept apart from the service because it speaks the reader's language (labels, clocks, charts' titles); the
numbers themselves come from app.analytics.measures through the stored `measures`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from app import charts
from app.analytics.models import LessonAnalysis
from app.analytics.service import ShownTurn
from app.config import RTL
from app.video.timeline import clock

# Below this share of the lesson's width a turn is still drawn, at least this wide (in % of the band).
MIN_WIDTH = 0.15
# A wait is drawn on the band from this long (seconds); shorter ones are in the card's figures only.
LONG_WAIT = 3.0


@dataclass(frozen=True)
class Piece:
    left: float  # % of the band
    width: float
    start: float
    end: float
    kind: str  # teacher | student | question_open | question_closed | wait1 | wait2 | uptake | overlap
    label: str
    student: int = 0


def _pct(seconds: float, duration: float) -> float:
    return round(100.0 * max(0.0, min(seconds, duration)) / duration, 3) if duration > 0 else 0.0


def band(analysis: LessonAnalysis, turns: list[ShownTurn]) -> dict:
    """Rows of the band: who talks when (the teacher above, students below), then questions as ticks and long
    waits as gaps, each linked to its moment."""
    duration = analysis.duration or (analysis.video.duration or 0.0)
    if duration <= 0:
        return {"teacher": [], "students": [], "ticks": [], "waits": [], "overlaps": [], "duration": 0}

    def piece(start: float, end: float, kind: str, label: str, student: int = 0) -> Piece:
        left = _pct(start, duration)
        return Piece(left, max(MIN_WIDTH, round(_pct(end, duration) - left, 3)), start, end, kind, label, student)

    def spoke(t: ShownTurn) -> str:
        who = _("Teacher") if t.role == "teacher" else _("Student %(n)d", n=t.student)
        return f"{who} {clock(t.start)}–{clock(t.end)}"

    teacher = [piece(t.start, t.end, "teacher", spoke(t)) for t in turns if t.role == "teacher"]
    students = [piece(t.start, t.end, "student", spoke(t), t.student) for t in turns if t.role == "student"]
    ticks, waits = [], []
    for m in analysis.markers:
        if m.state == "dismissed":
            continue
        kind = m.shown_kind
        if kind.startswith("question"):
            label = (_("Open question at %(at)s", at=clock(m.start)) if kind == "question_open"
                     else _("Closed question at %(at)s", at=clock(m.start)))
            ticks.append(piece(m.start, m.start, kind, label))
        elif kind.startswith("wait") and m.end - m.start >= LONG_WAIT:
            waits.append(piece(m.start, m.end, kind, _("Wait of %(s)s s at %(at)s", s=f"{m.end - m.start:.1f}",
                                                         at=clock(m.start))))
        elif kind == "uptake":
            ticks.append(piece(m.start, m.start, kind, _("Uptake of a student's idea at %(at)s", at=clock(m.start))))
    overlaps = [piece(a, b, "overlap", _("Two voices at once at %(at)s", at=clock(a)))
                for a, b in analysis.overlaps or ()]
    return {"teacher": teacher, "students": students, "ticks": ticks, "waits": waits, "overlaps": overlaps,
            "duration": duration, "axis": [(_pct(t, duration), clock(t)) for t in _axis(duration)]}


def _axis(duration: float) -> list[float]:
    step = next((s for s in (30, 60, 120, 300, 600, 900, 1800, 3600) if duration / s <= 8), 3600)
    return [float(t) for t in range(0, int(duration) + 1, step)]


def _share(measures: dict, key: str) -> str:
    value = measures.get(key)
    return "—" if value is None else f"{round(100 * value)}%"


def _seconds(value) -> str:
    return "—" if value is None else _("%(s)s s", s=f"{value:.1f}")


def card(analysis: LessonAnalysis) -> list[tuple[str, str, str]]:
    """The summary card: (id, label, value) rows in reading order."""
    m = analysis.measures or {}
    rows = [
        ("teacher-share", _("Teacher talk"), _share(m, "teacher_share")),
        ("student-share", _("Student talk"), _share(m, "student_share")),
        ("silence-share", _("Silence"), _share(m, "silence_share")),
        ("overlap-share", _("Two voices at once"), _share(m, "overlap_share")),
        ("student-turns", _("Student turns"), str(m.get("student_turns", 0))),
        ("student-turn-mean", _("Mean student turn"), _seconds(m.get("student_turn_mean"))),
    ]
    monologue = m.get("longest_monologue") or {}
    rows.append(("monologue", _("Longest teacher stretch"),
                 _seconds(monologue.get("seconds")) if monologue else "—"))
    if analysis.has_text:
        rows += [
            ("questions", _("Teacher questions"), _("%(all)d (%(open)d open, %(closed)d closed)",
                                                     all=m.get("questions_open", 0) + m.get("questions_closed", 0),
                                                     open=m.get("questions_open", 0),
                                                     closed=m.get("questions_closed", 0))),
            ("uptake", _("Uptake of student ideas"), str(m.get("uptake_count", 0))),
        ]
    rows += [
        ("wait1", _("Wait after a question (median)"), _seconds(m.get("wait1_median"))),
        ("wait2", _("Wait after an answer (median)"), _seconds(m.get("wait2_median"))),
    ]
    return rows


@dataclass(frozen=True)
class ShownVoice:
    number: int
    role: str
    label: str
    seconds: float
    share: float


def voices(analysis: LessonAnalysis) -> list[ShownVoice]:
    duration = analysis.duration or 0.0
    out = []
    for n, v in enumerate(analysis.voices or ()):
        role = analysis.role(n)
        label = _("Teacher") if role == "teacher" else _("Student %(n)d", n=analysis.student_number(n))
        seconds = float(v.get("seconds") or 0.0)
        out.append(ShownVoice(n, role, label, seconds, round(100 * seconds / duration) if duration else 0))
    return out


def trend_charts(points) -> dict[str, Markup]:
    """A teacher's lessons in order: talk shares, questions, waits and uptake over time."""
    if not points:
        return {}
    rtl = str(get_locale() or "en") in RTL
    columns = [p.video.created_at.strftime("%d.%m") for p in points]

    def series(key: str, scale: float = 1.0) -> list[float | None]:
        return [None if p.measures.get(key) is None else round(scale * float(p.measures[key]), 1) for p in points]

    talk = {_("Teacher talk"): series("teacher_share", 100), _("Student talk"): series("student_share", 100)}
    waits = {_("Wait after a question (median)"): series("wait1_median"),
             _("Wait after an answer (median)"): series("wait2_median")}
    counts = {_("Open questions"): series("questions_open"), _("Closed questions"): series("questions_closed"),
              _("Uptake of student ideas"): series("uptake_count")}
    out = {"talk": Markup(charts.line_chart_svg(columns, talk, title=_("Talk, share of the lesson (%)"), lo=0, hi=100,
                                                rtl=rtl, step=10))}
    top_wait = max([v for s in waits.values() for v in s if v is not None] + [3.0])
    out["waits"] = Markup(charts.line_chart_svg(columns, waits, title=_("Wait time, seconds"), lo=0,
                                                hi=int(top_wait) + 1, rtl=rtl))
    top_count = max([v for s in counts.values() for v in s if v is not None] + [5.0])
    out["counts"] = Markup(charts.line_chart_svg(columns, counts, title=_("Questions and uptake per lesson"),
                                                 lo=0, hi=int(top_count) + 1, rtl=rtl))
    return out
