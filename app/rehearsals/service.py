"""Rehearsals' use cases: the scenario library, scenarios made from evidence, attempts and their recordings,
rubric scores, reflections, shares, group rehearsals, and the loop back to the next lesson.

Every function takes the session and the acting user and authorizes through app.authz; none commits (the
request's unit of work does). Voices for the student turns and the attempt's recording are made by workers,
enqueued by task name after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import authz, jobs
from app.accounts.models import User
from app.accounts.service import find_active_user
from app.communities.models import Community
from app.db import utcnow
from app.diagnostics import service as diagnostics
from app.diagnostics.models import Misconception, Topic
from app.errors import ClassLabError, Conflict, InvalidInput, NotVisible, msg
from app.inputs import check_text
from app.notifications.service import notify
from app.rehearsals import scenariofile
from app.rehearsals.models import (
    HIGHEST,
    LOWEST,
    Attempt,
    AttemptShare,
    RehearsalGroup,
    RubricScore,
    Scenario,
    pick,
)
from app.video import service as videos
from app.video.models import Clip, Segment, Transcript, Video, VideoStatus

LIBRARY = Path(__file__).resolve().parent / "scenarios"
LANGUAGES = scenariofile.LANGUAGES
MAX_REFLECTION = 10_000
# The texts a scenario made from evidence says around the evidence, in each language.
_EVIDENCE_TEXTS = {
    "anticipate": {
        "en": "Before you answer: what does the student understand already, and what question would let them "
              "see the limit of their idea for themselves?",
        "he": "לפני שאתם עונים: מה התלמיד כבר מבין, ואיזו שאלה תאפשר לו לגלות בעצמו איפה הרעיון שלו מפסיק לעבוד?",
        "ar": "قبل أن تجيبوا: ما الذي يفهمه الطالب حتى الآن، وأيّ سؤال يتيح له أن يكتشف بنفسه أين تتوقف فكرته "
              "عن العمل؟",
    },
    "reflect": {
        "en": "Watch your attempt. Did the student get to do the thinking? What would you keep, and what would "
              "you try differently next time?",
        "he": "צפו בניסיון שלכם. האם התלמיד הוא שעשה את החשיבה? מה הייתם משאירים, ומה הייתם מנסים אחרת בפעם הבאה?",
        "ar": "شاهدوا محاولتكم. هل قام الطالب بالتفكير بنفسه؟ ما الذي ستبقون عليه، وما الذي ستجرّبونه بشكل مختلف "
              "في المرة القادمة؟",
    },
    "student": {"en": "A student", "he": "תלמיד/ה", "ar": "طالب/ة"},
    "rubric": {"en": "Responding to student thinking", "he": "תגובה לחשיבת התלמידים", "ar": "الاستجابة لتفكير الطلاب"},
    "elicit": {"en": "Elicits the student's reasoning", "he": "מעורר את התלמיד להסביר את דרך החשיבה שלו",
               "ar": "يستدرج الطالب لشرح طريقة تفكيره"},
    "idea": {"en": "Builds on the idea: ", "he": "נשען על הרעיון: ", "ar": "يبني على الفكرة: "},
    "clip_context": {
        "en": "Watch the clip from the lesson “%s”. It ends on the moment you will respond to.",
        "he": "צפו בקטע מהשיעור „%s”. הוא נעצר ברגע שאליו תגיבו.",
        "ar": "شاهدوا المقطع من الدرس „%s“. يتوقف المقطع عند اللحظة التي ستستجيبون لها.",
    },
    "clip_goal": {
        "en": "Respond to the student so that their thinking moves forward, and the class's with it.",
        "he": "להגיב לתלמיד כך שהחשיבה שלו, ושל הכיתה כולה, תתקדם.",
        "ar": "الاستجابة للطالب بحيث يتقدّم تفكيره، ومعه تفكير الصف كلّه.",
    },
}
_LEVELS = {
    1: {"en": "Tells the answer or corrects without asking how the student thought.",
        "he": "אומר את התשובה או מתקן בלי לשאול איך התלמיד חשב.",
        "ar": "يقول الجواب أو يصحّح دون أن يسأل كيف فكّر الطالب."},
    2: {"en": "Asks about the student's thinking, then steers to the right answer.",
        "he": "שואל על החשיבה של התלמיד, ואז מכוון לתשובה הנכונה.",
        "ar": "يسأل عن تفكير الطالب، ثم يوجّهه إلى الجواب الصحيح."},
    3: {"en": "Asks the student to explain and offers a case that tests their idea.",
        "he": "מבקש מהתלמיד להסביר ומציע מקרה שבודק את הרעיון שלו.",
        "ar": "يطلب من الطالب أن يشرح ويقترح حالة تختبر فكرته."},
    4: {"en": "The student explains, tests the idea and revises it themselves; the response builds on what "
             "they said.",
        "he": "התלמיד מסביר, בודק את הרעיון ומתקן אותו בעצמו; התגובה נשענת על מה שאמר.",
        "ar": "يشرح الطالب ويختبر الفكرة ويعدّلها بنفسه؛ والاستجابة تبني على ما قاله."},
}


def scenario_error(exc: scenariofile.ScenarioFileError) -> InvalidInput:
    return InvalidInput(msg("The scenario file has problems; nothing was saved:\n%(problems)s",
                            problems="\n".join(exc.lines[:30])), field="yaml")


def _known(session: Session) -> tuple[set[str], set[str]]:
    topics = set(session.scalars(select(Topic.key)))
    misconceptions = set(session.scalars(select(Misconception.key)))
    return topics, misconceptions


# ------------------------------------------------------------------------------------------- scenarios


@dataclass
class LibraryReport:
    added: int = 0
    unchanged: int = 0


def _store_record(session: Session, record: scenariofile.ScenarioRecord, owner: User | None, *, source: str,
                  source_ref: str | None = None, clip: Clip | None = None) -> Scenario:
    """A new version row for the record; the newest version of its key becomes current."""
    same_key = select(Scenario).where(Scenario.key == record.key,
                                      Scenario.owner_id.is_(None) if owner is None else Scenario.owner_id == owner.id)
    rows = list(session.scalars(same_key))
    version = max([record.version, *(r.version + 1 for r in rows)]) if rows else record.version
    for row in rows:
        row.current = False
    scenario = Scenario(
        key=record.key, version=version, owner_id=owner.id if owner else None, topic=record.topic,
        grade=record.grade, move=record.move, misconception_key=record.misconception, spec=record.spec,
        languages=record.languages, max_seconds=record.max_seconds, yaml_text=record.yaml_text, source=source,
        source_ref=source_ref, clip_id=clip.id if clip else None, current=True, voices={},
    )
    session.add(scenario)
    session.flush()
    if version != record.version:  # the editor shows the version it saved
        record.version = version
        scenario.yaml_text = scenariofile.to_yaml(record, record.languages)
    jobs.enqueue(session, jobs.REHEARSALS_VOICE, scenario.id, key=f"voice:{scenario.id}")
    return scenario


def import_library(session: Session, folder: Path | None = None) -> LibraryReport:
    """The library's scenario files, validated whole, then stored: a (key, version) already stored is left as it
    is, so running it again changes nothing."""
    folder = folder or LIBRARY
    topics, misconceptions = _known(session)
    records = []
    for path in sorted(folder.glob("*.yaml")):
        records += scenariofile.read(path.name, path.read_bytes(), topics=topics or None,
                                     misconceptions=misconceptions or None)
    report = LibraryReport()
    for record in records:
        stored = session.scalar(select(Scenario).where(Scenario.key == record.key, Scenario.owner_id.is_(None),
                                                       Scenario.version == record.version))
        if stored is not None:
            report.unchanged += 1
            continue
        _store_record(session, record, None, source="library")
        report.added += 1
    return report


def import_scenarios(session: Session, actor: User, filename: str, data: bytes) -> list[Scenario]:
    """A teacher's own scenario file: every record becomes a scenario of theirs (a key they already have gets a
    new version)."""
    if not data:
        raise InvalidInput(msg("Choose a scenario file (YAML) to import."), field="file")
    topics, misconceptions = _known(session)
    try:
        records = scenariofile.read(filename or "scenarios.yaml", data, topics=topics or None,
                                    misconceptions=misconceptions or None)
    except scenariofile.ScenarioFileError as exc:
        raise scenario_error(exc) from None
    return [_store_record(session, record, actor, source="authored") for record in records]


def edit_scenario(session: Session, actor: User, public_id: str, text: str) -> Scenario:
    """The editor's YAML as the scenario's next version (its key may not change)."""
    scenario = get_scenario(session, actor, public_id, "edit")
    check_text("yaml", text or "")
    topics, misconceptions = _known(session)
    try:
        records = scenariofile.read("scenario.yaml", text or "", topics=topics or None,
                                    misconceptions=misconceptions or None)
    except scenariofile.ScenarioFileError as exc:
        raise scenario_error(exc) from None
    if len(records) != 1:
        raise InvalidInput(msg("The editor holds one scenario; this text has %(n)d.", n=len(records)), field="yaml")
    record = records[0]
    if record.key != scenario.key:
        raise InvalidInput(msg("The key of a scenario cannot change (it was '%(key)s'); import the text as a new "
                               "scenario instead.", key=scenario.key), field="yaml")
    return _store_record(session, record, actor, source=scenario.source, source_ref=scenario.source_ref,
                         clip=scenario.clip)


MAX_VOICE_BYTES = 20 * 1024 * 1024


def record_voice(session: Session, store, actor: User, public_id: str, lang: str, turn: int, filename: str,
                 stream, size: int) -> Scenario:
    """The author's own recording of a student turn, in place of the synthesised voice: stored as sent, then made
    into the same small M4A by the voice task (which refuses a file that is not sound)."""
    scenario = get_scenario(session, actor, public_id, "edit")
    if lang not in scenario.languages:
        raise InvalidInput(msg("This scenario is not written in '%(lang)s'.", lang=str(lang)[:8]), field="lang")
    if not 0 <= turn < len(scenario.turns):
        raise InvalidInput(msg("This scenario has no student turn %(n)d.", n=turn + 1), field="turn")
    if size <= 0:
        raise InvalidInput(msg("Choose a sound file of the student's words."), field="file")
    if size > MAX_VOICE_BYTES:
        raise InvalidInput(msg("The sound file is larger than %(most)d MB; a student's turn is a few seconds.",
                               most=MAX_VOICE_BYTES // (1024 * 1024)), field="file")
    key = f"scenarios/{scenario.public_id}/v{scenario.version}/{lang}-{turn + 1}-author"
    store.put(key, stream, content_type="application/octet-stream")
    voices = {k: list(v) for k, v in (scenario.voices or {}).items()}
    row = voices.setdefault(lang, [])
    row.extend([None] * (turn + 1 - len(row)))
    row[turn] = {"key": key, "by": "author", "pending": True}
    scenario.voices = voices
    jobs.enqueue(session, jobs.REHEARSALS_VOICE, scenario.id, key=f"voice:{scenario.id}:{key}")
    return scenario


def get_scenario(session: Session, actor: User, public_id: str, action: str = "view") -> Scenario:
    return authz.load(session, actor, Scenario, public_id, action)


def library(session: Session, actor: User, topic: str | None = None) -> list[Scenario]:
    query = authz.visible(actor, select(Scenario)).where(Scenario.current.is_(True))
    if topic:
        query = query.where(Scenario.topic == topic)
    return list(session.scalars(query.order_by(Scenario.owner_id.is_(None), Scenario.topic, Scenario.key)))


def delete_scenario(session: Session, store, actor: User, public_id: str) -> None:
    """Every version of the actor's scenario, with every attempt at it and their recordings."""
    scenario = get_scenario(session, actor, public_id, "delete")
    rows = list(session.scalars(select(Scenario).where(Scenario.key == scenario.key,
                                                       Scenario.owner_id == scenario.owner_id)))
    for attempt in session.scalars(select(Attempt).where(Attempt.scenario_id.in_([r.id for r in rows]))):
        if attempt.video is not None and authz.may(actor, "delete", attempt.video):
            videos.delete_video(session, store, actor, attempt.video.public_id)
    for row in rows:
        session.delete(row)


