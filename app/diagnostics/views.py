"""Pages: the teacher's diagnostics (bank, classes, assignments, results) and the students' phone pages."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from limits import parse
from markupsafe import Markup, escape

from app import db, richtext
from app.accounts.forms import ActionForm
from app.config import RTL
from app.diagnostics import analysis, bankfile, service
from app.errors import ClassLabError, InvalidInput, NotFound, form_errors_to, msg
from app.extensions import limiter
from app.inputs import digits, local_datetime

bp = Blueprint("diagnostics", __name__, url_prefix="/diagnostics")
student_bp = Blueprint("student", __name__, url_prefix="/s")


_MEDIA_SRC = re.compile(f'src="{richtext.MEDIA_REF.pattern}"')


def _signed_media(html: str) -> str:
    """An item's images as signed links to storage, made for this page (never a guessable address)."""
    if f"{richtext.MEDIA_SCHEME}:" not in html:
        return html
    store = current_app.extensions["classlab.storage"]
    seconds = current_app.extensions["classlab.settings"].media_url_seconds
    return _MEDIA_SRC.sub(
        lambda m: f'src="{escape(store.signed_url(service.media_key(m.group(1)), seconds))}"', html)


@bp.app_template_filter("stem")
def stem_filter(text: str, digits: str = "western") -> Markup:
    return richtext.with_digits(_signed_media(richtext.render_block(text or "")), digits)


@bp.app_template_filter("inline")
def inline_filter(text: str, digits: str = "western") -> Markup:
    return richtext.with_digits(_signed_media(richtext.render_inline(text or "")), digits)


@bp.app_template_filter("digits")
def digits_filter(value: object, digits: str = "western") -> Markup:
    """A number (a question's number) written in the class's digits."""
    return richtext.with_digits(Markup.escape(str(value)), digits)


def _interface_language() -> str:
    lang = str(get_locale() or "en")
    return lang if lang in bankfile.LANGUAGES else "en"


def _bank_language() -> str:
    """The language of the bank's texts on a teacher's page: the interface's, or the one chosen with ?lang=."""
    asked = request.args.get("lang")
    return _interface_language() if asked is None else service.check_language(asked)


def _bank_language_url(lang: str) -> str:
    """This page with the bank's texts in `lang` (the switcher's links keep the page's other arguments)."""
    return url_for(request.endpoint, **{**(request.view_args or {}), **request.args.to_dict(), "lang": lang})


@bp.context_processor
def bank_language_switcher() -> dict:
    return {"bank_language_url": _bank_language_url, "rtl_languages": RTL}


def _local(value: str, field: str) -> datetime:
    """A datetime-local form value in the user's time zone, stored in UTC."""
    return local_datetime(value, field, ZoneInfo(str(get_timezone() or "Asia/Jerusalem")))


@bp.get("/")
@login_required
def index():
    s = db.session()
    return render_template("diagnostics/index.html", classes=service.classes_of(s, current_user),
                           assignments=service.assignments_of(s, current_user), form=ActionForm(),
                           class_language=_interface_language())


@bp.get("/bank")
@login_required
def bank():
    s = db.session()
    lang = _bank_language()
    items = service.current_items(s, actor=current_user)
    return render_template("diagnostics/bank.html", own_bank=service.own_bank(current_user), bank_lang=lang,
                           topics=service.topics_in(s, lang),
                           misconceptions=service.misconceptions_in(s, lang), items=items,
                           texts={i.id: service.item_text(i, lang) for i in items},
                           diagnostics=service.diagnostics_in(s, lang), form=ActionForm(),
                           rehearsals=_rehearsals_by_misconception(s))


def _rehearsals_by_misconception(s) -> dict[str, list]:
    """The scenarios (the library's and the reader's own) that rehearse each misconception: the bank links to them."""
    from app.rehearsals import service as rehearsals

    found: dict[str, list] = {}
    for scenario in rehearsals.library(s, current_user):
        if scenario.misconception_key:
            found.setdefault(scenario.misconception_key, []).append(scenario)
    return found


@bp.get("/bank/qti.zip")
@login_required
def export_qti():
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
        service.export_qti(db.session(), tmp.name, current_user)
        data = open(tmp.name, "rb").read()
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": "attachment; filename=classlab-items-qti3.zip"})


