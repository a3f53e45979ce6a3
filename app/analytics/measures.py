"""The measures of one lesson, from its speaker turns and its transcript: pure functions, no Flask, no database.

Input: the turns the worker heard (start, end, teacher or student, the voice, whether the pitch rose at the end)
and, when there is a transcript, its timed words. Output: `Measures`, a JSON-safe record stored with the lesson,
and the markers a coach looks at. Every measure is defined once, here and in the README:

- teacher / student share: seconds of the teacher's (students') turns ÷ the lesson's length;
- silence share: the part of the lesson in nobody's turn; overlap share: the part where two voices sound at once
  (counted inside the speech it belongs to, so teacher + student + silence = 1);
- student turns: maximal stretches of one student's voice; their mean length in seconds;
- longest teacher stretch ("monologue"): teacher turns joined across pauses shorter than MONOLOGUE_GAP, with no
  student turn between them;
- a teacher question: a sentence ending in "?" or "؟", or starting with a question word of the lesson's language
  (lexicon.yaml), or — when the transcript has no mark — the last sentence of a turn whose pitch rises at its end;
  open when it asks for an explanation or an idea (why, how, explain, what do you think…), closed when it has one
  right or yes/no answer (is/do/can, how many, who, which, a short "what is…");
- wait time 1: from the end of a teacher question to the next speech; wait time 2: from the end of a student's
  turn to the teacher's next turn (Rowe's two wait times);
- uptake: a teacher turn right after a student's that repeats or builds on the student's content words (the words
  left once stopwords are dropped and Hebrew/Arabic prefixes stripped): at least one shared word covering at
  least UPTAKE_SHARE of the student's content words, or at least two shared words.

Everything is one pass over the turns (linear in the lesson's length), so a four-hour lesson costs milliseconds.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path

from app import yamlbank

LEXICON = Path(__file__).with_name("lexicon.yaml")
LANGUAGES = ("en", "he", "ar")
# Teacher turns separated by less than this (seconds) and no student are one stretch of teacher talk.
MONOLOGUE_GAP = 3.0
# A wait this long or longer is a marker (Rowe found three seconds changes what students say).
LONG_WAIT = 3.0
# A monologue shorter than this is not worth a marker.
MONOLOGUE_MARKER = 20.0
# Uptake: the share of the student's content words the teacher takes up (with one shared word), or two words.
UPTAKE_SHARE = 0.3
# A teacher turn starting later than this after the student's ends is not a reply to it.
UPTAKE_WITHIN = 6.0
# A "what" question of at most this many words is closed ("What is three times four?").
SHORT_WHAT = 6
# Words whose midpoint lies this close outside a turn still belong to it (ASR and VAD edges disagree a little).
WORD_SLACK = 0.4

# English wh-words open a question only when an auxiliary follows ("When did…", "What is…"); otherwise they open
# a clause ("When we multiply…", "What we found…"). Hebrew and Arabic use other words for those clauses (כש, عندما).
_EN_WH = frozenset({"what", "when", "where", "who", "which", "whose", "whom"})
_EN_AUX = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
                     "has", "have", "had", "am", "might", "must", "shall", "happens", "happened", "else", "kind",
                     "number", "fraction", "part", "one", "of", "other", "about", "if", "makes", "made"})
_SENTENCE_END = re.compile(r"[.?!؟…]+[\"'”’)]*$")
_QUESTION_END = re.compile(r"[?؟][\"'”’)]*$")
_PUNCT = re.compile(r"[^\w'\u05F3\u05F4\u05BE]+")  # keeps Hebrew geresh, gershayim and maqaf inside a word
_HEBREW_MARKS = re.compile(r"[\u0591-\u05C7]")
_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640]")
_FINAL = str.maketrans("ךםןףץ", "כמנפצ")
_ALEF = str.maketrans("أإآٱ", "اااا")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    role: str  # "teacher" | "student"
    voice: int
    rising: bool | None = None
    text: str = ""
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Question:
    start: float
    end: float
    turn: int
    text: str
    kind: str  # "open" | "closed"
    cue: str  # "mark" | "words" | "intonation"


@dataclass(frozen=True)
class Wait:
    after: int  # the turn it follows
    start: float
    end: float
    seconds: float


@dataclass(frozen=True)
class Uptake:
    student_turn: int
    teacher_turn: int
    start: float
    end: float
    shared: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Marker:
    kind: str  # question_open | question_closed | wait1 | wait2 | uptake | monologue
    start: float
    end: float
    text: str = ""
    student_text: str = ""
    seconds: float | None = None
    cue: str = ""
    shared: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        data = {"kind": self.kind, "start": self.start, "end": self.end}
        for name in ("text", "student_text", "seconds", "cue"):
            value = getattr(self, name)
            if value not in ("", None):
                data[name] = value
        if self.shared:
            data["shared"] = list(self.shared)
        return data


@dataclass(frozen=True)
class Measures:
    duration: float
    has_text: bool
    teacher_seconds: float
    student_seconds: float
    teacher_share: float
    student_share: float
    silence_share: float
    overlap_share: float
    teacher_turns: int
    student_turns: int
    student_turn_mean: float | None
    longest_monologue: dict | None
    questions: tuple[Question, ...] = ()
    wait1: tuple[Wait, ...] = ()
    wait2: tuple[Wait, ...] = ()
    uptake: tuple[Uptake, ...] = ()
    markers: tuple[Marker, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict:
        """What is stored with the lesson (the markers are stored as rows of their own)."""
        w1 = [w.seconds for w in self.wait1]
        w2 = [w.seconds for w in self.wait2]
        return {
            "duration": self.duration, "has_text": self.has_text,
            "teacher_seconds": self.teacher_seconds, "student_seconds": self.student_seconds,
            "teacher_share": self.teacher_share, "student_share": self.student_share,
            "silence_share": self.silence_share, "overlap_share": self.overlap_share,
            "teacher_turns": self.teacher_turns, "student_turns": self.student_turns,
            "student_turn_mean": self.student_turn_mean, "longest_monologue": self.longest_monologue,
            "questions_open": sum(q.kind == "open" for q in self.questions) if self.has_text else None,
            "questions_closed": sum(q.kind == "closed" for q in self.questions) if self.has_text else None,
            "questions": [asdict(q) for q in self.questions],
            "wait1": [asdict(w) for w in self.wait1], "wait2": [asdict(w) for w in self.wait2],
            "wait1_mean": _round(statistics.fmean(w1)) if w1 else None,
            "wait1_median": _round(statistics.median(w1)) if w1 else None,
            "wait2_mean": _round(statistics.fmean(w2)) if w2 else None,
            "wait2_median": _round(statistics.median(w2)) if w2 else None,
            "uptake_count": len(self.uptake) if self.has_text else None,
            "uptake": [{**asdict(u), "shared": list(u.shared)} for u in self.uptake],
        }


def _round(x: float) -> float:
    return round(float(x), 2)


# ------------------------------------------------------------------------------------------------------------------
# The lexicon


@dataclass(frozen=True)
class Lexicon:
    open_starts: frozenset[str]
    closed_starts: frozenset[str]
    what_words: frozenset[str]
    open_phrases: tuple[tuple[str, ...], ...]
    closed_phrases: tuple[tuple[str, ...], ...]
    fillers: frozenset[str]
    prefixes: tuple[str, ...]
    stopwords: frozenset[str]


_LISTS = ("open_starts", "closed_starts", "what_words", "open_phrases", "closed_phrases", "fillers", "prefixes",
          "stopwords")


def read_lexicon(name: str, text: str) -> dict[str, Lexicon]:
    """The lexicon file, checked: every language, every list, every entry a word. Raises ValueError naming the
    file and line of the first problem."""
    doc = yamlbank.load(name, text)
    problems = yamlbank.Problems(name)
    out: dict[str, Lexicon] = {}
    if not isinstance(doc.data, dict):
        raise ValueError(f"{name}: the lexicon is a mapping of languages")
    for lang in LANGUAGES:
        entry = doc.data.get(lang)
        if not isinstance(entry, dict):
            problems.add(yamlbank.line_of(doc.data, lang), lang, "missing or not a mapping")
            continue
        lists: dict[str, list[str]] = {}
        for key in _LISTS:
            values = entry.get(key)
            if not isinstance(values, list) or any(not isinstance(v, str) or not v.strip() for v in values):
                problems.add(yamlbank.line_of(entry, key), lang, key, "a list of words (quote yes, no, on, off)")
                continue
            lists[key] = [v.strip() for v in values]
        if len(lists) < len(_LISTS):
            continue
        prefixes = tuple(sorted(lists["prefixes"], key=len, reverse=True))
        norm = _normaliser(lang, ())  # entries are looked up normalised, but never prefix-stripped themselves
        out[lang] = Lexicon(
            open_starts=frozenset(map(norm, lists["open_starts"])),
            closed_starts=frozenset(map(norm, lists["closed_starts"])),
            what_words=frozenset(map(norm, lists["what_words"])),
            open_phrases=tuple(tuple(map(norm, p.split())) for p in lists["open_phrases"]),
            closed_phrases=tuple(tuple(map(norm, p.split())) for p in lists["closed_phrases"]),
            fillers=frozenset(map(norm, lists["fillers"])),
            prefixes=prefixes,
            stopwords=frozenset(map(norm, lists["stopwords"])),
        )
    if problems:
        raise ValueError("\n".join(problems))
    return out


@cache
def lexicon() -> dict[str, Lexicon]:
    return read_lexicon(LEXICON.name, LEXICON.read_text(encoding="utf-8"))


def _normaliser(lang: str, prefixes: tuple[str, ...]):
    def norm(word: str) -> str:
        w = unicodedata.normalize("NFC", word).casefold().strip("'’")
        if lang == "he":
            w = _HEBREW_MARKS.sub("", w).translate(_FINAL)
        elif lang == "ar":
            w = _ARABIC_MARKS.sub("", w).translate(_ALEF)
        return w

    return norm


def tokens(text: str, lang: str) -> list[str]:
    """The words of `text`, normalised for looking up: case folded, niqqud/harakat and punctuation removed (the
    marks first, since they are not word characters and would split a word)."""
    norm = _normaliser(lang, ())
    text = _ARABIC_MARKS.sub("", _HEBREW_MARKS.sub("", unicodedata.normalize("NFC", text)))
    return [norm(t) for t in _PUNCT.split(text) if t and norm(t)]


def _stem(word: str, lang: str, lex: Lexicon) -> str:
    """A light stem: Hebrew and Arabic prefixes off (keeping at least three letters), Arabic ة→ه, English plural."""
    if lang in ("he", "ar"):
        # One prefix; a second only after "and"/"that" (ו, ש; و, ف), as in "ובבית", "שהשבר", "وبالكسر".
        for _ in range(2):
            for p in lex.prefixes:
                if word.startswith(p) and len(word) - len(p) >= 3:
                    word = word[len(p):]
                    break
            else:
                break
            if p not in ("ו", "ש", "و", "ف"):
                break
        if lang == "ar":
            word = word.replace("ة", "ه").replace("ى", "ي")
    elif lang == "en":
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
            word = word[:-2]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
    return word


def content_words(text: str, lang: str) -> list[str]:
    """The words of `text` that carry its content, stemmed: what uptake compares."""
    lex = lexicon()[lang if lang in LANGUAGES else "en"]
    out = []
    for t in tokens(text, lang):
        if t in lex.stopwords or t.isdigit():
            continue
        stem = _stem(t, lang, lex)
        if stem in lex.stopwords or len(stem) < 2:
            continue
        out.append(stem)
    return out


# ------------------------------------------------------------------------------------------------------------------
# Questions


def _starts_with(words: list[str], phrase: tuple[str, ...]) -> bool:
    return tuple(words[: len(phrase)]) == phrase


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i: i + n]) == phrase for i in range(len(words) - n + 1))


def classify(sentence: str, lang: str, *, rising: bool | None = None, last: bool = False) -> tuple[str, str] | None:
    """(kind, cue) when `sentence` is a question — kind "open" or "closed", cue "mark", "words" or "intonation" —
    else None. `rising`/`last`: the sentence ends its turn and the voice rose there."""
    lex = lexicon()[lang if lang in LANGUAGES else "en"]
    words = tokens(sentence, lang)
    if not words:
        return None
    body = list(words)
    while body and body[0] in lex.fillers and len(body) > 1:
        body = body[1:]
    first = body[0]
    if lang in ("he", "ar") and first not in lex.open_starts | lex.closed_starts | lex.what_words:
        # "ולמה", "وكيف": a conjunction glued to the question word
        for p in ("ו", "و", "ف"):
            if first.startswith(p) and first[len(p):] in lex.open_starts | lex.closed_starts | lex.what_words:
                first = first[len(p):]
                break
    mark = bool(_QUESTION_END.search(sentence.strip()))
    asks = (first in lex.open_starts or first in lex.closed_starts or first in lex.what_words
            or any(_contains(body, p) for p in lex.open_phrases))
    if lang == "en" and asks and first in _EN_WH and len(body) > SHORT_WHAT and (
            len(body) < 2 or body[1] not in _EN_AUX):
        asks = False  # "When we multiply the top and the bottom…" is a clause, not a question
    if lang == "en" and first in ("tell", "explain", "describe", "compare", "justify", "imagine", "suppose",
                                  "predict", "convince") and not mark:
        asks = True  # "Explain why the pieces get smaller." is a question in a classroom
    if mark:
        cue = "mark"
    elif asks and not (lang == "en" and first in ("is", "are", "was", "were", "do", "does", "did", "can", "could",
                                                    "will", "would", "should", "has", "have", "had")
                       and len(body) < 3):
        cue = "words"
    elif rising and last and len(body) <= 20:
        cue = "intonation"
    else:
        return None
    if any(_contains(body, p) for p in lex.closed_phrases):
        kind = "closed"
    elif (first in lex.open_starts or any(_contains(body, p) for p in lex.open_phrases)
          or any(w in lex.open_starts for w in body[1:])):  # "Who can tell me why…": it asks for the why
        kind = "open"
    elif first in lex.what_words:
        kind = "closed" if len(body) <= SHORT_WHAT else "open"
    else:
        kind = "closed"
    return kind, cue


def _sentences(turn: Turn) -> list[tuple[float, float, str]]:
    """The turn's sentences with their times, cut after a word ending in . ? ! ؟ …"""
    if not turn.words:
        return [(turn.start, turn.end, turn.text)] if turn.text.strip() else []
    out, current = [], []
    for w in turn.words:
        current.append(w)
        if _SENTENCE_END.search(w.text.strip()):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return [(ws[0].start, ws[-1].end, " ".join(w.text.strip() for w in ws)) for ws in out]