def scenarios_from(session: Session, actor: User, *, misconception: str | None = None,
                   clip: Clip | None = None, assignment: str | None = None) -> list[Scenario]:
    """Scenarios the actor reaches that rehearse this misconception, or were made from this clip: the links back
    from the evidence to the rehearsals."""
    query = authz.visible(actor, select(Scenario)).where(Scenario.current.is_(True))
    if misconception is not None:
        query = query.where(Scenario.misconception_key == misconception)
    if clip is not None:
        query = query.where(Scenario.clip_id == clip.id)
    if assignment is not None:
        query = query.where(Scenario.source == "diagnostic", Scenario.source_ref == assignment)
    return list(session.scalars(query.order_by(Scenario.created_at)))


def _misconception_rubric(row: Misconception) -> dict:
    texts = row.texts or {}
    ideas = texts.get("teaching_ideas") or [{"en": idea} for idea in row.teaching_ideas]
    criteria = [{"key": "elicits-reasoning", "title": _EVIDENCE_TEXTS["elicit"],
                 "levels": [{"score": n, "text": _LEVELS[n]} for n in range(LOWEST, HIGHEST + 1)]}]
    for n, idea in enumerate(ideas[:3], start=1):
        criteria.append({
            "key": f"teaching-idea-{n}",
            "title": {lang: _EVIDENCE_TEXTS["idea"][lang] + _first_sentence(text) for lang, text in idea.items()},
            "levels": [{"score": s, "text": _LEVELS[s]} for s in range(LOWEST, HIGHEST + 1)],
        })
    return {"title": _EVIDENCE_TEXTS["rubric"], "criteria": criteria}


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    for stop in (". ", "? ", "! "):
        if stop in text:
            text = text.split(stop, 1)[0] + stop.strip()
            break
    return text[:200]