@bp.post("/bank/qti")
@login_required
@form_errors_to("diagnostics.bank", anchor="#qti")
def import_qti():
    """Step one of an import: the file is read and kept, and its preview shown item by item."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(msg("Choose a QTI file (.zip package or .xml item)."), field="file")
    data = upload.stream.read(service.MAX_QTI_BYTES + 1)
    topic = request.form.get("topic", "")
    token, _preview = service.stage_qti(db.session(), current_user, data, upload.filename, topic)
    return redirect(url_for("diagnostics.qti_preview", token=token, topic=topic.strip() or None))


def _staged_preview(token: str, topic: str) -> tuple[bytes, str, service.QtiImport]:
    data, filename = service.staged_qti(current_user, token)
    return data, filename, service.preview_qti(db.session(), current_user, data, filename, topic)


@bp.get("/bank/qti/<token>")
@login_required
@form_errors_to("diagnostics.bank", anchor="#qti")
def qti_preview(token: str):
    topic = request.args.get("topic", "")
    _data, _filename, preview = _staged_preview(token, topic)
    return render_template("diagnostics/qti_preview.html", preview=preview, token=token, topic=topic,
                           own_bank=service.own_bank(current_user),
                           lang=_interface_language(), misconceptions=service.misconception_titles(
                               db.session(), _interface_language()))


@bp.post("/bank/qti/<token>")
@login_required
@form_errors_to(lambda token: url_for("diagnostics.qti_preview", token=token, topic=request.form.get("topic") or None))
def qti_import_chosen(token: str):
    """Step two: the ticked items are imported (or the upload is dropped)."""
    s = db.session()
    if request.form.get("action") == "cancel":
        service.staged_qti(current_user, token)
        service.drop_staged_qti(s, current_user, token)
        flash(_("Nothing was imported."), "info")
        return redirect(url_for("diagnostics.bank", _anchor="qti"))
    data, filename = service.staged_qti(current_user, token)
    result = service.import_qti(s, current_user, data, filename, request.form.get("topic", ""),
                                keys=request.form.getlist("item"))
    service.drop_staged_qti(s, current_user, token)
    report = result.report
    flash(_("Imported: %(added)d new items, %(versions)d new versions, %(same)d unchanged.",
            added=report.items_added, versions=report.items_versioned + report.items_updated,
            same=report.items_unchanged), "info")
    return redirect(url_for("diagnostics.bank", _anchor="qti"))


@bp.post("/classes")
@login_required
@form_errors_to("diagnostics.index")
def create_class():
    group = service.create_class(db.session(), current_user, request.form.get("name", ""),
                                 language=request.form.get("language") or _interface_language())
    return redirect(url_for("diagnostics.class_page", class_id=group.id))


@bp.post("/classes/<int:class_id>/language")
@login_required
@form_errors_to("diagnostics.class_page")
def class_language(class_id: int):
    service.set_class_language(db.session(), current_user, class_id, request.form.get("language", ""),
                               request.form.get("digits", ""))
    flash(_("Your students now see this class in the language and digits you chose."), "info")
    return redirect(url_for("diagnostics.class_page", class_id=class_id))


@bp.get("/classes/<int:class_id>")
@login_required
def class_page(class_id: int):
    s = db.session()
    group = service.get_class(s, current_user, class_id)
    now = datetime.now(ZoneInfo(str(get_timezone() or "Asia/Jerusalem")))
    lang = _bank_language()
    return render_template(
        "diagnostics/class.html", group=group, form=ActionForm(), diagnostics=service.diagnostics_in(s, lang),
        bank_lang=lang,
        assignments=[a for a in service.assignments_of(s, current_user) if a.class_id == group.id],
        default_open=now.strftime("%Y-%m-%dT%H:%M"), default_close=(now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        student_url=url_for("student.enter", _external=True),
    )


@bp.get("/classes/<int:class_id>/cards")
@login_required
def cards(class_id: int):
    """Printable sign-in cards, one per student. The QR code carries only the class code (it is on the board anyway):
    the student code is printed, never put in a URL that would end up in histories and logs."""
    import qrcode
    import qrcode.image.svg

    group = service.get_class(db.session(), current_user, class_id)
    url = url_for("student.enter", c=group.code, _external=True)
    qr = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=6, border=2)
    return render_template("diagnostics/cards.html", group=group, url=url,
                           qr_svg=Markup(qr.to_string(encoding="unicode")))


@bp.post("/classes/<int:class_id>/students")
@login_required
@form_errors_to("diagnostics.class_page")
def add_students(class_id: int):
    s = db.session()
    upload = request.files.get("file")
    if request.form.get("action") == "import" and (upload is None or not upload.filename):
        raise InvalidInput(_("Choose a CSV file to import."), field="file")
    if upload is not None and upload.filename:
        n = service.import_roster(s, current_user, class_id, upload.read())
        flash(_("%(n)d students added.", n=n), "info")
    else:
        service.add_student(s, current_user, class_id, request.form.get("code", ""), request.form.get("name"))
    return redirect(url_for("diagnostics.class_page", class_id=class_id))


@bp.post("/classes/<int:class_id>/assignments")
@login_required
@form_errors_to("diagnostics.class_page")
def create_assignment(class_id: int):
    assignment = service.create_assignment(
        db.session(), current_user, class_id, title=request.form.get("title", ""),
        diagnostic_key=request.form.get("diagnostic") or None, item_keys=request.form.getlist("item") or None,
        opens_at=_local(request.form.get("opens_at", ""), "opens_at"),
        closes_at=_local(request.form.get("closes_at", ""), "closes_at"),
    )
    return redirect(url_for("diagnostics.results", public_id=assignment.public_id))


@bp.get("/assignments/<public_id>")
@login_required
def results(public_id: str):
    s = db.session()
    res = service.results(s, current_user, public_id)
    lang = _bank_language()
    labels = service.misconception_titles(s, lang)
    rtl = str(get_locale()) in ("he", "ar")
    heat_labels = {**labels, analysis.CORRECT: _("correct"), analysis.INCORRECT: _("wrong, no known misconception"),
                   analysis.MISSING: _("not submitted"), analysis.SKIPPED: _("skipped (counts as wrong)"),
                   analysis.PENDING: _("waiting to be scored")}
    # Teachers read questions by their number in the assignment, not by the bank's internal keys.
    numbers = {item.key: _("Q%(num)d", num=n) for n, item in enumerate(res.items, start=1)}
    texts = {item.id: service.item_text(item, lang) for item in {*res.items, *(a.item for a in res.pending_text)}}
    ids = {st.code: st.id for st in res.students}

    def plan_of(code: str, _item: str, state: str) -> str | None:
        """A cell that revealed a misconception opens the student's plan for it (or drafting one)."""
        if state not in res.heatmap.misconceptions or code not in ids:
            return None
        return url_for("plans.student", student_id=ids[code], misconception=state)

    return render_template(
        "diagnostics/results.html", res=res, labels=labels, form=ActionForm(), numbers=numbers, bank_lang=lang,
        texts=texts,
        small_sample=analysis.SMALL_SAMPLE,
        heatmap_svg=Markup(analysis.render_heatmap_svg(res.heatmap, labels=heat_labels, rtl=rtl,
                                                       title=_("Students and items"),
                                                       item_names=[numbers[k] for k in res.heatmap.items],
                                                       link=plan_of)),
        freq_svg=Markup(analysis.render_bar_chart_svg(
            {labels.get(k, k): v for k, v in res.frequencies.items()}, title=_("Students holding each misconception"),
            rtl=rtl)),
        difficulty_svg=Markup(analysis.render_bar_chart_svg(
            {numbers[st.item]: st.difficulty or 0.0 for st in res.item_stats}, title=_("Proportion correct per item"),
            rtl=rtl)),
        names={st.code: st.name for st in res.students},
        print_view=request.args.get("print") == "1",
        rehearsals=_rehearsals_from(s, res.assignment.public_id),
        meetings=_meetings_with(s, res.assignment.id),
    )


