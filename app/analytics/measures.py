"""The measures of one lesson, from its speaker turns and its transcript: pure functions, no Flask, no database.

Input: the turns the worker heard (start, end, teacher or student, the voice, whether the pitch rose at the end)
and, when there is a transcript, its timed words (`assign_words` puts them into the turns). Output: `Measures`, a
JSON-safe record stored with the lesson, and the markers a coach looks at. Each measure in one sentence (the
README repeats these):

- teacher share: the fraction of the lesson in which the teacher speaks, a moment when a student speaks too
  counting half to each;
- student share: the same for the students (a moment when two students speak counts once, for the students);
- silence share: the fraction in which nobody speaks, so teacher + student + silence = 1;
- overlap share: the fraction in which two or more voices sound at once (from overlapping turns of different
  voices or the overlaps the worker heard), already inside the teacher and student shares;
- teacher turns / student turns: maximal runs of one voice's turns with no other voice's turn between them; the
  mean student turn is the mean time from a run's first start to its last end;
- longest monologue: the longest stretch of teacher turns joined across pauses shorter than MONOLOGUE_GAP with no
  student turn between them;
- a question: a teacher sentence ending in "?" or "؟" (cue "mark"), or one that starts with an interrogative
  word or phrase of the lesson's language without turning out to be a statement ("When we add…") or ends with a
  tag ("…, or not"; cue "words"), or — no mark, last sentence of its turn — one the voice rises at (cue
  "intonation"); without a transcript, a
  teacher turn whose voice rises at its end is a question of unknown kind;
- an open question asks for a reason, a method or an idea (why, how, explain, what do you think…), a closed one
  has one right or a yes/no answer (is/do/can, how many, who, which, "what is three times four");
- wait time 1 (Rowe): from the end of a teacher turn that ends in a question (its last question within
  QUESTION_TAIL of the turn's end) to the next speech by anyone — a student's answer or the teacher speaking again
  (`Wait.by` says which);
- wait time 2 (Rowe): from the end of a student's turn to the start of the teacher's next turn;
- a silence longer than MAX_WAIT is work time, not a wait, and is in neither list;
- uptake (Demszky et al.): the teacher's first turn after a student's, within UPTAKE_WITHIN, that repeats or builds
  on the student's own content words (those not already in the teacher's turn the student answered), taking up at
  least UPTAKE_SHARE of them and at least one;
- markers: each question, each wait of LONG_WAIT or more, each uptake and the longest monologue.

Why these choices:

- The shares split a moment of overlap half and half rather than giving it to one side, so neither the teacher's
  nor the students' talk is inflated by choral answers or interruptions, and the three shares still add up to 1.
- Wait time 1 ends when anyone speaks, as in Rowe's work: a teacher who answers her own question after one second
  waited one second, not until a student finally spoke.
- Whisper punctuates most questions, but not all (and not a question said as a statement with a rising voice), so
  the words of a sentence's start and the voice's pitch are cues too; each question says which cue found it. A
  sentence cut off by an ellipsis ("Why is…") is a false start, not a question, unless it ends with a mark.
- Uptake uses lexical overlap, the transparent baseline of Demszky et al. (2021), with "lemma-light" matching that
  works without a morphological analyser in all three languages: lowercase, niqqud and harakat removed, the
  one-letter prefixes of Hebrew and Arabic stripped (every stripping depth is a candidate, so "המכנה" meets
  "מכנה" and "بالكسر" meets "كسر" without trusting one guess), number and gender endings ignored, stopwords
  dropped. Words the student merely echoes from the teacher's own question are not the student's ideas: taking
  them up again is evaluating, not uptake. The threshold, 0.4 of the student's own content words and at
  least one, accepts the teacher who repeats one word of a one- or two-word answer ("Purple, and what made it
  purple?") or two of five, and refuses one word of three or more, which is as often the lesson's topic coming back
  as the student's idea. On the scripted exchanges of tests/unit/test_measures.py every revoicing took up half or
  more of the student's own words and the replies that only shared the topic a third or less ("four" of "twenty,
  four, times"), so any threshold above a third and up to a half separates them; 0.4 keeps two words of five.
- The lexicon (lexicon.yaml) is data written per language and checked with file and line like every bank
  (app.yamlbank), read once per process.
- One sort of the turns and one pass over them (linear in the lesson's length; looking for the speech after a
  question only steps over turns nested inside it), so a four-hour lesson costs milliseconds.
"""

from __future__ import annotations

import heapq
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from app import yamlbank

LEXICON = Path(__file__).with_name("lexicon.yaml")
LANGUAGES = ("en", "he", "ar")
TEACHER, STUDENT = "teacher", "student"

#: Teacher turns separated by a pause shorter than this (seconds), with no student between, are one stretch.
#: The same as LONG_WAIT: a pause long enough to be a real wait gives the students the floor.
MONOLOGUE_GAP = 3.0
#: A wait this long or longer is a marker (Rowe found that from about three seconds students answer at length).
LONG_WAIT = 3.0
#: A silence longer than this after a question or an answer is work time (students writing, trying), not a wait.
MAX_WAIT = 20.0
#: A turn whose last question ends this close to the turn's end (seconds) still hands the floor to the class:
#: "Why is it bigger? Think." is followed by the same wait as the question alone.
QUESTION_TAIL = 2.0
#: Uptake: the teacher takes up at least this share of the student's own content words (and at least one).
UPTAKE_SHARE = 0.4
#: Uptake: the teacher's reply starts at most this long after the student stopped (a long wait 2 still counts).
UPTAKE_WITHIN = 10.0
#: Uptake looks at the start of the teacher's reply, where taking up happens; the rest is new talk.
UPTAKE_REPLY_WORDS = 30
#: A sentence longer than this is a statement however the voice ends it (rising intonation on a long sentence is
#: list or continuation intonation).
INTONATION_WORDS = 20
#: Words whose midpoint lies this close outside a turn still belong to it (ASR and VAD edges disagree a little).
WORD_SLACK = 0.4
#: A lead before a comma of at most this many words ("Dana, why…", "OK so, what…") may stand before the question.
COMMA_LEAD = 2