def _languages_of(texts: dict) -> list[str]:
    return [lang for lang in LANGUAGES if lang in texts] or ["en"]


def _evidence_record(key: str, topic: str, spec: dict, *, misconception: str | None, languages: list[str],
                     seconds: int = scenariofile.DEFAULT_SECONDS) -> scenariofile.ScenarioRecord:
    record = scenariofile.ScenarioRecord(
        key=key, version=1, topic=topic, grade=None, move="respond-to-misconception", misconception=misconception,
        max_seconds=seconds, languages=languages, spec=spec)
    record.yaml_text = scenariofile.to_yaml(record, languages)
    return record


def _only(texts: dict, languages: list[str]) -> dict:
    return {lang: text for lang, text in texts.items() if lang in languages}


def _already(session: Session, actor: User, key: str) -> Scenario | None:
    """The actor's current scenario of this key: asking again for the same evidence opens it, not a copy."""
    return session.scalar(select(Scenario).where(Scenario.key == key, Scenario.owner_id == actor.id,
                                                 Scenario.current.is_(True)))


def from_misconception(session: Session, actor: User, key: str, *, source: str = "misconception",
                       source_ref: str | None = None, context: dict | None = None,
                       scenario_key: str | None = None) -> Scenario:
    """"Rehearse this": a scenario whose student voices the misconception's typical reasoning and whose rubric
    draws on its teaching ideas. The actor's own, to edit as they like."""
    row = session.scalar(select(Misconception).where(Misconception.key == str(key)[:80]))
    if row is None:
        raise NotVisible(msg("There is no misconception '%(key)s' in the bank.", key=str(key)[:80]))
    scenario_key = (scenario_key or f"from-{row.key}")[:80]
    found = _already(session, actor, scenario_key)
    if found is not None:
        return found
    texts = row.texts or {}
    title = texts.get("title") or {"en": row.title}
    languages = list(texts.get("languages") or _languages_of(title))
    reasoning = texts.get("typical_reasoning") or {"en": row.typical_reasoning}
    description = texts.get("description") or {"en": row.description}
    spec = {
        "title": _only(title, languages),
        "context": _only(context or description, languages),
        "goal": _only({lang: f"{_first_sentence(text)}" for lang, text in description.items()}, languages),
        "anticipate": _only(_EVIDENCE_TEXTS["anticipate"], languages),
        "turns": [{"student": _only(_EVIDENCE_TEXTS["student"], languages),
                   "text": _only({lang: text.strip().strip('"“”') for lang, text in reasoning.items()}, languages)}],
        "reflect": _only(_EVIDENCE_TEXTS["reflect"], languages),
        "rubric": _misconception_rubric(row),
    }
    spec["rubric"] = _restrict_rubric(spec["rubric"], languages)
    record = _evidence_record(scenario_key, row.topic, spec, misconception=row.key, languages=languages)
    return _store_record(session, record, actor, source=source, source_ref=source_ref or row.key)