# ------------------------------------------------------------------------------------------------------------------
# Putting words into turns


def assign_words(turns: list[Turn], words: list[Word]) -> list[Turn]:
    """Each turn with the words whose midpoint falls in it (or, within WORD_SLACK, nearest to it) and its text."""
    if not turns:
        return []
    words = sorted(words, key=lambda w: w.start)
    buckets: list[list[Word]] = [[] for _ in turns]
    i = 0
    for w in words:
        mid = (w.start + w.end) / 2
        while i + 1 < len(turns) and turns[i + 1].start - WORD_SLACK <= mid and turns[i].end < mid:
            i += 1
        best = i
        # the following turn may be nearer (a word in the pause between two turns)
        if i + 1 < len(turns) and abs(turns[i + 1].start - mid) < abs(mid - turns[i].end) and mid > turns[i].end:
            best = i + 1
        t = turns[best]
        if t.start - WORD_SLACK <= mid <= t.end + WORD_SLACK:
            buckets[best].append(w)
    return [replace(t, words=tuple(ws), text=" ".join(w.text.strip() for w in ws).strip())
            for t, ws in zip(turns, buckets, strict=True)]


# ------------------------------------------------------------------------------------------------------------------
# The measures


def _union(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def measure(turns: list[Turn], *, duration: float, language: str, overlaps=(), has_text: bool) -> Measures:
    """Every measure of the lesson; `turns` in time order (from `assign_words` when there is a transcript)."""
    lang = language if language in LANGUAGES else "en"
    turns = sorted((t for t in turns if t.end > t.start), key=lambda t: t.start)
    duration = max(float(duration), max((t.end for t in turns), default=0.0))
    teacher = [t for t in turns if t.role == "teacher"]
    students = [t for t in turns if t.role != "teacher"]
    teacher_s = _union([(t.start, t.end) for t in teacher])
    student_s = _union([(t.start, t.end) for t in students])
    speech_s = _union([(t.start, t.end) for t in turns])
    overlap_s = _union([(a, b) for a, b in overlaps if b > a])

    def share(x: float) -> float:
        return round(x / duration, 4) if duration > 0 else 0.0

    # Student turns: consecutive pieces of one student's voice are one turn.
    runs: list[list[Turn]] = []
    previous: Turn | None = None
    for t in turns:
        if t.role != "teacher":
            if runs and previous is runs[-1][-1] and previous.voice == t.voice:
                runs[-1].append(t)
            else:
                runs.append([t])
        previous = t
    run_lengths = [r[-1].end - r[0].start for r in runs]

    monologue = _longest_monologue(turns)
    questions: list[Question] = []
    if has_text:
        for n, t in enumerate(turns):
            if t.role != "teacher":
                continue
            sentences = _sentences(t)
            for k, (a, b, text) in enumerate(sentences):
                found = classify(text, lang, rising=t.rising, last=k == len(sentences) - 1)
                if found:
                    questions.append(Question(round(a, 3), round(b, 3), n, text, *found))
    else:
        # Without words, only the voice's intonation can tell: a teacher turn whose pitch rises at its end.
        for n, t in enumerate(turns):
            if t.role == "teacher" and t.rising:
                questions.append(Question(t.start, t.end, n, "", "closed", "intonation"))

    asked_in = {q.turn for q in questions}
    last_question_end = {q.turn: q.end for q in questions}
    wait1, wait2 = [], []
    for n, (t, nxt) in enumerate(zip(turns, turns[1:], strict=False)):
        gap = max(0.0, nxt.start - t.end)
        if t.role == "teacher" and n in asked_in and last_question_end[n] >= t.end - 0.75:
            wait1.append(Wait(n, round(t.end, 3), round(max(nxt.start, t.end), 3), round(gap, 3)))
        elif t.role != "teacher" and nxt.role == "teacher":
            wait2.append(Wait(n, round(t.end, 3), round(max(nxt.start, t.end), 3), round(gap, 3)))

    uptake: list[Uptake] = []
    if has_text:
        for n, (t, nxt) in enumerate(zip(turns, turns[1:], strict=False)):
            if t.role == "teacher" or nxt.role != "teacher" or nxt.start - t.end > UPTAKE_WITHIN:
                continue
            said = content_words(t.text, lang)
            if not said:
                continue
            reply = set(content_words(" ".join(s for _a, _b, s in _sentences(nxt)[:2]), lang))
            shared = tuple(dict.fromkeys(w for w in said if w in reply))
            score = len(set(shared)) / len(set(said))
            if len(shared) >= 2 or (shared and score >= UPTAKE_SHARE):
                uptake.append(Uptake(n, n + 1, nxt.start, nxt.end, shared, round(score, 3)))

    markers = _markers(turns, questions, wait1, wait2, uptake, monologue)
    return Measures(
        duration=round(duration, 3), has_text=has_text,
        teacher_seconds=round(teacher_s, 3), student_seconds=round(student_s, 3),
        teacher_share=share(teacher_s), student_share=share(student_s),
        silence_share=share(max(0.0, duration - speech_s)), overlap_share=share(overlap_s),
        teacher_turns=len(teacher), student_turns=len(runs),
        student_turn_mean=_round(statistics.fmean(run_lengths)) if run_lengths else None,
        longest_monologue=monologue, questions=tuple(questions), wait1=tuple(wait1), wait2=tuple(wait2),
        uptake=tuple(uptake), markers=tuple(markers),
    )


def _longest_monologue(turns: list[Turn]) -> dict | None:
    best, start, end = None, None, None
    for t in turns:
        if t.role != "teacher":
            start = end = None
            continue
        if start is None or t.start - end > MONOLOGUE_GAP:
            start = t.start
        end = t.end
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
    if best is None:
        return None
    return {"start": round(best[0], 3), "end": round(best[1], 3), "seconds": round(best[1] - best[0], 2)}


def _markers(turns, questions, wait1, wait2, uptake, monologue) -> list[Marker]:
    out = [Marker(f"question_{q.kind}", q.start, q.end, text=q.text, cue=q.cue) for q in questions]
    out += [Marker("wait1", w.start, w.end, text=turns[w.after].text[-200:], seconds=w.seconds)
            for w in wait1 if w.seconds >= LONG_WAIT]
    out += [Marker("wait2", w.start, w.end, student_text=turns[w.after].text[-200:], seconds=w.seconds)
            for w in wait2 if w.seconds >= LONG_WAIT]
    out += [Marker("uptake", u.start, u.end, text=turns[u.teacher_turn].text[:300],
                   student_text=turns[u.student_turn].text[:300], shared=u.shared) for u in uptake]
    if monologue and monologue["seconds"] >= MONOLOGUE_MARKER:
        out.append(Marker("monologue", monologue["start"], monologue["end"], seconds=monologue["seconds"]))
    return sorted(out, key=lambda m: (m.start, m.kind))
