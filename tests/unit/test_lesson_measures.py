"""The measures of a lesson against hand-worked values: shares, turns, waits, the longest teacher stretch, questions
(with and without a question mark, by intonation), open against closed, and uptake, in English, Hebrew and Arabic;
the lexicon's reader; edge cases (nobody spoke, only the teacher, empty text, four hours of turns)."""

from __future__ import annotations

import pytest

from app.analytics import measures as M


def turn(start, end, role="teacher", voice=None, text="", rising=None):
    voice = (0 if role == "teacher" else 1) if voice is None else voice
    words = []
    tokens = text.split()
    for i, token in enumerate(tokens):
        step = (end - start) / len(tokens)
        words.append(M.Word(start + i * step, start + (i + 1) * step - 0.01, token))
    return M.Turn(start, end, role, voice, rising, text, tuple(words))


def test_shares_turns_waits_and_the_longest_stretch_worked_by_hand():
    turns = [
        turn(0, 10, text="Today we look at fractions on the number line."),
        turn(11, 14, text="Why is one third left of one half?"),
        turn(16.5, 20, "student", 1, "Because thirds are smaller pieces."),
        turn(20.8, 24, text="So smaller pieces put it closer to zero?"),
        turn(25, 26, "student", 2, "Yes."),
        turn(26.2, 27, "student", 2, "Closer."),
        turn(30, 40, text="Good. Now take out your strips."),
        turn(41, 60, text="Fold the strip into three equal parts and mark each part on the line."),
    ]
    m = M.measure(turns, duration=80.0, language="en", overlaps=[(25.5, 26.0)], has_text=True)
    assert m.teacher_seconds == pytest.approx(10 + 3 + 3.2 + 10 + 19)
    assert m.student_seconds == pytest.approx(3.5 + 1 + 0.8)
    assert m.teacher_share == pytest.approx(45.2 / 80, abs=1e-4)
    assert m.silence_share == pytest.approx((80 - 45.2 - 5.3) / 80, abs=1e-4)
    assert m.overlap_share == pytest.approx(0.5 / 80, abs=1e-4)
    assert m.student_turns == 2  # the second student's two pieces are one turn
    assert m.student_turn_mean == pytest.approx((3.5 + 2.0) / 2)
    assert m.longest_monologue == {"start": 30.0, "end": 60.0, "seconds": 30.0}  # a 1 s pause does not split it
    assert [(q.kind, q.cue) for q in m.questions] == [("open", "mark"), ("closed", "mark")]
    assert [(w.start, w.seconds) for w in m.wait1] == [(14.0, 2.5), (24.0, 1.0)]
    assert [(w.start, w.seconds) for w in m.wait2] == [(20.0, 0.8), (27.0, 3.0)]
    assert [(u.start, u.shared) for u in m.uptake] == [(20.8, ("smaller", "piece"))]
    stored = m.as_dict()
    assert stored["wait1_median"] == 1.75 and stored["questions_open"] == 1 and stored["uptake_count"] == 1
    kinds = [mk.kind for mk in m.markers]
    assert kinds == ["question_open", "question_closed", "uptake", "wait2", "monologue"]


@pytest.mark.parametrize("lang, sentence, expected", [
    ("en", "Why does the plant turn yellow in the dark?", ("open", "mark")),
    ("en", "What do you notice about the two fractions", ("open", "words")),
    ("en", "Explain why three sixths is one half.", ("open", "words")),
    ("en", "Is three sixths equal to one half", ("closed", "words")),
    ("en", "How many pieces did you get?", ("closed", "mark")),
    ("en", "What is three times four?", ("closed", "mark")),
    ("en", "So what is three times four", ("closed", "words")),
    ("en", "When we multiply both by two, the value stays the same.", None),
    ("en", "The pieces are smaller.", None),
    ("he", "למה הצמח מצהיב בחושך?", ("open", "mark")),
    ("he", "ולמה זה עובד גם עם שישיות", ("open", "words")),
    ("he", "האם שלוש שישיות שווה לחצי", ("closed", "words")),
    ("he", "כמה חלקים קיבלתם?", ("closed", "mark")),
    ("he", "מה אתם חושבים שיקרה לצמח", ("open", "words")),
    ("he", "כשמכפילים את המונה ואת המכנה הערך לא משתנה.", None),
    ("ar", "لماذا يصفر النبات في الظلام؟", ("open", "mark")),
    ("ar", "كيف نعرف أن الكسرين متساويان", ("open", "words")),
    ("ar", "هل ثلاثة أسداس تساوي النصف", ("closed", "words")),
    ("ar", "كم قطعة حصلتم", ("closed", "words")),
    ("ar", "ما رأيكم في جواب سامي", ("open", "words")),
    ("ar", "عندما نضرب البسط والمقام بالعدد نفسه لا تتغير القيمة.", None),
])
def test_questions_and_their_kind_in_three_languages(lang, sentence, expected):
    assert M.classify(sentence, lang) == expected


