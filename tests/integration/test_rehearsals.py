"""Rehearsals (issue 13): the scenario library, scenarios from a misconception, a class's diagnostic result and a
clip, attempts recorded through the tus upload and the real pipeline, rubric scores, reflection, sharing, group
rehearsals, the loop back to the next lesson, and the pages' forms with good and bad input."""

from __future__ import annotations

import base64
import html
import io
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import authz, jobs
from app.errors import Conflict, InvalidInput, NotVisible
from app.rehearsals import service as rehearsals
from app.rehearsals.models import Attempt, RubricScore, Scenario
from app.video.models import Video, VideoStatus
from tests import builders
from tests.speech import make_speech
from tests.web import csrf_token, signed_in
from workers.pipeline import run_inline

SAMPLE = builders.SCENARIOS
SPOKEN = "Why do you think one eighth is bigger? Draw both pieces and compare them."


@pytest.fixture
def scenarios(session, people):
    builders.starter_bank(session)
    rehearsals.import_library(session, SAMPLE)
    session.commit()
    return {s.key: s for s in session.scalars(select(Scenario).where(Scenario.owner_id.is_(None)))}


def recording(tmp_path: Path, *, seconds: float = 6.0, audio: bool = True, video: bool = True) -> bytes:
    """A WebM as Chromium's MediaRecorder writes it: VP8 and Opus, live (no duration, no cues), with espeak-ng
    saying SPOKEN."""
    out = tmp_path / "attempt.webm"
    cmd = ["ffmpeg", "-y", "-v", "error"]
    if video:
        cmd += ["-f", "lavfi", "-i", f"testsrc=size=320x240:rate=15:duration={seconds}"]
    if audio:
        speech = make_speech(tmp_path / "speech.wav", SPOKEN, wav16k=False)
        cmd += ["-i", str(speech), "-af", f"apad=whole_dur={seconds}"]
    if video:
        cmd += ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k"]
    if audio:
        cmd += ["-c:a", "libopus"]
    cmd += ["-t", str(seconds), "-f", "webm", "-live", "1", str(out)]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def tus_record(client, csrf: str, attempt: Attempt, data: bytes, chunk: int = 64 * 1024) -> str:
    """What the recorder does: create the upload, attach it to the attempt, send the chunks."""
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("filename", "attempt.webm"), ("title", "Attempt")))
    made = client.post("/api/v1/uploads/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                                                    "Upload-Metadata": meta, "X-CSRFToken": csrf})
    assert made.status_code == 201, made.get_data(as_text=True)
    video_id = made.headers["ClassLab-Video-Id"]
    attached = client.post(f"/rehearsals/attempts/{attempt.public_id}/recording",
                           data={"video": video_id, "csrf_token": csrf}, headers={"Accept": "application/json"})
    assert attached.status_code == 200, attached.get_data(as_text=True)
    location = made.headers["Location"]
    for offset in range(0, len(data), chunk):
        sent = client.patch(location, data=data[offset:offset + chunk],
                            headers={"Tus-Resumable": "1.0.0", "Upload-Offset": str(offset), "X-CSRFToken": csrf,
                                     "Content-Type": "application/offset+octet-stream"})
        assert sent.status_code == 204, sent.get_data(as_text=True)
    return video_id


def recorded_attempt(app, session, client, owner, scenario: Scenario, tmp_path, **kw) -> Attempt:
    attempt = rehearsals.start_attempt(session, owner, scenario.public_id, media="camera")
    session.commit()
    video_id = tus_record(client, csrf_token(client, "/rehearsals/"), attempt, recording(tmp_path, **kw))
    session.expire_all()
    video = session.scalar(select(Video).where(Video.public_id == video_id))
    run_inline(video.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    session.expire_all()
    return session.get(Attempt, attempt.id)


# ------------------------------------------------------------------------------------------- the library


def test_the_library_is_validated_whole_stored_once_and_voiced(session, scenarios):
    assert set(scenarios) == {"sample-eighths", "sample-launch"}
    eighths = scenarios["sample-eighths"]
    assert eighths.languages == ["en", "he", "ar"] and eighths.max_seconds == 60
    assert [c["key"] for c in eighths.rubric["criteria"]] == ["elicits", "builds"]
    assert eighths.misconception_key == "larger-denominator-larger"
    again = rehearsals.import_library(session, SAMPLE)
    assert (again.added, again.unchanged) == (0, 2)
    # Each new scenario asked for its voices (sent when the import commits).
    session.commit()


def test_the_shipped_library(session, people):
    builders.starter_bank(session)
    report = rehearsals.import_library(session)
    session.commit()
    shipped = list(session.scalars(select(Scenario).where(Scenario.owner_id.is_(None))))
    assert report.added == len(shipped) >= 12
    assert {s.topic for s in shipped} >= {"fractions", "ratio", "negative_numbers", "linear_equations",
                                         "linear_graphs"}
    for scenario in shipped:
        assert scenario.languages == ["en", "he", "ar"], scenario.key
        for phase in ("title", "context", "goal", "anticipate", "reflect"):
            assert set(scenario.spec[phase]) == {"en", "he", "ar"}, (scenario.key, phase)
        assert re.search("[\u0590-\u05ff]", scenario.spec["context"]["he"]), scenario.key
        assert re.search("[\u0600-\u06ff]", scenario.spec["context"]["ar"]), scenario.key
        assert scenario.rubric["criteria"], scenario.key


def test_student_turns_are_spoken_in_each_language(app, session, scenarios):
    """espeak-ng for real, in English, Hebrew and Arabic, each turn stored as an M4A with sound."""
    from workers import media
    from workers.rehearsals import voice_scenario

    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    made = voice_scenario(scenarios["sample-eighths"].id, settings, store)
    assert made == 3
    session.expire_all()
    voices = session.get(Scenario, scenarios["sample-eighths"].id).voices
    assert set(voices) == {"en", "he", "ar"}
    for lang in ("en", "he", "ar"):
        key = voices[lang][0]["key"]
        assert key.endswith(f"/{lang}-1.m4a") and voices[lang][0]["by"] == "espeak-ng"
        local = Path(settings.work_folder) / f"voice-{lang}.m4a"
        store.download_to(key, str(local))
        info = media.probe(local)
        assert info.has_audio and not info.has_video and info.duration > 1.0
    assert voice_scenario(scenarios["sample-eighths"].id, settings, store) == 0  # nothing left to make


# ----------------------------------------------------------------------------------------- from evidence


def test_rehearse_a_misconception(session, people, scenarios):
    teacher = people["teacher"]
    made = rehearsals.from_misconception(session, teacher, "larger-denominator-larger")
    session.commit()
    assert made.owner_id == teacher.id and made.source == "misconception"
    assert made.misconception_key == "larger-denominator-larger"
    from app.diagnostics.models import Misconception

    row = session.scalar(select(Misconception).where(Misconception.key == "larger-denominator-larger"))
    said = made.turns[0]["text"]["en"]
    assert said and said in row.typical_reasoning
    titles = [c["title"]["en"] for c in made.rubric["criteria"]]
    assert len(titles) >= 2 and row.teaching_ideas[0].split(".")[0][:30] in titles[1]
    # Its misconception's scenarios, seen from the bank: the library's and the teacher's own.
    keys = {s.key for s in rehearsals.scenarios_from(session, teacher, misconception="larger-denominator-larger")}
    assert keys == {"sample-eighths", made.key}
    assert rehearsals.scenarios_from(session, people["colleague"], misconception="larger-denominator-larger") \
        == [scenarios["sample-eighths"]]
    with pytest.raises(NotVisible, match="no misconception"):
        rehearsals.from_misconception(session, teacher, "no-such-thing")
    # Asking again opens the same scenario (edited since, it keeps the teacher's edits).
    assert rehearsals.from_misconception(session, teacher, "larger-denominator-larger").id == made.id


def test_rehearse_a_class_diagnostic_result(session, people, scenarios):
    from app.diagnostics import service as diagnostics

    teacher = people["teacher"]
    group = builders.diagnostic_class(session, teacher, "8B", (("S1", None), ("S2", None), ("S3", None)))
    assignment = builders.open_assignment(session, teacher, group)
    with pytest.raises(Conflict, match="No misconception showed up"):
        rehearsals.from_diagnostic(session, teacher, assignment.public_id)
    session.rollback()
    items = [ai.item for ai in assignment.items]
    # Every student answers each choice item with a distractor naming a misconception.
    from app.diagnostics.service import spec_item

    wrong = {}
    for item in items:
        spec = spec_item(item.spec)
        choice = next((c for c in spec.choices if c.misconception), None) if item.type == "choice" else None
        if choice is not None:
            wrong[item.id] = choice.key
    students = list(group.students)
    for student in students:
        diagnostics.student_answers(session, student, assignment.public_id, dict(wrong), submit=True)
    session.commit()
    expected = diagnostics.results(session, teacher, assignment.public_id).frequencies
    top = max(expected.values())
    made = rehearsals.from_diagnostic(session, teacher, assignment.public_id)
    session.commit()
    assert made.source == "diagnostic" and made.source_ref == assignment.public_id
    assert expected[made.misconception_key] == top
    assert f"{top} of 3 students" in made.spec["context"]["en"]
    assert rehearsals.scenarios_from(session, teacher, assignment=assignment.public_id) == [made]
    assert rehearsals.from_diagnostic(session, teacher, assignment.public_id).id == made.id
    assert rehearsals.from_misconception(session, teacher, made.misconception_key).id != made.id
    with pytest.raises(NotVisible):  # another teacher's class
        rehearsals.from_diagnostic(session, people["colleague"], assignment.public_id)


def test_rehearse_a_clip(session, people, scenarios):
    teacher = people["teacher"]
    lesson = builders.transcribed_video(session, teacher, "Fractions, period 2", lines=(
        "Which is bigger, one quarter or one eighth?", "One eighth, because eight is bigger than four."))
    clip = builders.clip(session, teacher, lesson, "Eighths", 0.0, 19.0)
    made = rehearsals.from_clip(session, teacher, clip.public_id)
    session.commit()
    assert made.source == "clip" and made.clip_id == clip.id and made.languages == ["en"]
    assert made.turns[0]["text"]["en"] == "One eighth, because eight is bigger than four."
    assert "Fractions, period 2" in made.spec["context"]["en"]
    assert rehearsals.scenarios_from(session, teacher, clip=clip) == [made]
    assert rehearsals.from_clip(session, teacher, clip.public_id).id == made.id
    with pytest.raises(NotVisible):  # a clip the colleague may not see
        rehearsals.from_clip(session, people["colleague"], clip.public_id)
    silent = builders.clip(session, teacher, builders.ready_video(session, teacher, "Silent"), "Quiet", 0.0, 5.0)
    with pytest.raises(Conflict, match="Nothing is said"):
        rehearsals.from_clip(session, teacher, silent.public_id)


# ------------------------------------------------------------------------------- an attempt, for real


def test_an_attempt_recorded_transcribed_scored_and_reflected(app, session, people, scenarios, tmp_path):
    teacher, coach = people["teacher"], people["coach"]
    client = signed_in(app, teacher.email, people["password"])
    attempt = recorded_attempt(app, session, client, teacher, scenarios["sample-eighths"], tmp_path)
    video = attempt.video
    assert video.purpose == "rehearsal" and video.status == VideoStatus.ready, video.failure_reason
    assert video.max_seconds == 60 and video.consent == "full"
    words = " ".join(s.text for s in video.transcript.segments).lower()
    assert "draw both pieces" in words and "compare" in words
    # The teacher's lesson list leaves rehearsals out; the watch page shows the rehearsal's panel.
    assert client.get("/videos/").get_data(as_text=True).count(video.public_id) == 0
    page = client.get(f"/rehearsals/attempts/{attempt.public_id}", follow_redirects=True).get_data(as_text=True)
    assert 'id="rehearsal"' in page and 'id="reflect-form"' in page and "score-form" not in page
    # Private until shared: the coach gets "not found" for the attempt and its recording.
    coach_client = signed_in(app, coach.email, people["password"])
    assert coach_client.get(f"/rehearsals/attempts/{attempt.public_id}").status_code == 404
    assert coach_client.get(f"/videos/{video.public_id}").status_code == 404
    token = csrf_token(client, "/rehearsals/")
    shared = client.post(f"/rehearsals/attempts/{attempt.public_id}/share", data={"email": coach.email,
                                                                                 "csrf_token": token})
    assert shared.status_code == 302
    dashboard = coach_client.get("/dashboard").get_data(as_text=True)
    assert 'id="rehearsals-panel"' in dashboard and "waiting for your scores" in dashboard
    page = coach_client.get(f"/rehearsals/attempts/{attempt.public_id}", follow_redirects=True)
    assert page.status_code == 200 and 'id="score-form"' in page.get_data(as_text=True)
    coach_token = csrf_token(coach_client, "/rehearsals/")
    # Out of range, unknown criterion, not a number: refused with the reason, nothing stored.
    for bad, reason in (({"level-elicits": "7"}, "from 1 to 4"), ({"level-nope": "2"}, "no criterion"),
                        ({"level-elicits": "two"}, "from 1 to 4"), ({}, "at least one criterion")):
        answer = coach_client.post(f"/rehearsals/attempts/{attempt.public_id}/score",
                                   data={**bad, "csrf_token": coach_token}, follow_redirects=True)
        assert answer.status_code == 200 and reason in answer.get_data(as_text=True), bad
    assert session.scalar(select(func.count()).select_from(RubricScore)) == 0
    good = coach_client.post(f"/rehearsals/attempts/{attempt.public_id}/score",
                             data={"level-elicits": "2", "level-builds": "3", "csrf_token": coach_token})
    assert good.status_code == 302
    # A timestamped comment through the lesson's own feedback form, on the rehearsal's recording.
    said = coach_client.post(f"/videos/{video.public_id}/comments", data={
        "body": "Ask her to draw both pieces first.", "start": "0:02", "csrf_token": coach_token})
    assert said.status_code in (302, 303), said.get_data(as_text=True)
    # The teacher reflects; a colleague it was not shared with cannot score or read it.
    client.post(f"/rehearsals/attempts/{attempt.public_id}/reflect",
                data={"reflection": "I told her too soon.", "csrf_token": token})
    other = signed_in(app, people["colleague"].email, people["password"])
    assert other.post(f"/rehearsals/attempts/{attempt.public_id}/score",
                      data={"level-elicits": "4", "csrf_token": csrf_token(other, "/rehearsals/")}
                      ).status_code == 404
    session.expire_all()
    attempt = session.get(Attempt, attempt.id)
    assert {(s.criterion, s.level) for s in attempt.scores} == {("elicits", 2), ("builds", 3)}
    assert attempt.reflection == "I told her too soon."
    page = client.get(f"/videos/{video.public_id}").get_data(as_text=True)
    assert "Ask her to draw both pieces first." in page and "mean level 2" in page
    # A second attempt, and the two side by side with both transcripts; the history chart on the scenario.
    second = recorded_attempt(app, session, client, teacher, scenarios["sample-eighths"], tmp_path)
    assert second.number == 2
    compared = client.get(f"/rehearsals/compare?a={attempt.public_id}&b={second.public_id}").get_data(as_text=True)
    assert compared.lower().count("draw both pieces") >= 2 and "I told her too soon." in compared
    # The teacher's data export holds the attempts, the reflection and the scores received.
    from app.export import service as exports

    asked = exports.request_export(session, teacher)
    session.commit()
    exports.build_export(session, app.extensions["classlab.storage"], asked.id,
                         work_folder=app.extensions["classlab.settings"].work_folder)
    session.commit()
    import json
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(b"".join(app.extensions["classlab.storage"].stream(asked.key))))
    exported = json.loads(archive.read("rehearsals/attempts.json"))
    first = next(a for a in exported["attempts"] if a["id"] == attempt.public_id)
    assert first["reflection"] == "I told her too soon." and {s["level"] for s in first["scores"]} == {2, 3}
    assert first["recording"] and any(n.startswith(first["recording"]) for n in archive.namelist())
    scenario_page = client.get(f"/rehearsals/scenarios/{scenarios['sample-eighths'].public_id}").get_data(
        as_text=True)
    assert 'id="history-chart"' in scenario_page and "<svg" in scenario_page


def test_a_recording_without_sound_or_too_long_is_refused(app, session, people, scenarios, tmp_path):
    teacher = people["teacher"]
    client = signed_in(app, teacher.email, people["password"])
    mute = recorded_attempt(app, session, client, teacher, scenarios["sample-eighths"], tmp_path, audio=False)
    assert mute.video.status == VideoStatus.failed and mute.video.failed_step == "refused"
    assert "no sound" in mute.video.failure_reason
    long = recorded_attempt(app, session, client, teacher, scenarios["sample-eighths"], tmp_path, seconds=64)
    assert long.video.status == VideoStatus.failed and "longest we accept is 1 minute" in long.video.failure_reason
    page = client.get(f"/videos/{long.video.public_id}").get_data(as_text=True)
    assert "longest we accept" in page


def test_attaching_a_recording_is_checked(app, session, people, scenarios):
    teacher, colleague = people["teacher"], people["colleague"]
    attempt = rehearsals.start_attempt(session, teacher, scenarios["sample-launch"].public_id, media="mic")
    theirs = rehearsals.start_attempt(session, colleague, scenarios["sample-launch"].public_id)
    upload = builders.upload(app, session, teacher, 1000, "attempt.webm")
    session.commit()
    with pytest.raises(NotVisible):  # someone else's attempt
        rehearsals.attach_recording(session, teacher, theirs.public_id, upload.video.public_id)
    rehearsals.attach_recording(session, teacher, attempt.public_id, upload.video.public_id)
    session.commit()
    lesson = builders.ready_video(session, teacher, "A finished lesson")
    with pytest.raises(Conflict):
        rehearsals.attach_recording(session, teacher, attempt.public_id, lesson.public_id)
    with pytest.raises(InvalidInput, match="camera and microphone"):
        rehearsals.start_attempt(session, teacher, scenarios["sample-launch"].public_id, media="carrier-pigeon")


# ----------------------------------------------------------------------------- who may do what (matrix)


ROLES = ("owner", "reviewer", "coach", "group_member", "facilitator", "stranger")


def test_authorization_matrix_of_scenarios_and_attempts(session, people, scenarios):
    teacher = people["teacher"]
    group_member = people["other_teacher"]
    plc = builders.community(session, people["facilitator"], "Fractions PLC", (teacher.email, group_member.email))
    builders.active_coach_link(session, people["leader"], people["coach"].email, teacher)
    group = rehearsals.start_group(session, people["facilitator"], scenarios["sample-eighths"].public_id,
                                   plc.public_id)
    attempt = rehearsals.start_attempt(session, teacher, scenarios["sample-eighths"].public_id, group=group)
    rehearsals.share(session, teacher, attempt.public_id, people["colleague"].email)
    own = rehearsals.from_misconception(session, teacher, "larger-denominator-larger")
    session.commit()
    who = {"owner": teacher, "reviewer": people["colleague"], "coach": people["coach"],
           "group_member": group_member, "facilitator": people["facilitator"], "stranger": people["city_leader"]}

    def table():
        session.expire_all()
        a, sc = session.get(Attempt, attempt.id), session.get(Scenario, own.id)
        return {role: {action: authz.may(user, action, a) for action in
                       ("view", "comment", "score", "share", "delete", "reflect", "choose")}
                | {f"scenario:{action}": authz.may(user, action, sc) for action in ("view", "edit", "rehearse")}
                for role, user in who.items()}

    private = table()
    assert private["owner"] == {"view": True, "comment": True, "score": False, "share": True, "delete": True,
                                "reflect": True, "choose": False, "scenario:view": True, "scenario:edit": True,
                                "scenario:rehearse": True}
    assert private["reviewer"] == {"view": True, "comment": True, "score": True, "share": False, "delete": False,
                                   "reflect": False, "choose": False, "scenario:view": False,
                                   "scenario:edit": False, "scenario:rehearse": False}
    for role in ("coach", "group_member", "facilitator", "stranger"):  # private until shown: a coach too
        assert not any(v for k, v in private[role].items()), role
    rehearsals.show_to_group(session, teacher, attempt.public_id, True)
    session.commit()
    shown = table()
    assert {k for k, v in shown["group_member"].items() if v} == {"view", "comment"}
    assert {k for k, v in shown["facilitator"].items() if v} == {"view", "comment", "score", "choose"}
    assert not any(shown["coach"].values()) and not any(shown["stranger"].values())
    # Lists follow the same rule.
    assert rehearsals.group_attempts(session, group_member, group) == [session.get(Attempt, attempt.id)]
    assert rehearsals.group_attempts(session, people["coach"], group) == []
    with pytest.raises(NotVisible):
        rehearsals.get_group(session, people["coach"], group.public_id)


def test_group_rehearsal_pages(app, session, people, scenarios):
    teacher, facilitator = people["teacher"], people["facilitator"]
    plc = builders.community(session, facilitator, "Fractions PLC", (teacher.email,))
    fac = signed_in(app, facilitator.email, people["password"])
    token = csrf_token(fac, "/rehearsals/")
    page = fac.get(f"/rehearsals/scenarios/{scenarios['sample-eighths'].public_id}").get_data(as_text=True)
    assert 'id="group-form"' in page
    bad = fac.post("/rehearsals/groups", data={"scenario": scenarios["sample-eighths"].public_id,
                                                "community": "nope", "csrf_token": token}, follow_redirects=True)
    assert bad.status_code == 404 and "No such object" in bad.get_data(as_text=True)
    member = signed_in(app, teacher.email, people["password"])
    refused = member.post("/rehearsals/groups", data={"scenario": scenarios["sample-eighths"].public_id,
                                                      "community": plc.public_id,
                                                      "csrf_token": csrf_token(member, "/rehearsals/")},
                          follow_redirects=True)
    assert "Only a facilitator" in refused.get_data(as_text=True)
    made = fac.post("/rehearsals/groups", data={"scenario": scenarios["sample-eighths"].public_id,
                                                "community": plc.public_id, "note": "Thursday 16:00",
                                                "csrf_token": token})
    assert made.status_code == 302
    group_url = made.headers["Location"]
    assert "Thursday 16:00" in member.get(group_url).get_data(as_text=True)
    started = member.post(group_url + "/attempts", data={"media": "mic", "csrf_token": csrf_token(member,
                                                                                                 "/rehearsals/")})
    assert started.status_code == 302 and "/rehearsals/attempts/" in started.headers["Location"]
    assert 'id="recorder"' in member.get(started.headers["Location"]).get_data(as_text=True)
    assert signed_in(app, people["coach"].email, people["password"]).get(group_url).status_code == 404


# --------------------------------------------------------------------------------- loop back to class


def test_the_next_lesson_links_rehearsal_and_classroom(app, session, people, scenarios):
    teacher, coach = people["teacher"], people["coach"]
    attempt = rehearsals.start_attempt(session, teacher, scenarios["sample-eighths"].public_id)
    lesson = builders.ready_video(session, teacher, "Fractions, period 4", consent="full")
    session.commit()
    client = signed_in(app, teacher.email, people["password"])
    token = csrf_token(client, "/rehearsals/")
    bad = client.post(f"/rehearsals/attempts/{attempt.public_id}/next-lesson",
                      data={"lesson": "not-a-lesson", "csrf_token": token}, follow_redirects=True)
    assert "No such object" in bad.get_data(as_text=True)
    ok = client.post(f"/rehearsals/attempts/{attempt.public_id}/next-lesson",
                     data={"lesson": lesson.public_id, "csrf_token": token})
    assert ok.status_code == 302
    rehearsals.share(session, teacher, attempt.public_id, coach.email)
    builders.shared(session, lesson, coach.email)
    session.commit()
    coach_page = signed_in(app, coach.email, people["password"]).get(f"/videos/{lesson.public_id}")
    assert 'id="rehearsed"' in coach_page.get_data(as_text=True)
    assert attempt.public_id in coach_page.get_data(as_text=True)
    # Someone who sees the lesson but not the rehearsal is not told of it.
    builders.shared(session, lesson, people["colleague"].email)
    page = signed_in(app, people["colleague"].email, people["password"]).get(f"/videos/{lesson.public_id}")
    assert 'id="rehearsed"' not in page.get_data(as_text=True)


# --------------------------------------------------------------------------------- scenario files


def test_importing_and_editing_a_scenario_file(app, session, people, scenarios):
    teacher = people["teacher"]
    client = signed_in(app, teacher.email, people["password"])
    token = csrf_token(client, "/rehearsals/")
    text = (SAMPLE / "sample.yaml").read_text()
    missing_phase = re.sub(r"    anticipate: \{en: \"What does she.*\n", "", text)
    out_of_range = text.replace("score: 4, text: {en: Extends", "score: 9, text: {en: Extends")
    before = session.scalar(select(func.count()).select_from(Scenario))
    for name, body, reason in (
        ("mine.yaml", missing_phase, "mine.yaml:21: scenario 'sample-eighths': anticipate: is required"),
        ("mine.yaml", out_of_range, "criteria[2].levels[4].score: 9 is out of range: levels are scored 1 to 4"),
        ("mine.yaml", "scenarios: [", "malformed YAML"),
        ("empty.yaml", "", "Choose a scenario file"),
    ):
        answer = client.post("/rehearsals/import", data={
            "file": (io.BytesIO(body.encode()), name), "csrf_token": token},
            content_type="multipart/form-data", follow_redirects=True)
        assert answer.status_code == 200 and reason in html.unescape(answer.get_data(as_text=True)), reason
    assert session.scalar(select(func.count()).select_from(Scenario)) == before
    one = text.split("  - key: sample-launch")[0].replace("sample-eighths", "my-eighths")
    done = client.post("/rehearsals/import", data={"file": (io.BytesIO(one.encode()), "mine.yaml"),
                                                   "csrf_token": token}, content_type="multipart/form-data")
    assert done.status_code == 302
    mine = session.scalar(select(Scenario).where(Scenario.key == "my-eighths"))
    assert mine.owner_id == teacher.id and mine.version == 1
    edit_url = f"/rehearsals/scenarios/{mine.public_id}/edit"
    assert "my-eighths" in client.get(edit_url).get_data(as_text=True)
    refused = client.post(edit_url, data={"yaml": mine.yaml_text.replace("max_seconds: 60", "max_seconds: 6000"),
                                          "csrf_token": token})
    assert refused.status_code == 422 and "max_seconds: 6000 is out of range" in refused.get_data(as_text=True)
    renamed = client.post(edit_url, data={"yaml": mine.yaml_text.replace("my-eighths", "other"),
                                          "csrf_token": token})
    assert renamed.status_code == 422 and "cannot change" in renamed.get_data(as_text=True)
    saved = client.post(edit_url, data={"yaml": mine.yaml_text.replace("One eighth or one quarter?",
                                                                       "Eighths or quarters?"),
                                        "csrf_token": token})
    assert saved.status_code == 302
    session.expire_all()
    versions = list(session.scalars(select(Scenario).where(Scenario.key == "my-eighths").order_by(Scenario.version)))
    assert [(v.version, v.current) for v in versions] == [(1, False), (2, True)]
    assert versions[1].spec["title"]["en"] == "Eighths or quarters?"
    # Someone else may neither read nor edit it.
    other = signed_in(app, people["colleague"].email, people["password"])
    assert other.get(f"/rehearsals/scenarios/{mine.public_id}").status_code == 404
    assert other.get(edit_url).status_code == 404


def test_rehearsal_pages_and_forms(app, session, people, scenarios):
    teacher = people["teacher"]
    client = signed_in(app, teacher.email, people["password"])
    token = csrf_token(client, "/rehearsals/")
    index = client.get("/rehearsals/?topic=fractions").get_data(as_text=True)
    assert "One eighth or one quarter?" in index and "Launching the balance task" not in index
    hebrew = signed_in(app, people["colleague"].email, people["password"])  # the language is kept on the user
    hebrew.post("/language", data={"locale": "he", "csrf_token": csrf_token(hebrew, "/rehearsals/")})
    page = hebrew.get(f"/rehearsals/scenarios/{scenarios['sample-eighths'].public_id}").get_data(as_text=True)
    assert "שמינית או רבע?" in page and 'dir="rtl"' in page
    start = client.post(f"/rehearsals/scenarios/{scenarios['sample-eighths'].public_id}/attempts",
                        data={"media": "camera", "lang": "ar", "csrf_token": token})
    assert start.status_code == 302
    record = client.get(start.headers["Location"]).get_data(as_text=True)
    assert 'id="recorder"' in record and "ثُمن أم ربع؟" in record
    bad = client.post(f"/rehearsals/scenarios/{scenarios['sample-eighths'].public_id}/attempts",
                      data={"media": "fax", "csrf_token": token}, follow_redirects=True)
    assert "camera and microphone" in bad.get_data(as_text=True)
    for url in ("/rehearsals/from/misconception/nope", "/rehearsals/from/clip/nope",
                "/rehearsals/from/diagnostic/nope"):
        answer = client.post(url, data={"csrf_token": token}, follow_redirects=True)
        assert answer.status_code in (200, 404) and "Internal" not in answer.get_data(as_text=True), url
    made = client.post("/rehearsals/from/misconception/larger-denominator-larger", data={"csrf_token": token})
    assert made.status_code == 302
    assert "The misconception in the bank" in client.get(made.headers["Location"]).get_data(as_text=True)
    assert client.post("/rehearsals/attempts/nope/reflect", data={"reflection": "x", "csrf_token": token},
                       follow_redirects=True).status_code in (200, 404)
    assert client.get("/rehearsals/compare?a=x&b=y").status_code == 404
    assert jobs.REHEARSALS_VOICE == "classlab.rehearsals.voice"


def test_the_author_records_a_turn_in_their_own_voice(app, session, people, scenarios, tmp_path):
    from workers.rehearsals import voice_scenario

    teacher = people["teacher"]
    mine = rehearsals.from_misconception(session, teacher, "larger-denominator-larger")
    session.commit()
    client = signed_in(app, teacher.email, people["password"])
    token = csrf_token(client, "/rehearsals/")
    url = f"/rehearsals/scenarios/{mine.public_id}/voices"
    spoken = make_speech(tmp_path / "mine.wav", "Eight is more than four.", wav16k=False).read_bytes()
    for fields, reason in (({"turn": "1", "lang": "en"}, "Choose a sound file"),
                           ({"turn": "9", "lang": "en", "file": (io.BytesIO(spoken), "a.wav")}, "no student turn 9"),
                           ({"turn": "1", "lang": "fr", "file": (io.BytesIO(spoken), "a.wav")}, "not written in"),
                           ({"turn": "x", "lang": "en", "file": (io.BytesIO(spoken), "a.wav")}, "which student turn")):
        answer = client.post(url, data={**fields, "csrf_token": token}, content_type="multipart/form-data",
                             follow_redirects=True)
        assert answer.status_code == 200 and reason in html.unescape(answer.get_data(as_text=True)), reason
    ok = client.post(url, data={"turn": "1", "lang": "he", "file": (io.BytesIO(spoken), "mine.wav"),
                                "csrf_token": token}, content_type="multipart/form-data")
    assert ok.status_code == 302
    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    voice_scenario(mine.id, settings, store)
    session.expire_all()
    voices = session.get(Scenario, mine.id).voices
    assert voices["he"][0]["by"] == "author" and voices["he"][0]["key"].endswith(".m4a")
    assert voices["en"][0]["by"] == "espeak-ng"
    # Not a sound file: dropped, and the synthesised voice comes back.
    client.post(url, data={"turn": "1", "lang": "en", "file": (io.BytesIO(b"just text, not sound"), "x.wav"),
                           "csrf_token": token}, content_type="multipart/form-data")
    voice_scenario(mine.id, settings, store)
    session.expire_all()
    assert session.get(Scenario, mine.id).voices["en"][0]["by"] == "espeak-ng"
    # Only the author records: another teacher gets "not found".
    other = signed_in(app, people["colleague"].email, people["password"])
    assert other.post(url, data={"turn": "1", "lang": "en", "file": (io.BytesIO(spoken), "a.wav"),
                                 "csrf_token": csrf_token(other, "/rehearsals/")},
                      content_type="multipart/form-data").status_code == 404


def test_the_attempt_and_group_forms_take_good_input_and_refuse_bad(app, session, people, scenarios):
    teacher, facilitator, member = people["teacher"], people["facilitator"], people["other_teacher"]
    plc = builders.community(session, facilitator, "Fractions PLC", (teacher.email, member.email))
    group = rehearsals.start_group(session, facilitator, scenarios["sample-eighths"].public_id, plc.public_id)
    attempt = rehearsals.start_attempt(session, teacher, scenarios["sample-eighths"].public_id, group=group)
    alone = rehearsals.start_attempt(session, teacher, scenarios["sample-launch"].public_id)
    upload = builders.upload(app, session, teacher, 1000, "attempt.webm")
    rehearsals.attach_recording(session, teacher, attempt.public_id, upload.video.public_id)
    upload.video.status = VideoStatus.ready
    session.commit()
    client = signed_in(app, teacher.email, people["password"])
    base = f"/rehearsals/attempts/{attempt.public_id}"

    def post(who, url, **fields):
        answer = who.post(url, data={**fields, "csrf_token": tokens[id(who)]}, follow_redirects=True)
        return answer.status_code, html.unescape(answer.get_data(as_text=True))

    fac = signed_in(app, facilitator.email, people["password"])
    other = signed_in(app, member.email, people["password"])
    tokens = {id(c): csrf_token(c, "/rehearsals/") for c in (client, fac, other)}
    assert "no ClassLab user with the e-mail not an address" in post(client, base + "/share", email="not an address")[1]
    assert "no ClassLab user" in post(client, base + "/share", email="nobody@a.example")[1]
    assert "share it with a colleague" in post(client, base + "/share", email=teacher.email)[1]
    assert "characters long; at most 10000" in post(client, base + "/reflect", reflection="x" * 10_001)[1]
    assert "Shared with Dana Cohen" in post(client, base + "/share", email=people["colleague"].email)[1]
    share_id = session.scalar(select(Attempt).where(Attempt.id == attempt.id)).shares[0].id
    assert post(client, f"{base}/shares/{share_id + 99}/revoke")[0] == 404
    assert "No longer shared" in post(client, f"{base}/shares/{share_id}/revoke")[1]
    # Not in a group: nothing to show it to. In the group: shown, chosen by the facilitator, then closed.
    assert "not recorded in a group" in post(client, f"/rehearsals/attempts/{alone.public_id}/group", shown="1")[1]
    assert post(fac, base + "/choose", chosen="1")[0] == 404  # not shown to the group yet
    assert "The group may watch this attempt" in post(client, base + "/group", shown="1")[1]
    code, page = post(fac, base + "/choose", chosen="1")
    assert code == 200 and "on screen" in page
    assert post(client, base + "/choose", chosen="1")[0] in (403, 404)  # the author does not choose
    assert post(client, f"/rehearsals/groups/{group.public_id}/close")[0] in (403, 404)
    assert "closed" in post(fac, f"/rehearsals/groups/{group.public_id}/close")[1]
    assert "This group rehearsal is closed" in post(client, f"/rehearsals/groups/{group.public_id}/attempts",
                                                    media="camera")[1]
    # An upload that never finished is recorded again; a finished one is not thrown away.
    interrupted = rehearsals.start_attempt(session, teacher, scenarios["sample-launch"].public_id)
    stuck = builders.upload(app, session, teacher, 1000, "attempt.webm")
    rehearsals.attach_recording(session, teacher, interrupted.public_id, stuck.video.public_id)
    session.commit()
    assert "stopped before it was fully uploaded" in client.get(
        f"/rehearsals/attempts/{interrupted.public_id}").get_data(as_text=True)
    code, page = post(client, f"/rehearsals/attempts/{interrupted.public_id}/restart")
    assert code == 200 and 'id="recorder"' in page
    post(client, base + "/restart")
    session.expire_all()
    assert session.get(Attempt, attempt.id).video_id is not None
    # Deleting: someone else cannot; the owner deletes the attempt with its recording, then the scenario.
    # (a group member sees the shown attempt, so the refusal is a 403, not a 404)
    assert other.post(base + "/delete", data={"csrf_token": csrf_token(other, "/rehearsals/")}).status_code == 403
    video_id = session.get(Attempt, attempt.id).video_id
    assert "were deleted" in post(client, base + "/delete")[1]
    session.expire_all()
    assert session.get(Attempt, attempt.id) is None and session.get(Video, video_id) is None
    mine = rehearsals.from_misconception(session, teacher, "larger-denominator-larger")
    tried = rehearsals.start_attempt(session, teacher, mine.public_id)
    recorded = builders.upload(app, session, teacher, 1000, "attempt.webm")
    rehearsals.attach_recording(session, teacher, tried.public_id, recorded.video.public_id)
    session.commit()
    recording, tried_id = recorded.video.id, tried.id
    assert post(other, f"/rehearsals/scenarios/{mine.public_id}/delete")[0] == 404
    assert "were deleted" in post(client, f"/rehearsals/scenarios/{mine.public_id}/delete")[1]
    session.expire_all()  # its attempts went with it, and their recordings
    assert session.get(Attempt, tried_id) is None and session.get(Video, recording) is None
    assert post(client, f"/rehearsals/scenarios/{scenarios['sample-launch'].public_id}/delete")[0] in (403, 404)


def test_a_scenario_from_a_clip_plays_the_clip_as_its_situation(app, session, people, scenarios, lesson_file):
    teacher = people["teacher"]
    lesson = builders.processed_video(app, session, teacher, lesson_file(4), "Fractions, period 5")
    session.delete(lesson.transcript)  # the generated lesson's tone has no words: give it some
    session.commit()
    builders.transcribed_lines(session, lesson, "Which is bigger?", "One eighth, eight is more than four.")
    clip = builders.ready_clip(app, session, teacher, lesson, "The eighths moment", 1.0, 3.0)
    made = rehearsals.from_clip(session, teacher, clip.public_id)
    session.commit()
    client = signed_in(app, teacher.email, people["password"])
    started = client.post(f"/rehearsals/scenarios/{made.public_id}/attempts",
                          data={"media": "mic", "csrf_token": csrf_token(client, "/rehearsals/")})
    for url in (f"/rehearsals/scenarios/{made.public_id}", started.headers["Location"]):
        page = client.get(url).get_data(as_text=True)
        player = re.search(r'<video[^>]*id="clip-context"[^>]*>', page) or re.search(
            r'<video[^>]*src="([^"]+)"[^>]*id="clip-context"', page)
        assert player, url
        assert "#t=1,3" in player.group(0), player.group(0)  # the owner plays the lesson's range, not all of it
    assert 'id="rehearse-clip-form"' in client.get(f"/videos/clips/{clip.public_id}").get_data(as_text=True)