def _meetings_with(s, assignment_id: int) -> list:
    from app.meetings.service import meetings_with

    return meetings_with(s, current_user, assignment_id=assignment_id)


def _rehearsals_from(s, assignment: str) -> list:
    from app.rehearsals import service as rehearsals

    return rehearsals.scenarios_from(s, current_user, assignment=assignment)


@bp.get("/classes/<int:class_id>/progress")
@login_required
def progress(class_id: int):
    s = db.session()
    group = service.get_class(s, current_user, class_id)
    assignments = [a for a in service.assignments_of(s, current_user) if a.class_id == group.id]
    before, after = request.args.get("before"), request.args.get("after")
    lang = _bank_language()
    data, charts = None, {}
    if before and after:
        try:
            data = service.progress(s, current_user, before, after)
        except ClassLabError as exc:
            flash(exc.detail, "error")
        else:
            labels = service.misconception_titles(s, lang)
            rtl = str(get_locale()) in ("he", "ar")
            cls = data["change"]["class"]
            for name, title in (("held_before", _("Holding each misconception: before")),
                                ("held_after", _("Holding each misconception: after"))):
                charts[name] = Markup(analysis.render_bar_chart_svg(
                    {labels.get(k, k): v for k, v in cls[name].items()} or {"—": 0}, title=title, rtl=rtl))
            data["labels"] = labels
    return render_template("diagnostics/progress.html", group=group, assignments=assignments, data=data,
                           charts=charts, before=before, after=after, bank_lang=lang)


