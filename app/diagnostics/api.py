"""JSON endpoints under /api/v1/diagnostics/."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import db
from app.diagnostics import service
from app.errors import InvalidInput, msg

blp = Blueprint("diagnostics_api", __name__, url_prefix="/api/v1/diagnostics",
                description="Misconceptions, items, classes, assignments and results")


_TEXTS = "The texts in every language of the bank: {field: {en, he, ar}}; `languages` lists them."


def _record_texts(record, names: tuple[str, ...]) -> dict:
    return {"languages": list(record.languages), **{name: getattr(record, name) for name in names}}


class MisconceptionOut(Schema):
    key = fields.String()
    topic = fields.String()
    title = fields.String(metadata={"description": "In English; `texts` has every language."})
    description = fields.String()
    typical_reasoning = fields.String()
    teaching_ideas = fields.List(fields.String())
    source = fields.Dict()
    texts = fields.Method("get_texts", metadata={"description": _TEXTS})

    def get_texts(self, row) -> dict:
        record = service.misconception_record(row)
        return _record_texts(record, ("title", "description", "typical_reasoning", "teaching_ideas"))


class ItemOut(Schema):
    key = fields.String()
    version = fields.Integer()
    topic = fields.String()
    type = fields.String()
    stem = fields.String(metadata={"description": "In English; `texts` has the stem in every language."})
    texts = fields.Method("get_texts", metadata={"description": _TEXTS})

    def get_texts(self, row) -> dict:
        return _record_texts(service.spec_item(row.spec), ("stem",))


class DiagnosticOut(Schema):
    key = fields.String()
    title = fields.String(metadata={"description": "In English; `texts` has every language."})
    description = fields.String()
    item_keys = fields.List(fields.String())
    targets = fields.List(fields.String())
    texts = fields.Method("get_texts", metadata={"description": _TEXTS})

    def get_texts(self, row) -> dict:
        return _record_texts(service.diagnostic_record(row), ("title", "description"))


class StudentOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String(allow_none=True)


_LANGUAGE = "The language the class's students read the questions and their pages in: en, he or ar."
_DIGITS = "How their numbers are written: western, or arabic-indic (for a class taught in Arabic)."


class ClassOut(Schema):
    id = fields.Integer()
    name = fields.String()
    code = fields.String()
    language = fields.String(metadata={"description": _LANGUAGE})
    digits = fields.String(metadata={"description": _DIGITS})
    students = fields.List(fields.Nested(StudentOut))


class ClassIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = fields.String(load_default="en", metadata={"description": _LANGUAGE})
    digits = fields.String(load_default="western", metadata={"description": _DIGITS})


class ClassLanguageIn(Schema):
    language = fields.String(required=True, metadata={"description": _LANGUAGE})
    digits = fields.String(load_default="western", metadata={"description": _DIGITS})


class StudentIn(Schema):
    code = fields.String(load_default="", validate=validate.Length(max=40),
                         metadata={"description": "The teacher's own code; left out, an unguessable one is generated."})
    name = fields.String(load_default=None, validate=validate.Length(max=200))


class AssignmentIn(Schema):
    title = fields.String(load_default="", validate=validate.Length(max=300))
    diagnostic = fields.String(load_default=None)
    items = fields.List(fields.String(), load_default=None)
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)


class AssignmentOut(Schema):
    id = fields.String(attribute="public_id")
    title = fields.String()
    class_id = fields.Integer()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()


class GridIn(Schema):
    answers = fields.List(fields.Dict(), required=True, metadata={
        "description": "[{student: code, item: key, value: answer}]"})


class RosterOut(Schema):
    added = fields.Integer()


@blp.route("/misconceptions")
class Misconceptions(MethodView):
    @login_required
    @blp.response(200, MisconceptionOut(many=True))
    def get(self):
        return list(service.misconceptions(db.session()).values())


@blp.route("/items")
class Items(MethodView):
    @login_required
    @blp.response(200, ItemOut(many=True))
    def get(self):
        """The shared bank's current items and your own."""
        return service.current_items(db.session(), actor=current_user)


@blp.route("/diagnostics")
class Diagnostics(MethodView):
    @login_required
    @blp.response(200, DiagnosticOut(many=True))
    def get(self):
        return service.diagnostics(db.session())