_CLOSERS = "\"'”’»)\\]"  # closing quotes and brackets after a sentence's last mark (escaped for [...])
_SENTENCE_END = re.compile(rf"(?:[.?!؟？…]+)[{_CLOSERS}]*$")
_QUESTION_MARK = re.compile(rf"[?؟？][!.…]*[{_CLOSERS}]*$")
_ELLIPSIS = re.compile(rf"(?:…|\.\.\.)[{_CLOSERS}]*$")
_EXCLAMATION = re.compile(rf"!+[{_CLOSERS}]*$")
_SPLIT_SENTENCES = re.compile(rf"(?<=[.?!؟？…])[{_CLOSERS}]*\s+")
_NOT_WORD = re.compile(r"[^\w']+")
_COMMA = re.compile(r"[,،]")
_HEBREW_MARKS = re.compile(r"[\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7]")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")
_TO_SPACE = str.maketrans({"\u05BE": " ", "-": " ", "–": " ", "—": " ", "/": " "})
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "׳": "'", "`": "'", "״": '"'})
_FINAL = str.maketrans("ךםןףץ", "כמנפצ")
_MAKE_FINAL = dict(zip("כמנפצ", "ךםןףץ", strict=True))
_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})


# ------------------------------------------------------------------------------------------------------------------
# Input and output records


