"""Certification end to end: cohorts and their course, a candidate's portfolio (evidence they may use, word limits,
what is missing, the deadline, frozen at submission), assessors (training, blind and assigned-only reading, a
share double-scored, a third assessor for a disagreement), agreement, certificates (signed, verified, refused once
changed or revoked, a key rotated), the register, the pages' forms with good and bad input, the API and the data
export. Runs on the embedded stack and on PostgreSQL + Redis."""

from __future__ import annotations

import copy
import datetime as dt
import html
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from app import authz
from app.errors import Conflict, InvalidInput, NotVisible
from app.notifications.models import Notification
from app.standards import service as standards
from app.standards import standardsfile
from app.standards.models import CredentialKey, Portfolio, Score
from app.video.models import Clip
from tests import builders
from tests.web import bearer, csrf_token, signed_in

ROLE = "instructional_coach"


def _page(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def settings_of(app):
    return app.extensions["classlab.settings"]


@pytest.fixture
def assessors(session, people):
    """Three trained assessors of the coach's standards (the city leader, the colleague, the other teacher)."""
    found = [people["city_leader"], people["colleague"], people["other_teacher"]]
    for person in found:
        builders.trained(session, people["admin"], person, ROLE)
    return found


@pytest.fixture
def cohort(session, people):
    people["coach"].display_name = "Yael Mizrahi"  # a name no page holds otherwise ("coach" is in the menu)
    session.commit()
    return builders.cohort(session, people["admin"], ROLE, people["coach"].email)


def _portfolio(session, cohort, user) -> Portfolio:
    return session.scalar(select(Portfolio).where(Portfolio.cohort_id == cohort.id, Portfolio.candidate_id == user.id))


def _submitted(session, people, cohort) -> Portfolio:
    portfolio = _portfolio(session, cohort, people["coach"])
    builders.complete_portfolio(session, people["coach"], portfolio)
    standards.submit(session, people["coach"], portfolio.public_id)
    session.commit()
    return portfolio


def _score_all(session, portfolio, level_for, settings, rounds=(1, 2, 3)) -> None:
    for score in list(portfolio.scores):
        if score.level is None and score.round in rounds:
            assessor = session.get(type(score.assessor), score.assessor_id)
            standards.score(session, assessor, portfolio.public_id, standard_key=score.standard_key,
                            level=level_for(score), rationale="Indicators 1 and 2 are shown in the clip.",
                            settings=settings)
    session.commit()


# ------------------------------------------------------------------------------------------------- the standards


def test_the_shipped_standards_are_in_three_languages_and_shown_to_everyone(app, people):
    framework = standardsfile.current()
    assert {r.key for r in framework.roles} == set(standardsfile.ROLE_KEYS)
    client = signed_in(app, people["teacher"].email, people["password"])
    for lang in ("en", "he", "ar"):
        client.post("/language", data={"locale": lang, "csrf_token": csrf_token(client, "/standards/")})
        page = _page(client.get(f"/standards/framework?role={ROLE}"))
        role = framework.role(ROLE)
        assert role.title[lang] in page and role.standards[0].rubric[1][lang] in page
    got = client.get("/api/v1/standards/framework").get_json()
    assert got["ref"] == framework.ref and len(got["roles"]) == 4


# ------------------------------------------------------------------------------------------------------- cohorts


def test_only_the_institute_opens_a_cohort_and_the_form_refuses_bad_input(app, session, people):
    admin = signed_in(app, people["admin"].email, people["password"])
    token = csrf_token(admin, "/standards/")
    soon = (dt.datetime.now() + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    good = {"name": "Coaches north 2027", "role": ROLE, "deadline": soon, "leader": people["facilitator"].email,
            "double_share": "30", "blind": "1", "csrf_token": token}
    resp = admin.post("/standards/cohorts", data=good)
    assert resp.status_code == 302 and "/standards/cohorts/" in resp.headers["Location"]
    for bad, message in (({"deadline": "2020-01-01T10:00"}, "must be in the future"),
                         ({"deadline": "yesterday"}, "is not a date and time"),
                         ({"role": "principal"}, "no role"),
                         ({"name": ""}, "Give the cohort a name"),
                         ({"double_share": "150"}, "percentage from 0 to 100"),
                         ({"leader": "nobody@example.org"}, "No active account")):
        resp = admin.post("/standards/cohorts", data={**good, **bad}, follow_redirects=True)
        assert resp.status_code == 200 and message in _page(resp), bad
    teacher = signed_in(app, people["teacher"].email, people["password"])
    resp = teacher.post("/standards/cohorts", data={**good, "csrf_token": csrf_token(teacher, "/standards/")},
                        follow_redirects=True)
    assert "Only the institute" in _page(resp)
    from app.standards.models import Cohort

    assert session.scalar(select(Cohort).where(Cohort.name == "Coaches north 2027")).leader_id == \
        people["facilitator"].id
    assert len(session.scalars(select(Cohort)).all()) == 1


def test_candidates_course_meetings_and_attendance(app, session, people, cohort):
    leader = signed_in(app, people["admin"].email, people["password"])
    page = f"/standards/cohorts/{cohort.public_id}"
    token = csrf_token(leader, page)
    resp = leader.post(f"{page}/members", data={"emails": f"{people['teacher'].email}\nnobody@example.org",
                                                "csrf_token": token}, follow_redirects=True)
    assert "nobody@example.org" in _page(resp) and "Nobody was added" in _page(resp)
    assert len(standards.members(session, cohort)) == 1
    resp = leader.post(f"{page}/members", data={"emails": people["teacher"].email, "csrf_token": token},
                       follow_redirects=True)
    assert "Candidates added: 1" in _page(resp)
    resp = leader.post(f"{page}/sessions", data={"title": "Meeting 1: coaching cycles", "held_at": "soon",
                                                 "csrf_token": token}, follow_redirects=True)
    assert "is not a date and time" in _page(resp)
    resp = leader.post(f"{page}/sessions", data={"title": "Meeting 1: coaching cycles",
                                                 "held_at": "2026-12-10T16:00", "place": "Haifa",
                                                 "csrf_token": token}, follow_redirects=True)
    assert "The course meeting was added" in _page(resp)
    from app.standards.models import Cohort

    meeting = session.get(Cohort, cohort.id).sessions[0]
    coach, teacher = people["coach"], people["teacher"]
    resp = leader.post(f"{page}/sessions/{meeting.id}/attendance",
                       data={f"user-{coach.id}": "present", f"user-{teacher.id}": "sick", "csrf_token": token},
                       follow_redirects=True)
    assert "present, absent or excused" in _page(resp)
    resp = leader.post(f"{page}/sessions/{meeting.id}/attendance",
                       data={f"user-{coach.id}": "present", f"user-{teacher.id}": "excused", "csrf_token": token},
                       follow_redirects=True)
    assert "Attendance saved for 2 candidates" in _page(resp)
    resp = leader.post(f"{page}/sessions/{meeting.id}/attendance",
                       data={f"user-{people['leader'].id}": "present", "csrf_token": token}, follow_redirects=True)
    assert "not a candidate of this cohort" in _page(resp)
    assert standards.attendance_table(session, cohort) == {(meeting.id, coach.id): "present",
                                                           (meeting.id, teacher.id): "excused"}
    # A candidate reads the cohort and their own attendance; an outsider gets "not found".
    candidate = signed_in(app, coach.email, people["password"])
    assert "Your attendance" in _page(candidate.get(page)) and "Attended" in _page(candidate.get(page))
    assert candidate.post(f"{page}/members", data={"emails": "x@example.org",
                                                   "csrf_token": csrf_token(candidate, page)}).status_code in (302, 403)
    outsider = signed_in(app, people["other_teacher"].email, people["password"])
    assert outsider.get(page).status_code == 404


# ---------------------------------------------------------------------------------------------------- portfolios


def test_a_portfolio_takes_only_evidence_the_candidate_may_use(session, people, cohort):
    coach = people["coach"]
    portfolio = _portfolio(session, cohort, coach)
    role = standards.role_for(portfolio)
    clip_standard = next(s for s in role.standards if "clip" in s.evidence.kinds)
    cycle_standard = next(s for s in role.standards if "cycle" in s.evidence.kinds)
    add = lambda **kw: standards.add_entry(session, coach, portfolio.public_id, **kw)  # noqa: E731
    # Someone else's clip, the coach's own clip of a lesson without full consent, a cycle someone else led.
    others = builders.evidence(session, people["teacher"], "clip", "Noa's clip")
    no_consent = builders.clip(session, coach, builders.ready_video(session, coach, "No consent", 60.0), "Mine", 1, 9)
    cycle_of_other = builders.evidence(session, people["colleague"], "cycle", "Dana's cycle")
    for kind, ref, standard, message in (
            ("clip", others, clip_standard, "only your own clips"),
            ("clip", no_consent.public_id, clip_standard, "full consent"),
            ("cycle", cycle_of_other, cycle_standard, "cycles you led"),
            ("clip", "nonexistent", clip_standard, "only your own clips")):
        with pytest.raises(InvalidInput, match=message):
            add(standard_key=standard.key, kind=kind, evidence=ref)
        session.rollback()
    with pytest.raises(InvalidInput, match="no standard"):
        add(standard_key="ZZ-9", kind="clip", evidence=others)
    session.rollback()
    wrong_kind = next((k for k in standardsfile.EVIDENCE_KINDS if k not in clip_standard.evidence.kinds), None)
    if wrong_kind:
        with pytest.raises(InvalidInput, match="does not take that kind"):
            add(standard_key=clip_standard.key, kind=wrong_kind, evidence=others)
        session.rollback()
    mine = builders.evidence(session, coach, "clip", "Wait time with 9th grade")
    too_long = " ".join(["word"] * (clip_standard.evidence.words + 1))
    with pytest.raises(InvalidInput, match=f"has {clip_standard.evidence.words + 1} words"):
        add(standard_key=clip_standard.key, kind="clip", evidence=mine, commentary=too_long)
    session.rollback()
    entry = add(standard_key=clip_standard.key, kind="clip", evidence=mine, commentary="")
    session.commit()
    with pytest.raises(Conflict, match="already in this standard"):
        add(standard_key=clip_standard.key, kind="clip", evidence=mine)
    session.rollback()
    gaps = {g.standard_key: g for g in standards.missing(portfolio)}
    assert gaps[clip_standard.key].without_commentary == 1
    with pytest.raises(Conflict, match="not complete yet"):
        standards.submit(session, coach, portfolio.public_id)
    session.rollback()
    assert portfolio.status == "draft"
    standards.set_commentary(session, coach, portfolio.public_id, entry.id, "שאלתי שאלה פתוחה וחיכיתי.")
    session.commit()
    assert standards.words(entry.commentary) == 4
    # Nobody else edits it; an outsider does not even see it.
    with pytest.raises(NotVisible):
        standards.add_entry(session, people["other_teacher"], portfolio.public_id, standard_key=clip_standard.key,
                            kind="clip", evidence=mine)


def test_submission_freezes_the_portfolio_and_the_deadline_holds(session, people, cohort):
    coach = people["coach"]
    portfolio = _portfolio(session, cohort, coach)
    builders.complete_portfolio(session, coach, portfolio)
    late = cohort.deadline + dt.timedelta(minutes=1)
    with pytest.raises(Conflict, match="deadline has passed"):
        standards.submit(session, coach, portfolio.public_id, now=late)
    session.rollback()
    standards.submit(session, coach, portfolio.public_id)
    session.commit()
    assert portfolio.status == "submitted" and portfolio.submitted_at is not None
    clip_piece = next(p for pieces in portfolio.frozen.values() for p in pieces if p["kind"] == "clip")
    clip = session.scalar(select(Clip).where(Clip.public_id == clip_piece["ref"]))
    clip.title = "Renamed after submission"
    session.commit()
    session.refresh(portfolio)
    assert clip_piece["title"] != "Renamed after submission"
    assert all(p["title"] != "Renamed after submission" for ps in portfolio.frozen.values() for p in ps)
    entry = portfolio.entries[0]
    for change in (lambda: standards.set_commentary(session, coach, portfolio.public_id, entry.id, "New"),
                   lambda: standards.remove_entry(session, coach, portfolio.public_id, entry.id),
                   lambda: standards.submit(session, coach, portfolio.public_id)):
        with pytest.raises((Conflict, authz.NotPermitted)):
            change()
        session.rollback()


def test_the_portfolio_page_forms(app, session, people, cohort):
    coach = people["coach"]
    portfolio = _portfolio(session, cohort, coach)
    role = standards.role_for(portfolio)
    standard = role.standards[0]
    kind = standard.evidence.kinds[0]
    ref = builders.evidence(session, coach, kind, "Evidence for the page")
    client = signed_in(app, coach.email, people["password"])
    page = f"/standards/portfolios/{portfolio.public_id}"
    body = _page(client.get(page))
    assert standard.title["en"] in body and "Evidence for the page" in body and "Submit the portfolio" in body
    token = csrf_token(client, page)
    resp = client.post(f"{page}/entries", data={"standard": standard.key, "evidence": "clip:nope", "commentary": "x",
                                                "csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200 and ("only your own" in _page(resp) or "does not take" in _page(resp))
    resp = client.post(f"{page}/entries", data={"standard": standard.key, "evidence": f"{kind}:{ref}",
                                                "commentary": "It shows indicator 1.", "csrf_token": token},
                       follow_redirects=True)
    assert "The evidence was added" in _page(resp)
    entry = session.get(Portfolio, portfolio.id).entries[0]
    too_long = " ".join(["מילה"] * (standard.evidence.words + 5))
    resp = client.post(f"{page}/entries/{entry.id}", data={"commentary": too_long, "csrf_token": token},
                       follow_redirects=True)
    assert "this standard allows at most" in _page(resp)
    session.refresh(entry)
    assert entry.commentary == "It shows indicator 1."  # nothing lost
    resp = client.post(f"{page}/entries/{entry.id}", data={"commentary": "Better words.", "csrf_token": token},
                       follow_redirects=True)
    assert "Commentary saved" in _page(resp)
    resp = client.post(f"{page}/entries/999999", data={"commentary": "x", "csrf_token": token})
    assert resp.status_code in (302, 404)
    resp = client.post(f"{page}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "not complete yet" in _page(resp)
    resp = client.post(f"{page}/entries/{entry.id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "taken out" in _page(resp)
    session.expunge_all()
    coach = session.get(type(coach), coach.id)
    builders.complete_portfolio(session, coach, session.get(Portfolio, portfolio.id))
    resp = client.post(f"{page}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "Your portfolio is submitted" in _page(resp) and "Submitted" in _page(resp)


# ------------------------------------------------------------------------------------------------------ assessing


def test_assigning_needs_trained_assessors_and_assigns_all_or_nothing(session, people, cohort):
    portfolio = _submitted(session, people, cohort)
    with pytest.raises(Conflict, match="No trained assessor"):
        standards.assign(session, people["admin"], cohort.public_id)
    session.rollback()
    assert not session.scalars(select(Score)).all()
    # Trained for only the first standard: still nobody assigned, the others named.
    role = standards.role_for(portfolio)
    standards.record_training(session, people["admin"], email=people["colleague"].email, framework_ref=None,
                              role_key=ROLE, standard_keys=[role.standards[0].key], trained_on=dt.date(2026, 11, 1))
    session.commit()
    with pytest.raises(Conflict, match=role.standards[1].key):
        standards.assign(session, people["admin"], cohort.public_id)
    session.rollback()
    assert not session.scalars(select(Score)).all()
    with pytest.raises(InvalidInput, match="no standard"):
        standards.record_training(session, people["admin"], email=people["colleague"].email, framework_ref=None,
                                  role_key=ROLE, standard_keys=["XX-1"], trained_on=dt.date(2026, 11, 1))
    session.rollback()
    with pytest.raises(authz.NotPermitted):
        standards.record_training(session, people["teacher"], email=people["colleague"].email, framework_ref=None,
                                  role_key=ROLE, standard_keys=[role.standards[0].key],
                                  trained_on=dt.date(2026, 11, 1))


def test_blind_assessors_read_only_what_they_score_and_a_certificate_is_issued(
        app, session, people, cohort, assessors, settings_of):
    portfolio = _submitted(session, people, cohort)
    report = standards.assign(session, people["admin"], cohort.public_id)
    session.commit()
    role = standards.role_for(portfolio)
    assert report.assigned == len(role.standards) and report.double == 0
    first = portfolio.scores[0]
    assessor = session.get(type(people["admin"]), first.assessor_id)
    assert assessor.id != people["coach"].id
    # The assessor's page: a code instead of the name, only the assigned standards, the clip playable.
    client = signed_in(app, assessor.email, people["password"])
    page = _page(client.get(f"/standards/portfolios/{portfolio.public_id}"))
    assert people["coach"].display_name not in page and f"#{portfolio.public_id[:6].upper()}" in page
    theirs = {s.standard_key for s in portfolio.scores if s.assessor_id == assessor.id}
    for standard in role.standards:
        assert (f'id="standard-{standard.key}"' in page) == (standard.key in theirs)
    clip_entry = next((e for e in portfolio.entries if e.kind == "clip" and e.standard_key in theirs), None)
    if clip_entry is not None:
        clip = session.get(Clip, clip_entry.ref_id)
        assert authz.may(assessor, "view", clip) and not authz.may(people["leader"], "view", clip)
    assert any(n.kind == "portfolio_to_score" for n in session.scalars(
        select(Notification).where(Notification.user_id == assessor.id)))
    # Anyone not assigned gets "not found"; a bad score is refused and nothing is stored.
    outsider = signed_in(app, people["leader"].email, people["password"])
    assert outsider.get(f"/standards/portfolios/{portfolio.public_id}").status_code == 404
    token = csrf_token(client, f"/standards/portfolios/{portfolio.public_id}")
    url = f"/standards/portfolios/{portfolio.public_id}/scores"
    for bad, message in (({"level": "7"}, "one of the rubric"), ({"level": "x"}, "one of the rubric"),
                         ({"rationale": ""}, "Write the evidence for your score"),
                         ({"standard": "ZZ"}, "not assigned to score")):
        data = {"standard": first.standard_key, "level": "3", "rationale": "Shows 1.1 and 1.2.", "csrf_token": token}
        resp = client.post(url, data={**data, **bad}, follow_redirects=True)
        assert resp.status_code == 200 and message in _page(resp).replace("&#39;", "'"), bad
    session.expunge_all()
    assert all(s.level is None for s in session.scalars(select(Score)))
    resp = client.post(url, data={"standard": first.standard_key, "level": "3", "rationale": "Shows 1.1 and 1.2.",
                                  "csrf_token": token}, follow_redirects=True)
    assert "is recorded" in _page(resp)
    resp = client.post(url, data={"standard": first.standard_key, "level": "4", "rationale": "Again",
                                  "csrf_token": token}, follow_redirects=True)
    assert "final once given" in _page(resp)
    session.expunge_all()
    portfolio = session.get(Portfolio, portfolio.id)
    _score_all(session, portfolio, lambda s: 3, settings_of)
    session.expunge_all()
    portfolio = session.get(Portfolio, portfolio.id)
    assert portfolio.status == "certified"
    certificate = portfolio.certificate
    assert certificate.holder_name == people["coach"].display_name
    assert standards.verify(session, certificate.document).state == "valid"
    assert any(n.kind == "certified" for n in session.scalars(
        select(Notification).where(Notification.user_id == people["coach"].id)))
    # The candidate sees the results, without the assessors' names (blind).
    candidate = signed_in(app, people["coach"].email, people["password"])
    page = _page(candidate.get(f"/standards/portfolios/{portfolio.public_id}"))
    assert "Results" in page and assessor.display_name not in page and "see the certificate" in page


def test_double_scoring_a_disagreement_goes_to_a_third_assessor(session, people, assessors, settings_of):
    made = builders.cohort(session, people["admin"], ROLE, people["coach"].email, double_share=1.0, name="Twice")
    portfolio = _submitted(session, people, made)
    report = standards.assign(session, people["admin"], made.public_id)
    session.commit()
    role = standards.role_for(portfolio)
    assert report.double == len(role.standards) and portfolio.double_scored
    first_key = role.standards[0].key
    levels = {(first_key, 1): 1, (first_key, 2): 4}  # three levels apart on the first standard
    _score_all(session, portfolio, lambda s: levels.get((s.standard_key, s.round), 3), settings_of, rounds=(1, 2))
    session.expunge_all()
    portfolio = session.get(Portfolio, portfolio.id)
    third = [s for s in portfolio.scores if s.round == 3]
    assert len(third) == 1 and third[0].standard_key == first_key
    assert third[0].assessor_id not in {s.assessor_id for s in portfolio.scores
                                        if s.standard_key == first_key and s.round < 3}
    assert portfolio.status == "submitted"
    results = {r.key: r for r in standards.results(portfolio)}
    assert results[first_key].final is None and results[first_key].disagreement
    assert results[role.standards[1].key].final == 3
    _score_all(session, portfolio, lambda s: 2, settings_of, rounds=(3,))
    session.expunge_all()
    portfolio = session.get(Portfolio, portfolio.id)
    assert portfolio.status == "not_certified" and portfolio.certificate is None
    report = standards.agreement_report(session, people["admin"], made.public_id)
    assert report.by_standard[first_key].pairs == 1 and report.by_standard[first_key].exact == 0
    assert report.overall.exact == pytest.approx((len(role.standards) - 1) / len(role.standards))
    assert report.resolved == 1 and report.open_third == 0


def test_agreement_statistics_match_hand_worked_values():
    # Eight double-scored standards on a four-level rubric. Exact: 4/8. Within one level: 6/8. Linear-weighted
    # kappa: observed disagreement (0+0+0+0+1+1+2+2)/3/8 = 0.25; the first scorer's levels are uniform (2 each),
    # the second's 1:1, 2:3, 3:3, 4:1, so expected disagreement = mean over i of Σ_j q_j |i−j| / 3
    # = (1.5 + 0.75 + 0.75 + 1.5) / 4 / 3 = 0.375, and kappa = 1 − 0.25 / 0.375 = 1/3.
    pairs = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 3), (3, 2), (1, 3), (4, 2)]
    found = standards.agreement(pairs, [1, 2, 3, 4])
    assert found.pairs == 8 and found.exact == 0.5 and found.adjacent == 0.75
    assert found.kappa == pytest.approx(1 / 3)
    # Perfect agreement is 1; every score the same level leaves kappa undefined (0/0), never a crash.
    assert standards.agreement([(1, 1), (3, 3), (4, 4)], [1, 2, 3, 4]).kappa == pytest.approx(1.0)
    assert standards.agreement([(3, 3), (3, 3)], [1, 2, 3, 4]).kappa is None
    assert standards.agreement([], [1, 2, 3, 4]) == standards.Agreement(0, None, None, None)


def test_the_agreement_page_shows_per_standard_and_per_assessor(app, session, people, assessors, settings_of):
    made = builders.cohort(session, people["admin"], ROLE, people["coach"].email, double_share=1.0, name="Twice")
    portfolio = _submitted(session, people, made)
    standards.assign(session, people["admin"], made.public_id)
    session.commit()
    _score_all(session, portfolio, lambda s: 3 if s.round == 1 else 4, settings_of, rounds=(1, 2))
    client = signed_in(app, people["admin"].email, people["password"])
    page = _page(client.get(f"/standards/cohorts/{made.public_id}/agreement"))
    assert "Calibration by assessor" in page and "0%" in page and "100%" in page
    for person in assessors:
        if any(s.assessor_id == person.id for s in portfolio.scores):
            assert person.display_name in page
    assert signed_in(app, people["coach"].email, people["password"]).get(
        f"/standards/cohorts/{made.public_id}/agreement").status_code == 403
    got = client.get(f"/api/v1/standards/cohorts/{made.public_id}/agreement").get_json()
    assert got["overall"]["exact"] == 0 and got["overall"]["adjacent"] == 1


# --------------------------------------------------------------------------------------------------- certificates


@pytest.fixture
def certified(session, people, cohort, assessors, settings_of):
    portfolio = _submitted(session, people, cohort)
    standards.assign(session, people["admin"], cohort.public_id)
    session.commit()
    _score_all(session, portfolio, lambda s: 4, settings_of)
    session.expunge_all()
    return session.get(Portfolio, portfolio.id).certificate


def test_a_certificate_is_refused_after_one_byte_changes_or_after_revocation(app, session, people, certified):
    document = certified.document
    assert standards.verify(session, document).valid
    changed = copy.deepcopy(document)
    name = changed["credentialSubject"]["name"]
    changed["credentialSubject"]["name"] = name[:-1] + chr(ord(name[-1]) + 1)
    assert standards.verify(session, changed).state == "tampered"
    for bad in (None, [], "x", {}, {"proof": 3}, {**document, "proof": {**document["proof"], "proofValue": "z1"}}):
        assert not standards.verify(session, bad).valid
    client = app.test_client()  # the public page: no sign-in
    token = csrf_token(client, "/verify/")
    resp = client.post("/verify/", data={"credential": json.dumps(document), "csrf_token": token})
    assert resp.status_code == 200 and 'data-state="valid"' in _page(resp)
    resp = client.post("/verify/", data={"credential": json.dumps(changed), "csrf_token": token})
    assert 'data-state="tampered"' in _page(resp) and "changed after it was signed" in _page(resp)
    resp = client.post("/verify/", data={"file": (io.BytesIO(json.dumps(document).encode()), "cert.json"),
                                         "csrf_token": token}, content_type="multipart/form-data")
    assert 'data-state="valid"' in _page(resp)
    for bad, message in (("not json {", "This is not JSON"), ("", "Paste the certificate"),
                         ("[1, 2]", "not a signed certificate")):
        resp = client.post("/verify/", data={"credential": bad, "csrf_token": token})
        assert message in _page(resp).replace("&#39;", "'"), bad
    assert client.get(f"/verify/{certified.public_id}").status_code == 200
    assert client.get("/verify/nope").status_code == 404
    assert client.post("/api/v1/standards/verify", json=document).get_json()["state"] == "valid"
    # Revoked: the page and the API say so; the holder's page shows it.
    admin = signed_in(app, people["admin"].email, people["password"])
    page = f"/standards/certificates/{certified.public_id}"
    resp = admin.post(f"{page}/revoke", data={"reason": "", "csrf_token": csrf_token(admin, page)},
                      follow_redirects=True)
    assert "Write the reason for revoking" in _page(resp)
    resp = admin.post(f"{page}/revoke", data={"reason": "Evidence was not the candidate's own.",
                                              "csrf_token": csrf_token(admin, page)}, follow_redirects=True)
    assert "is revoked" in _page(resp)
    resp = client.post("/verify/", data={"credential": json.dumps(document), "csrf_token": token})
    assert 'data-state="revoked"' in _page(resp) and "not the candidate" in _page(resp)
    assert client.post("/api/v1/standards/verify", json=document).get_json()["state"] == "revoked"
    holder = signed_in(app, people["coach"].email, people["password"])
    assert holder.post(f"{page}/revoke", data={"reason": "x", "csrf_token": csrf_token(holder, page)}).status_code \
        in (302, 403)


def test_a_rotated_key_keeps_old_certificates_valid_and_a_stranger_key_is_refused(
        session, people, certified, settings_of):
    from app.standards import credentials

    old = certified.key_multibase
    standards.rotate_key(session, settings_of.instance_path)
    session.commit()
    keys = standards.keys(session)
    assert keys[0].retired_at is None and keys[0].public_multibase != old
    assert next(k for k in keys if k.public_multibase == old).retired_at is not None
    assert standards.verify(session, certified.document).valid
    assert standards.signing_key(session, settings_of.instance_path).public_multibase == keys[0].public_multibase
    stranger = credentials.sign({k: v for k, v in certified.document.items() if k != "proof"},
                                credentials.new_key(), created=dt.datetime.now(dt.UTC))
    assert standards.verify(session, stranger).state == "unknown-key"
    assert session.scalar(select(CredentialKey).where(CredentialKey.public_multibase == old)) is not None


def test_the_holder_downloads_the_certificate_as_json_and_pdf(app, session, people, certified):
    from pypdf import PdfReader

    client = signed_in(app, people["coach"].email, people["password"])
    page = f"/standards/certificates/{certified.public_id}"
    assert certified.holder_name in _page(client.get(page))
    got = client.get(f"{page}/credential.json")
    assert got.status_code == 200 and json.loads(got.data) == certified.document
    assert "OpenBadgeCredential" in json.loads(got.data)["type"]
    pdf = client.get(f"{page}/certificate.pdf?lang=he")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert certified.public_id in text.replace("\n", "")
    for outsider in ("teacher", "leader"):
        other = signed_in(app, people[outsider].email, people["password"])
        assert other.get(page).status_code == 404 and other.get(f"{page}/credential.json").status_code == 404
    assert client.get(f"/api/v1/standards/certificates/{certified.public_id}").get_json() == certified.document


def test_the_register_by_role_organization_and_year(app, session, people, certified):
    client = signed_in(app, people["admin"].email, people["password"])
    page = _page(client.get("/standards/register"))
    assert certified.holder_name in page and "<svg" in page and ("1,700" in page or "1700" in page)
    year = certified.issued_at.year
    assert certified.holder_name in _page(client.get(f"/standards/register?year={year}&role={ROLE}"))
    assert certified.holder_name not in _page(client.get(f"/standards/register?year={year - 1}"))
    assert client.get("/standards/register?year=abc&role=nobody").status_code == 200
    assert client.get("/standards/register?role=%00").status_code == 422  # refused text, as everywhere
    assert signed_in(app, people["teacher"].email, people["password"]).get("/standards/register").status_code == 403


# ---------------------------------------------------------------------------------------------- API and the export


def test_the_api_assembles_a_portfolio_and_refuses_bad_input(app, session, people, cohort):
    coach = people["coach"]
    portfolio = _portfolio(session, cohort, coach)
    standard = standards.role_for(portfolio).standards[0]
    kind = standard.evidence.kinds[0]
    ref = builders.evidence(session, coach, kind, "API evidence")
    name = cohort.name
    client, headers = app.test_client(), bearer(session, coach)
    url = f"/api/v1/standards/portfolios/{portfolio.public_id}"
    resp = client.post(f"{url}/entries", headers=headers, json={"standard": standard.key, "kind": "video",
                                                                 "evidence": ref})
    assert resp.status_code == 422
    resp = client.post(f"{url}/entries", headers=headers, json={"standard": standard.key, "kind": kind,
                                                                 "evidence": ref, "commentary": "It shows 1.1"})
    assert resp.status_code == 201
    entry = resp.get_json()["id"]
    assert client.patch(f"{url}/entries/{entry}", headers=headers, json={"commentary": 5}).status_code == 422
    assert client.patch(f"{url}/entries/{entry}", headers=headers, json={"commentary": "ok"}).status_code == 200
    got = client.get(url, headers=headers).get_json()
    assert got["status"] == "draft" and got["entries"][0]["commentary"] == "ok" and got["missing"]
    assert client.post(f"{url}/submit", headers=headers).status_code == 409
    other = bearer(session, people["other_teacher"])
    assert client.get(url, headers=other).status_code == 404
    assert client.post(f"{url}/scores", headers=other, json={"standard": standard.key, "level": 3,
                                                              "rationale": "x"}).status_code == 404
    assert [c["name"] for c in client.get("/api/v1/standards/cohorts", headers=headers).get_json()] == [name]


def test_the_data_export_holds_the_portfolio_and_the_certificate(app, session, people, certified):
    from app.export import service as exports

    store, settings = app.extensions["classlab.storage"], app.extensions["classlab.settings"]
    found = exports.request_export(session, people["coach"])
    session.commit()
    exports.build_export(session, store, found.id, work_folder=settings.work_folder)
    session.commit()
    with zipfile.ZipFile(io.BytesIO(b"".join(store.stream(found.key)))) as archive:
        data = json.loads(archive.read("certification/certification.json"))
    assert data["portfolios"][0]["status"] == "certified" and data["certificates"][0] == certified.document


def test_the_training_assign_and_remove_forms(app, session, people, cohort):
    coach_id, teacher_email = people["coach"].id, people["teacher"].email
    portfolio_id = _submitted(session, people, cohort).public_id
    standard_keys = [s.key for s in standardsfile.current().role(ROLE).standards]
    admin = signed_in(app, people["admin"].email, people["password"])
    page = f"/standards/cohorts/{cohort.public_id}"
    token = csrf_token(admin, "/standards/")
    resp = admin.post(f"{page}/assign", data={"csrf_token": token}, follow_redirects=True)
    assert "No trained assessor" in _page(resp) and "nobody was assigned" in _page(resp)
    good = {"email": people["colleague"].email, "role": ROLE, "standards": standard_keys,
            "trained_on": "2026-11-01", "csrf_token": token}
    for bad, message in (({"trained_on": "soon"}, "Give the date of the training"),
                         ({"email": "nobody@example.org"}, "No active account"),
                         ({"standards": []}, "Choose at least one standard"),
                         ({"standards": ["ZZ-1"]}, "no standard"),
                         ({"role": "principal"}, "no role")):
        resp = admin.post("/standards/training", data={**good, **bad}, follow_redirects=True)
        assert message in _page(resp), bad
    resp = admin.post("/standards/training", data=good, follow_redirects=True)
    assert f"Training recorded for {len(standard_keys)} standards" in _page(resp)
    resp = admin.post(f"{page}/assign", data={"csrf_token": token}, follow_redirects=True)
    assert f"Assigned: {len(standard_keys)} standards to score" in _page(resp)
    assert len(session.scalars(select(Score).where(Score.portfolio_id == session.scalar(
        select(Portfolio.id).where(Portfolio.public_id == portfolio_id)))).all()) == len(standard_keys)
    # A candidate who submitted stays; one who has not may be removed; a stranger is no candidate.
    resp = admin.post(f"{page}/members/{coach_id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "stays with the cohort" in _page(resp)
    admin.post(f"{page}/members", data={"emails": teacher_email, "csrf_token": token})
    teacher_id = session.scalar(select(type(people["teacher"]).id).where(
        type(people["teacher"]).email == teacher_email))
    resp = admin.post(f"{page}/members/{teacher_id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "was removed from the cohort" in _page(resp)
    resp = admin.post(f"{page}/members/{teacher_id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "not a candidate of this cohort" in _page(resp)