def _restrict_rubric(rubric: dict, languages: list[str]) -> dict:
    return {"title": _only(rubric["title"], languages),
            "criteria": [{"key": c["key"], "title": _only(c["title"], languages),
                          "levels": [{"score": lv["score"], "text": _only(lv["text"], languages)}
                                     for lv in c["levels"]]} for c in rubric["criteria"]]}


def from_diagnostic(session: Session, actor: User, assignment_public_id: str) -> Scenario:
    """The class's most frequent misconception in this diagnostic's results, as a scenario (ties: the one the
    bank lists first)."""
    res = diagnostics.results(session, actor, assignment_public_id)
    found = {key: n for key, n in res.frequencies.items() if n > 0}
    if not found:
        raise Conflict(msg("No misconception showed up in this diagnostic's submitted answers yet, so there is "
                           "nothing to rehearse from it."))
    top = max(found.values())
    key = sorted(k for k, n in found.items() if n == top)[0]
    assignment = res.assignment
    row = session.scalar(select(Misconception).where(Misconception.key == key))
    texts = (row.texts or {}) if row else {}
    description = texts.get("description") or {"en": row.description if row else ""}
    context = {
        "en": f"In “{assignment.title}”, {top} of {res.submitted} students who submitted showed this: "
              f"{description.get('en', '')}",
        "he": f"במשימה „{assignment.title}”, {top} מתוך {res.submitted} התלמידים שהגישו הראו את זה: "
              f"{description.get('he', description.get('en', ''))}",
        "ar": f"في المهمة „{assignment.title}“، أظهر {top} من أصل {res.submitted} من الطلاب الذين سلّموا ما يلي: "
              f"{description.get('ar', description.get('en', ''))}",
    }
    return from_misconception(session, actor, key, source="diagnostic", source_ref=assignment.public_id,
                              context=context, scenario_key=f"class-{assignment.public_id[:16]}-{key}")