@dataclass(frozen=True)
class Word:
    """One word of the transcript (Whisper's timed words: the text has its punctuation attached, "why?")."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Turn:
    """One stretch of one voice. `role` is "teacher" or "student"; `rising`: the pitch rose at its end (None: not
    known); `text` and `words` come from `assign_words` (or are given directly, as in tests)."""

    start: float
    end: float
    role: str
    voice: int
    rising: bool | None = None
    text: str = ""
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Question:
    """A teacher question: `turn` is its turn's index in the list given to `measure`; `kind` is "open", "closed",
    or None when only the voice told (no transcript); `cue` is "mark", "words" or "intonation"."""

    start: float
    end: float
    turn: int
    text: str
    kind: str | None
    cue: str


@dataclass(frozen=True)
class Wait:
    """A wait: `after` is the turn it follows (the question's turn for wait 1, the student's for wait 2), from
    `start` (that turn's end) to `end`; `by` is the role of whoever broke the silence."""

    after: int
    start: float
    end: float
    seconds: float
    by: str = ""


@dataclass(frozen=True)
class Uptake:
    """The teacher turn `teacher_turn` takes up words of the student turn `student_turn`; `shared` are the
    student's own content words it repeats (as the student said them, prefixes off); `score` = shared ÷ own."""

    student_turn: int
    teacher_turn: int
    start: float
    end: float
    shared: tuple[str, ...]
    score: float


#: Marker kinds (app.analytics.models.MARKER_KINDS) and the short label key each is shown with.
MARKER_LABELS = {
    "question_open": "open-question",
    "question_closed": "closed-question",
    "wait1": "long-wait-after-question",
    "wait2": "long-wait-after-answer",
    "uptake": "uptake",
    "monologue": "longest-monologue",
}


@dataclass(frozen=True)
class Marker:
    """A moment a coach would look at. `label` is a short key for the text shown (MARKER_LABELS); `text` the
    teacher's words, `student_text` the student's, `seconds` a wait's or the monologue's length."""

    kind: str
    start: float
    end: float
    text: str = ""
    student_text: str = ""
    seconds: float | None = None
    cue: str = ""
    shared: tuple[str, ...] = ()
    label: str = ""

    def as_dict(self) -> dict:
        data: dict[str, Any] = {"kind": self.kind, "start": self.start, "end": self.end,
                                "label": self.label or MARKER_LABELS.get(self.kind, self.kind)}
        for name in ("text", "student_text", "seconds", "cue"):
            value = getattr(self, name)
            if value not in ("", None):
                data[name] = value
        if self.shared:
            data["shared"] = list(self.shared)
        return data

    @classmethod
    def from_dict(cls, d: Mapping) -> Marker:
        return cls(kind=str(d["kind"]), start=float(d["start"]), end=float(d["end"]), text=str(d.get("text", "")),
                   student_text=str(d.get("student_text", "")),
                   seconds=None if d.get("seconds") is None else float(d["seconds"]), cue=str(d.get("cue", "")),
                   shared=tuple(d.get("shared") or ()), label=str(d.get("label", "")))


def _round(x: float, digits: int = 2) -> float:
    return round(float(x), digits)


def _mean(values: Sequence[float]) -> float | None:
    return _round(statistics.fmean(values)) if values else None


def _median(values: Sequence[float]) -> float | None:
    return _round(statistics.median(values)) if values else None


@dataclass(frozen=True)
class Measures:
    """Every measure of one lesson (see the module's docstring for each definition). Shares are fractions of
    `duration`; times in seconds. The text measures (question kinds, uptake) are None in `as_dict` when the lesson
    has no transcript (`has_text` False)."""

    duration: float
    has_text: bool
    teacher_seconds: float  # time in which the teacher speaks (alone or not)
    student_seconds: float  # time in which some student speaks (alone or not)
    teacher_share: float
    student_share: float
    silence_share: float
    overlap_share: float
    teacher_turns: int
    student_turns: int
    student_turn_mean: float | None
    longest_monologue: dict | None  # {"start", "end", "seconds"}
    questions: tuple[Question, ...] = ()
    wait1: tuple[Wait, ...] = ()
    wait2: tuple[Wait, ...] = ()
    uptake: tuple[Uptake, ...] = ()
    markers: tuple[Marker, ...] = field(default=(), repr=False)
    language: str = "en"

    @property
    def questions_open(self) -> int | None:
        return sum(q.kind == "open" for q in self.questions) if self.has_text else None

    @property
    def questions_closed(self) -> int | None:
        return sum(q.kind == "closed" for q in self.questions) if self.has_text else None

    def as_dict(self, *, markers: bool = False) -> dict:
        """JSON-safe: what is stored with the lesson. The markers are stored as rows of their own, so they are
        left out unless `markers`; the counts, means and medians are derived here for the pages and charts."""
        w1 = [w.seconds for w in self.wait1]
        w2 = [w.seconds for w in self.wait2]
        data = {
            "duration": self.duration, "language": self.language, "has_text": self.has_text,
            "teacher_seconds": self.teacher_seconds, "student_seconds": self.student_seconds,
            "teacher_share": self.teacher_share, "student_share": self.student_share,
            "silence_share": self.silence_share, "overlap_share": self.overlap_share,
            "teacher_turns": self.teacher_turns, "student_turns": self.student_turns,
            "student_turn_mean": self.student_turn_mean,
            "longest_monologue": dict(self.longest_monologue) if self.longest_monologue else None,
            "questions_open": self.questions_open, "questions_closed": self.questions_closed,
            "question_count": len(self.questions) if self.has_text else None,
            "questions": [asdict(q) for q in self.questions],
            "wait1": [asdict(w) for w in self.wait1], "wait2": [asdict(w) for w in self.wait2],
            "wait1_mean": _mean(w1), "wait1_median": _median(w1),
            "wait2_mean": _mean(w2), "wait2_median": _median(w2),
            "uptake_count": len(self.uptake) if self.has_text else None,
            "uptake": [{**asdict(u), "shared": list(u.shared)} for u in self.uptake],
        }
        if markers:
            data["markers"] = [m.as_dict() for m in self.markers]
        return data

    @classmethod
    def from_dict(cls, d: Mapping) -> Measures:
        """The record `as_dict` wrote (derived counts and means are recomputed, not read)."""
        monologue = d.get("longest_monologue")
        return cls(
            duration=float(d["duration"]), has_text=bool(d["has_text"]), language=str(d.get("language", "en")),
            teacher_seconds=float(d["teacher_seconds"]), student_seconds=float(d["student_seconds"]),
            teacher_share=float(d["teacher_share"]), student_share=float(d["student_share"]),
            silence_share=float(d["silence_share"]), overlap_share=float(d["overlap_share"]),
            teacher_turns=int(d["teacher_turns"]), student_turns=int(d["student_turns"]),
            student_turn_mean=None if d.get("student_turn_mean") is None else float(d["student_turn_mean"]),
            longest_monologue=dict(monologue) if monologue else None,
            questions=tuple(Question(**q) for q in d.get("questions") or ()),
            wait1=tuple(Wait(**w) for w in d.get("wait1") or ()),
            wait2=tuple(Wait(**w) for w in d.get("wait2") or ()),
            uptake=tuple(Uptake(**{**u, "shared": tuple(u["shared"])}) for u in d.get("uptake") or ()),
            markers=tuple(Marker.from_dict(m) for m in d.get("markers") or ()),
        )


# ------------------------------------------------------------------------------------------------------------------
# The lexicon


class LexiconError(ValueError):
    """The lexicon file has problems; `lines` are "file:line: language: list: message"."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class QuestionPrefix:
    """An interrogative glued to the next word (the Arabic hamza): `prefix` + one of `words`, or + a verb that
    starts with one of `verb_starts` and ends with one of `verb_ends`."""

    prefix: str
    words: frozenset[str]
    verb_starts: tuple[str, ...]
    verb_ends: tuple[str, ...]

    def asks(self, raw: str) -> bool:
        if not raw.startswith(self.prefix) or len(raw) <= len(self.prefix):
            return False
        rest = raw[len(self.prefix):]
        if rest in self.words:
            return True
        return (len(rest) >= 4 and rest.startswith(self.verb_starts) and rest.endswith(self.verb_ends))


@dataclass(frozen=True)
class NextRule:
    """After a question word, a next word that makes the sentence a statement: one of `words` (normalised), or
    one whose raw form (only niqqud/harakat off) starts with one of `starts` or ends with one of `ends` — unless
    it is one of `unless`."""

    words: frozenset[str] = frozenset()
    starts: tuple[str, ...] = ()
    ends: tuple[str, ...] = ()
    unless: frozenset[str] = frozenset()

    def matches(self, word: str, raw: str) -> bool:
        if word in self.unless:
            return False
        return word in self.words or bool(self.starts and raw.startswith(self.starts)) or bool(
            self.ends and len(raw) >= 4 and raw.endswith(self.ends))


@dataclass(frozen=True, eq=False)
class Lexicon:
    """One language's lists, normalised as the words they are compared with (see lexicon.yaml)."""

    language: str
    open_starts: frozenset[str]
    closed_starts: frozenset[str]
    what_words: frozenset[str]
    open_phrases: tuple[tuple[str, ...], ...]
    closed_phrases: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[str, ...], ...]
    statement_next: Mapping[str, tuple[NextRule, ...]]
    fillers: frozenset[str]
    prefixes: tuple[str, ...]
    clear_prefixes: frozenset[str]
    suffixes: tuple[str, ...]
    stopwords: frozenset[str]
    question_prefix: QuestionPrefix | None = None

    @property
    def starters(self) -> frozenset[str]:
        return self.open_starts | self.closed_starts | self.what_words


_WORD_LISTS = ("open_starts", "closed_starts", "what_words", "fillers", "prefixes", "clear_prefixes", "suffixes",
               "stopwords")
