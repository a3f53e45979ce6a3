"""Pages of certification: the standards, cohorts (candidates, course meetings, attendance, assigning assessors,
agreement and calibration), a portfolio (assembling, submitting, scoring), certificates (JSON, PDF, revoking),
the register, and the public verification page."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import authz, charts, db, pdf
from app.accounts.forms import ActionForm
from app.config import RTL
from app.errors import InvalidInput, form_errors_to, msg
from app.inputs import digits, local_datetime
from app.standards import service, standardsfile
from app.standards.models import ATTENDANCE
from app.standards.policy import leads, may_read_register, runs_programme
from app.video import clips
from app.video.models import Clip

bp = Blueprint("standards", __name__, url_prefix="/standards")
verify_bp = Blueprint("verify", __name__, url_prefix="/verify")

MAX_CREDENTIAL_BYTES = 200_000


def _lang() -> str:
    return str(get_locale() or "en")[:2]


def _settings():
    return current_app.extensions["classlab.settings"]


def _id(value: str | None, field: str) -> int:
    found = digits(value or "", 2**31 - 1)
    if found is None:
        raise InvalidInput(msg("Choose a valid %(field)s.", field=field), field=field)
    return found


def kind_labels() -> dict[str, str]:
    return {"clip": _("Lesson clip"), "cycle": _("Coaching cycle led"), "meeting": _("Community meeting facilitated"),
            "attempt": _("Rehearsal attempt")}


def state_labels() -> dict[str, str]:
    return {"draft": _("Draft"), "submitted": _("Submitted"), "certified": _("Certified"),
            "not_certified": _("Not certified yet")}


def attendance_labels() -> dict[str, str]:
    return {"present": _("Attended"), "absent": _("Absent"), "excused": _("Excused")}


def verify_labels() -> dict[str, str]:
    return {"valid": _("Valid: issued by us, intact and not revoked."),
            "revoked": _("Revoked: this certificate was withdrawn and is no longer valid."),
            "tampered": _("Not valid: the certificate was changed after it was signed."),
            "unknown-key": _("Not valid: it was not signed with the institute's key."),
            "unknown": _("Not valid: we issued no such certificate."),
            "malformed": _("Not valid: this is not a signed certificate (JSON with a proof) that we can read.")}


def _to_cohort(public_id: str, **_kw) -> str:
    return url_for("standards.cohort", public_id=public_id)


def _to_portfolio(public_id: str, **_kw) -> str:
    return url_for("standards.portfolio", public_id=public_id)


# ---------------------------------------------------------------------------------------------- home and browse


@bp.get("/")
@login_required
def index():
    s = db.session()
    framework = standardsfile.current()
    return render_template(
        "standards/index.html", framework=framework, lang=_lang(), portfolios=service.portfolios_of(s, current_user),
        certificates=service.certificates_of(s, current_user), cohorts=service.cohorts(s, current_user),
        assignments=service.my_assignments(s, current_user), states=state_labels(),
        runs=runs_programme(current_user), register=may_read_register(current_user),
        trainings=service.trainings(s, current_user), keys=service.keys(s) if runs_programme(current_user) else [],
        action_form=ActionForm(), today=date.today())


@bp.get("/framework")
@login_required
def framework():
    found = standardsfile.current()
    chosen = request.args.get("role", "")[:40]
    role = found.role(chosen) or found.roles[0]
    return render_template("standards/framework.html", framework=found, role=role, lang=_lang(),
                           kinds=kind_labels())


# ------------------------------------------------------------------------------------------------------- cohorts


@bp.post("/cohorts")
@login_required
@form_errors_to("standards.index", "#new-cohort")
def create_cohort():
    f = request.form
    share = digits(f.get("double_share", "").strip() or "0", 100)
    if share is None:
        raise InvalidInput(msg("The share scored twice is a percentage from 0 to 100."), field="double_share")
    cohort = service.create_cohort(
        db.session(), current_user, name=f.get("name", ""), role_key=f.get("role", "")[:40],
        deadline=local_datetime(f.get("deadline"), "deadline", get_timezone()), leader_email=f.get("leader", ""),
        blind=bool(f.get("blind")), double_share=share / 100)
    flash(_("The cohort is open. Add its candidates."), "info")
    return redirect(url_for("standards.cohort", public_id=cohort.public_id))


@bp.get("/cohorts/<public_id>")
@login_required
def cohort(public_id: str):
    s = db.session()
    found = service.get_cohort(s, current_user, public_id)
    manage = authz.may(current_user, "manage", found)
    role = service.role_of(found.framework_ref, found.role_key)
    portfolios = service.cohort_portfolios(s, current_user, found) if manage else []
    results = {p.id: service.results(p) for p in portfolios if p.status != "draft"}
    mine = next((p for p in service.portfolios_of(s, current_user) if p.cohort_id == found.id), None)
    return render_template(
        "standards/cohort.html", cohort=found, role=role, lang=_lang(), manage=manage, portfolios=portfolios,
        results=results, missing={p.id: service.missing(p) for p in portfolios if p.status == "draft"},
        members=service.members(s, found), attendance=service.attendance_table(s, found), mine=mine,
        states=state_labels(), marks=attendance_labels(), attendance_values=ATTENDANCE, action_form=ActionForm())


@bp.post("/cohorts/<public_id>/members")
@login_required
@form_errors_to(_to_cohort, "#candidates")
def add_members(public_id: str):
    added = service.add_members(db.session(), current_user, public_id, request.form.get("emails", "")[:20_000])
    flash(_("Candidates added: %(n)d.", n=len(added)), "info")
    return redirect(url_for("standards.cohort", public_id=public_id) + "#candidates")


@bp.post("/cohorts/<public_id>/members/<int:user_id>/remove")
@login_required
@form_errors_to(_to_cohort, "#candidates")
def remove_member(public_id: str, user_id: int):
    service.remove_member(db.session(), current_user, public_id, user_id)
    flash(_("The candidate was removed from the cohort."), "info")
    return redirect(url_for("standards.cohort", public_id=public_id) + "#candidates")


@bp.post("/cohorts/<public_id>/sessions")
@login_required
@form_errors_to(_to_cohort, "#course")
def add_session(public_id: str):
    f = request.form
    service.add_session(db.session(), current_user, public_id, title=f.get("title", ""),
                        held_at=local_datetime(f.get("held_at"), "held_at", get_timezone()), place=f.get("place", ""))
    flash(_("The course meeting was added."), "info")
    return redirect(url_for("standards.cohort", public_id=public_id) + "#course")


@bp.post("/cohorts/<public_id>/sessions/<int:session_id>/attendance")
@login_required
@form_errors_to(_to_cohort, "#course")
def attendance(public_id: str, session_id: int):
    marks = {}
    for name, value in request.form.items():
        if name.startswith("user-"):
            marks[_id(name[5:], "candidate")] = value[:10]
    count = service.set_attendance(db.session(), current_user, public_id, session_id, marks)
    flash(_("Attendance saved for %(n)d candidates.", n=count), "info")
    return redirect(url_for("standards.cohort", public_id=public_id) + "#course")


@bp.post("/cohorts/<public_id>/assign")
@login_required
@form_errors_to(_to_cohort, "#portfolios")
def assign(public_id: str):
    report = service.assign(db.session(), current_user, public_id)
    flash(_("Assigned: %(first)d standards to score, %(double)d second scorings, %(third)d third assessors.",
            first=report.assigned, double=report.double, third=report.third), "info")
    if report.waiting:
        flash(_("Waiting for a third trained assessor: %(standards)s.", standards=", ".join(report.waiting)), "error")
    return redirect(url_for("standards.cohort", public_id=public_id) + "#portfolios")


@bp.get("/cohorts/<public_id>/agreement")
@login_required
def agreement(public_id: str):
    s = db.session()
    found = service.get_cohort(s, current_user, public_id, "manage")
    report = service.agreement_report(s, current_user, public_id)
    role = service.role_of(found.framework_ref, found.role_key)
    framework = service.framework_of(found.framework_ref)
    rtl = _lang() in RTL
    chart = None
    if report.overall.pairs:
        chart = Markup(charts.bar_chart_svg(
            {s_.key: round((report.by_standard[s_.key].exact or 0) * 100) for s_ in role.standards},
            title=_("Exact agreement per standard, in percent"), rtl=rtl))
    return render_template("standards/agreement.html", cohort=found, role=role, report=report, lang=_lang(),
                           levels=framework.levels, chart=chart)


@bp.post("/training")
@login_required
@form_errors_to("standards.index", "#training")
def training():
    f = request.form
    try:
        trained_on = date.fromisoformat(f.get("trained_on", "")[:10])
    except ValueError:
        raise InvalidInput(msg("Give the date of the training."), field="trained_on") from None
    made = service.record_training(db.session(), current_user, email=f.get("email", ""), framework_ref=None,
                                   role_key=f.get("role", "")[:40],
                                   standard_keys=[k[:40] for k in f.getlist("standards")][:20], trained_on=trained_on)
    flash(_("Training recorded for %(n)d standards.", n=len(made)), "info")
    return redirect(url_for("standards.index") + "#training")


# ---------------------------------------------------------------------------------------------------- portfolios


def _clip_views(s, portfolio, evidence: dict) -> dict[str, dict]:
    """For each frozen clip the reader may watch: its player source (signed, for this reader)."""
    store = current_app.extensions["classlab.storage"]
    seconds = _settings().media_url_seconds
    out = {}
    for pieces in evidence.values():
        for piece in pieces:
            if piece.get("kind") != "clip":
                continue
            clip = s.query(Clip).filter_by(public_id=piece.get("ref", "")).one_or_none()
            if clip is None or not authz.may(current_user, "view", clip):
                out[piece["ref"]] = {"gone": clip is None}
                continue
            src, offset = clips.media_url(store, seconds, current_user, clip)
            out[piece["ref"]] = {"src": src, "offset": offset or 0.0, "start": clip.start, "end": clip.end}
    return out


@bp.get("/portfolios/<public_id>")
@login_required
def portfolio(public_id: str):
    s = db.session()
    found = service.get_portfolio(s, current_user, public_id)
    role = service.role_for(found)
    framework = service.framework_of(found.cohort.framework_ref)
    lang = _lang()
    candidate_view = found.candidate_id == current_user.id
    editing = candidate_view and found.status == "draft"
    evidence = service.evidence_for_assessor(found, current_user) if found.status != "draft" else {}
    from app.standards.policy import assigned_standards

    mine = {sc.standard_key: sc for sc in found.scores if sc.assessor_id == current_user.id}
    results = service.results(found) if found.status != "draft" else []
    show_results = found.status in ("certified", "not_certified") or leads(current_user, found.cohort)
    return render_template(
        "standards/portfolio.html", portfolio=found, role=role, framework=framework, lang=lang,
        editing=editing, candidate_view=candidate_view, options=service.evidence_options(s, found.candidate, lang)
        if editing else {}, sources=service.entry_sources(s, found) if editing else {},
        missing={g.standard_key: g for g in service.missing(found)} if editing else {},
        evidence=evidence, clip_views=_clip_views(s, found, evidence), kinds=kind_labels(), states=state_labels(),
        label=service.candidate_label(found, current_user), mine=mine, assigned=assigned_standards(current_user, found),
        results={r.key: r for r in results} if show_results else {}, show_results=show_results,
        blind_to_candidate=found.cohort.blind and candidate_view, past_deadline=service._now() > found.cohort.deadline,
        certificate=found.certificate, action_form=ActionForm(),
        words=service.words)


@bp.post("/portfolios/<public_id>/entries")
@login_required
@form_errors_to(_to_portfolio)
def add_entry(public_id: str):
    f = request.form
    kind, _sep, ref = f.get("evidence", "").partition(":")
    standard = f.get("standard", "")[:40]
    service.add_entry(db.session(), current_user, public_id, standard_key=standard, kind=kind[:10],
                      evidence=ref[:32], commentary=f.get("commentary", "")[:20_000])
    flash(_("The evidence was added to the standard."), "info")
    return redirect(url_for("standards.portfolio", public_id=public_id) + f"#standard-{standard}")


@bp.post("/portfolios/<public_id>/entries/<int:entry_id>")
@login_required
@form_errors_to(_to_portfolio)
def set_commentary(public_id: str, entry_id: int):
    entry = service.set_commentary(db.session(), current_user, public_id, entry_id,
                                   request.form.get("commentary", "")[:20_000])
    flash(_("Commentary saved."), "info")
    return redirect(url_for("standards.portfolio", public_id=public_id) + f"#standard-{entry.standard_key}")


@bp.post("/portfolios/<public_id>/entries/<int:entry_id>/remove")
@login_required
@form_errors_to(_to_portfolio)
def remove_entry(public_id: str, entry_id: int):
    service.remove_entry(db.session(), current_user, public_id, entry_id)
    flash(_("The evidence was taken out of the portfolio."), "info")
    return redirect(url_for("standards.portfolio", public_id=public_id))


@bp.post("/portfolios/<public_id>/submit")
@login_required
@form_errors_to(_to_portfolio, "#submit")
def submit(public_id: str):
    service.submit(db.session(), current_user, public_id)
    flash(_("Your portfolio is submitted. Assessors will read it as it is now."), "info")
    return redirect(url_for("standards.portfolio", public_id=public_id))


@bp.post("/portfolios/<public_id>/scores")
@login_required
@form_errors_to(_to_portfolio, "#scoring")
def score(public_id: str):
    f = request.form
    level = digits(f.get("level", ""), 100)
    standard = f.get("standard", "")[:40]
    service.score(db.session(), current_user, public_id, standard_key=standard, level=level,
                  rationale=f.get("rationale", "")[:20_000], settings=_settings())
    flash(_("Your score of %(standard)s is recorded.", standard=standard), "info")
    return redirect(url_for("standards.portfolio", public_id=public_id) + "#scoring")


# -------------------------------------------------------------------------------------------------- certificates


@bp.get("/certificates/<public_id>")
@login_required
def certificate(public_id: str):
    s = db.session()
    found = service.get_certificate(s, current_user, public_id)
    role = service.role_of(found.framework_ref, found.role_key)
    return render_template("standards/certificate.html", certificate=found, role=role, lang=_lang(),
                           verify_url=service.verify_url(_settings().public_url, found.public_id),
                           may_revoke=authz.may(current_user, "revoke", found), action_form=ActionForm())


@bp.get("/certificates/<public_id>/credential.json")
@login_required
def credential_json(public_id: str):
    found = service.get_certificate(db.session(), current_user, public_id, "download")
    body = json.dumps(found.document, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/ld+json", headers={
        "Content-Disposition": f'attachment; filename="certificate-{public_id[:12]}.json"',
        "Cache-Control": "private, no-store"})


def _qr_svg(url: str) -> Markup:
    import qrcode
    import qrcode.image.svg

    return Markup(qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=6,
                              border=2).to_string(encoding="unicode"))


@bp.get("/certificates/<public_id>/certificate.pdf")
@login_required
def certificate_pdf(public_id: str):
    s = db.session()
    found = service.get_certificate(s, current_user, public_id, "download")
    lang = (request.args.get("lang") or _lang())[:2]
    lang = lang if lang in ("en", "he", "ar") else "en"
    role = service.role_of(found.framework_ref, found.role_key)
    url = service.verify_url(_settings().public_url, found.public_id)
    with force_locale(lang):
        html = render_template("standards/certificate_print.html", certificate=found, role=role, lang=lang,
                               verify_url=url, qr=_qr_svg(url), institute=_settings().institute_name,
                               inline_css=Markup(pdf.stylesheet("certificate-print.css")))
    return Response(pdf.render(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="certificate-{public_id[:12]}-{lang}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.post("/certificates/<public_id>/revoke")
@login_required
@form_errors_to("standards.certificate")
def revoke(public_id: str):
    service.revoke(db.session(), current_user, public_id, request.form.get("reason", "")[:5000])
    flash(_("The certificate is revoked; its verification page now says so."), "info")
    return redirect(url_for("standards.certificate", public_id=public_id))


@bp.get("/register")
@login_required
def register():
    s = db.session()
    role = request.args.get("role", "")[:40] or None
    year = digits(request.args.get("year", ""), 9999)
    organization = request.args.get("organization", "")[:200] or None
    found = service.register(s, current_user, settings=_settings(), role_key=role, year=year,
                             organization=organization)
    framework = standardsfile.current()
    lang = _lang()
    roles = {r.key: standardsfile.text(r.title, lang) for r in framework.roles}
    top = max([found.target, *found.cumulative, 5])
    step = -(-top // 5)
    chart = Markup(charts.line_chart_svg(
        [str(y) for y in found.years], {_("Certified (cumulative)"): found.cumulative, _("Target"): found.target_line},
        title=_("Certified teacher leaders against the target of %(n)d", n=found.target), rtl=lang in RTL,
        lo=0, hi=step * 5, step=step))
    by_role = Markup(charts.bar_chart_svg({roles.get(k, k): v for k, v in found.by_role.items()} or {"—": 0},
                                          title=_("Certified by role"), rtl=lang in RTL))
    return render_template("standards/register.html", register=found, chart=chart, by_role=by_role, roles=roles,
                           role=role, year=year, organization=organization, lang=lang)


@bp.get("/issuer")
def issuer():
    """The issuer's profile (Open Badges 3.0 Profile), named as the issuer of every certificate."""
    base = _settings().public_url.rstrip("/")
    body = {"@context": ["https://www.w3.org/ns/credentials/v2",
                         "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": f"{base}/standards/issuer", "type": ["Profile"], "name": _settings().institute_name, "url": base}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/ld+json")


# ------------------------------------------------------------------------------------------- public verification


@verify_bp.get("/")
def verify_form():
    return render_template("standards/verify.html", outcome=None, labels=verify_labels(), lang=_lang(),
                           action_form=ActionForm())


def _issued(outcome):
    """The credential's validFrom as a date and time to show, or None when it is not one."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(outcome.claims.get("valid_from", "").replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def _role_title(outcome) -> str:
    if outcome.certificate is None:
        return ""
    role = standardsfile.framework(outcome.certificate.framework_ref)
    found = role.role(outcome.certificate.role_key) if role else None
    return standardsfile.text(found.title, _lang()) if found else ""


@verify_bp.post("/")
def verify_post():
    upload = request.files.get("file")
    raw = upload.read(MAX_CREDENTIAL_BYTES + 1) if upload and upload.filename else \
        request.form.get("credential", "").encode("utf-8")
    outcome, problem = None, None
    if len(raw) > MAX_CREDENTIAL_BYTES:
        problem = _("This file is too large to be a certificate.")
    elif not raw.strip():
        problem = _("Paste the certificate's JSON or choose its file.")
    else:
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            problem = _("This is not JSON: paste the certificate's JSON file as it was downloaded.")
        else:
            outcome = service.verify(db.session(), document)
    status = 422 if problem else 200
    return render_template("standards/verify.html", outcome=outcome, problem=problem, labels=verify_labels(),
                           role_title=_role_title(outcome) if outcome else "", lang=_lang(),
                           issued=_issued(outcome) if outcome else None,
                           action_form=ActionForm()), status


@verify_bp.get("/<public_id>")
def verify_issued(public_id: str):
    outcome = service.verify_issued(db.session(), public_id)
    status = 404 if outcome.state == "unknown" else 200
    return render_template("standards/verify.html", outcome=outcome, labels=verify_labels(), lang=_lang(),
                           role_title=_role_title(outcome), issued=_issued(outcome), issued_page=True,
                           action_form=ActionForm()), status