@blp.route("/classes")
class Classes(MethodView):
    @login_required
    @blp.response(200, ClassOut(many=True))
    def get(self):
        return service.classes_of(db.session(), current_user)

    @login_required
    @blp.arguments(ClassIn)
    @blp.response(201, ClassOut)
    def post(self, body):
        s = db.session()
        group = service.create_class(s, current_user, body["name"], body["language"], body["digits"])
        return group


@blp.route("/classes/<int:class_id>")
class OneClass(MethodView):
    @login_required
    @blp.response(200, ClassOut)
    def get(self, class_id: int):
        return service.get_class(db.session(), current_user, class_id)

    @login_required
    @blp.arguments(ClassLanguageIn)
    @blp.response(200, ClassOut)
    def patch(self, body, class_id: int):
        """Set the language and digits the class's students see."""
        return service.set_class_language(db.session(), current_user, class_id, body["language"], body["digits"])


@blp.route("/classes/<int:class_id>/students")
class Students(MethodView):
    @login_required
    @blp.arguments(StudentIn)
    @blp.response(201, StudentOut)
    def post(self, body, class_id: int):
        s = db.session()
        student = service.add_student(s, current_user, class_id, body["code"], body["name"])
        return student


@blp.route("/classes/<int:class_id>/roster")
class Roster(MethodView):
    @login_required
    @blp.response(201, RosterOut)
    @blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}}}})
    def post(self, class_id: int):
        """Import students from a CSV body (columns code, name; UTF-8 or Windows-1255)."""
        s = db.session()
        added = service.import_roster(s, current_user, class_id, request.get_data())
        return {"added": added}


@blp.route("/classes/<int:class_id>/assignments")
class Assignments(MethodView):
    @login_required
    @blp.arguments(AssignmentIn)
    @blp.response(201, AssignmentOut)
    def post(self, body, class_id: int):
        s = db.session()
        assignment = service.create_assignment(
            s, current_user, class_id, title=body["title"], diagnostic_key=body["diagnostic"],
            item_keys=body["items"], opens_at=body["opens_at"], closes_at=body["closes_at"])
        return assignment


@blp.route("/assignments/<public_id>/answers")
class Answers(MethodView):
    @login_required
    @blp.arguments(GridIn)
    @blp.response(200, RosterOut)
    def put(self, body, public_id: str):
        """Enter answers for students (paper diagnostics)."""
        from app.errors import InvalidInput, msg

        s = db.session()
        assignment = service.get_assignment(s, current_user, public_id, "score")
        students = {st.code.lower(): st.id for st in assignment.class_group.students}
        items = {ai.item.key: ai.item.id for ai in assignment.items}
        cells = {}
        for n, cell in enumerate(body["answers"]):
            student, item = students.get(str(cell.get("student", "")).lower()), items.get(str(cell.get("item", "")))
            if student is None or item is None:
                raise InvalidInput(msg("answers[%(n)d]: unknown student or item.", n=n), field="answers")
            cells[(student, item)] = str(cell.get("value", ""))
        n = service.teacher_grid(s, current_user, public_id, cells)
        return {"added": n}


@blp.route("/assignments/<public_id>/results")
class Results(MethodView):
    @login_required
    @blp.response(200)
    def get(self, public_id: str):
        """Scores, misconception profiles, suggested groups, item statistics and KR-20."""
        res = service.results(db.session(), current_user, public_id)
        return {
            "assignment": {"id": res.assignment.public_id, "title": res.assignment.title},
            "kr20": res.kr20,
            "items": [{"item": st.item, "n": st.n, "difficulty": st.difficulty, "discrimination": st.discrimination,
                       "distractor_rates": st.distractor_rates, "misconception_rates": st.misconception_rates}
                      for st in res.item_stats],
            "students": [{"code": p.student, "score": p.score, "answered": p.answered, "held": p.held,
                          "misconceptions": {k: {"count": e.count, "opportunities": e.opportunities}
                                             for k, e in p.misconceptions.items()},
                          "cells": {i.key: res.heatmap.state(p.student, i.key) for i in res.items}}
                         for p in res.profiles],
            "frequencies": res.frequencies,
            "groups": [{"misconception": g.misconception, "students": list(g.students)} for g in res.groups],
        }


class ProgressQuery(Schema):
    before = fields.String(required=True)
    after = fields.String(required=True)


@blp.route("/assignments")
class AssignmentList(MethodView):
    @login_required
    @blp.response(200, AssignmentOut(many=True))
    def get(self):
        return service.assignments_of(db.session(), current_user)