def from_clip(session: Session, actor: User, clip_public_id: str) -> Scenario:
    """A clip the actor may use becomes the context (it plays on the scenario's page); the last thing said in it,
    by its transcript, is the student turn to respond to."""
    from app.video import clips

    clip = clips.get_clip(session, actor, clip_public_id)
    video = clip.video
    if video.owner_id != actor.id and not authz.may(actor, "comment", clip):
        raise NotVisible(authz.NO_SUCH_OBJECT)
    found = _already(session, actor, f"clip-{clip.public_id}"[:80])
    if found is not None:
        return found
    said = session.scalars(
        select(Segment).join(Transcript, Segment.transcript_id == Transcript.id)
        .where(Transcript.video_id == video.id, Segment.start < clip.end, Segment.end > clip.start)
        .order_by(Segment.start.desc()).limit(1)).first()
    if said is None or not said.shown.strip():
        raise Conflict(msg("Nothing is said in this clip's transcript, so there is no student turn to respond to. "
                           "Correct the transcript, or choose a clip that ends on what a student says."))
    language = (video.transcript.language if video.transcript else "") or "en"
    languages = [language if language in LANGUAGES else "en"]
    lang = languages[0]
    spec = {
        "title": {lang: clip.title},
        "context": {lang: _EVIDENCE_TEXTS["clip_context"][lang] % video.title},
        "goal": {lang: _EVIDENCE_TEXTS["clip_goal"][lang]},
        "anticipate": {lang: _EVIDENCE_TEXTS["anticipate"][lang]},
        "turns": [{"student": {lang: _EVIDENCE_TEXTS["student"][lang]}, "text": {lang: said.shown.strip()}}],
        "reflect": {lang: _EVIDENCE_TEXTS["reflect"][lang]},
        "rubric": _restrict_rubric({"title": _EVIDENCE_TEXTS["rubric"], "criteria": [
            {"key": "elicits-reasoning", "title": _EVIDENCE_TEXTS["elicit"],
             "levels": [{"score": n, "text": _LEVELS[n]} for n in range(LOWEST, HIGHEST + 1)]}]}, languages),
    }
    record = _evidence_record(f"clip-{clip.public_id}"[:80], "", spec, misconception=None, languages=languages)
    return _store_record(session, record, actor, source="clip", source_ref=clip.public_id, clip=clip)


# -------------------------------------------------------------------------------------------- attempts


