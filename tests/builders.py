"""Builders for test data: plain functions that make people, lessons, feedback, communities, coaching and
classes through the same service functions the app uses (so a rule the app enforces holds in the data too).

Fixtures in conftest.py and the tests call these; a test file never copies them. Each builder commits what
it makes unless it says otherwise, so the rows are there for a request the test makes next."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.models import Organization, OrgKind, User
from app.coaching import service as coaching
from app.coaching.models import CoachLink
from app.communities import service as communities
from app.communities.models import Community
from app.db import utcnow
from app.diagnostics import bankfile
from app.diagnostics import service as diagnostics
from app.diagnostics.models import Assignment, ClassGroup
from app.feedback import service as feedback
from app.feedback.models import Comment, ObservationFramework
from app.sharing import service as sharing
from app.video import clips, uploads
from app.video import service as videos
from app.video.models import Clip, Segment, Transcript, Upload, Video, VideoStatus
from workers.pipeline import cut_clip, run_inline

PASSWORD = "correct horse battery"


def user(session: Session, email: str, role: str = "teacher", organization: Organization | None = None, *,
         password: str = PASSWORD, **kw: Any) -> User:
    """A user made by the accounts service (not committed: `network` commits the whole network at once)."""
    return accounts.create_user(session, email=email, password=password, role=role, organization=organization, **kw)


def network(session: Session) -> dict[str, Any]:
    """A small network: an institute, a municipality with two schools, and one person per role.

    Keys: the people by role, "password" (everyone's) and "orgs" (institute, city, a, b)."""
    institute = accounts.create_organization(session, "National Institute", OrgKind.institute)
    city = accounts.create_organization(session, "Haifa", OrgKind.municipality, institute)
    school_a = accounts.create_organization(session, "Tichon Alef", OrgKind.school, city)
    school_b = accounts.create_organization(session, "مدرسة النور", OrgKind.school, city)
    people: dict[str, Any] = {
        "teacher": user(session, "teacher@a.example", "teacher", school_a, display_name="Noa Levi"),
        "colleague": user(session, "colleague@a.example", "teacher", school_a, display_name="Dana Cohen"),
        "coach": user(session, "coach@a.example", "coach", school_a),
        "facilitator": user(session, "plc@a.example", "facilitator", school_a),
        "other_teacher": user(session, "teacher@b.example", "teacher", school_b, display_name="Samir Haddad"),
        "leader": user(session, "leader@a.example", "school_leader", school_a),
        "city_leader": user(session, "leader@haifa.example", "school_leader", city),
        "admin": user(session, "admin@classlab.example", "admin", institute),
    }
    session.commit()
    people["password"] = PASSWORD
    people["orgs"] = {"institute": institute, "city": city, "a": school_a, "b": school_b}
    return people


# Lessons ------------------------------------------------------------------------------------------------

def processed_video(app, session: Session, owner: User, path: Path, title: str | None = None) -> Video:
    """A lesson ingested from a media file and run through the whole pipeline inline (real ffmpeg), reloaded."""
    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    v = videos.ingest_file(session, store, owner, path, title=title)
    session.commit()
    run_inline(v.id, settings, store)
    session.expire_all()
    return session.get(Video, v.id)


def ready_clip(app, session: Session, owner: User, video: Video, title: str, start: float, end: float) -> Clip:
    """A clip of a lesson, cut inline by the pipeline (real ffmpeg)."""
    made = clips.create_clip(session, owner, video.public_id, title=title, start=start, end=end)
    session.commit()
    cut_clip(made.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    return made


def ready_video(session: Session, owner: User, title: str = "Lesson", seconds: float = 60.0,
                consent: str = "none") -> Video:
    """A processed lesson without media files, for tests that only need its length (comments, counts)."""
    v = Video(owner=owner, title=title, status=VideoStatus.ready, duration=seconds, consent=consent)
    session.add(v)
    session.commit()
    return v


def transcribed(session: Session, video: Video, lines: tuple[str, ...], language: str = "en") -> Video:
    """The lesson with a transcript of these lines, ten seconds each (as if Whisper had heard them)."""
    transcript = Transcript(video=video, language=language, model="tests")
    transcript.segments = [Segment(position=i, start=10.0 * i, end=10.0 * i + 9, text=line, words=[])
                           for i, line in enumerate(lines)]
    session.add(transcript)
    session.commit()
    return video


def transcribed_video(session: Session, owner: User, title: str = "Lesson", seconds: float = 60.0,
                      lines: tuple[str, ...] = ("Good morning, everyone.", "Who can tell me what a half is?"),
                      consent: str = "none") -> Video:
    """A processed lesson without media files whose transcript is the given lines, one every 10 s, each with
    word timings (as Whisper's would be)."""
    v = ready_video(session, owner, title, seconds, consent)
    transcript = Transcript(video=v, language="en", model="test")
    for i, text in enumerate(lines):
        words = [{"start": 10.0 * i + n, "end": 10.0 * i + n + 0.8, "text": f" {word}", "p": 0.9}
                 for n, word in enumerate(text.split())]
        transcript.segments.append(Segment(position=i, start=10.0 * i, end=10.0 * i + 9, text=text, words=words))
    session.add(transcript)
    session.commit()
    return v


def with_original(app, session: Session, video: Video, data: bytes, filename: str = "lesson.mp4") -> Video:
    """The lesson's original recording stored byte for byte (as an upload or `classlab ingest` leaves it)."""
    import io

    key = videos.original_key(video, filename)
    size = app.extensions["classlab.storage"].put(key, io.BytesIO(data))
    videos.put_asset(session, video, "original", key, size, "application/octet-stream")
    video.original_filename, video.size = filename, size
    session.commit()
    return video


def transcribed_lines(session: Session, video: Video, *lines: str, seconds: float = 5.0) -> Video:
    """A machine transcript of the lesson without running Whisper: one line per text, `seconds` long each, with
    word timings."""
    transcript = Transcript(video=video, language="en", model="tiny")
    session.add(transcript)
    for i, text in enumerate(lines):
        words = text.split()
        step = seconds / max(1, len(words))
        session.add(Segment(transcript=transcript, position=i, start=i * seconds, end=(i + 1) * seconds, text=text,
                            words=[{"start": i * seconds + k * step, "end": i * seconds + (k + 1) * step,
                                    "text": f" {w}", "p": 0.9} for k, w in enumerate(words)]))
    session.commit()
    return video


def clip(session: Session, author: User, video: Video, title: str, start: float, end: float) -> Clip:
    """A clip of a lesson as the clips service makes it (its own file not cut: see ready_clip for that)."""
    made = clips.create_clip(session, author, video.public_id, title=title, start=start, end=end)
    session.commit()
    return made


def comment(session: Session, author: User, video: Video, body: str, start: float | None = None, *,
            parent: Comment | None = None, tags: list[str] | None = None) -> Comment:
    """A comment (or, with `parent`, a reply) made by the feedback service."""
    made = feedback.add_comment(session, author, video.public_id, body=body, start=start,
                                parent_id=parent.id if parent else None, tags=tags)
    session.commit()
    return made


def upload(app, session: Session, owner: User, length: int, filename: str = "lesson.mp4") -> Upload:
    """A tus upload begun (nothing sent yet), as POST /api/v1/uploads/ makes it."""
    settings = app.extensions["classlab.settings"]
    made = uploads.create_upload(session, app.extensions["classlab.storage"], owner, length=length,
                                 metadata={"filename": filename}, max_bytes=settings.max_upload_bytes,
                                 expiry_hours=settings.upload_expiry_hours)
    session.commit()
    return made


def shared(session: Session, video: Video, *emails: str, right: str = "comment", community: Community | None = None,
           note: str = "") -> Video:
    """The owner records the class's full consent and shares the lesson with each e-mail (and a community)."""
    owner = video.owner
    sharing.set_consent(session, owner, video.public_id, "full", note)
    for email in emails:
        sharing.share(session, owner, video.public_id, email, right)
    if community is not None:
        sharing.share(session, owner, video.public_id, None, right, community_id=community.public_id)
    session.commit()
    return video


def talk_framework(session: Session, hebrew: bool = False) -> ObservationFramework:
    """The "talk" observation framework, version 1: one dimension (reasoning), two elements (justify, build)."""
    he = (lambda text: {"he": text}) if hebrew else (lambda text: {})
    row = ObservationFramework(key="talk", version=1, title="Talk", current=True, data={
        "key": "talk", "version": 1, "title": "Talk", **he("שיח"),
        "dimensions": [{"key": "reasoning", "title": "Reasoning", **he("הנמקה"), "elements": [
            {"key": "justify", "title": "Students justify", **he("התלמידים מנמקים")},
            {"key": "build", "title": "Building on ideas"}]}]})
    session.add(row)
    session.commit()
    return row


# Communities and coaching -------------------------------------------------------------------------------

def community(session: Session, facilitator: User, name: str, members: tuple[str, ...] = ()) -> Community:
    """A community the facilitator starts, with members added by e-mail."""
    made = communities.create_community(session, facilitator, name)
    for email in members:
        communities.add_member(session, facilitator, made.public_id, email)
    session.commit()
    return made


def active_coach_link(session: Session, assigner: User, coach_email: str, teacher: User) -> CoachLink:
    """A coach assigned by a leader (or an admin) and accepted by the teacher."""
    link = coaching.assign_coach(session, assigner, coach_email, teacher.email)
    coaching.respond(session, teacher, link.id, True)
    session.commit()
    return link


# Diagnostics --------------------------------------------------------------------------------------------

def starter_bank(session: Session) -> diagnostics.ImportReport:
    """The starter item bank (items, misconceptions, diagnostics) shipped with the app, imported."""
    report = diagnostics.import_bank(session, None, bankfile.load_bank())
    session.commit()
    return report


#: Two short scenarios in en, he and ar (keys "sample-..."), for the rehearsal tests.
SCENARIOS = Path(__file__).with_name("scenarios")

#: One activity in en, he and ar with a prerequisite, for the learning plans' import tests.
ACTIVITIES = Path(__file__).with_name("activities")

#: A small bank with every text in en, he and ar (its keys start with "sample-"), for the pages in each language.
TRILINGUAL_BANK = Path(__file__).with_name("trilingual_bank")


def trilingual_bank(session: Session) -> diagnostics.ImportReport:
    """The three-language sample bank imported beside whatever is there."""
    from app.diagnostics.bankfile import load_bank

    report = diagnostics.import_bank(session, None, load_bank(TRILINGUAL_BANK))
    session.commit()
    return report


def diagnostic_class(session: Session, teacher: User, name: str,
                     students: tuple[tuple[str, str | None], ...] = (), *, language: str = "en",
                     digits: str = "western") -> ClassGroup:
    """A class of the teacher's with students given as (code, name), read in `language` with `digits`."""
    group = diagnostics.create_class(session, teacher, name, language, digits)
    for code, student in students:
        diagnostics.add_student(session, teacher, group.id, code, student)
    session.commit()
    return group


def open_assignment(session: Session, teacher: User, group: ClassGroup, *, title: str = "",
                    diagnostic_key: str | None = "comparing-and-adding-fractions", item_keys: list[str] | None = None,
                    opened: timedelta = timedelta(hours=1), closes: timedelta = timedelta(days=1)) -> Assignment:
    """An assignment that opened `opened` ago and closes `closes` from now."""
    made = diagnostics.create_assignment(session, teacher, group.id, title=title, diagnostic_key=diagnostic_key,
                                         item_keys=item_keys, opens_at=utcnow() - opened,
                                         closes_at=utcnow() + closes)
    session.commit()
    return made


# Lesson analytics ---------------------------------------------------------------------------------------------

# A short maths exchange: who speaks (the teacher's voice is 0, students' 1, 2, …), when, and what they say.
EXCHANGE: tuple[tuple[int, float, float, str], ...] = (
    (0, 0.0, 8.0, "Today we compare fractions. Look at the two pizzas on the board."),
    (0, 8.5, 11.0, "Why is one half bigger than one third?"),
    (1, 15.0, 19.0, "Because the pieces of the half are bigger pieces."),
    (0, 20.0, 24.0, "So the size of the pieces decides which fraction is bigger?"),
    (2, 25.0, 27.0, "Yes."),
    (0, 31.0, 34.0, "Is one quarter bigger than one third?"),
    (3, 35.0, 37.0, "No, smaller."),
    (0, 38.0, 58.0, "Right. When we cut a whole into more pieces every piece gets smaller, so a quarter is "
                    "smaller than a third, and a sixth is smaller again, and we can check it with the strips."),
)


def analysed_video(session: Session, owner: User, exchange=EXCHANGE, *, title: str = "Comparing fractions",
                   seconds: float = 60.0, language: str = "en"):
    """A lesson whose transcript and speaker turns are the given exchange (as if Whisper and the worker had heard
    it), measured by the real measures: its LessonAnalysis."""
    from app.analytics import service as analytics

    v = ready_video(session, owner, title, seconds)
    v.language = language
    transcript = Transcript(video=v, language=language, model="test")
    for i, (_voice, start, end, text) in enumerate(exchange):
        tokens = text.split()
        step = (end - start) / len(tokens)
        words = [{"start": round(start + n * step, 3), "end": round(start + (n + 1) * step - 0.05, 3),
                  "text": f" {word}", "p": 0.9} for n, word in enumerate(tokens)]
        transcript.segments.append(Segment(position=i, start=start, end=end, text=text, words=words))
    session.add(transcript)
    session.flush()
    voices = sorted({voice for voice, *_ in exchange})
    talk = {v_: sum(e - s for voice, s, e, _t in exchange if voice == v_) for v_ in voices}
    heard = {
        "duration": seconds,
        "speech": [[s, e] for _v, s, e, _t in exchange],
        "overlaps": [],
        "voices": [{"seconds": talk[v_], "level_db": -20.0, "mean_f0": 120.0 + 40 * v_} for v_ in voices],
        "teacher": 0,
        "turns": [{"start": s, "end": e, "voice": voice, "rising": None} for voice, s, e, _t in exchange],
    }
    analysis = analytics.request(session, v)
    analytics.store_turns(session, analysis, heard)
    analytics.compute(session, analysis)
    session.commit()
    return analysis


# The same kind of exchange in a Hebrew mathematics lesson.
HEBREW_EXCHANGE: tuple[tuple[int, float, float, str], ...] = (
    (0, 0.0, 8.0, "היום נשווה בין שברים. הסתכלו על שתי הפיצות שעל הלוח."),
    (0, 8.5, 11.0, "למה חצי גדול משליש?"),
    (1, 15.0, 19.0, "כי החתיכות של החצי הן חתיכות גדולות יותר."),
    (0, 20.0, 24.0, "אז גודל החתיכות קובע איזה שבר גדול יותר?"),
    (2, 25.0, 27.0, "כן."),
    (0, 31.0, 34.0, "האם רבע גדול משליש?"),
    (3, 35.0, 37.0, "לא, קטן יותר."),
    (0, 38.0, 58.0, "נכון. כשמחלקים שלם ליותר חלקים כל חלק קטן יותר, ולכן רבע קטן משליש, ושישית קטנה עוד יותר, "
                    "ואפשר לבדוק את זה עם הרצועות."),
)


# Certification -------------------------------------------------------------------------------------------

def evidence(session: Session, candidate: User, kind: str, title: str) -> str:
    """One piece of evidence the candidate may put in a portfolio, as its public id: their clip of their own lesson
    with the class's full consent, a coaching cycle they led, a meeting of a community they facilitate (closed), or
    their rehearsal attempt. Rows are made directly where the service would need a second person's consent."""
    from datetime import date

    from app.coaching.models import CoachingCycle
    from app.communities.models import CommunityMember
    from app.meetings.models import Meeting
    from app.rehearsals.models import Attempt, Scenario

    if kind == "clip":
        video = ready_video(session, candidate, f"{title} (lesson)", 120.0, consent="full")
        return clip(session, candidate, video, title, 10.0, 40.0).public_id
    if kind == "cycle":
        teacher = user(session, f"coached-{len(title)}-{abs(hash(title)) % 10**8}@example.org", "teacher",
                       display_name="Coached teacher")
        link = CoachLink(coach_id=candidate.id, teacher_id=teacher.id, status="active")
        session.add(link)
        session.flush()
        made = CoachingCycle(link_id=link.id, focus_goal=title, starts_on=date(2026, 10, 1),
                             next_steps="Plan the next lesson's questions together.")
        session.add(made)
    elif kind == "meeting":
        group = Community(name=f"{title} PLC", created_by=candidate, organization_id=candidate.organization_id)
        session.add(group)
        session.flush()
        session.add(CommunityMember(community_id=group.id, user_id=candidate.id, role="facilitator"))
        made = Meeting(community_id=group.id, created_by_id=candidate.id, title=title, status="closed",
                       starts_at=utcnow() - timedelta(days=7), summary="We compared two explanations of 1/3.")
        session.add(made)
    else:
        scenario = Scenario(key=f"s-{abs(hash(title)) % 10**8}", spec={"title": {"en": title}}, languages=["en"])
        session.add(scenario)
        session.flush()
        made = Attempt(scenario=scenario, owner=candidate, reflection="I waited longer this time.")
        session.add(made)
    session.commit()
    return made.public_id


def cohort(session: Session, admin: User, role_key: str, *emails: str, name: str = "Coaches 2027",
           blind: bool = True, double_share: float = 0.0, days: int = 30):
    """A cohort of the current standards with its candidates (each gets a draft portfolio)."""
    from app.standards import service as standards

    made = standards.create_cohort(session, admin, name=name, role_key=role_key, blind=blind,
                                   double_share=double_share, deadline=utcnow() + timedelta(days=days))
    if emails:
        standards.add_members(session, admin, made.public_id, "\n".join(emails))
    session.commit()
    return made


def complete_portfolio(session: Session, candidate: User, portfolio, commentary: str = "It shows indicator 1.") -> None:
    """Every standard of the portfolio filled with the least evidence it asks for, each piece with commentary."""
    from app.standards import service as standards

    role = standards.role_for(portfolio)
    for standard in role.standards:
        for n in range(standard.evidence.least):
            kind = standard.evidence.kinds[n % len(standard.evidence.kinds)]
            ref = evidence(session, candidate, kind, f"{standard.key} {kind} {n} {portfolio.public_id}")
            standards.add_entry(session, candidate, portfolio.public_id, standard_key=standard.key, kind=kind,
                                evidence=ref, commentary=commentary)
    session.commit()


def trained(session: Session, admin: User, person: User, role_key: str) -> None:
    """The person trained to score every standard of the role."""
    from datetime import date

    from app.standards import service as standards

    keys = [s.key for s in standards.role_of(standards.standardsfile.current().ref, role_key).standards]
    standards.record_training(session, admin, email=person.email, framework_ref=None, role_key=role_key,
                              standard_keys=keys, trained_on=date(2026, 11, 1))
    session.commit()


def certification_world(settings, session: Session, people: dict[str, Any],
                        role_key: str = "instructional_coach") -> dict[str, Any]:
    """A cohort for the role (coaches unless told): the coach's draft portfolio with one piece of evidence; the
    facilitator's submitted one with its first standard assigned to the colleague (trained) to score, and a
    certificate issued on it. A browser test sharing its live server with another that trains assessors for the
    same role chooses another role, or assignments spread over both tests' assessors."""
    from app.standards import service as standards
    from app.standards.models import Score

    made = cohort(session, people["admin"], role_key, people["coach"].email, people["facilitator"].email)
    drafts = {p.candidate_id: p for p in standards.cohort_portfolios(session, people["admin"], made)}
    draft, done = drafts[people["coach"].id], drafts[people["facilitator"].id]
    first = standards.role_for(draft).standards[0]
    ref = evidence(session, people["coach"], first.evidence.kinds[0], "Evidence")
    # The spare one (for a test to delete) is made first: an API fuzzer tries the smallest ids.
    other = evidence(session, people["coach"], first.evidence.kinds[0], "More evidence")
    spare = standards.add_entry(session, people["coach"], draft.public_id, standard_key=first.key,
                                kind=first.evidence.kinds[0], evidence=other, commentary="Shows 1.2")
    entry = standards.add_entry(session, people["coach"], draft.public_id, standard_key=first.key,
                                kind=first.evidence.kinds[0], evidence=ref, commentary="Shows 1.1")
    complete_portfolio(session, people["facilitator"], done)
    standards.submit(session, people["facilitator"], done.public_id)
    trained(session, people["admin"], people["colleague"], role_key)
    session.add(Score(portfolio_id=done.id, standard_key=first.key, round=1, assessor_id=people["colleague"].id))
    session.commit()
    certificate = standards.issue(session, done, settings=settings)
    session.commit()
    return {"cohort": made.public_id, "portfolio": draft.public_id, "entry": entry.id, "spare_entry": spare.id,
            "scored": done.public_id,
            "standard": first.key, "certificate": certificate.public_id}


# Goals ------------------------------------------------------------------------------------------------------

# Students in the five-unit mathematics track out of the grade's students, per school, term and grade: the hand-worked
# numbers of tests/integration/test_goals.py. School A's grade 11 is a small group (8 students).
MATH5 = {
    "a": {(2026, 2): {10: (5, 30), 11: (2, 8), 12: (6, 25)},
          (2027, 1): {10: (6, 30), 11: (3, 8), 12: (7, 25)}},
    "b": {(2026, 2): {10: (4, 40), 11: (8, 35), 12: (5, 20)},
          (2027, 1): {10: (6, 40), 11: (9, 35), 12: (6, 20)}},
}


def goals_world(session: Session, people: dict[str, Any]) -> dict[str, Any]:
    """The people's network in the goals: the institute, the city, a school network holding school A, the two
    schools with their codes; MATH5's values; school A's target (12% in 2025 to 16% in 2028) and a step of its
    roadmap; the coach paired with school A's principal (the leader) this year, one session planned."""
    from datetime import date

    from app.goals import service as goals

    admin = people["admin"]
    orgs = people["orgs"]
    network_org = accounts.create_organization(session, "רשת אופק", OrgKind.network, orgs["institute"])
    session.flush()
    goals.enrol(session, admin, organization_id=orgs["institute"].id)
    school_network = goals.enrol(session, admin, organization_id=network_org.id)
    a = goals.enrol(session, admin, organization_id=orgs["a"].id, code="480012", network_id=network_org.id)
    b = goals.enrol(session, admin, organization_id=orgs["b"].id, code="480013")
    for area, name in ((a, "a"), (b, "b")):
        for (year, term), grades in MATH5[name].items():
            for grade, (count, students) in grades.items():
                goals.enter_value(session, admin, area.public_id, indicator_key="math5_share", year=year, term=term,
                                  grade=grade, count=count, students=students)
    target = goals.set_target(session, admin, a.public_id, indicator_key="math5_share", year=2028, value=16,
                              baseline=12, baseline_year=2025, note="")
    step = goals.add_step(session, people["leader"], a.public_id, kind="action", title="שיעורי תגבור לכיתות י'",
                          owner="רכזת המתמטיקה", due_on=date(2027, 3, 1), indicator_key="math5_share")
    pair = goals.pair(session, admin, coach_email=people["coach"].email, principal_email=people["leader"].email,
                      year=2027)
    meeting = goals.plan_session(session, people["coach"], pair.public_id, held_on=date(2026, 12, 10),
                                 agenda="מבט על נתוני 5 יחידות", data=[{"indicator": "math5_share", "grade": None}])
    made = goals.create_round(session, admin, year=2027, number=1, meets_on=date(2026, 12, 3), agenda="הכנה לסבב")
    session.commit()
    return {"a": a.public_id, "b": b.public_id, "city": a.city.public_id, "network": school_network.public_id,
            "institute": goals.national(session).public_id, "target": target.public_id, "step": step.public_id,
            "pair": pair.public_id, "session": meeting.public_id, "round": made.public_id}


def qti_package(bank, new_key: str = "qti-neg-lift-copy") -> bytes:
    """A QTI package of four starter-bank items as another tool might send it: neg-lift under `new_key` (with a
    changed stem: a new item), frac-compare-same-numerator and neg-order as they are, and neg-compare turned into
    a match interaction (refused)."""
    import os
    import tempfile
    import zipfile

    from app.diagnostics.bankfile import Bank
    from app.diagnostics.qti import bank_to_qti_package

    keys = ["neg-lift", "frac-compare-same-numerator", "neg-order", "neg-compare"]
    part = Bank(topics={}, misconceptions={}, items={k: bank.items[k] for k in keys}, diagnostics={})
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(bank_to_qti_package(part, os.path.join(folder, "p.zip"))) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
    members["items/neg-lift.xml"] = members["items/neg-lift.xml"].replace(
        b'identifier="neg-lift"', f'identifier="{new_key}"'.encode(), 1).replace(b"</p>", b" (2)</p>", 1)
    members["items/neg-compare.xml"] = members["items/neg-compare.xml"].replace(b"qti-choice-interaction",
                                                                                b"qti-match-interaction")
    # and another tool's item with a graph, kept beside it in the package
    members["imsmanifest.xml"] = members["imsmanifest.xml"].replace(
        b"</resources>", f'<resource identifier="{new_key}-graph" type="imsqti_item_xmlv3p0" '
        f'href="items/{new_key}-graph.xml"><file href="items/{new_key}-graph.xml"/></resource></resources>'.encode())
    members[f"items/{new_key}-graph.xml"] = FOREIGN_GRAPH_ITEM.replace("{key}", f"{new_key}-graph").replace(
        'xml:lang="en"', 'xml:lang="he"').replace("The graph shows a line.", "בגרף מוצג ישר.").replace(
        "What is its slope?", "מהו השיפוע שלו?").encode()
    members["images/graph.png"] = png(120, 80, (31, 111, 235))
    return zipped(members)


def zipped(members: dict[str, bytes | str]) -> bytes:
    """A zip file of these members (name -> content), as bytes: a package to upload."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (31, 111, 235)) -> bytes:
    """A real PNG image of one colour (for items' images)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


FOREIGN_GRAPH_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="{key}" title="Slope"
    adaptive="false" time-dependent="false" xml:lang="en">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>B</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>The graph shows a line.</p>
    <p><img src="../images/graph.png" alt="a line through (0, 0) and (1, 2)" width="400"/></p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-prompt>What is its slope?</qti-prompt>
      <qti-simple-choice identifier="A">1</qti-simple-choice>
      <qti-simple-choice identifier="B">2</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"/>
</qti-assessment-item>
"""


def qti_package_with_image(key: str = "slope-graph", image: bytes | None = None, image_name: str = "images/graph.png",
                           extra: dict[str, bytes] | None = None) -> bytes:
    """Another tool's package: one item (items/<key>.xml) that shows an image kept beside it in the package."""
    import io
    import zipfile

    manifest = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m1">
  <resources>
    <resource identifier="{key}" type="imsqti_item_xmlv3p0" href="items/{key}.xml">
      <file href="items/{key}.xml"/><file href="{image_name}"/>
    </resource>
  </resources>
</manifest>"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("imsmanifest.xml", manifest)
        zf.writestr(f"items/{key}.xml", FOREIGN_GRAPH_ITEM.replace("{key}", key))
        if image is not False:
            zf.writestr(image_name, image if image is not None else png())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()
