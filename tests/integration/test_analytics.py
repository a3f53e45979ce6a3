"""Lesson analytics end to end: the measures of a lesson, its pages and forms, naming the teacher's voice,
reviewing markers and turning one into a comment, sharing with the coach, the lesson's language, the API, the
data export, and who may read any of it."""

from __future__ import annotations

import json

import pytest

from app import jobs
from app.analytics import service as analytics
from app.analytics.models import LessonAnalysis, LessonMarker
from app.feedback.models import Comment
from app.video import service as videos
from app.video.models import VideoStatus
from tests import builders
from tests.web import bearer, csrf_token, signed_in
from workers import pipeline


@pytest.fixture
def analysis(session, people):
    return builders.analysed_video(session, people["teacher"])


def marker(analysis, kind: str) -> LessonMarker:
    return next(m for m in analysis.markers if m.kind == kind)


def test_the_measures_of_a_scripted_exchange(session, analysis):
    m = analysis.measures
    assert analysis.status == "done" and analysis.has_text and analysis.language == "en"
    assert m["teacher_share"] == pytest.approx(37.5 / 60, abs=0.005)
    assert m["student_share"] == pytest.approx(8 / 60, abs=0.005)
    assert m["student_turns"] == 3
    assert m["questions_open"] >= 1 and m["questions_closed"] >= 1
    assert m["wait1_median"] is not None
    kinds = {}
    for mk in analysis.markers:
        kinds.setdefault(mk.kind, mk)  # the first of each kind
    assert kinds["question_open"].start == pytest.approx(8.5, abs=0.6)
    wait = next(mk for mk in analysis.markers if mk.kind == "wait1" and mk.start == pytest.approx(11.0, abs=0.3))
    assert wait.end == pytest.approx(15.0, abs=0.3)
    uptake = kinds["uptake"]
    assert uptake.start == pytest.approx(20.0, abs=0.6)
    assert "pieces" in json.dumps(uptake.detail)
    assert kinds["monologue"].start == pytest.approx(38.0, abs=0.6)


def test_the_lesson_page_shows_the_card_the_band_the_voices_and_the_markers_in_hebrew(app, session, people, analysis):
    teacher = signed_in(app, people["teacher"].email, people["password"])
    teacher.post("/language", data={"csrf_token": csrf_token(teacher, "/dashboard"), "locale": "he"})
    page = teacher.get(f"/videos/{analysis.video.public_id}/analytics")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for part in ('id="measures"', 'id="talk-band"', 'id="voices"', 'id="markers"', 'id="turns"', 'dir="rtl"'):
        assert part in html, part
    assert "Because the pieces of the half are bigger pieces." in html
    watch = teacher.get(f"/videos/{analysis.video.public_id}").get_data(as_text=True)
    assert 'id="lesson-analytics"' in watch and 'class="speaker"' in watch


def test_naming_the_teachers_voice_relabels_every_turn_and_measures_again(app, session, people, analysis):
    teacher = signed_in(app, people["teacher"].email, people["password"])
    path = f"/videos/{analysis.video.public_id}/analytics"
    token = csrf_token(teacher, path)
    for bad in ("", "x", "7", "-1", "99999999999"):
        answer = teacher.post(f"{path}/teacher", data={"csrf_token": token, "voice": bad}, follow_redirects=True)
        assert answer.status_code == 200
        assert "Choose one of the voices heard in this lesson." in answer.get_data(as_text=True), bad
    session.expire_all()
    assert session.get(LessonAnalysis, analysis.id).teacher_voice == 0
    answer = teacher.post(f"{path}/teacher", data={"csrf_token": token, "voice": "1"})
    assert answer.status_code == 302
    session.expire_all()
    found = session.get(LessonAnalysis, analysis.id)
    assert found.teacher_voice == 1 and found.teacher_set_by == "person" and found.status == "waiting"
    pipeline.analyse(found.video_id, app.extensions["classlab.settings"], app.extensions["classlab.storage"],
                     listen=False)
    session.expire_all()
    found = session.get(LessonAnalysis, analysis.id)
    assert found.status == "done" and found.teacher_voice == 1
    assert found.measures["teacher_share"] == pytest.approx(4 / 60, abs=0.005)  # voice 1 spoke 4 s
    assert found.measures["student_turns"] == 6