def start_attempt(session: Session, actor: User, public_id: str, *, media: str = "camera",
                  language: str = "en", group: RehearsalGroup | None = None) -> Attempt:
    scenario = get_scenario(session, actor, public_id, "rehearse")
    if media not in ("camera", "mic"):
        raise InvalidInput(msg("Record with the camera and microphone, or the microphone only."), field="media")
    number = 1 + (session.scalar(select(func.count()).select_from(Attempt).join(Scenario)
                                 .where(Attempt.owner_id == actor.id, Scenario.key == scenario.key,
                                        Scenario.owner_id.is_(None) if scenario.owner_id is None
                                        else Scenario.owner_id == scenario.owner_id)) or 0)
    attempt = Attempt(scenario=scenario, owner_id=actor.id, number=number, media=media,
                      language=language if language in scenario.languages else scenario.languages[0],
                      group_id=group.id if group else None)
    session.add(attempt)
    session.flush()
    return attempt


def get_attempt(session: Session, actor: User, public_id: str, action: str = "view") -> Attempt:
    return authz.load(session, actor, Attempt, public_id, action,
                      options=(selectinload(Attempt.scores), selectinload(Attempt.shares)))


def attempt_of_video(session: Session, video: Video) -> Attempt | None:
    if video.purpose != "rehearsal":
        return None
    return session.scalar(select(Attempt).where(Attempt.video_id == video.id))


def attach_recording(session: Session, actor: User, public_id: str, video_public_id: str) -> Attempt:
    """The upload the browser just created becomes this attempt's recording (before any byte of it arrives, so
    the pipeline knows it is a rehearsal: sound required, at most the scenario's length)."""
    attempt = get_attempt(session, actor, public_id, "record")
    video = videos.get_video(session, actor, video_public_id, "edit", assets=False)
    if attempt.video_id is not None and attempt.video_id != video.id:
        raise Conflict(msg("This attempt already has its recording: start a new attempt to record again."))
    if video.purpose == "rehearsal" and attempt.video_id != video.id:
        raise Conflict(msg("This recording belongs to another attempt."))
    if video.status != VideoStatus.uploading:
        raise Conflict(msg("Only a recording still being uploaded can become an attempt's."))
    video.purpose = "rehearsal"
    video.max_seconds = attempt.scenario.max_seconds
    video.consent = "full"  # the teacher's own rehearsal: no class is in it
    video.consent_note = "rehearsal"
    video.title = f"{pick(attempt.scenario.spec.get('title'), attempt.language)} · {attempt.number}"[:300]
    attempt.video_id = video.id
    return attempt


def attempts_of(session: Session, actor: User, scenario: Scenario | None = None, *, mine: bool = True) -> list[Attempt]:
    query = authz.visible(actor, select(Attempt)).options(selectinload(Attempt.scores), selectinload(Attempt.video),
                                                          selectinload(Attempt.scenario))
    if mine:
        query = query.where(Attempt.owner_id == actor.id)
    if scenario is not None:
        query = query.join(Scenario, Attempt.scenario_id == Scenario.id).where(
            Scenario.key == scenario.key, Scenario.owner_id.is_(None) if scenario.owner_id is None
            else Scenario.owner_id == scenario.owner_id)
    return list(session.scalars(query.order_by(Attempt.created_at.desc(), Attempt.id.desc())))


def shared_with_me(session: Session, actor: User) -> list[Attempt]:
    query = (select(Attempt).join(AttemptShare, AttemptShare.attempt_id == Attempt.id)
             .where(AttemptShare.user_id == actor.id)
             .options(selectinload(Attempt.scores), selectinload(Attempt.owner), selectinload(Attempt.scenario)))
    return list(session.scalars(query.order_by(Attempt.created_at.desc())))


def delete_attempt(session: Session, store, actor: User, public_id: str) -> None:
    attempt = get_attempt(session, actor, public_id, "delete")
    if attempt.video is not None:
        videos.delete_video(session, store, actor, attempt.video.public_id)
    session.delete(attempt)