_PHRASE_LISTS = ("open_phrases", "closed_phrases", "tags")
_KEYS = (*_WORD_LISTS, *_PHRASE_LISTS, "statement_next", "question_prefix")
_OPTIONAL = ("question_prefix",)


def read_lexicon(name: str, text: str | bytes) -> dict[str, Lexicon]:
    """The lexicon file, checked in full: every language, every list, every entry a word (a phrase in the phrase
    lists). Raises LexiconError (a ValueError) listing each problem as "file:line: language: list: message"."""
    problems = yamlbank.Problems(name)
    try:
        doc = yamlbank.load(name, text)
    except yamlbank.Unreadable as exc:
        raise LexiconError([exc.message]) from None
    problems.duplicates(doc)
    data = doc.data
    if not isinstance(data, Mapping):
        raise LexiconError([f"{name}: the lexicon is a mapping of languages ({', '.join(LANGUAGES)})"])
    for lang in data:
        if lang not in LANGUAGES:
            problems.add(yamlbank.line_of(data, lang), str(lang), f"unknown language (expected {', '.join(LANGUAGES)})")
    out: dict[str, Lexicon] = {}
    for lang in LANGUAGES:
        entry = data.get(lang)
        if not isinstance(entry, Mapping):
            problems.add(yamlbank.line_of(data, lang), lang, "missing or not a mapping of lists")
            continue
        lexicon_ = _read_language(lang, entry, problems)
        if lexicon_ is not None:
            out[lang] = lexicon_
    if problems:
        raise LexiconError(problems.lines)
    return out


def _words(lang: str, entry: Mapping, key: str, problems: yamlbank.Problems, *, phrases: bool = False,
           node: Any = None, where: str | None = None) -> list[str] | None:
    values = (node if node is not None else entry).get(key)
    where = where or key
    if not isinstance(values, list):
        problems.add(yamlbank.line_of(node if node is not None else entry, key), lang, where,
                     "a list of words (quote yes, no, on and off)")
        return None
    ok = True
    for n, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            problems.add(yamlbank.line_of(values, n), lang, where,
                         f"a list of words (quote yes, no, on and off): item {n + 1} is {yamlbank.show(value)}")
            ok = False
        elif not phrases and len(value.split()) > 1:
            problems.add(yamlbank.line_of(values, n), lang, where, f"one word per item, not {value!r}")
            ok = False
    return [v.strip() for v in values] if ok else None


def _read_language(lang: str, entry: Mapping, problems: yamlbank.Problems) -> Lexicon | None:
    before = len(problems)
    for key in entry:
        if key not in _KEYS:
            problems.add(yamlbank.line_of(entry, key), lang, str(key), f"unknown list (expected {', '.join(_KEYS)})")
    for key in _KEYS:
        if key not in entry and key not in _OPTIONAL:
            problems.add(yamlbank.line_of(entry), lang, key, "is missing")
    lists = {key: _words(lang, entry, key, problems) for key in _WORD_LISTS if key in entry}
    lists.update({key: _words(lang, entry, key, problems, phrases=True) for key in _PHRASE_LISTS if key in entry})
    norm = _normaliser(lang)
    statement_next: dict[str, list[NextRule]] = {}
    rules = entry.get("statement_next")
    shape = "{after: [words], and next: [words], next_starts: [letters] or next_ends: [letters], unless: [words]}"
    if "statement_next" in entry and not isinstance(rules, list):
        problems.add(yamlbank.line_of(entry, "statement_next"), lang, "statement_next", f"a list of {shape}")
    raw = _normaliser(lang, unify=False)
    for n, rule in enumerate(rules if isinstance(rules, list) else ()):
        where = f"statement_next[{n + 1}]"
        given = set(rule) if isinstance(rule, Mapping) else set()
        if ("after" not in given or not given & {"next", "next_starts", "next_ends"}
                or given - {"after", "next", "next_starts", "next_ends", "unless"}):
            problems.add(yamlbank.line_of(rules, n), lang, where, f"must be {shape}")
            continue
        parts = {key: _words(lang, entry, key, problems, node=rule, where=f"{where}.{key}") if key in rule else []
                 for key in ("after", "next", "next_starts", "next_ends", "unless")}
        if any(v is None for v in parts.values()):
            continue
        made = NextRule(frozenset(map(norm, parts["next"])), tuple(map(raw, parts["next_starts"])),
                        tuple(map(raw, parts["next_ends"])), frozenset(map(norm, parts["unless"])))
        for word in parts["after"]:
            statement_next.setdefault(norm(word), []).append(made)
    prefix = None
    raw_prefix = entry.get("question_prefix")
    if raw_prefix is not None:
        if not isinstance(raw_prefix, Mapping) or not isinstance(raw_prefix.get("prefix"), str):
            problems.add(yamlbank.line_of(entry, "question_prefix"), lang, "question_prefix",
                         "must be {prefix: letter, words: [...], verb_starts: [...], verb_ends: [...]}")
        else:
            parts = {key: _words(lang, entry, key, problems, node=raw_prefix, where=f"question_prefix.{key}")
                     for key in ("words", "verb_starts", "verb_ends")}
            if all(v is not None for v in parts.values()):
                # the hamza is matched before alef is unified, so only niqqud/harakat come off these
                raw = _normaliser(lang, unify=False)
                prefix = QuestionPrefix(raw(raw_prefix["prefix"]), frozenset(map(raw, parts["words"])),
                                        tuple(map(raw, parts["verb_starts"])), tuple(map(raw, parts["verb_ends"])))
    if len(problems) > before or any(v is None for v in lists.values()):
        return None

    def words(key: str) -> frozenset[str]:
        return frozenset(norm(w) for w in lists[key])

    def phrases(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(norm(w) for w in p.split()) for p in lists[key])

    return Lexicon(
        language=lang, open_starts=words("open_starts"), closed_starts=words("closed_starts"),
        what_words=words("what_words"), open_phrases=phrases("open_phrases"),
        closed_phrases=phrases("closed_phrases"), tags=phrases("tags"),
        statement_next={k: tuple(v) for k, v in statement_next.items()}, fillers=words("fillers"),
        prefixes=tuple(sorted(words("prefixes"), key=len, reverse=True)), clear_prefixes=words("clear_prefixes"),
        suffixes=tuple(sorted(words("suffixes"), key=len, reverse=True)), stopwords=words("stopwords"),
        question_prefix=prefix,
    )


