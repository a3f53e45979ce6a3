"""JSON endpoints under /api/v1/standards/: the standards, cohorts, portfolios (assembling, submitting, scoring),
agreement, certificates and verification."""

from __future__ import annotations

from flask import current_app, jsonify
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.standards import service, standardsfile
from app.standards.policy import leads

blp = Blueprint("standards_api", __name__, url_prefix="/api/v1/standards",
                description="Teacher-leader standards, evidence portfolios, assessment and certificates")


def _framework_json(framework: standardsfile.Framework) -> dict:
    return {
        "ref": framework.ref, "title": framework.title,
        "levels": [{"value": lv.value, "label": lv.label, "description": lv.description} for lv in framework.levels],
        "roles": [{"key": r.key, "title": r.title, "description": r.description, "pass_level": r.pass_level,
                   "standards": [{"key": s.key, "title": s.title, "description": s.description,
                                  "indicators": [{"key": i.key, "text": i.text} for i in s.indicators],
                                  "evidence": {"kinds": list(s.evidence.kinds), "least": s.evidence.least,
                                               "most": s.evidence.most, "words": s.evidence.words},
                                  "rubric": {str(k): v for k, v in s.rubric.items()}}
                                 for s in r.standards]}
                  for r in framework.roles]}


class FrameworkOut(Schema):
    ref = fields.String()
    title = fields.Dict()
    levels = fields.List(fields.Dict())
    roles = fields.List(fields.Dict(), metadata={"description": "each role's standards, indicators, evidence rule "
                                                                "and rubric, texts as {en, he, ar}"})


class CohortOut(Schema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    role = fields.String(attribute="role_key")
    standards = fields.String(attribute="framework_ref")
    deadline = fields.DateTime()
    blind = fields.Boolean()
    double_share = fields.Float()


class EntryOut(Schema):
    id = fields.Integer()
    standard = fields.String(attribute="standard_key")
    kind = fields.String()
    commentary = fields.String()


class ScoreOut(Schema):
    standard = fields.String(attribute="standard_key")
    round = fields.Integer()
    level = fields.Integer(allow_none=True)
    rationale = fields.String()
    scored_at = fields.DateTime(allow_none=True)


def _portfolio_json(portfolio, actor) -> dict:
    out = {"id": portfolio.public_id, "cohort": portfolio.cohort.public_id, "role": portfolio.cohort.role_key,
           "standards": portfolio.cohort.framework_ref, "status": portfolio.status,
           "candidate": service.candidate_label(portfolio, actor),
           "submitted_at": portfolio.submitted_at.isoformat() if portfolio.submitted_at else None}
    if portfolio.candidate_id == actor.id and portfolio.status == "draft":
        out["entries"] = EntryOut(many=True).dump(portfolio.entries)
        out["missing"] = [{"standard": g.standard_key, "have": g.have, "least": g.least,
                           "without_commentary": g.without_commentary} for g in service.missing(portfolio)]
    else:
        out["evidence"] = service.evidence_for_assessor(portfolio, actor)
    mine = [s for s in portfolio.scores if s.assessor_id == actor.id]
    if mine:
        out["my_scores"] = ScoreOut(many=True).dump(mine)
    if portfolio.status in ("certified", "not_certified") or leads(actor, portfolio.cohort):
        out["results"] = [{"standard": r.key, "final": r.final, "met": r.met} for r in service.results(portfolio)]
    return out


class PortfolioOut(Schema):
    id = fields.String()
    cohort = fields.String()
    role = fields.String()
    standards = fields.String()
    status = fields.String(metadata={"description": "draft, submitted, certified or not_certified"})
    candidate = fields.String(metadata={"description": "the candidate's name, or a code when an assessor reads a "
                                                       "blind cohort's portfolio"})
    submitted_at = fields.String(allow_none=True)
    entries = fields.List(fields.Dict())
    missing = fields.List(fields.Dict())
    evidence = fields.Dict(metadata={"description": "the frozen evidence per standard the reader may read"})
    my_scores = fields.List(fields.Dict())
    results = fields.List(fields.Dict())


class EntryIn(Schema):
    standard = fields.String(required=True, validate=validate.Length(min=1, max=40))
    kind = fields.String(required=True, validate=validate.OneOf(standardsfile.EVIDENCE_KINDS))
    evidence = fields.String(required=True, validate=validate.Length(min=1, max=32),
                             metadata={"description": "the public id of the clip, cycle, meeting or attempt"})
    commentary = fields.String(load_default="", validate=validate.Length(max=20_000))


class CommentaryIn(Schema):
    commentary = fields.String(required=True, validate=validate.Length(max=20_000))


class ScoreIn(Schema):
    standard = fields.String(required=True, validate=validate.Length(min=1, max=40))
    level = fields.Integer(required=True, strict=True, validate=validate.Range(1, 100))
    rationale = fields.String(required=True, validate=validate.Length(max=20_000))


class AgreementOut(Schema):
    pairs = fields.Integer()
    exact = fields.Float(allow_none=True)
    adjacent = fields.Float(allow_none=True)
    kappa = fields.Float(allow_none=True, metadata={"description": "Cohen's kappa, linear weights"})


class CalibrationOut(Schema):
    assessor = fields.Function(lambda a: a.user.display_name)
    scored = fields.Integer()
    mean = fields.Float(allow_none=True)
    agreement = fields.Nested(AgreementOut)
    drift = fields.Float(allow_none=True, metadata={"description": "mean of (their score − the final level)"})
    exact_final = fields.Float(allow_none=True)


class AgreementReportOut(Schema):
    levels = fields.List(fields.Integer())
    by_standard = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementOut))
    matrices = fields.Dict(keys=fields.String(), values=fields.List(fields.List(fields.Integer())))
    overall = fields.Nested(AgreementOut)
    assessors = fields.List(fields.Nested(CalibrationOut))
    resolved = fields.Integer()
    open_third = fields.Integer()