def test_a_measure_that_read_the_analysis_before_a_correction_never_overwrites_it(app, session, people, analysis):
    """The worker reads the analysis, the teacher names another voice meanwhile: the worker may not write measures
    of the voice she has just corrected (and mark it done); the measure her correction asked for does."""
    from sqlalchemy.orm import Session

    worker = Session(session.get_bind(), expire_on_commit=False)
    try:
        read = worker.get(LessonAnalysis, analysis.id)
        assert read.teacher_voice == 0
        worker.commit()  # the worker's read ends; its write comes later
        analytics.set_teacher(session, people["teacher"], analysis.video.public_id, 1)
        session.commit()
        assert not analytics.claim(worker, read)
        worker.rollback()
        now = worker.get(LessonAnalysis, analysis.id)
        assert now.teacher_voice == 1 and analytics.claim(worker, now)
        worker.rollback()
    finally:
        worker.close()
    session.expire_all()
    found = session.get(LessonAnalysis, analysis.id)
    assert found.status == "waiting" and found.teacher_voice == 1


def test_a_marker_is_confirmed_corrected_dismissed_or_turned_into_a_tagged_comment(app, session, people, analysis):
    question, uptake = marker(analysis, "question_open"), marker(analysis, "uptake")
    builders.talk_framework(session)
    teacher = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(teacher, f"/videos/{analysis.video.public_id}/analytics")
    base = f"/analytics/markers/{question.public_id}"
    for data, message in (({"verdict": "maybe"}, "Confirm, correct or dismiss the marker."),
                          ({"verdict": "correct", "kind": "shouting"}, "Choose what this moment is."),
                          ({"verdict": "correct"}, "Choose what this moment is.")):
        answer = teacher.post(f"{base}/review", data={"csrf_token": token, **data}, follow_redirects=True)
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)
    assert teacher.post(f"{base}/review", data={"csrf_token": token, "verdict": "correct",
                                                "kind": "question_closed"}).status_code == 302
    session.expire_all()
    found = session.get(LessonMarker, question.id)
    assert (found.state, found.shown_kind) == ("corrected", "question_closed")
    assert teacher.post(f"{base}/review", data={"csrf_token": token, "verdict": "dismiss"}).status_code == 302
    session.expire_all()
    assert session.get(LessonMarker, question.id).state == "dismissed"

    empty = teacher.post(f"/analytics/markers/{uptake.public_id}/comment",
                         data={"csrf_token": token, "body": "  "}, follow_redirects=True)
    assert empty.status_code == 200
    assert session.query(Comment).count() == 0
    unknown = teacher.post(f"/analytics/markers/{uptake.public_id}/comment",
                           data={"csrf_token": token, "body": "Nice", "tags": "nope:nothing"}, follow_redirects=True)
    assert "Unknown framework element" in unknown.get_data(as_text=True)
    assert session.query(Comment).count() == 0
    made = teacher.post(f"/analytics/markers/{uptake.public_id}/comment",
                        data={"csrf_token": token, "body": "You built on her words here.", "tags": "talk:build"})
    assert made.status_code == 302
    session.expire_all()
    comment = session.query(Comment).one()
    assert comment.start == pytest.approx(uptake.start) and comment.tags[0]["element"] == "build"
    again = session.get(LessonMarker, uptake.id)
    assert again.comment_id == comment.id and again.state == "confirmed"
    twice = teacher.post(f"/analytics/markers/{uptake.public_id}/comment",
                         data={"csrf_token": token, "body": "Again"}, follow_redirects=True)
    assert "This moment is already a comment." in twice.get_data(as_text=True)