def test_a_turn_ending_with_a_rising_voice_is_a_question_when_the_transcript_has_no_mark():
    assert M.classify("three sixths is one half", "en") is None
    assert M.classify("three sixths is one half", "en", rising=True, last=True) == ("closed", "intonation")
    assert M.classify("three sixths is one half", "en", rising=True, last=False) is None
    silent = [turn(0, 3, rising=True), turn(4, 6, "student")]  # no transcript: only the voice tells
    m = M.measure(silent, duration=10, language="he", has_text=False)
    assert [(q.cue, q.start) for q in m.questions] == [("intonation", 0)]
    assert m.wait1[0].seconds == 1.0 and m.as_dict()["uptake_count"] is None


@pytest.mark.parametrize("lang, student, teacher, shared", [
    ("en", "I think it is bigger because the bottom number is bigger.",
     "So you are saying the bottom number decides which one is bigger?", {"bottom", "number", "bigger"}),
    ("he", "אני חושבת שהשבר גדול יותר כי המכנה גדול יותר.", "כלומר לדעתך המכנה קובע איזה שבר גדול יותר?",
     {"שבר", "מכנה", "גדול"}),
    ("ar", "أظن أن الكسر أكبر لأن المقام أكبر.", "يعني أنت تقول إن المقام هو الذي يحدد أي كسر أكبر؟",
     {"كسر", "مقام", "اكبر"}),
])
def test_uptake_in_three_languages(lang, student, teacher, shared):
    turns = [turn(0, 4, "student", 1, student), turn(4.5, 8, text=teacher)]
    m = M.measure(turns, duration=10, language=lang, has_text=True)
    assert len(m.uptake) == 1 and shared <= set(m.uptake[0].shared)
    unrelated = [turn(0, 4, "student", 1, student), turn(4.5, 8, text={
        "en": "Good. Open your notebooks at page twelve.", "he": "טוב. פתחו את המחברות בעמוד שתים עשרה.",
        "ar": "جيد. افتحوا الدفاتر على صفحة اثني عشر."}[lang])]
    assert M.measure(unrelated, duration=10, language=lang, has_text=True).uptake == ()


def test_edge_cases_nobody_only_the_teacher_empty_text_and_four_hours():
    empty = M.measure([], duration=120, language="en", has_text=True)
    assert (empty.teacher_share, empty.silence_share, empty.student_turns, empty.longest_monologue) == (0, 1, 0, None)
    alone = M.measure([turn(0, 50, text="Fold the strip. Mark the thirds.")], duration=60, language="en",
                      has_text=True)
    assert alone.student_turns == 0 and alone.wait2 == () and alone.longest_monologue["seconds"] == 50
    blank = M.measure([turn(0, 5, text=""), turn(6, 8, "student")], duration=10, language="ar", has_text=True)
    assert blank.questions == () and blank.uptake == ()
    many = []
    for i in range(4 * 3600 // 6):
        many.append(turn(6 * i, 6 * i + 3, text="Why is that?"))
        many.append(turn(6 * i + 4, 6 * i + 5.5, "student", 1 + i % 4, "Because of the pieces."))
    long = M.measure(many, duration=4 * 3600, language="en", has_text=True)
    assert long.student_turns == 2400 and len(long.questions) == 2400 and len(long.wait1) == 2400


def test_the_lexicon_is_checked_with_file_and_line():
    good = M.LEXICON.read_text(encoding="utf-8")
    assert set(M.read_lexicon("lexicon.yaml", good)) == {"en", "he", "ar"}
    broken = good.replace("  open_starts: [why,", "  open_starts: [yes, why,", 1)
    with pytest.raises(ValueError, match=r"lexicon.yaml:\d+: en: open_starts: a list of words"):
        M.read_lexicon("lexicon.yaml", broken)
    with pytest.raises(ValueError, match="he: missing"):
        M.read_lexicon("lexicon.yaml", good.split("\nhe:")[0])