@blp.route("/classes/<int:class_id>/progress")
class Progress(MethodView):
    @login_required
    @blp.arguments(ProgressQuery, location="query")
    @blp.response(200)
    def get(self, args, class_id: int):
        """Misconceptions resolved, persisting and new between two assignments of the class."""
        s = db.session()
        service.get_class(s, current_user, class_id)
        data = service.progress(s, current_user, args["before"], args["after"])
        if data["before"].class_id != class_id:
            from app.errors import NotFound, msg

            raise NotFound(msg("These assignments are not of this class."))
        return {"before": data["before"].public_id, "after": data["after"].public_id, **data["change"]}


@blp.route("/items/<key>/qti")
class ItemQti(MethodView):
    @login_required
    @blp.response(200, content_type="application/xml")
    def get(self, key: str):
        """The current version of an item as a QTI 3.0 assessment item."""
        from flask import Response

        from app.diagnostics import qti

        item = service.current_items(db.session(), [key], actor=current_user)[0]
        return Response(qti.item_to_qti(service.spec_item(item.spec)), mimetype="application/xml")


class QtiImportArgs(Schema):
    topic = fields.String(load_default="", validate=validate.Length(max=80),
                          metadata={"description": "The topic of items from other tools, which carry none"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Only report what would be imported"})
    items = fields.List(fields.String(validate=validate.Length(min=1, max=80)),
                        metadata={"description": "Import only these item identifiers (repeat the parameter)"})


class QtiEntryOut(Schema):
    key = fields.String(metadata={"description": "The item's identifier"})
    href = fields.String(metadata={"description": "Its file in the package"})
    status = fields.String(validate=validate.OneOf(service.QTI_STATUSES))
    reason = fields.String(allow_none=True, metadata={"description": "Why it is refused"})
    type = fields.Function(lambda e: e.item.type if e.item else None, allow_none=True)


class QtiImportedOut(Schema):
    added = fields.Integer(attribute="items_added")
    new_versions = fields.Function(lambda r: r.items_versioned + r.items_updated)
    unchanged = fields.Integer(attribute="items_unchanged")


class QtiImportOut(Schema):
    dry_run = fields.Boolean()
    entries = fields.List(fields.Nested(QtiEntryOut))
    imported = fields.Nested(QtiImportedOut, allow_none=True, metadata={"description": "null for a dry run"})


@blp.route("/qti")
class QtiPackage(MethodView):
    @login_required
    @blp.response(200, content_type="application/zip",
                  description="An IMS content package of QTI 3.0 items: imsmanifest.xml and items/<key>.xml")
    def get(self):
        """Every current item of the shared bank and your own as a QTI 3.0 package (every language in each
        item, the images beside them)."""
        import tempfile

        from flask import Response

        with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
            service.export_qti(db.session(), tmp.name, current_user)
            data = open(tmp.name, "rb").read()
        return Response(data, mimetype="application/zip",
                        headers={"Content-Disposition": "attachment; filename=classlab-items-qti3.zip"})

    @login_required
    @blp.arguments(QtiImportArgs, location="query")
    @blp.doc(requestBody={"required": True, "description": "A QTI 3.0 package (.zip) or one item (.xml)",
                          "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}},
                                      "application/xml": {"schema": {"type": "string", "format": "binary"}}}})
    @blp.response(200, QtiImportOut)
    def post(self, args):
        """Import QTI 3.0 items from the request body: an administrator's into the shared bank, anyone else's into
        their own bank (keys "u<your id>-<identifier>", seen by no one else). Each item is read on its own and
        reported: `new`, `new version`, `unchanged`, or `refused` with its reason. With `dry_run` nothing is
        stored (the preview); with `items` only those identifiers are imported (asking for a refused one stores
        nothing); otherwise every valid item is."""
        if (request.content_length or 0) > service.MAX_QTI_BYTES:
            raise InvalidInput(msg("The file is larger than %(mb)d MB.", mb=service.MAX_QTI_BYTES // 1_000_000),
                               field="file")
        data = request.get_data(cache=False)
        if not data:
            raise InvalidInput(msg("Send the QTI package (.zip) or item (.xml) as the request body."), field="file")
        name = "upload.zip" if data[:4] == b"PK\x03\x04" else "upload.xml"
        s = db.session()
        if args["dry_run"]:
            result = service.preview_qti(s, current_user, data, name, args["topic"])
        else:
            result = service.import_qti(s, current_user, data, name, args["topic"], keys=args.get("items"))
        return {"dry_run": args["dry_run"], "entries": result.entries, "imported": result.report}
