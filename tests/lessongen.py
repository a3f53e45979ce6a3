"""Scripted classroom lessons spoken by espeak-ng, with the ground truth of who spoke when and what each turn was.

    from tests.lessongen import make_lesson
    lesson = make_lesson("he", students=4)          # a WAV file plus its ground truth, cached under the tmp folder
    lesson.path, lesson.turns, lesson.wait_times, lesson.overlaps, lesson.share("teacher")

Why it is built this way:

* One teacher and up to four students, each a different espeak-ng voice variant (`+m3`, `+f2`, ...), base pitch
  (`-p`) and speed (`-s`), and each at a different level: the teacher is nearest to the microphone (0 dB), the
  students sit farther away (-4 to -9 dB). A low room noise (-62 dBFS RMS, seeded) keeps the pauses from being
  digital silence, which no real recording has.
* Each utterance is synthesised alone, trimmed to where it is audible (frames above -50 dBFS) and placed at a
  known sample on the timeline. So a turn's `start`/`end` are where the voice really starts and stops, and every
  scripted pause is exact: the wait times in `Lesson.wait_times` are measured on the timeline, not guessed.
* The script of each language (English, Hebrew, Arabic; a maths lesson on multiplication and equivalent fractions
  with a science aside) is written as a teacher of that language would speak it, with open questions (why / how /
  explain: "why", "how", "explain"; "למה", "איך", "הסבירו"; "لماذا", "كيف", "اشرحوا") and closed ones (yes/no,
  "what is three times four"). Numbers are written as words so espeak-ng reads them the same way everywhere.
* Generated lessons are cached in `<tmp>/classlab-lessongen/<sha256>.wav` (+ `.json` with the ground truth). The key
  hashes everything the audio depends on (script, voices, gains, options, espeak-ng version, GENERATOR_VERSION), so
  a repeated run costs a file read; change the generator and bump GENERATOR_VERSION.

Ground truth, explicit for the measures that use it (app/analytics/measures.py and its tests):

* `Turn` — one scripted utterance: `start`, `end` (seconds, audible extent), `speaker` (name), `role`
  ("teacher" | "student"), `text`, `is_question` (the utterance is a question), `question_kind` ("open" | "closed"
  | None when not a question), `takes_up_previous` (a teacher turn that builds on the student's preceding words:
  repeats or uses them — "uptake"; False for every other turn), `index` (position in `Lesson.turns`).
* `WaitTime` — `kind` 1: a teacher question's end to the next student turn's start (the teacher's wait after a
  question); `kind` 2: a student turn's end to the next teacher turn's start (the wait after an answer). `after` and
  `before` are indices into `Lesson.turns`, `seconds` is exact. A pair that overlaps (negative gap) gets no wait
  time: it is listed in `Lesson.overlaps` instead.
* `Lesson.overlaps` — (start, end) stretches where two voices sound at once (only with `overlap=True`).

There is also `diarization_error_rate`, the usual DER, because both the speaker tests and the benchmark score
hypothesised turns against this ground truth.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
GENERATOR_VERSION = 4
CACHE_DIR = Path(tempfile.gettempdir()) / "classlab-lessongen"
_ROOM_NOISE_DB = -62.0
_AUDIBLE_DB = -50.0


# --------------------------------------------------------------------------------------------------------------
# What is in a lesson


@dataclass(frozen=True)
class Speaker:
    name: str  # "T", "S1".."S4"
    role: str  # "teacher" | "student"
    voice: str  # espeak-ng voice with variant, e.g. "en-us+m3"
    pitch: int  # espeak-ng -p, 0..99 (50 is the voice's own)
    rate: int  # espeak-ng -s, words per minute
    gain_db: float  # level relative to the teacher: distance from the microphone


@dataclass(frozen=True)
class Line:
    """One line of a script: who says what after a pause of `pause` seconds (from the previous line's end)."""

    speaker: str
    text: str
    pause: float = 1.0
    question: str | None = None  # "open" | "closed" | None
    uptake: bool = False  # a teacher line that takes up the previous student's words
    overlap: float = 0.0  # with Lesson(overlap=True): starts this long before the previous line ends


@dataclass(frozen=True)
class Turn:
    index: int
    start: float
    end: float
    speaker: str
    role: str
    text: str
    is_question: bool
    question_kind: str | None
    takes_up_previous: bool


@dataclass(frozen=True)
class WaitTime:
    kind: int  # 1: teacher question -> student; 2: student -> teacher
    after: int  # index of the turn that ends
    before: int  # index of the turn that starts
    seconds: float


@dataclass(frozen=True)
class Lesson:
    path: Path
    language: str
    duration: float
    speakers: tuple[Speaker, ...]
    turns: tuple[Turn, ...]
    wait_times: tuple[WaitTime, ...]
    overlaps: tuple[tuple[float, float], ...] = field(default_factory=tuple)

    @property
    def teacher(self) -> str:
        return next(s.name for s in self.speakers if s.role == "teacher")

    def role_of(self, speaker: str) -> str:
        return next(s.role for s in self.speakers if s.name == speaker)

    def reference(self) -> list[tuple[float, float, str]]:
        """The turns as (start, end, speaker) for scoring."""
        return [(t.start, t.end, t.speaker) for t in self.turns]

    def speech_seconds(self, role: str | None = None) -> float:
        """Seconds in which someone of `role` (anyone when None) speaks; overlapping turns count once."""
        return _union_seconds([(t.start, t.end) for t in self.turns if role is None or t.role == role])

    def share(self, what: str) -> float:
        """Fraction of the lesson: "teacher", "student" (someone of that role speaks) or "silence" (nobody does)."""
        if self.duration <= 0:
            return 0.0
        if what == "silence":
            return 1.0 - self.speech_seconds() / self.duration
        return self.speech_seconds(what) / self.duration

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Lesson:
        return cls(
            path=Path(d["path"]),
            language=d["language"],
            duration=float(d["duration"]),
            speakers=tuple(Speaker(**s) for s in d["speakers"]),
            turns=tuple(Turn(**t) for t in d["turns"]),
            wait_times=tuple(WaitTime(**w) for w in d["wait_times"]),
            overlaps=tuple((float(a), float(b)) for a, b in d["overlaps"]),
        )


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b <= reach:
            continue
        total += b - max(a, reach)
        reach = b
    return total


# --------------------------------------------------------------------------------------------------------------
# Voices and scripts

# Teacher first; students take the next voices in order. Variants and pitches are far enough apart to be told
# apart by ear, like a class of different children, and no two students share a variant.
_VOICES: dict[str, tuple[tuple[str, int, int, float], ...]] = {
    # (voice, pitch, rate, gain_db)
    "en": (("en-us+m3", 38, 155, 0.0), ("en-us+f2", 68, 165, -5.0), ("en-gb+m7", 60, 150, -7.0),
           ("en-us+f4", 55, 170, -6.0), ("en-gb+f1", 80, 160, -9.0)),
    "he": (("he+m3", 38, 150, 0.0), ("he+f2", 68, 160, -5.0), ("he+m7", 60, 150, -7.0),
           ("he+f4", 55, 165, -6.0), ("he+f1", 80, 155, -9.0)),
    "ar": (("ar+m3", 38, 150, 0.0), ("ar+f2", 68, 160, -5.0), ("ar+m7", 60, 150, -7.0),
           ("ar+f4", 55, 165, -6.0), ("ar+f1", 80, 155, -9.0)),
}

# Each script: an opening explanation, closed and open questions with known waits (pause before the answer is wait
# time 1, pause before the teacher's next line wait time 2), follow-ups with and without uptake, a student's own
# question, a long teacher monologue and a silent stretch of individual work. The line marked overlap=0.0 < x is
# where a student calls out over the end of the teacher's line when the lesson is made with overlap=True.
SCRIPTS: dict[str, tuple[Line, ...]] = {
    "en": (
        Line("T", "Good morning everyone. Today we are going to look at multiplication as equal groups. "
                  "On the board you can see three bags, and in every bag there are four apples.", 0.8),
        Line("T", "What is three times four?", 0.7, question="closed"),
        Line("S1", "Twelve.", 1.6),
        Line("T", "Twelve, yes. Dana says twelve, because three bags of four apples make twelve apples.", 1.1,
             uptake=True),
        Line("T", "Why does four times three give the same answer as three times four?", 0.9, question="open"),
        Line("S2", "Because you can turn the rows into columns, and the number of apples does not change.", 3.2),
        Line("T", "Good. Omer says that we can turn the rows into columns and the number of apples stays the same.",
             1.4, uptake=True),
        Line("S3", "Does that work for every number?", 1.2, question="closed"),
        Line("T", "It does. We call that the commutative property of multiplication.", 0.9),
        Line("T", "Now let us move on to fractions. Look at the first pizza: it is cut into two equal pieces. "
                  "If I eat one of those pieces, I have eaten one half of the pizza. The second pizza is cut into "
                  "four equal pieces. If I eat two of those four pieces, I have eaten two quarters. Put the two "
                  "pizzas side by side, and the shaded parts are exactly the same size. When we multiply the top "
                  "and the bottom of a fraction by the same number, the value does not change.", 1.5),
        Line("T", "How can we tell whether two fractions are equal? Explain it in your own words.", 0.8,
             question="open"),
        Line("S4", "We multiply the top and the bottom by the same number and see if we get the other fraction.",
             2.6, overlap=1.2),
        Line("T", "All right. Open your books at page twelve.", 1.0),
        Line("T", "Is three sixths equal to one half?", 6.0, question="closed"),
        Line("S1", "Yes, it is.", 1.3),
        Line("T", "Yes, three sixths is one half, as Dana said, because three is half of six.", 0.9, uptake=True),
        Line("T", "Plants make their food from light, water and air. Explain why a plant in a dark cupboard "
                  "turns yellow.", 1.2, question="open"),
        Line("S2", "Because it has no light, so it cannot make food and it loses its green colour.", 2.8),
        Line("T", "Thank you. Write the answers in your notebooks, please.", 1.0),
    ),
    "he": (
        Line("T", "בוקר טוב לכולם. היום נלמד על כפל כקבוצות שוות. על הלוח יש שלוש שקיות, ובכל שקית יש ארבעה "
                  "תפוחים.", 0.8),
        Line("T", "כמה זה שלוש כפול ארבע?", 0.7, question="closed"),
        Line("S1", "שתים עשרה.", 1.6),
        Line("T", "שתים עשרה, נכון. נועה אומרת שתים עשרה, כי שלוש שקיות של ארבעה תפוחים הן שתים עשרה תפוחים.",
             1.1, uptake=True),
        Line("T", "למה ארבע כפול שלוש נותן אותה תוצאה כמו שלוש כפול ארבע?", 0.9, question="open"),
        Line("S2", "כי אפשר להפוך את השורות לטורים, ומספר התפוחים לא משתנה.", 3.2),
        Line("T", "יפה. עומר אומר שאפשר להפוך את השורות לטורים ומספר התפוחים נשאר אותו דבר.", 1.4, uptake=True),
        Line("S3", "זה עובד עם כל מספר?", 1.2, question="closed"),
        Line("T", "כן. לזה קוראים חוק החילוף בכפל.", 0.9),
        Line("T", "עכשיו נעבור לשברים. תסתכלו על הפיצה הראשונה: היא חתוכה לשני חלקים שווים. אם אני אוכל חלק "
                  "אחד, אכלתי חצי פיצה. הפיצה השנייה חתוכה לארבעה חלקים שווים. אם אני אוכל שניים מתוך ארבעה "
                  "חלקים, אכלתי שני רבעים. שימו את שתי הפיצות זו ליד זו, והחלקים הצבועים בדיוק באותו גודל. "
                  "כשכופלים את המונה ואת המכנה באותו מספר, ערך השבר לא משתנה.", 1.5),
        Line("T", "איך אפשר לדעת אם שני שברים שווים? הסבירו במילים שלכם.", 0.8, question="open"),
        Line("S4", "כופלים את המונה ואת המכנה באותו מספר ובודקים אם מקבלים את השבר השני.", 2.6, overlap=1.2),
        Line("T", "בסדר. פתחו את הספר בעמוד שתים עשרה.", 1.0),
        Line("T", "האם שלוש שישיות שוות לחצי?", 6.0, question="closed"),
        Line("S1", "כן, שוות.", 1.3),
        Line("T", "כן, שלוש שישיות הן חצי, כמו שנועה אמרה, כי שלוש זה חצי משש.", 0.9, uptake=True),
        Line("T", "צמחים מייצרים מזון מאור, ממים ומאוויר. הסבירו למה צמח שעומד בארון חשוך מצהיב.", 1.2,
             question="open"),
        Line("S2", "כי אין לו אור, אז הוא לא יכול לייצר מזון והוא מאבד את הצבע הירוק.", 2.8),
        Line("T", "תודה. כתבו את התשובות במחברת, בבקשה.", 1.0),
    ),
    "ar": (
        Line("T", "صباح الخير يا طلاب. اليوم سنتعلم الضرب كمجموعات متساوية. على اللوح ثلاثة أكياس، وفي كل كيس "
                  "أربع تفاحات.", 0.8),
        Line("T", "كم يساوي ثلاثة ضرب أربعة؟", 0.7, question="closed"),
        Line("S1", "اثنا عشر.", 1.6),
        Line("T", "اثنا عشر، صحيح. سلمى تقول اثنا عشر، لأن ثلاثة أكياس في كل منها أربع تفاحات تعطينا اثنتي عشرة "
                  "تفاحة.", 1.1, uptake=True),
        Line("T", "لماذا يعطي أربعة ضرب ثلاثة نفس النتيجة مثل ثلاثة ضرب أربعة؟", 0.9, question="open"),
        Line("S2", "لأننا نستطيع أن نحول الصفوف إلى أعمدة، وعدد التفاحات لا يتغير.", 3.2),
        Line("T", "أحسنت. أحمد يقول إننا نستطيع أن نحول الصفوف إلى أعمدة وعدد التفاحات يبقى نفسه.", 1.4,
             uptake=True),
        Line("S3", "هل هذا يصح مع كل الأعداد؟", 1.2, question="closed"),
        Line("T", "نعم. هذه تسمى خاصية التبديل في الضرب.", 0.9),
        Line("T", "والآن ننتقل إلى الكسور. انظروا إلى البيتزا الأولى: إنها مقسومة إلى جزأين متساويين. إذا أكلت "
                  "جزءا واحدا، فقد أكلت نصف البيتزا. البيتزا الثانية مقسومة إلى أربعة أجزاء متساوية. إذا أكلت "
                  "جزأين من الأربعة، فقد أكلت ربعين. ضعوا البيتزا الأولى بجانب الثانية، وستجدون أن الأجزاء "
                  "الملونة بنفس الحجم تماما. عندما نضرب البسط والمقام في نفس العدد، لا تتغير قيمة الكسر.", 1.5),
        Line("T", "كيف نعرف أن كسرين متساويان؟ اشرحوا بكلماتكم.", 0.8, question="open"),
        Line("S4", "نضرب البسط والمقام في نفس العدد ونرى إذا حصلنا على الكسر الآخر.", 2.6, overlap=1.2),
        Line("T", "حسنا. افتحوا الكتاب على صفحة اثنتي عشرة.", 1.0),
        Line("T", "هل ثلاثة أسداس تساوي نصفا؟", 6.0, question="closed"),
        Line("S1", "نعم، تساوي.", 1.3),
        Line("T", "نعم، ثلاثة أسداس نصف، كما قالت سلمى، لأن ثلاثة نصف ستة.", 0.9, uptake=True),
        Line("T", "النباتات تصنع غذاءها من الضوء والماء والهواء. اشرحوا لماذا يصفر النبات الموضوع في خزانة "
                  "مظلمة.", 1.2, question="open"),
        Line("S2", "لأنه لا يوجد ضوء، فلا يستطيع أن يصنع غذاءه ويفقد لونه الأخضر.", 2.8),
        Line("T", "شكرا. اكتبوا الإجابات في دفاتركم، من فضلكم.", 1.0),
    ),
}


# --------------------------------------------------------------------------------------------------------------
# Making the audio


def _espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    return found


def _espeak_version() -> str:
    out = subprocess.run([_espeak(), "--version"], capture_output=True, check=True, text=True).stdout
    return out.strip()


def _speak(text: str, speaker: Speaker) -> np.ndarray:
    """The utterance at 16 kHz, float32, trimmed to its audible extent, at the speaker's gain."""
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory(prefix="lessongen-") as tmp:
        out = Path(tmp) / "u.wav"
        subprocess.run(
            [_espeak(), "-v", speaker.voice, "-p", str(speaker.pitch), "-s", str(speaker.rate), "-w", str(out),
             "--stdin"],
            input=text.encode("utf-8"), check=True, capture_output=True,
        )
        with wave.open(str(out)) as w:
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    x = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g)
    hop = SAMPLE_RATE // 100
    n = len(x) // hop
    level = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    audible = np.flatnonzero(level > _AUDIBLE_DB)
    if len(audible) == 0:
        raise RuntimeError(f"espeak-ng said nothing audible for {text!r}")
    x = x[audible[0] * hop: (audible[-1] + 1) * hop]
    return (x * 10 ** (speaker.gain_db / 20)).astype(np.float32)