def test_a_re_run_keeps_the_markers_people_reviewed(app, session, people, analysis):
    question = marker(analysis, "question_open")
    analytics.review_marker(session, people["teacher"], question.public_id, "confirm")
    session.commit()
    count = len(analysis.markers)
    pipeline.analyse(analysis.video_id, app.extensions["classlab.settings"], app.extensions["classlab.storage"],
                     listen=False)
    session.expire_all()
    found = session.get(LessonAnalysis, analysis.id)
    assert len(found.markers) == count
    assert session.get(LessonMarker, question.id).state == "confirmed"


def test_the_analysis_is_private_until_shared_and_then_only_the_coach_reads_it(app, session, people, analysis):
    lesson = analysis.video
    builders.shared(session, lesson, people["colleague"].email)
    builders.active_coach_link(session, people["leader"], people["coach"].email, people["teacher"])
    builders.shared(session, lesson, people["coach"].email)
    path = f"/videos/{lesson.public_id}/analytics"
    api = f"/api/v1/analytics/lessons/{lesson.public_id}"
    readers = {role: signed_in(app, people[role].email, people["password"])
               for role in ("coach", "colleague", "leader", "admin", "facilitator", "other_teacher")}
    for role, client in readers.items():
        assert client.get(path).status_code == 404, role
        assert client.get(api).status_code == 404, role
        assert 'id="lesson-analytics"' not in client.get(f"/videos/{lesson.public_id}").get_data(as_text=True)
    teacher = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(teacher, path)
    bad = teacher.post(f"{path}/share", data={"csrf_token": token, "shared": "perhaps"}, follow_redirects=True)
    assert "Say whether your coach may read these measures." in bad.get_data(as_text=True)
    assert teacher.post(f"{path}/share", data={"csrf_token": token, "shared": "yes"}).status_code == 302
    coach = readers.pop("coach")
    assert coach.get(path).status_code == 200
    assert coach.get(api).get_json()["measures"]["student_turns"] == 3
    assert 'id="lesson-analytics"' in coach.get(f"/videos/{lesson.public_id}").get_data(as_text=True)
    coach_token = csrf_token(coach, path)
    # The coach reads and reviews; naming the voices and sharing stay the teacher's.
    assert coach.post(f"{path}/teacher", data={"csrf_token": coach_token, "voice": "1"}).status_code == 403
    assert coach.post(f"{path}/share", data={"csrf_token": coach_token, "shared": "no"}).status_code == 403
    trend = coach.get(f"/analytics/teachers/{people['teacher'].id}")
    assert trend.status_code == 200 and analysis.video.title in trend.get_data(as_text=True)
    for role, client in readers.items():
        assert client.get(path).status_code == 404, role
        assert client.get(f"/analytics/teachers/{people['teacher'].id}").status_code == 404, role
    assert coach.get("/analytics/teachers/99999999999").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 302
    teacher.post(f"{path}/share", data={"csrf_token": token, "shared": "no"})
    assert coach.get(path).status_code == 404


def test_dashboards_and_trends_show_the_analysed_lessons(app, session, people, analysis):
    builders.analysed_video(session, people["teacher"], title="Equivalent fractions")
    builders.active_coach_link(session, people["leader"], people["coach"].email, people["teacher"])
    analytics.set_shared(session, people["teacher"], analysis.video.public_id, True)
    session.commit()
    teacher = signed_in(app, people["teacher"].email, people["password"])
    board = teacher.get("/dashboard").get_data(as_text=True)
    assert 'id="analytics-panel"' in board and "Equivalent fractions" in board
    trends = teacher.get("/analytics/").get_data(as_text=True)
    assert 'id="trend-talk"' in trends and "<svg" in trends and "Comparing fractions" in trends
    coach = signed_in(app, people["coach"].email, people["password"])
    coach_board = coach.get("/dashboard").get_data(as_text=True)
    assert 'id="analytics-panel"' in coach_board and people["teacher"].display_name in coach_board
    mine = coach.get("/analytics/").get_data(as_text=True)
    assert 'id="coached"' in mine and 'id="no-analytics"' in mine
    assert coach.get(f"/api/v1/analytics/teachers/{people['teacher'].id}/trends").get_json()[0]["title"] == \
        "Comparing fractions"