def score(session: Session, actor: User, public_id: str, levels: dict[str, int]) -> list[RubricScore]:
    """The reviewer's levels on the rubric's criteria: all of them at once, each 1 to 4."""
    attempt = get_attempt(session, actor, public_id, "score")
    if attempt.video is None or attempt.video.status == VideoStatus.uploading:
        raise Conflict(msg("This attempt has no recording yet: score it once it is recorded."))
    criteria = {c["key"]: c for c in attempt.scenario.rubric.get("criteria", [])}
    unknown = sorted(set(levels) - set(criteria))
    if unknown:
        raise InvalidInput(msg("The rubric has no criterion '%(key)s'.", key=unknown[0][:80]), field=unknown[0][:80])
    if not levels:
        raise InvalidInput(msg("Choose a level for at least one criterion."), field="levels")
    for key, level in levels.items():
        if isinstance(level, bool) or not isinstance(level, int) or not LOWEST <= level <= HIGHEST:
            raise InvalidInput(msg("The level of '%(criterion)s' must be from %(least)d to %(most)d.",
                                   criterion=key, least=LOWEST, most=HIGHEST), field=key)
    kept = {s.criterion: s for s in attempt.scores if s.reviewer_id == actor.id}
    for key, level in levels.items():
        if key in kept:
            kept[key].level = level
        else:
            row = RubricScore(attempt=attempt, reviewer_id=actor.id, criterion=key, level=level)
            session.add(row)
            kept[key] = row
    notify(session, attempt.owner, "rehearsal_scored",
           {"reviewer": actor.display_name, "scenario": pick(attempt.scenario.spec.get("title"), attempt.language)},
           f"/rehearsals/attempts/{attempt.public_id}", actor=actor)
    return list(kept.values())


def reflect(session: Session, actor: User, public_id: str, text: str) -> Attempt:
    attempt = get_attempt(session, actor, public_id, "reflect")
    text = (text or "").strip()
    check_text("reflection", text)
    if len(text) > MAX_REFLECTION:
        raise InvalidInput(msg("The reflection is %(n)d characters long; at most %(most)d.", n=len(text),
                               most=MAX_REFLECTION), field="reflection")
    attempt.reflection, attempt.reflected_at = text, utcnow()
    return attempt


def share(session: Session, actor: User, public_id: str, email: str) -> AttemptShare:
    attempt = get_attempt(session, actor, public_id, "share")
    user = find_active_user(session, email)
    if user.id == actor.id:
        raise InvalidInput(msg("This attempt is yours already: share it with a colleague."), field="email")
    existing = next((s for s in attempt.shares if s.user_id == user.id), None)
    if existing is not None:
        return existing
    found = AttemptShare(attempt=attempt, user=user)
    session.add(found)
    notify(session, user, "rehearsal_share",
           {"owner": actor.display_name, "scenario": pick(attempt.scenario.spec.get("title"), attempt.language)},
           f"/rehearsals/attempts/{attempt.public_id}", actor=actor)
    return found


def unshare(session: Session, actor: User, public_id: str, share_id: int) -> None:
    attempt = get_attempt(session, actor, public_id, "share")
    found = next((s for s in attempt.shares if s.id == share_id), None)
    if found is None:
        raise NotVisible(authz.NO_SUCH_OBJECT)
    session.delete(found)


def set_next_lesson(session: Session, actor: User, public_id: str, video_public_id: str | None) -> Attempt:
    """The lesson where the teacher will try the move in class (one of their own lessons), or none."""
    attempt = get_attempt(session, actor, public_id, "edit")
    if not video_public_id:
        attempt.next_lesson_id = None
        return attempt
    lesson = videos.get_video(session, actor, video_public_id, "edit", assets=False)
    if lesson.purpose != "lesson":
        raise InvalidInput(msg("Choose one of your lessons, not a rehearsal."), field="lesson")
    attempt.next_lesson_id = lesson.id
    return attempt


def rehearsals_for_lesson(session: Session, actor: User, video: Video) -> list[Attempt]:
    """The attempts that named this lesson as where the move would be tried, that the actor may see (asked only
    of a lesson that any attempt names: most have none, and the watch page asks on every view)."""
    if session.scalar(select(Attempt.id).where(Attempt.next_lesson_id == video.id).limit(1)) is None:
        return []
    query = authz.visible(actor, select(Attempt)).where(Attempt.next_lesson_id == video.id)
    return list(session.scalars(query.options(selectinload(Attempt.scenario)).order_by(Attempt.created_at)))


def my_lessons(session: Session, actor: User) -> list[Video]:
    return list(session.scalars(select(Video).where(Video.owner_id == actor.id, Video.purpose == "lesson")
                                .order_by(Video.created_at.desc()).limit(200)))