def _speakers(language: str, students: int) -> tuple[Speaker, ...]:
    table = _VOICES[language]
    if not 1 <= students <= len(table) - 1:
        raise ValueError(f"students must be 1..{len(table) - 1}")
    out = []
    for i, (voice, pitch, rate, gain) in enumerate(table[: students + 1]):
        name, role = ("T", "teacher") if i == 0 else (f"S{i}", "student")
        out.append(Speaker(name, role, voice, pitch, rate, gain))
    return tuple(out)


def _script(language: str, students: int) -> tuple[Line, ...]:
    """The language's script with students beyond `students` folded onto the first ones."""
    out = []
    for line in SCRIPTS[language]:
        name = line.speaker
        if name != "T" and int(name[1:]) > students:
            name = f"S{(int(name[1:]) - 1) % students + 1}"
        out.append(Line(name, line.text, line.pause, line.question, line.uptake, line.overlap))
    return tuple(out)


def _repeat(base: tuple[Line, ...], passes: int) -> tuple[Line, ...]:
    """The script `passes` times, with 8 s of quiet work between repetitions."""
    out: list[Line] = []
    for p in range(passes):
        for i, line in enumerate(base):
            pause = 8.0 if (p > 0 and i == 0) else line.pause
            out.append(Line(line.speaker, line.text, pause, line.question, line.uptake, line.overlap))
    return tuple(out)