@cache
def lexicon() -> dict[str, Lexicon]:
    """The lexicon of every language, read and checked once per process."""
    return read_lexicon(LEXICON.name, LEXICON.read_bytes())


# ------------------------------------------------------------------------------------------------------------------
# Words


@cache
def _normaliser(lang: str, unify: bool = True):
    def norm(word: str) -> str:
        w = unicodedata.normalize("NFC", word).translate(_APOSTROPHES).casefold().strip("'\"")
        if lang == "he":
            w = _HEBREW_MARKS.sub("", w)
            w = w.translate(_FINAL) if unify else w
        elif lang == "ar":
            w = _ARABIC_MARKS.sub("", w)
            w = w.translate(_ARABIC) if unify else w
        return w

    return norm


def _split(text: str, lang: str) -> list[tuple[str, str]]:
    """The words of `text` as (normalised, raw) pairs; raw keeps the Arabic hamza (only marks removed)."""
    text = unicodedata.normalize("NFC", text).translate(_TO_SPACE).translate(_APOSTROPHES)
    text = _ARABIC_MARKS.sub("", _HEBREW_MARKS.sub("", text))  # before splitting: a mark is no word character
    norm, raw = _normaliser(lang), _normaliser(lang, unify=False)
    out = []
    for piece in _NOT_WORD.split(text):
        n = norm(piece)
        if n:
            out.append((n, raw(piece)))
    return out


def tokens(text: str, lang: str) -> list[str]:
    """The words of `text`, normalised for looking up: case folded, niqqud/harakat and punctuation removed,
    Hebrew final letters and Arabic alef / ta marbuta / alef maqsura unified."""
    return [n for n, _raw in _split(text, lang)]


def _english_lemma(w: str) -> str:
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "xes", "sses", "zes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _english_key(w: str) -> str:
    """A stem for matching only: -ed/-ing/-ied off, a final e off, a final double consonant single (so "divided",
    "dividing", "divide" and "cut", "cutting" meet)."""
    if w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ying") and len(w) > 5:
        w = w[:-3]
    else:
        for end in ("ing", "ed"):
            if w.endswith(end) and len(w) - len(end) >= 3:
                w = w[: -len(end)]
                break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 2 and w[-1] == w[-2] and w[-1].isalpha() and w[-1] not in "aeiou":
        w = w[:-1]
    return w


@dataclass(frozen=True)
class _Content:
    shown: tuple[str, ...]  # the candidates, least stripped first
    keys: tuple[frozenset[str], ...]  # each candidate's matching keys
    identity: str  # the deepest key: two words with the same one are one word
    clear: int = 0  # the candidate after the last of `clear_prefixes` came off (shown unless matching went deeper)

    @property
    def all_keys(self) -> frozenset[str]:
        return frozenset().union(*self.keys)


def _suffix_keys(word: str, lex: Lexicon) -> frozenset[str]:
    out = {word}
    for suffix in lex.suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.add(word[: -len(suffix)])
            break
    return frozenset(out)


def _content(word: str, lex: Lexicon) -> _Content | None:
    """The content word behind `word`, or None for a stopword. Every prefix-stripping depth is a candidate
    (a prefix comes off when three letters or a stopword remain), so a bare "מכנה" and "המכנה" share "מכנה"."""
    if word in lex.stopwords or len(word) < 2 and not word.isdigit():
        return None
    if lex.language == "en":
        lemma = _english_lemma(word)
        if lemma in lex.stopwords or len(lemma) < 2:
            return None
        return _Content((lemma,), (frozenset({_english_key(lemma)}),), _english_key(lemma))
    candidates, clear = [word], 0
    for _ in range(4):
        current = candidates[-1]
        for p in lex.prefixes:
            rest = current[len(p):]
            if current.startswith(p) and rest and (rest in lex.stopwords or len(rest) >= 3):
                candidates.append(rest)
                if p in lex.clear_prefixes:  # the article comes last: whatever came off before it was a prefix too
                    clear = len(candidates) - 1
                break
        else:
            break
        if candidates[-1] in lex.stopwords:
            return None
    keys = tuple(_suffix_keys(c, lex) for c in candidates)
    return _Content(tuple(candidates), keys, min(keys[-1], key=len), clear)


def _shown(word: str, lang: str) -> str:
    if lang == "he" and word and word[-1] in _MAKE_FINAL:
        return word[:-1] + _MAKE_FINAL[word[-1]]
    return word


def _contents(words: Iterable[str], lex: Lexicon) -> list[_Content]:
    """Distinct content words in order of first use."""
    seen, out = set(), []
    for w in words:
        c = _content(w, lex)
        if c is not None and c.identity not in seen:
            seen.add(c.identity)
            out.append(c)
    return out


def content_words(text: str, lang: str) -> list[str]:
    """The distinct content words of `text` as uptake compares them, lemma-light (prefixes and English plurals
    off, stopwords dropped)."""
    lex = lexicon()[lang if lang in LANGUAGES else "en"]
    return [_shown(c.shown[c.clear], lex.language) for c in _contents(tokens(text, lang), lex)]


# ------------------------------------------------------------------------------------------------------------------
# Questions