def test_choosing_the_lessons_language_transcribes_it_again(app, session, people, analysis):
    lesson = analysis.video
    lesson.status = VideoStatus.ready
    session.commit()
    teacher = signed_in(app, people["teacher"].email, people["password"])
    token = csrf_token(teacher, f"/videos/{lesson.public_id}")
    bad = teacher.post(f"/videos/{lesson.public_id}/language", data={"csrf_token": token, "language": "fr"},
                       follow_redirects=True)
    assert "Choose the lesson&#39;s language: Hebrew, Arabic or English." in bad.get_data(as_text=True)
    session.expire_all()
    assert session.get(type(lesson), lesson.id).language == "en"
    colleague = signed_in(app, people["colleague"].email, people["password"])
    assert colleague.post(f"/videos/{lesson.public_id}/language",
                          data={"csrf_token": csrf_token(colleague, "/dashboard"), "language": "he"}).status_code == 404
    same = teacher.post(f"/videos/{lesson.public_id}/language", data={"csrf_token": token, "language": "en"})
    assert same.status_code == 302
    session.expire_all()
    assert session.get(type(lesson), lesson.id).status == VideoStatus.ready
    good = teacher.post(f"/videos/{lesson.public_id}/language", data={"csrf_token": token, "language": "he"},
                        follow_redirects=True)
    assert "transcribed again" in good.get_data(as_text=True)
    session.expire_all()
    again = session.get(type(lesson), lesson.id)
    assert (again.language, again.status) == ("he", VideoStatus.transcoded)


def test_a_new_lesson_takes_its_teachers_language(session, people):
    people["teacher"].locale = "ar"
    made = videos.create_video(session, people["teacher"], title="درس", filename="lesson.mp4")
    assert made.language == "ar"
    people["colleague"].locale = None
    assert videos.create_video(session, people["colleague"], title="x", filename="x.mp4").language == "en"


def test_correcting_the_transcript_asks_for_the_measures_again(session, people, analysis):
    videos.correct_segment(session, people["teacher"], analysis.video.public_id, 2, "Because the half has bigger "
                           "pieces.")
    assert jobs.Job(jobs.ANALYTICS_MEASURE, (analysis.video_id,)) in jobs.pending(session)
    session.rollback()


def test_the_api_reads_relabels_reviews_and_comments(app, session, people, analysis):
    question = marker(analysis, "question_open")
    headers = bearer(session, people["teacher"])
    client = app.test_client()
    base = f"/api/v1/analytics/lessons/{analysis.video.public_id}"
    body = client.get(base, headers=headers).get_json()
    assert body["status"] == "done" and body["turns"][0]["role"] == "teacher" and body["markers"]
    assert client.patch(base, json={"teacher_voice": 42}, headers=headers).status_code == 422
    assert client.patch(base, json={"teacher_voice": "one"}, headers=headers).status_code == 422
    changed = client.patch(base, json={"teacher_voice": 2, "shared_with_coach": True}, headers=headers).get_json()
    assert changed["teacher_voice"] == 2 and changed["shared_with_coach"] and changed["teacher_set_by"] == "person"
    assert client.post(f"/api/v1/analytics/markers/{question.public_id}", json={"verdict": "nope"},
                       headers=headers).status_code == 422
    reviewed = client.post(f"/api/v1/analytics/markers/{question.public_id}", json={"verdict": "confirm"},
                           headers=headers).get_json()
    assert reviewed["state"] == "confirmed"
    made = client.post(f"/api/v1/analytics/markers/{question.public_id}/comment", json={"body": "A good why."},
                       headers=headers)
    assert made.status_code == 201 and made.get_json()["start"] == pytest.approx(question.start)
    assert client.get("/api/v1/analytics/trends", headers=headers).get_json()[0]["lesson"] == \
        analysis.video.public_id
    other = bearer(session, people["colleague"])
    assert client.get(base, headers=other).status_code == 404
    assert client.post(f"/api/v1/analytics/markers/{question.public_id}", json={"verdict": "confirm"},
                       headers=other).status_code == 404