def make_lesson(
    language: str = "en",
    *,
    students: int = 3,
    overlap: bool = False,
    min_seconds: float = 0.0,
    lead_in: float = 1.5,
    tail: float = 2.0,
    seed: int = 7,
    cache_dir: Path | None = None,
) -> Lesson:
    """Generate (or read from the cache) a scripted lesson in `language` ("en", "he", "ar").

    `students` voices (1-4) answer the teacher; `overlap` makes the line marked for it start over the end of the
    teacher's previous line (a student calling out); `min_seconds` repeats the script (8 s of quiet work between
    passes) until the lesson lasts at least that long (for benchmarks); `lead_in`/`tail` are silences at the ends.
    """
    speakers = _speakers(language, students)
    base = _script(language, students)
    folder = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    key_source = json.dumps(
        {
            "version": GENERATOR_VERSION, "espeak": _espeak_version(), "language": language,
            "speakers": [asdict(s) for s in speakers], "script": [asdict(line) for line in base],
            "min_seconds": min_seconds,
            "overlap": overlap, "lead_in": lead_in, "tail": tail, "seed": seed, "noise": _ROOM_NOISE_DB,
        },
        sort_keys=True, ensure_ascii=False,
    )
    key = hashlib.sha256(key_source.encode("utf-8")).hexdigest()[:24]
    wav_path, json_path = folder / f"{key}.wav", folder / f"{key}.json"
    if wav_path.exists() and json_path.exists():
        return Lesson.from_json(json.loads(json_path.read_text(encoding="utf-8")))

    by_name = {s.name: s for s in speakers}
    spoken: dict[tuple[str, str], np.ndarray] = {}
    for line in base:
        if (line.speaker, line.text) not in spoken:
            spoken[line.speaker, line.text] = _speak(line.text, by_name[line.speaker])
    one_pass = sum(len(spoken[line.speaker, line.text]) / SAMPLE_RATE + line.pause for line in base)
    passes = max(1, int(np.ceil((min_seconds - lead_in - tail + 8.0) / (one_pass + 8.0))))
    script = _repeat(base, passes)
    placed: list[tuple[int, np.ndarray, Line]] = []
    cursor = int(round(lead_in * SAMPLE_RATE))  # end of the previous line, in samples
    for line in script:
        k = (line.speaker, line.text)
        if k not in spoken:
            spoken[k] = _speak(line.text, by_name[line.speaker])
        x = spoken[k]
        start = cursor + int(round(line.pause * SAMPLE_RATE))
        if overlap and line.overlap > 0 and placed:
            start = cursor - int(round(line.overlap * SAMPLE_RATE))
        placed.append((start, x, line))
        cursor = max(cursor, start + len(x))
    total = cursor + int(round(tail * SAMPLE_RATE))
    mix = np.zeros(total, dtype=np.float64)
    for start, x, _line in placed:
        mix[start: start + len(x)] += x
    rng = np.random.default_rng(seed)
    mix += rng.standard_normal(total) * 10 ** (_ROOM_NOISE_DB / 20)
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:  # never clip; the relative levels stay as scripted
        mix *= 0.99 / peak
    pcm = np.clip(np.round(mix * 32767), -32768, 32767).astype("<i2")

    turns = []
    for i, (start, x, line) in enumerate(placed):
        s = by_name[line.speaker]
        turns.append(Turn(
            index=i, start=start / SAMPLE_RATE, end=(start + len(x)) / SAMPLE_RATE, speaker=s.name, role=s.role,
            text=line.text, is_question=line.question is not None, question_kind=line.question,
            takes_up_previous=line.uptake,
        ))
    waits, overlaps = [], []
    for a, b in zip(turns, turns[1:], strict=False):
        gap = round(b.start - a.end, 4)
        if gap < 0:
            overlaps.append((b.start, min(a.end, b.end)))
            continue
        if a.role == "teacher" and a.is_question and b.role == "student":
            waits.append(WaitTime(1, a.index, b.index, gap))
        elif a.role == "student" and b.role == "teacher":
            waits.append(WaitTime(2, a.index, b.index, gap))

    folder.mkdir(parents=True, exist_ok=True)
    tmp_wav = wav_path.with_suffix(".part")
    with wave.open(str(tmp_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    tmp_wav.replace(wav_path)
    lesson = Lesson(path=wav_path, language=language, duration=total / SAMPLE_RATE, speakers=speakers,
                    turns=tuple(turns), wait_times=tuple(waits), overlaps=tuple(overlaps))
    tmp_json = json_path.with_suffix(".part.json")
    tmp_json.write_text(json.dumps(lesson.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp_json.replace(json_path)
    return lesson


# --------------------------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class DerResult:
    der: float
    missed: float  # seconds of reference speech with too few hypothesised speakers
    false_alarm: float  # seconds of hypothesised speech beyond the reference's
    confusion: float  # seconds attributed to the wrong speaker (after the best one-to-one mapping)
    reference: float  # total reference speaker-seconds (overlap counts twice)
    mapping: dict  # hypothesis label -> reference speaker


def diarization_error_rate(
    reference: list[tuple[float, float, str]],
    hypothesis: list[tuple[float, float, object]],
    *,
    collar: float = 0.0,
    step: float = 0.01,
) -> DerResult:
    """DER = (missed + false alarm + confusion) / reference speech, the NIST definition, on a `step` grid.

    Hypothesis labels are mapped one-to-one onto reference speakers to maximise the overlapping time (Hungarian
    algorithm). With `collar` > 0, frames within `collar` seconds of any reference boundary are not scored (the
    usual 0.25 s forgiveness); overlapping reference speech counts once per speaker.
    """
    from scipy.optimize import linear_sum_assignment

    end = max([b for _a, b, _s in reference] + [b for _a, b, _s in hypothesis] + [0.0])
    n = int(np.ceil(end / step)) + 1
    ref_names = sorted({s for _a, _b, s in reference})
    hyp_names = sorted({h for _a, _b, h in hypothesis}, key=str)
    ref = np.zeros((len(ref_names), n), dtype=bool)
    hyp = np.zeros((len(hyp_names), n), dtype=bool)
    for a, b, s in reference:
        ref[ref_names.index(s), int(round(a / step)): int(round(b / step))] = True
    for a, b, h in hypothesis:
        hyp[hyp_names.index(h), int(round(a / step)): int(round(b / step))] = True
    scored = np.ones(n, dtype=bool)
    if collar > 0:
        c = int(round(collar / step))
        for a, b, _s in reference:
            for t in (a, b):
                i = int(round(t / step))
                scored[max(0, i - c): i + c] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    mapping: dict = {}
    correct = np.zeros(ref.shape[1], dtype=np.int32)
    if len(ref_names) and len(hyp_names):
        overlap = (hyp[:, None, :] & ref[None, :, :]).sum(axis=2)
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols, strict=True):
            mapping[hyp_names[r]] = ref_names[c]
            correct += hyp[r] & ref[c]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    missed = np.maximum(0, n_ref - n_hyp).sum() * step
    false_alarm = np.maximum(0, n_hyp - n_ref).sum() * step
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum() * step
    total = n_ref.sum() * step
    der = (missed + false_alarm + confusion) / total if total > 0 else 0.0
    return DerResult(float(der), float(missed), float(false_alarm), float(confusion), float(total), mapping)


def heard_wait(wait: WaitTime, lesson: Lesson, turns: list[tuple[float, float, int]], teacher: int | None
               ) -> float | None:
    """The same wait read off hypothesised turns (start, end, voice) with `teacher` the voice taken for the
    teacher: from the end of the last hypothesised turn on the reference turn's side (teacher or not) that overlaps
    the reference turn, to the start of the next hypothesised turn of the other side. None if not found."""
    before_is_teacher = lesson.turns[wait.after].role == "teacher"
    ref = lesson.turns[wait.after]

    def side(voice: int) -> bool:
        return (voice == teacher) == before_is_teacher

    best = None
    for i, (a, b, v) in enumerate(turns):
        if side(v) and min(b, ref.end) - max(a, ref.start) > 0 and (best is None or b > turns[best][1]):
            best = i
    if best is None:
        return None
    end = turns[best][1]
    later = [a for a, _b, v in turns[best + 1:] if not side(v) and a >= end]
    return None if not later else later[0] - end


if __name__ == "__main__":  # python -m tests.lessongen [lang] : make one and print its ground truth
    import sys

    made = make_lesson(sys.argv[1] if len(sys.argv) > 1 else "en", students=4, overlap="--overlap" in sys.argv)
    print(made.path, f"{made.duration:.1f} s")
    for t in made.turns:
        print(f"{t.start:7.2f} {t.end:7.2f} {t.speaker:3s} q={t.question_kind or '-':6s} up={t.takes_up_previous:d} "
              f"{t.text[:60]}")
    for wt in made.wait_times:
        print(f"wait {wt.kind}: {wt.seconds:.2f} s (turn {wt.after} -> {wt.before})")
    print("overlaps", made.overlaps, "shares", {k: round(made.share(k), 3) for k in ("teacher", "student", "silence")})