class VerifyOut(Schema):
    valid = fields.Boolean()
    state = fields.String(metadata={"description": "valid, revoked, tampered, unknown-key, unknown or malformed"})
    claims = fields.Dict()


@blp.route("/framework")
class CurrentFramework(MethodView):
    @login_required
    @blp.response(200, FrameworkOut)
    def get(self):
        """The current version of the standards: roles, standards, indicators, evidence rules and rubric."""
        return _framework_json(standardsfile.current())


@blp.route("/cohorts")
class Cohorts(MethodView):
    @login_required
    @blp.response(200, CohortOut(many=True))
    def get(self):
        """The cohorts I run, lead or belong to."""
        return service.cohorts(db.session(), current_user)


@blp.route("/cohorts/<public_id>/agreement")
class CohortAgreement(MethodView):
    @login_required
    @blp.response(200, AgreementReportOut)
    def get(self, public_id: str):
        """Agreement between assessors of double-scored standards (exact, adjacent, weighted kappa), per standard
        and per assessor."""
        return service.agreement_report(db.session(), current_user, public_id)


@blp.route("/portfolios/<public_id>")
class OnePortfolio(MethodView):
    @login_required
    @blp.response(200, PortfolioOut)
    def get(self, public_id: str):
        s = db.session()
        return _portfolio_json(service.get_portfolio(s, current_user, public_id), current_user)


@blp.route("/portfolios/<public_id>/entries")
class Entries(MethodView):
    @login_required
    @blp.arguments(EntryIn)
    @blp.response(201, EntryOut)
    def post(self, body, public_id: str):
        """Add a piece of evidence to a standard of my draft portfolio."""
        return service.add_entry(db.session(), current_user, public_id, standard_key=body["standard"],
                                 kind=body["kind"], evidence=body["evidence"], commentary=body["commentary"])


@blp.route("/portfolios/<public_id>/entries/<int:entry_id>")
class OneEntry(MethodView):
    @login_required
    @blp.arguments(CommentaryIn)
    @blp.response(200, EntryOut)
    def patch(self, body, public_id: str, entry_id: int):
        return service.set_commentary(db.session(), current_user, public_id, entry_id, body["commentary"])

    @login_required
    @blp.response(204)
    def delete(self, public_id: str, entry_id: int):
        service.remove_entry(db.session(), current_user, public_id, entry_id)


@blp.route("/portfolios/<public_id>/submit")
class Submit(MethodView):
    @login_required
    @blp.response(200, PortfolioOut)
    def post(self, public_id: str):
        """Submit my portfolio by the cohort's deadline; it is frozen as it is now."""
        s = db.session()
        return _portfolio_json(service.submit(s, current_user, public_id), current_user)


@blp.route("/portfolios/<public_id>/scores")
class Scores(MethodView):
    @login_required
    @blp.arguments(ScoreIn)
    @blp.response(201, ScoreOut)
    def post(self, body, public_id: str):
        """Score a standard I am assigned, with the rubric's level and my rationale."""
        return service.score(db.session(), current_user, public_id, standard_key=body["standard"],
                             level=body["level"], rationale=body["rationale"],
                             settings=current_app.extensions["classlab.settings"])


@blp.route("/certificates/<public_id>")
class OneCertificate(MethodView):
    @login_required
    @blp.response(200, description="the signed Open Badges 3.0 credential (JSON-LD), exactly as issued")
    def get(self, public_id: str):
        """The certificate as the signed Open Badges 3.0 credential."""
        found = service.get_certificate(db.session(), current_user, public_id, "download")
        return jsonify(found.document)


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, VerifyOut)
    def post(self):
        """Verify a certificate (the credential's JSON as the body): signature, issuer's key and revocation. Anyone
        may ask; no sign-in."""
        from flask import request

        from app.inputs import loads

        document = loads(request.get_data(cache=False)[:200_000] or b"null")
        outcome = service.verify(db.session(), document)
        return {"valid": outcome.valid, "state": outcome.state, "claims": outcome.claims}