# ------------------------------------------------------------------------------------ history and compare


@dataclass
class HistoryPoint:
    attempt: Attempt
    average: float | None  # mean level over the criteria and reviewers who scored it
    by_criterion: dict[str, float]


def history(session: Session, actor: User, scenario: Scenario) -> list[HistoryPoint]:
    points = []
    for attempt in sorted(attempts_of(session, actor, scenario), key=lambda a: a.number):
        by: dict[str, list[int]] = {}
        for row in attempt.scores:
            by.setdefault(row.criterion, []).append(row.level)
        means = {key: sum(v) / len(v) for key, v in by.items()}
        points.append(HistoryPoint(attempt, sum(means.values()) / len(means) if means else None, means))
    return points


def mean_scores(attempt: Attempt) -> dict[str, float]:
    by: dict[str, list[int]] = {}
    for row in attempt.scores:
        by.setdefault(row.criterion, []).append(row.level)
    return {key: sum(v) / len(v) for key, v in by.items()}


# ------------------------------------------------------------------------------------------ group rehearsal


def start_group(session: Session, actor: User, scenario_public_id: str, community_public_id: str,
                note: str = "") -> RehearsalGroup:
    from app.communities import service as communities

    scenario = get_scenario(session, actor, scenario_public_id)
    community = communities.get_community(session, actor, community_public_id)
    from app.communities.policy import membership

    if membership(actor, community) != "facilitator":
        raise ClassLabError(msg("Only a facilitator of %(community)s runs a group rehearsal for it.",
                                community=community.name), field="community")
    check_text("note", note or "")
    group = RehearsalGroup(community_id=community.id, scenario=scenario, facilitator_id=actor.id,
                           note=(note or "").strip()[:2000])
    session.add(group)
    session.flush()
    for member in community.members:
        notify(session, member.user, "rehearsal_group",
               {"facilitator": actor.display_name, "scenario": pick(scenario.spec.get("title"), (actor.locale or "en")),
                "community": community.name}, f"/rehearsals/groups/{group.public_id}", actor=actor)
    return group


def get_group(session: Session, actor: User, public_id: str, action: str = "view") -> RehearsalGroup:
    return authz.load(session, actor, RehearsalGroup, public_id, action)


def groups_of(session: Session, actor: User) -> list[RehearsalGroup]:
    return list(session.scalars(authz.visible(actor, select(RehearsalGroup)).where(RehearsalGroup.closed_at.is_(None))
                                .order_by(RehearsalGroup.created_at.desc())))


def groups_of_community(session: Session, actor: User, community: Community) -> list[RehearsalGroup]:
    return [g for g in groups_of(session, actor) if g.community_id == community.id]


def group_attempts(session: Session, actor: User, group: RehearsalGroup) -> list[Attempt]:
    """The attempts the group may watch (their authors agreed), the facilitator's choices first."""
    query = authz.visible(actor, select(Attempt)).where(Attempt.group_id == group.id, Attempt.shown_to_group.is_(True))
    found = list(session.scalars(query.options(selectinload(Attempt.owner), selectinload(Attempt.video))))
    return sorted(found, key=lambda a: (not a.chosen, a.created_at))


def start_group_attempt(session: Session, actor: User, group_public_id: str, media: str) -> Attempt:
    group = get_group(session, actor, group_public_id)
    if group.closed_at is not None:
        raise Conflict(msg("This group rehearsal is closed."))
    return start_attempt(session, actor, group.scenario.public_id, media=media, language=(actor.locale or "en"),
                         group=group)


def show_to_group(session: Session, actor: User, public_id: str, shown: bool) -> Attempt:
    attempt = get_attempt(session, actor, public_id, "share")
    if attempt.group_id is None:
        raise Conflict(msg("This attempt was not recorded in a group rehearsal."))
    attempt.shown_to_group = bool(shown)
    if not shown:
        attempt.chosen = False
    return attempt


def choose(session: Session, actor: User, public_id: str, chosen: bool) -> Attempt:
    attempt = get_attempt(session, actor, public_id, "choose")
    attempt.chosen = bool(chosen)
    return attempt


def close_group(session: Session, actor: User, public_id: str) -> RehearsalGroup:
    group = get_group(session, actor, public_id, "close")
    group.closed_at = group.closed_at or utcnow()
    return group