def test_the_data_export_holds_the_analyses(session, people, analysis):
    rows = analytics.export_for(session, people["teacher"])
    assert rows[0]["lesson"] == analysis.video.public_id and rows[0]["turns"] and rows[0]["markers"]
    assert analytics.export_for(session, people["colleague"]) == []


@pytest.fixture(scope="module")
def scripted_video(tmp_path_factory):
    """A scripted lesson of one teacher and three students (tests/lessongen.py) as a small video with its sound."""
    from tests import media_files
    from tests.lessongen import make_lesson

    spoken = make_lesson("en", students=3)
    path = media_files.make_video(tmp_path_factory.mktemp("scripted") / "lesson.mp4", seconds=round(spoken.duration, 2),
                                  speech_wav=spoken.path)
    return path, spoken


def test_a_recorded_lesson_is_analysed_after_the_pipeline_on_each_stack(app, session, people, scripted_video):
    """Upload to ready to analysed, through storage (files or S3) and the database of each stack: the turns are
    stored, the teacher is the voice heard most, the shares are the script's, the markers are there."""
    path, spoken = scripted_video
    video = builders.processed_video(app, session, people["teacher"], path, title="Multiplication")
    pipeline.analyse(video.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    session.expire_all()
    found = analytics.analysis_of(session, video)
    assert found.status == "done" and found.has_text and found.teacher_set_by == "machine"
    assert len(found.voices) == 4 and found.teacher_voice == 0
    assert abs(found.measures["teacher_share"] - spoken.share("teacher")) <= 0.05
    assert found.measures["questions_open"] >= 2 and found.measures["uptake_count"] >= 1
    assert {m.kind for m in found.markers} >= {"question_open", "question_closed", "uptake"}
    assert [t.position for t in found.turns] == list(range(len(found.turns)))


def test_a_lesson_without_speech_or_without_sound_ends_in_a_clear_state(app, session, people, lesson_file, tmp_path):
    from tests import media_files

    silent = media_files.make_video(tmp_path / "silent.mp4", seconds=6)  # a 440 Hz tone and no word: no speech
    video = builders.processed_video(app, session, people["teacher"], silent, title="Quiet work")
    pipeline.analyse(video.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    session.expire_all()
    quiet = analytics.analysis_of(session, video)
    assert quiet.status == "done" and quiet.turns == [] and quiet.measures["silence_share"] == 1.0
    teacher = signed_in(app, people["teacher"].email, people["password"])
    page = teacher.get(f"/videos/{video.public_id}/analytics").get_data(as_text=True)
    assert 'id="no-speech-heard"' in page

    mute = media_files.make_video(tmp_path / "mute.mp4", seconds=3, audio=False)
    video = builders.processed_video(app, session, people["teacher"], mute, title="No sound")
    pipeline.analyse(video.id, app.extensions["classlab.settings"], app.extensions["classlab.storage"])
    session.expire_all()
    none = analytics.analysis_of(session, video)
    assert none.status == "failed" and none.reason == "This lesson has no sound to analyse."
    page = teacher.get(f"/videos/{video.public_id}/analytics").get_data(as_text=True)
    assert 'id="analysis-failed"' in page and "This lesson has no sound to analyse." in page


def test_a_transcript_corrected_to_nothing_leaves_the_talk_measures_and_no_questions(app, session, people, analysis):
    teacher = signed_in(app, people["teacher"].email, people["password"])
    path = f"/videos/{analysis.video.public_id}/transcript/edit"
    token = csrf_token(teacher, path)
    form = {f"segment-{n}": "" for n in range(len(builders.EXCHANGE))}
    assert teacher.post(path, data={"csrf_token": token, **form}).status_code == 302
    pipeline.analyse(analysis.video_id, app.extensions["classlab.settings"], app.extensions["classlab.storage"],
                     listen=False)
    session.expire_all()
    found = session.get(LessonAnalysis, analysis.id)
    assert found.status == "done" and found.measures["teacher_share"] == pytest.approx(37.5 / 60, abs=0.005)
    assert found.measures["questions_open"] == 0 and found.measures["uptake_count"] == 0
    assert teacher.get(f"/videos/{analysis.video.public_id}/analytics").status_code == 200