def _starts_with(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    return tuple(words[: len(phrase)]) == phrase


def _contains(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    first = phrase[0]
    return any(words[i] == first and tuple(words[i: i + n]) == phrase for i in range(len(words) - n + 1))


def _skip_fillers(pairs: list[tuple[str, str]], lex: Lexicon) -> list[tuple[str, str]]:
    i = 0
    while i < len(pairs) - 1 and pairs[i][0] in lex.fillers:
        i += 1
    return pairs[i:]


def _first(word: str, lex: Lexicon) -> str:
    """A sentence's first word, without a conjunction glued to a question word ("ולמה", "وكيف", "فلماذا")."""
    if word not in lex.starters and lex.language in ("he", "ar"):
        for conj in ("ו", "و", "ف"):
            if word.startswith(conj) and word[len(conj):] in lex.starters:
                return word[len(conj):]
    return word


def _opening(pairs: list[tuple[str, str]], lex: Lexicon) -> str | None:
    """"question" when the words start a question, "statement" when they start with a question word that turns
    out to begin a statement ("When we add…"), else None."""
    if not pairs:
        return None
    words = [n for n, _raw in pairs]
    first, nxt = _first(words[0], lex), (pairs[1] if len(pairs) > 1 else None)
    if first in lex.starters:
        if nxt is not None and any(rule.matches(*nxt) for rule in lex.statement_next.get(first, ())):
            return "statement"
        if nxt is None and first in lex.closed_starts and first not in lex.open_starts:
            return None  # "Is." "Do." alone say nothing
        return "question"
    if any(_starts_with(words, p) for p in lex.open_phrases + lex.closed_phrases):
        return "question"
    if lex.question_prefix is not None and lex.question_prefix.asks(pairs[0][1]):
        return "question"
    return None


def _kind(words: Sequence[str], first: str, lex: Lexicon) -> str:
    if any(_contains(words, p) for p in lex.closed_phrases + lex.tags):
        return "closed"
    if first in lex.open_starts or any(_contains(words, p) for p in lex.open_phrases):
        return "open"
    return "closed"


def classify(sentence: str, lang: str, *, rising: bool | None = None, last: bool = False) -> tuple[str, str] | None:
    """(kind, cue) when `sentence` is a question — kind "open" or "closed", cue "mark", "words" or "intonation" —
    else None. `rising` and `last`: the voice rose at the end of the sentence's turn and this is its last
    sentence (the only place the pitch was measured)."""
    lex = lexicon()[lang if lang in LANGUAGES else "en"]
    text = sentence.strip()
    pairs = _split(text, lang)
    if not pairs:
        return None
    words = [n for n, _raw in pairs]
    body = _skip_fillers(pairs, lex)
    verdict = _opening(body, lex)
    comma = _COMMA.search(text)
    if verdict is None and comma:
        lead = len(_split(text[: comma.start()], lang))
        if 1 <= lead <= COMMA_LEAD:  # "Dana, why…", "טוב, למה…", "يا أحمد، لماذا…"
            verdict = _opening(_skip_fillers(pairs[lead:], lex), lex)
            body = _skip_fillers(pairs[lead:], lex) if verdict else body
    first = _first(body[0][0], lex) if body else ""
    if _QUESTION_MARK.search(text):
        cue = "mark"
    elif _ELLIPSIS.search(text) or _EXCLAMATION.search(text):
        return None  # a false start ("Why is…") or an exclamation ("How nice!")
    elif verdict == "question" or any(tuple(words[-len(t):]) == t for t in lex.tags):
        cue = "words"
    elif rising and last and verdict != "statement" and len(words) <= INTONATION_WORDS:
        cue = "intonation"
    else:
        return None
    return _kind(words, first, lex), cue


def sentences(turn: Turn) -> list[tuple[float, float, str]]:
    """The turn's sentences with their times, cut after . ? ! ؟ … (on the words' times when there are words;
    else on the text, the turn's time shared out by length)."""
    if turn.words:
        out, current = [], []
        for w in turn.words:
            if not w.text.strip():
                continue
            current.append(w)
            if _SENTENCE_END.search(w.text.strip()):
                out.append(current)
                current = []
        if current:
            out.append(current)
        return [(ws[0].start, ws[-1].end, " ".join(w.text.strip() for w in ws)) for ws in out]
    parts = [p.strip() for p in _SPLIT_SENTENCES.split(turn.text.strip()) if p.strip()]
    total = sum(len(p) for p in parts)
    out, at = [], turn.start
    for n, p in enumerate(parts):
        end = turn.end if n == len(parts) - 1 else at + (turn.end - turn.start) * len(p) / total
        out.append((round(at, 3), round(end, 3), p))
        at = end
    return out


# ------------------------------------------------------------------------------------------------------------------
# Putting words into turns


def assign_words(turns: Sequence[Turn], words: Iterable[Word]) -> list[Turn]:
    """Each turn (in the order given) with the words whose midpoint falls in it, and its text. A midpoint inside
    two overlapping turns goes to the one that started later (the voice that just came in); one within
    WORD_SLACK outside every turn goes to the nearest edge; one farther from every turn is dropped (nobody spoke
    then: usually an ASR hallucination in a silence)."""
    order = sorted(range(len(turns)), key=lambda i: turns[i].start)
    buckets: list[list[Word]] = [[] for _ in turns]
    active: list[tuple[float, int]] = []  # (end, position in order) of turns that may still hold a midpoint
    k = 0
    for w in sorted(words, key=lambda w: (w.start + w.end) / 2):
        mid = (w.start + w.end) / 2
        while k < len(order) and turns[order[k]].start - WORD_SLACK <= mid:
            heapq.heappush(active, (turns[order[k]].end, k))
            k += 1
        while active and active[0][0] + WORD_SLACK < mid:
            heapq.heappop(active)
        if not active:
            continue
        inside = [p for _e, p in active if turns[order[p]].start <= mid <= turns[order[p]].end]
        if inside:
            best = max(inside)
        else:
            best = min((p for _e, p in active),
                       key=lambda p: min(abs(turns[order[p]].start - mid), abs(mid - turns[order[p]].end)))
        buckets[order[best]].append(w)
    return [replace(t, words=tuple(ws), text=" ".join(w.text.strip() for w in ws if w.text.strip()))
            for t, ws in zip(turns, buckets, strict=True)]


# ------------------------------------------------------------------------------------------------------------------
# The measures


def _talk(turns: list[Turn], overlaps: Iterable[Sequence[float]]) -> tuple[float, float, float, float, float, float]:
    """One sweep over the turns' edges: (teacher share seconds, student share seconds, seconds anyone speaks,
    overlap seconds, seconds the teacher speaks, seconds a student speaks)."""
    events: list[tuple[float, int, str, int]] = []
    for t in turns:
        events += [(t.start, 1, t.role, t.voice), (t.end, -1, t.role, t.voice)]
    for o in overlaps:
        a, b = float(o[0]), float(o[1])
        if b > a:
            events += [(a, 1, "overlap", -1), (b, -1, "overlap", -1)]
    events.sort(key=lambda e: e[0])
    active = {TEACHER: 0, STUDENT: 0, "overlap": 0}
    voices: dict[int, int] = {}
    distinct = 0
    teacher = student = speech = overlap = teacher_all = student_all = 0.0
    previous = events[0][0] if events else 0.0
    for time, step, role, voice in events:
        dt = time - previous
        if dt > 0:
            t_on, s_on = active[TEACHER] > 0, active[STUDENT] > 0
            if t_on and s_on:
                teacher += dt / 2
                student += dt / 2
            elif t_on:
                teacher += dt
            elif s_on:
                student += dt
            if t_on or s_on:
                speech += dt
                teacher_all += dt if t_on else 0.0
                student_all += dt if s_on else 0.0
                if distinct >= 2 or active["overlap"] > 0:
                    overlap += dt
        previous = time
        active[role if role in active else STUDENT] += step
        if voice >= 0 and role != "overlap":
            before = voices.get(voice, 0)
            voices[voice] = before + step
            distinct += (before == 0 and step > 0) - (before == 1 and step < 0)
    return teacher, student, speech, overlap, teacher_all, student_all


def _runs(turns: list[Turn]) -> list[list[int]]:
    """Maximal runs of consecutive turns (time order) of one voice."""
    runs: list[list[int]] = []
    for p, t in enumerate(turns):
        if runs and turns[runs[-1][-1]].voice == t.voice and turns[runs[-1][-1]].role == t.role:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _longest_monologue(turns: list[Turn]) -> dict | None:
    best: tuple[float, float] | None = None
    start = end = None
    for t in turns:
        if t.role != TEACHER:
            start = end = None
            continue
        if start is None or end is None or t.start - end >= MONOLOGUE_GAP:
            start, end = t.start, t.end
        else:
            end = max(end, t.end)
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
    if best is None:
        return None
    return {"start": _round(best[0], 3), "end": _round(best[1], 3), "seconds": _round(best[1] - best[0])}


def _questions(turns: list[Turn], index: list[int], lang: str, has_text: bool) -> dict[int, list[Question]]:
    """The questions of each teacher turn (by position in time order)."""
    found: dict[int, list[Question]] = {}
    for p, t in enumerate(turns):
        if t.role != TEACHER:
            continue
        said = sentences(t) if has_text else []
        if not said:
            if t.rising:  # no words for this turn: only the voice can tell, and not the kind
                found[p] = [Question(_round(t.start, 3), _round(t.end, 3), index[p], "", None, "intonation")]
            continue
        for k, (a, b, text) in enumerate(said):
            verdict = classify(text, lang, rising=t.rising, last=k == len(said) - 1)
            if verdict:
                found.setdefault(p, []).append(Question(_round(a, 3), _round(b, 3), index[p], text, *verdict))
    return found


def _wait(after: int, start: float, end: float, by: str) -> Wait | None:
    seconds = max(0.0, end - start)
    if seconds > MAX_WAIT:
        return None
    return Wait(after, _round(start, 3), _round(max(start, end), 3), _round(seconds, 3), by)


def measure(turns: Sequence[Turn], *, duration: float, language: str, overlaps: Iterable[Sequence[float]] = (),
            has_text: bool) -> Measures:
    """Every measure of the lesson. `turns` in any order (indices in the result refer to this list); with a
    transcript, from `assign_words`. `overlaps`: (start, end) stretches where the worker heard two voices at once.
    `has_text`: there is a transcript, so the text measures mean something (an unknown language has no lexicon:
    its lessons are measured as without text)."""
    lang = language if language in LANGUAGES else "en"
    has_text = bool(has_text) and language in LANGUAGES
    index = [i for i in sorted(range(len(turns)), key=lambda i: (turns[i].start, turns[i].end))
             if turns[i].end > turns[i].start]
    ts = [turns[i] for i in index]
    duration = max(float(duration or 0.0), max((t.end for t in ts), default=0.0))

    teacher_s, student_s, _speech, overlap_s, teacher_all, student_all = _talk(ts, overlaps)
    if duration > 0:
        teacher_share, student_share = round(teacher_s / duration, 4), round(student_s / duration, 4)
        overlap_share = round(overlap_s / duration, 4)
    else:
        teacher_share = student_share = overlap_share = 0.0
    silence_share = round(max(0.0, 1.0 - teacher_share - student_share), 4)

    runs = _runs(ts)
    student_runs = [r for r in runs if ts[r[0]].role != TEACHER]
    run_lengths = [max(ts[p].end for p in r) - ts[r[0]].start for r in student_runs]
    run_of = {p: n for n, r in enumerate(runs) for p in r}

    asked = _questions(ts, index, lang, has_text)
    questions = [q for p in sorted(asked) for q in asked[p]]

    # Who spoke last before each turn: the turn with the latest end among those that started earlier.
    latest: list[int | None] = []
    best = None
    for p, t in enumerate(ts):
        latest.append(best)
        if best is None or t.end > ts[best].end:
            best = p

    wait1: list[Wait] = []
    for p, qs in asked.items():
        t = ts[p]
        if t.end - qs[-1].end > QUESTION_TAIL:
            continue  # the teacher went on talking after her question
        before = latest[p]
        if before is not None and ts[before].end > t.end:
            found = _wait(index[p], t.end, t.end, ts[before].role)  # someone was still speaking: no wait
        else:
            found, j = None, p + 1
            while j < len(ts):
                nxt = ts[j]
                if nxt.start >= t.end or nxt.end > t.end:
                    found = _wait(index[p], t.end, max(nxt.start, t.end), nxt.role)
                    break
                j += 1  # a turn nested inside the question (a murmur) does not end the wait
            if j == len(ts):
                continue  # the lesson ended
        if found:
            wait1.append(found)
    wait1.sort(key=lambda w: w.start)

    wait2: list[Wait] = []
    uptake: list[Uptake] = []
    lex = lexicon()[lang]
    taken: set[int] = set()
    last_teacher: int | None = None
    teacher_before_run: dict[int, int | None] = {}
    for p, t in enumerate(ts):
        run = run_of[p]
        if run not in teacher_before_run:
            teacher_before_run[run] = last_teacher
        if t.role == TEACHER:
            last_teacher = p
        before = latest[p]
        if t.role != TEACHER or before is None or ts[before].role == TEACHER:
            continue
        student = ts[before]
        if t.end <= student.end or run_of[before] in taken:
            continue  # a murmur of the teacher's inside the student's turn, or the student's turn already answered
        taken.add(run_of[before])
        found = _wait(index[before], student.end, t.start, TEACHER)
        if found:
            wait2.append(found)
        if has_text and t.start - student.end <= UPTAKE_WITHIN:
            took = _uptake(ts, runs[run_of[before]], teacher_before_run.get(run_of[before]), t, lex)
            if took:
                shared, score = took
                uptake.append(Uptake(index[before], index[p], _round(t.start, 3), _round(t.end, 3), shared, score))

    monologue = _longest_monologue(ts)
    by_index = {i: t for i, t in zip(index, ts, strict=True)}
    markers = _markers(by_index, questions, wait1, wait2, uptake, monologue)
    return Measures(
        duration=_round(duration, 3), has_text=has_text, language=lang,
        teacher_seconds=_round(teacher_all, 3), student_seconds=_round(student_all, 3),
        teacher_share=teacher_share, student_share=student_share, silence_share=silence_share,
        overlap_share=overlap_share,
        teacher_turns=sum(ts[r[0]].role == TEACHER for r in runs), student_turns=len(student_runs),
        student_turn_mean=_mean(run_lengths), longest_monologue=monologue,
        questions=tuple(questions), wait1=tuple(wait1), wait2=tuple(wait2), uptake=tuple(uptake),
        markers=tuple(markers),
    )


def _uptake(ts: list[Turn], run: list[int], prompt: int | None, reply: Turn,
            lex: Lexicon) -> tuple[tuple[str, ...], float] | None:
    """(shared words, score) when `reply` takes up the student's own content words, else None."""
    said = _contents((w for p in run for w in tokens(ts[p].text, lex.language)), lex)
    if prompt is not None:
        echoed = frozenset().union(*(c.all_keys for c in _contents(tokens(ts[prompt].text, lex.language), lex)))
        said = [c for c in said if not c.all_keys & echoed]
    if not said:
        return None
    heard = frozenset().union(
        *(c.all_keys for c in _contents(tokens(reply.text, lex.language)[:UPTAKE_REPLY_WORDS], lex)))
    shared = []
    for c in said:
        matched = [n for n, keys in enumerate(c.keys) if keys & heard]
        if matched:  # shown without its clear prefixes, as deep as it had to be stripped to match
            shared.append(_shown(c.shown[min(max(c.clear, matched[0]), matched[-1])], lex.language))
    score = len(shared) / len(said)
    if shared and score >= UPTAKE_SHARE - 1e-9:
        return tuple(shared), _round(score, 3)
    return None


def _markers(turns: Mapping[int, Turn], questions, wait1, wait2, uptake, monologue) -> list[Marker]:
    out = [Marker(f"question_{q.kind}", q.start, q.end, text=q.text, cue=q.cue,
                  label=MARKER_LABELS[f"question_{q.kind}"]) for q in questions if q.kind]
    last_question = {q.turn: q.text for q in questions}
    out += [Marker("wait1", w.start, w.end, text=last_question.get(w.after, "")[-300:], seconds=w.seconds,
                   label=MARKER_LABELS["wait1"]) for w in wait1 if w.seconds >= LONG_WAIT]
    out += [Marker("wait2", w.start, w.end, student_text=turns[w.after].text[-300:], seconds=w.seconds,
                   label=MARKER_LABELS["wait2"]) for w in wait2 if w.seconds >= LONG_WAIT]
    out += [Marker("uptake", u.start, u.end, text=turns[u.teacher_turn].text[:300],
                   student_text=turns[u.student_turn].text[-300:], shared=u.shared, label=MARKER_LABELS["uptake"])
            for u in uptake]
    if monologue:
        out.append(Marker("monologue", monologue["start"], monologue["end"], seconds=monologue["seconds"],
                          label=MARKER_LABELS["monologue"]))
    return sorted(out, key=lambda m: (m.start, m.kind))