@bp.get("/assignments/<public_id>/results.csv")
@login_required
def results_csv(public_id: str):
    res = service.results(db.session(), current_user, public_id)
    return Response("\ufeff" + service.results_csv(res), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=results-{public_id}.csv"})


def _grid_cells() -> dict[tuple[int, int], str]:
    """The typed cells of the grid form: a-<student id>-<item id> -> answer."""
    cells = {}
    for key, value in request.form.items():
        if key.startswith("a-"):
            parts = key.split("-")
            ids = [digits(p) for p in parts[1:]]
            if len(parts) != 3 or None in ids:
                raise InvalidInput(msg("The grid was not understood."), field=key)
            if value.strip():
                cells[(ids[0], ids[1])] = value
    return cells


@bp.route("/assignments/<public_id>/grid", methods=["GET", "POST"])
@login_required
@form_errors_to("diagnostics.grid")
def grid(public_id: str):
    s = db.session()
    assignment = service.get_assignment(s, current_user, public_id, "score")
    if request.method == "POST":
        if request.files.get("file") and request.files["file"].filename:
            n = service.import_answers(s, current_user, public_id, request.files["file"].read())
        else:
            n = service.teacher_grid(s, current_user, public_id, _grid_cells())
        flash(_("Answers saved for %(n)d students.", n=n), "info")
        return redirect(url_for("diagnostics.results", public_id=public_id))
    existing = {}
    for sub in assignment.submissions:
        for ans in sub.answers:
            existing[(sub.student_id, ans.item_id)] = ans.value or ""
    return render_template("diagnostics/grid.html", assignment=assignment, existing=existing, form=ActionForm())


def _referrer(**_args) -> str:
    return request.referrer or url_for("diagnostics.index")


@bp.post("/answers/<int:answer_id>/score")
@login_required
@form_errors_to(_referrer)
def score_text(answer_id: int):
    try:
        level = int(request.form.get("level", "-1"))
    except ValueError:
        raise InvalidInput(msg("Choose a rubric level."), field="level") from None
    answer = service.score_text(db.session(), current_user, answer_id, level,
                                request.form.get("misconception") or None)
    return redirect(url_for("diagnostics.results", public_id=answer.submission.assignment.public_id))


# ---------------------------------------------------------------------------- students, no account


# Wrong sign-ins allowed per client address and per class code before the page refuses for the rest of the window.
# A whole classroom often shares one address, hence the room for typos; generated codes have 40 bits, so walking
# them at this pace takes centuries. Both are app settings (tests make them small).
SIGNIN_LIMITS = {"STUDENT_SIGNIN_LIMIT_PER_ADDRESS": "30 per 5 minutes",
                 "STUDENT_SIGNIN_LIMIT_PER_CLASS": "30 per 5 minutes"}


def _signin_counters(class_code: str) -> list[tuple]:
    """The (limit, key) pairs a wrong sign-in counts against, in the limiter's storage (shared by all workers)."""
    keys = {"STUDENT_SIGNIN_LIMIT_PER_ADDRESS": "address:" + (get_remote_address() or ""),
            "STUDENT_SIGNIN_LIMIT_PER_CLASS": "class:" + class_code.strip().upper()[:40]}
    return [(parse(current_app.config.get(name, default)), keys[name]) for name, default in SIGNIN_LIMITS.items()]


def _signin_wait(counters: list[tuple]) -> int:
    """Seconds until every counter lets this sign-in through again; 0 when it may go ahead now."""
    if not limiter.enabled:
        return 0
    waits = [0]
    for item, key in counters:
        if not limiter.limiter.test(item, "student-signin", key):
            reset_at = limiter.limiter.get_window_stats(item, "student-signin", key).reset_time
            waits.append(max(1, int(reset_at - time.time()) + 1))
    return max(waits)


@student_bp.route("/", methods=["GET", "POST"])
def enter():
    if request.method == "POST":
        class_code = request.form.get("class_code", "")
        counters = _signin_counters(class_code)
        if wait := _signin_wait(counters):  # refused before the codes are even looked at, the right pair too
            return render_template("diagnostics/student_enter.html", class_code=class_code,
                                   error=_("Too many tries: wait %(n)d seconds and try again.", n=wait)), 429
        try:
            student = service.find_student(db.session(), class_code, request.form.get("student_code", ""))
        except NotFound:
            if limiter.enabled:
                for item, key in counters:
                    limiter.limiter.hit(item, "student-signin", key)
            return render_template("diagnostics/student_enter.html", class_code=class_code,
                                   error=_("These codes do not match a student of a class. "
                                           "Check both codes with your teacher.")), 404
        session["student"] = {"id": student.id, "class": student.class_group.code}
        return redirect(url_for("student.home"))
    return render_template("diagnostics/student_enter.html", class_code=request.args.get("c", ""))


def _student():
    info = session.get("student") or {}
    if not info:
        return None
    from app.diagnostics.models import Student

    student = db.session().get(Student, info.get("id"))
    if student is None or student.class_group.code != info.get("class"):
        session.pop("student", None)
        return None
    return student


@student_bp.before_request
def signed_in_student() -> None:
    """The signed-in student, if any, and the class's language: a student's pages are all in it (the locale
    selector reads g.class_language), their numbers in the class's digits."""
    g.student = _student()
    if g.student is not None:
        g.class_language = g.student.class_group.language


@student_bp.get("/home")
def home():
    student = g.student
    if student is None:
        return redirect(url_for("student.enter"))
    s = db.session()
    rows = [(a, service.submission_of(s, a, student)) for a in service.open_assignments(s, student)]
    return render_template("diagnostics/student_home.html", student=student, rows=rows,
                           digits=student.class_group.digits)


@student_bp.route("/a/<public_id>", methods=["GET", "POST"])
def answer(public_id: str):
    student = g.student
    if student is None:
        return redirect(url_for("student.enter"))
    s = db.session()
    assignment = service.student_assignment(s, student, public_id)
    submission = service.submission_of(s, assignment, student)
    error, status = None, 200
    typed = {}
    if request.method == "POST":
        # a "choose all that apply" question sends one value per ticked box
        typed = {int(k[2:]): ",".join(request.form.getlist(k)) for k in request.form
                 if k.startswith("i-") and k[2:].isdigit()}
        try:
            submission = service.student_answers(s, student, public_id, typed, submit="submit" in request.form)
            if submission.submitted_at:
                return redirect(url_for("student.home"))
            flash(_("Saved. You can come back and finish later."), "info")
            return redirect(url_for("student.answer", public_id=public_id))
        except service.AlreadySubmitted:
            # Often the second of a double click: the answers as submitted are what counts; the service refused before
            # writing anything, so this redirect's commit stores nothing of this request.
            flash(_("Your answers to this assignment are already submitted."), "info")
            return redirect(url_for("student.home"))
        except ClassLabError as exc:  # shown again as typed; the error status rolls the answers back
            error, status = exc.detail, exc.status
    saved = {a.item_id: a.value or "" for a in submission.answers} if submission else {}
    group = student.class_group
    texts = {ai.item.id: service.item_text(ai.item, group.language) for ai in assignment.items}
    return render_template("diagnostics/student_answer.html", assignment=assignment, student=student,
                           submission=submission, saved={**saved, **typed}, error=error, texts=texts,
                           digits=group.digits), status


@student_bp.post("/leave")
def leave():
    session.pop("student", None)
    return redirect(url_for("student.enter"))
