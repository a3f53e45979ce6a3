"""Diagnostics use cases: the bank, classes and rosters, assignments, answers, results (no Flask here)."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from app import authz
from app.accounts.models import User
from app.db import utcnow
from app.diagnostics import analysis, bankfile
from app.diagnostics import policy as _policy  # noqa: F401 - the rules this module's checks rely on
from app.diagnostics.models import (
    DIGITS,
    Answer,
    Assignment,
    AssignmentItem,
    ClassGroup,
    Diagnostic,
    Item,
    Misconception,
    Student,
    Submission,
    Topic,
    new_student_code,
)
from app.errors import Conflict, InvalidInput, NotFound, msg, sentences
from app.inputs import text_refused
from app.richtext import MEDIA_REF, MEDIA_SCHEME

# ------------------------------------------------------------------------------------------- the bank


def item_spec(item: bankfile.Item) -> dict:
    """The item as stored: every field, every text in every language (maps), and the languages of its bank.
    A choice without feedback stores no `feedback` key, so items stored before choices had feedback keep their
    digest (an unchanged bank imports as unchanged, not as new versions)."""
    spec = json.loads(json.dumps(dataclasses.asdict(item)))
    for choice in spec.get("choices") or ():
        if choice.get("feedback") is None:
            choice.pop("feedback", None)
    if spec.get("stimulus") is None:
        spec.pop("stimulus", None)
    return spec


def _texts(value: dict | str | None) -> dict | None:
    """A language map as stored; a plain string is a text stored before banks had languages (English)."""
    if value is None or isinstance(value, dict):
        return value
    return {"en": value}


def spec_item(spec: dict) -> bankfile.Item:
    """The bank's dataclass back from a stored spec (for scoring, pages and QTI export).

    A spec stored before banks had languages has plain strings and the stem's Hebrew and Arabic in
    `translations`: it comes back as a single-language (English) item, its stem with those translations."""
    rubric = spec.get("rubric")
    stem = _texts(spec["stem"])
    if spec.get("translations"):
        stem = {**spec["translations"], **stem}
    return bankfile.Item(
        key=spec["key"], topic=spec["topic"], type=spec["type"], stem=stem,
        choices=tuple(bankfile.Choice(**{**c, "text": _texts(c["text"]), "feedback": _texts(c.get("feedback"))})
                      for c in spec.get("choices") or ()),
        answer=spec.get("answer"), tolerance=spec.get("tolerance"),
        wrong_answers=tuple(bankfile.WrongAnswer(**w) for w in spec.get("wrong_answers") or ()),
        rubric=bankfile.Rubric(
            levels=tuple(bankfile.RubricLevel(lv["score"], _texts(lv["description"])) for lv in rubric["levels"]),
            patterns=tuple(bankfile.RubricPattern(_texts(p["pattern"]), p["misconception"])
                           for p in rubric.get("patterns") or ()),
        ) if rubric else None,
        model_answer=_texts(spec.get("model_answer")),
        languages=tuple(spec.get("languages") or ("en",)),
        stimulus=_texts(spec.get("stimulus")),
    )


def misconception_record(row: Misconception) -> bankfile.Misconception:
    """The bank's record of a stored misconception, every language it has."""
    texts = row.texts or {}
    return bankfile.Misconception(
        key=row.key, topic=row.topic, title=texts.get("title") or {"en": row.title},
        description=texts.get("description") or {"en": row.description},
        typical_reasoning=texts.get("typical_reasoning") or {"en": row.typical_reasoning},
        teaching_ideas=tuple(texts.get("teaching_ideas") or ({"en": idea} for idea in row.teaching_ideas)),
        source=bankfile.Source(**row.source), languages=tuple(texts.get("languages") or ("en",)),
    )


def diagnostic_record(row: Diagnostic) -> bankfile.Diagnostic:
    texts = row.texts or {}
    return bankfile.Diagnostic(
        key=row.key, title=texts.get("title") or {"en": row.title},
        description=texts.get("description") or {"en": row.description}, items=tuple(row.item_keys),
        targets=tuple(row.targets), languages=tuple(texts.get("languages") or ("en",)),
    )


def topic_record(row: Topic) -> bankfile.Topic:
    texts = row.texts or {}
    return bankfile.Topic(key=row.key, title=texts.get("title") or {"en": row.title},
                          languages=tuple(texts.get("languages") or ("en",)))


def _english(texts: bankfile.Texts, languages: tuple[str, ...]) -> str:
    return bankfile.pick(texts, "en", languages)


@dataclass
class ImportReport:
    misconceptions: int = 0
    items_added: int = 0
    items_versioned: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    diagnostics: int = 0


def import_bank(session: Session, actor: User | None, bank: bankfile.Bank, owner: User | None = None) -> ImportReport:
    """Upsert a validated bank. An item whose content changed gets a new version when an assignment
    already uses the old one (students' results stay tied to what they saw); otherwise it is updated.
    With `owner`, the items go into that teacher's own bank (their keys already start with "u<id>-")."""
    if owner is not None:
        authz.require(actor, "import", Item(owner_id=owner.id), hide=False)
        if bank.topics or bank.misconceptions or bank.diagnostics or owner.id != actor.id:
            raise InvalidInput(msg("Only items go into your own bank."))
    elif actor is not None:  # the CLI runs as the operator; the page as a signed-in administrator
        authz.require(actor, "manage", Item(), hide=False)
    owner_id = owner.id if owner is not None else None
    report = ImportReport()
    for t in bank.topics.values():
        row = session.scalar(select(Topic).where(Topic.key == t.key)) or Topic(key=t.key)
        row.title = _english(t.title, t.languages)
        row.texts = {"languages": list(t.languages), "title": dict(t.title)}
        session.add(row)
    for m in bank.misconceptions.values():
        row = session.scalar(select(Misconception).where(Misconception.key == m.key)) or Misconception(key=m.key)
        row.topic, row.title = m.topic, _english(m.title, m.languages)
        row.description = _english(m.description, m.languages)
        row.typical_reasoning = _english(m.typical_reasoning, m.languages)
        row.teaching_ideas = [_english(idea, m.languages) for idea in m.teaching_ideas]
        row.source = dataclasses.asdict(m.source)
        row.texts = {"languages": list(m.languages), "title": dict(m.title), "description": dict(m.description),
                     "typical_reasoning": dict(m.typical_reasoning),
                     "teaching_ideas": [dict(idea) for idea in m.teaching_ideas]}
        session.add(row)
        report.misconceptions += 1
    for item in bank.items.values():
        spec = item_spec(item)
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        current = session.scalar(select(Item).where(Item.key == item.key, Item.current.is_(True)))
        if current is not None and current.owner_id != owner_id:
            raise Conflict(msg("Item %(key)s belongs to another bank.", key=item.key))
        if current is not None and current.digest == digest:
            report.items_unchanged += 1
            continue
        used = current is not None and session.scalar(
            select(func.count()).select_from(AssignmentItem).where(AssignmentItem.item_id == current.id))
        if current is not None and not used:
            current.topic, current.type, current.stem, current.spec, current.digest = (
                item.topic, item.type, _english(item.stem, item.languages), spec, digest)
            report.items_updated += 1
            continue
        version = 1
        if current is not None:
            current.current = False
            version = current.version + 1
            report.items_versioned += 1
        else:
            report.items_added += 1
        session.add(Item(key=item.key, version=version, topic=item.topic, type=item.type,
                         stem=_english(item.stem, item.languages), spec=spec, digest=digest, current=True,
                         owner_id=owner_id))
    for d in bank.diagnostics.values():
        row = session.scalar(select(Diagnostic).where(Diagnostic.key == d.key)) or Diagnostic(key=d.key)
        row.title, row.description = _english(d.title, d.languages), _english(d.description, d.languages)
        row.item_keys, row.targets = list(d.items), list(d.targets)
        row.texts = {"languages": list(d.languages), "title": dict(d.title), "description": dict(d.description)}
        session.add(row)
        report.diagnostics += 1
    session.flush()
    return report


MEDIA_PREFIX = "item-media/"  # an item's images in storage, by their content: item-media/<sha256>.<ext>


def media_key(ref: str) -> str:
    return MEDIA_PREFIX + ref


def store_media(store, media: dict[str, bytes]) -> None:
    """Keep items' images in storage. Their keys are their content, so an image stored twice is the same object
    (written again, so that its time says it was just wanted: the sweep of abandoned uploads deletes an image
    nothing shows only when it has not been written for a day; an import rolled back leaves at most an image
    nothing shows, which that sweep finds when it came from a preview)."""
    import mimetypes

    for ref, data in media.items():
        store.put(media_key(ref), io.BytesIO(data), content_type=mimetypes.guess_type(ref)[0])


def read_media(store, ref: str) -> bytes:
    return store.read(media_key(ref))


def export_qti(session: Session, out_zip, actor: User | None = None) -> None:
    """Every current item `actor` may read (the shared bank and their own items; all, for the operator) as an IMS
    content package of QTI 3.0 items, with the images they show."""
    from app.diagnostics import qti

    items = {i.key: spec_item(i.spec) for i in current_items(session, actor=actor)}
    store = _storage()
    qti.bank_to_qti_package(bankfile.Bank(topics={}, misconceptions={}, items=items, diagnostics={}), out_zip,
                            media=lambda ref: read_media(store, ref))


QTI_STATUSES = ("new", "new version", "unchanged", "refused")


def own_bank(actor: User) -> bool:
    """Where actor's QTI imports go: an administrator's into the shared bank, anyone else's into their own."""
    from app.accounts.models import Role

    return actor.role != Role.admin


def own_key(owner: User, key: str) -> str:
    """An item's key in `owner`'s own bank: "u<id>-" before the identifier the file gave (once)."""
    prefix = f"u{owner.id}-"
    return key if key.startswith(prefix) else prefix + key


@dataclass
class QtiEntry:
    """One item of a QTI upload as the importer sees it before anything is stored: what would happen to it
    ("new", "new version" of an item already in the bank, "unchanged"), or why it is refused."""

    key: str
    href: str
    status: str
    reason: str | None = None
    item: bankfile.Item | None = None  # as it will be stored (in a teacher's own bank, under its "u<id>-" key)
    media: dict[str, bytes] = dataclasses.field(default_factory=dict)  # the images it shows, stored on import


@dataclass
class QtiImport:
    entries: list[QtiEntry]
    report: ImportReport | None = None  # None for a preview

    @property
    def valid(self) -> list[QtiEntry]:
        return [e for e in self.entries if e.status != "refused"]

    @property
    def refused(self) -> list[QtiEntry]:
        return [e for e in self.entries if e.status == "refused"]


def _qti_entries(data: bytes, filename: str) -> list:
    import tempfile

    from app.diagnostics import qti

    try:
        if (filename or "").lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
                tmp.write(data)
                tmp.flush()
                return qti.read_package(tmp.name)
        item = qti.qti_to_item(data)  # one item: what refuses it refuses the file
        return [qti.PackageEntry(href=filename or "item.xml", identifier=item.key, item=item)]
    except qti.QtiError as exc:
        raise InvalidInput(msg("This is not QTI we can read: %(reason)s", reason=str(exc)), field="file") from None


def preview_qti(session: Session, actor: User, data: bytes, filename: str, topic: str = "") -> QtiImport:
    """What importing a QTI 3.0 package (.zip) or item (.xml) would do, item by item, storing nothing. An item is
    refused, with its reason, when it cannot be read, names a misconception the bank does not have, or (from
    another tool) has no topic and none is given; the others may be imported."""
    own = own_bank(actor)
    authz.require(actor, "import" if own else "manage", Item(owner_id=actor.id if own else None), hide=False)
    topic = (topic or "").strip()
    if len(topic) > 80:
        raise InvalidInput(msg("A topic is at most 80 characters."), field="topic")
    known = set(misconceptions(session))
    entries = []
    for entry in _qti_entries(data, filename):
        key = entry.item.key if entry.item else entry.identifier
        if entry.reason:
            entries.append(QtiEntry(key=key, href=entry.href, status="refused", reason=entry.reason))
            continue
        item = entry.item if entry.item.topic else dataclasses.replace(entry.item, topic=topic)
        reasons = []
        if not item.topic:
            reasons.append(msg("give a topic for items from other tools"))
        missing = [m for m in item.misconceptions if m not in known]
        if missing:
            reasons.append(msg("unknown misconception(s) %(keys)s", keys=", ".join(missing)))
        if len(own_key(actor, item.key) if own else item.key) > 80:
            reasons.append(msg("the identifier is longer than 80 characters"))
        if reasons:
            entries.append(QtiEntry(key=key, href=entry.href, status="refused", reason="; ".join(reasons), item=item,
                                    media=entry.media))
            continue
        if own:
            item = dataclasses.replace(item, key=own_key(actor, item.key))
        digest = hashlib.sha256(json.dumps(item_spec(item), sort_keys=True).encode()).hexdigest()
        current = session.scalar(select(Item).where(Item.key == item.key, Item.current.is_(True)))
        if current is not None and current.owner_id != (actor.id if own else None):
            entries.append(QtiEntry(key=key, href=entry.href, status="refused", item=item, media=entry.media,
                                    reason=msg("the identifier %(key)s belongs to another bank", key=item.key)))
            continue
        status = "new" if current is None else "unchanged" if current.digest == digest else "new version"
        entries.append(QtiEntry(key=key, href=entry.href, status=status, item=item, media=entry.media))
    return QtiImport(entries=entries)


def import_qti(session: Session, actor: User, data: bytes, filename: str, topic: str = "",
               keys: list[str] | None = None) -> QtiImport:
    """Import the valid items of a QTI upload: all of them, or those whose identifiers are in `keys` (what the
    teacher ticked on the preview). Refused items are reported, never half-stored; asking for a refused or
    unknown identifier stores nothing."""
    preview = preview_qti(session, actor, data, filename, topic)
    valid = {e.key: e for e in preview.valid}
    if keys is not None:
        wanted = list(dict.fromkeys(k for k in keys if k))
        refused = {e.key: e for e in preview.refused}
        bad = [k for k in wanted if k not in valid]
        if bad:
            reasons = [f"{k}: {refused[k].reason}" if k in refused else msg("%(key)s is not in the file", key=k)
                       for k in bad[:10]]
            raise InvalidInput(msg("Nothing was imported. %(problems)s", problems=reasons), field="items")
        if not wanted:
            raise InvalidInput(msg("Choose at least one item to import."), field="items")
        chosen = [valid[k] for k in wanted]
    else:
        chosen = list(valid.values())
        if not chosen:
            raise InvalidInput(msg("Nothing was imported: no item in the file can be imported. %(problems)s",
                                   problems=[f"{e.href}: {e.reason}" if not e.reason.startswith(e.href) else e.reason
                                             for e in preview.refused[:10]]), field="file")
    ready = {e.item.key: e.item for e in chosen}
    media = {ref: data for e in chosen for ref, data in e.media.items()}
    if media:
        store_media(_storage(), media)
    preview.report = import_bank(session, actor, bankfile.Bank(topics={}, misconceptions={}, items=ready,
                                                               diagnostics={}),
                                 owner=actor if own_bank(actor) else None)
    return preview


# An upload waits in storage between its preview and the teacher's choice of items, under a key only its
# uploader's requests name (their id, and a token nobody can guess), for a day at most (expire_staged_qti).
# Beside it, "<token>.images" lists the images its preview stored, for that sweep to check.
MAX_QTI_BYTES = 100_000_000
_STAGED = re.compile(r"[0-9a-f]{32}")
STAGED_PREFIX = "qti-imports/"
STAGED_FOR = timedelta(days=1)


def _storage():
    from flask import current_app

    return current_app.extensions["classlab.storage"]


def _staged_key(actor: User, token: str, kind: str) -> str:
    return f"{STAGED_PREFIX}{actor.id}/{token}.{kind}"


def stage_qti(session: Session, actor: User, data: bytes, filename: str, topic: str = "") -> tuple[str, QtiImport]:
    """Keep an upload for its preview: the package is read first (a file that is not QTI is refused here, and
    nothing is kept), then stored for the import that follows. Returns its token and the preview."""
    import secrets

    if len(data) > MAX_QTI_BYTES:
        raise InvalidInput(msg("The file is larger than %(mb)d MB.", mb=MAX_QTI_BYTES // 1_000_000), field="file")
    preview = preview_qti(session, actor, data, filename, topic)
    # the images now, so that the preview shows them (stored by their content: an image nobody imports shows
    # nowhere, and the same image imported later is the same object)
    media = {ref: data for e in preview.entries for ref, data in e.media.items()}
    token = secrets.token_hex(16)
    if media:  # the list first: whatever happens after it, the sweep finds the images
        _storage().put(_staged_key(actor, token, "images"), io.BytesIO(json.dumps(sorted(media)).encode()),
                       content_type="application/json")
        store_media(_storage(), media)
    kind = "zip" if data[:4] == b"PK\x03\x04" else "xml"
    _storage().put(_staged_key(actor, token, kind), io.BytesIO(data),
                   content_type="application/zip" if kind == "zip" else "application/xml")
    return token, preview


def staged_qti(actor: User, token: str) -> tuple[bytes, str]:
    """The staged upload (its bytes and a file name that says what it is), or NotFound."""
    from storage.base import ObjectNotFound

    if _STAGED.fullmatch(token or ""):
        for kind in ("zip", "xml"):
            try:
                return _storage().read(_staged_key(actor, token, kind)), f"upload.{kind}"
            except ObjectNotFound:
                continue
    raise NotFound(msg("This upload is no longer here: choose the file again."))


def drop_staged_qti(session: Session, actor: User, token: str) -> None:
    """Forget a staged upload once the unit of work that used it commits (kept if it rolls back)."""
    from sqlalchemy import event

    if not _STAGED.fullmatch(token or ""):
        return
    store = _storage()

    def drop(_session: Session) -> None:
        for kind in ("zip", "xml"):
            store.delete(_staged_key(actor, token, kind))

    event.listen(session, "after_commit", drop, once=True)


def expire_staged_qti(session: Session, store, older_than: timedelta = STAGED_FOR,
                      now: datetime | None = None) -> int:
    """The sweep of QTI uploads: one nobody imported from or cancelled within `older_than` is deleted (its
    preview then says to choose the file again), and so are the images a preview stored that no item shows
    and nothing wrote again within that time (an import or another preview of the same image writes it
    again). An upload imported or cancelled is gone already; its list of images waits for this sweep, which
    keeps those the chosen items show. Returns how many objects it deleted."""
    from storage.base import ObjectNotFound

    cutoff = (now or utcnow()) - older_than
    deleted = 0
    for key, written in store.listed(STAGED_PREFIX):
        if written > cutoff:
            continue
        if key.endswith(".images"):
            try:
                refs = json.loads(store.read(key))
            except (ObjectNotFound, ValueError):
                refs = []
            for ref in refs if isinstance(refs, list) else []:
                if not isinstance(ref, str) or not MEDIA_REF.fullmatch(f"{MEDIA_SCHEME}:{ref}") or _shown(session, ref):
                    continue
                try:
                    if store.modified(media_key(ref)) > cutoff:
                        continue
                except ObjectNotFound:
                    continue
                store.delete(media_key(ref))
                deleted += 1
        store.delete(key)
        deleted += 1
    return deleted


def _shown(session: Session, ref: str) -> bool:
    """Whether any item, of any version, shows the image."""
    return session.scalar(select(Item.id).where(cast(Item.spec, Text).contains(f"{MEDIA_SCHEME}:{ref}")).limit(1)) \
        is not None


def current_items(session: Session, keys: list[str] | None = None, actor: User | None = None) -> list[Item]:
    """The current version of each item: all of them (the CLI, the operator), or those `actor` may read (the
    shared bank and their own items)."""
    query = select(Item).where(Item.current.is_(True))
    if actor is not None:
        query = authz.visible(actor, query)
    if keys is not None:
        query = query.where(Item.key.in_(keys))
    found = {i.key: i for i in session.scalars(query.order_by(Item.topic, Item.key))}
    if keys is None:
        return list(found.values())
    missing = [k for k in keys if k not in found]
    if missing:
        raise InvalidInput(msg("Unknown item(s): %(keys)s.", keys=", ".join(missing)), field="items")
    return [found[k] for k in keys]


def misconceptions(session: Session) -> dict[str, Misconception]:
    return {m.key: m for m in session.scalars(select(Misconception).order_by(Misconception.topic, Misconception.key))}


def diagnostics(session: Session) -> list[Diagnostic]:
    return list(session.scalars(select(Diagnostic).order_by(Diagnostic.title)))


# ------------------------------------------------------------------------------ the bank in one language


def check_language(lang: str, field: str = "lang") -> str:
    if lang not in bankfile.LANGUAGES:
        raise InvalidInput(msg("'%(lang)s' is not a language of the bank: choose one of %(choices)s.", lang=lang,
                               choices=", ".join(bankfile.LANGUAGES)), field=field)
    return lang


def topics_in(session: Session, lang: str) -> dict[str, bankfile.TopicText]:
    return {row.key: topic_record(row).in_language(lang) for row in session.scalars(select(Topic).order_by(Topic.key))}


def misconceptions_in(session: Session, lang: str) -> dict[str, bankfile.MisconceptionText]:
    return {key: misconception_record(row).in_language(lang) for key, row in misconceptions(session).items()}


def misconception_titles(session: Session, lang: str) -> dict[str, str]:
    """Misconception key -> its title in `lang`: the labels of every report and chart."""
    return {key: m.title for key, m in misconceptions_in(session, lang).items()}


def diagnostics_in(session: Session, lang: str) -> list[bankfile.DiagnosticText]:
    return [diagnostic_record(row).in_language(lang) for row in diagnostics(session)]


def item_text(item: Item, lang: str) -> bankfile.ItemText:
    """One stored item version as a reader in `lang` sees it: stem, choices with their labels, rubric."""
    return spec_item(item.spec).in_language(lang)


# ------------------------------------------------------------------------------------ scoring answers

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def parse_number(raw: str) -> float:
    """A number as students type it: Arabic-Indic digits, a decimal comma, a fraction a/b, a minus sign."""
    text = unicodedata.normalize("NFKC", raw or "").translate(_ARABIC_DIGITS).strip()
    text = text.replace("−", "-").replace("٫", ".").replace(" ", "")
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    fraction = re.fullmatch(r"([+-]?\d+)/(\d+)", text)
    try:
        if fraction:
            if int(fraction.group(2)) == 0:
                raise ValueError
            return int(fraction.group(1)) / int(fraction.group(2))
        value = float(text)
    except ValueError:
        raise InvalidInput(msg("'%(value)s' is not a number.", value=raw)) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(msg("'%(value)s' is not a number.", value=raw))
    return value


@dataclass
class Scored:
    value: str | None
    correct: bool | None
    misconception: str | None


def score(item: Item, raw: str | None, number: int | None = None) -> Scored:
    """Score one answer; raises InvalidInput for an answer of the wrong kind, naming the question by its `number` in
    the assignment when given (what the student sees), else by the item's key (a CSV column)."""
    label = msg("Question %(n)d", n=number) if number else msg("Item %(key)s", key=item.key)
    raw = (raw or "").strip()
    if not raw:
        return Scored(None, None, None)
    spec = item.spec
    if item.type in ("choice", "inline"):
        # exactly as the item names it (another tool's "c1"), else as typed in a CSV ("b" for B)
        choice = next((c for c in spec["choices"] if c["key"] == raw), None) or next(
            (c for c in spec["choices"] if c["key"].upper() == raw.upper()), None)
        if choice is None:
            keys = ", ".join(c["key"] for c in spec["choices"])
            raise InvalidInput(msg("%(label)s: choose one of %(choices)s, not '%(value)s'.", label=label,
                                   choices=keys, value=raw), field=item.key)
        return Scored(choice["key"], bool(choice.get("correct")), choice.get("misconception"))
    if item.type == "multiple":
        return _score_multiple(spec["choices"], raw, label, item.key)
    if item.type == "numeric":
        try:
            value = parse_number(raw)
        except InvalidInput:
            raise InvalidInput(msg("%(label)s: '%(value)s' is not a number.", label=label, value=raw),
                               field=item.key) from None
        tolerance = spec.get("tolerance") or 0.0
        if abs(value - spec["answer"]) <= tolerance + 1e-9:
            return Scored(bankfile.format_number(value), True, None)
        for wrong in spec.get("wrong_answers") or ():
            if abs(value - wrong["value"]) <= tolerance + 1e-9:
                return Scored(bankfile.format_number(wrong["value"]), False, wrong["misconception"])
        return Scored(bankfile.format_number(value), False, None)
    if len(raw) > 2000:
        raise InvalidInput(msg("%(label)s: an answer has at most 2000 characters.", label=label), field=item.key)
    return Scored(raw, None, None)  # short text: the teacher scores it with the rubric


def _score_multiple(choices: list[dict], raw: str, label, field: str) -> Scored:
    """"Choose all that apply": the chosen keys (separated by commas, semicolons or spaces, in any order and case),
    stored in the choices' order ("A,C"). Right when exactly the correct choices are chosen. An answer reveals the
    misconception of the first distractor chosen (one per answer, as every answer of the analysis)."""
    wanted, unknown = set(), []
    for part in (p for p in re.split(r"[,;\s]+", raw) if p):
        choice = next((c for c in choices if c["key"] == part), None) or next(
            (c for c in choices if c["key"].upper() == part.upper()), None)
        if choice is None:
            unknown.append(part)
        else:
            wanted.add(choice["key"])
    if unknown:
        keys = ", ".join(c["key"] for c in choices)
        raise InvalidInput(msg("%(label)s: choose among %(choices)s, not '%(value)s'.", label=label, choices=keys,
                               value=unknown[0]), field=field)
    chosen = [c for c in choices if c["key"] in wanted]
    correct = {c["key"] for c in choices if c.get("correct")} == wanted
    revealed = next((c.get("misconception") for c in chosen if not c.get("correct") and c.get("misconception")),
                    None)
    return Scored(",".join(c["key"] for c in chosen), correct, revealed)


# ------------------------------------------------------------------------------- classes and rosters


def _language_and_digits(language: str, digits: str) -> tuple[str, str]:
    language, digits = (language or "").strip(), (digits or "").strip()
    if language not in bankfile.LANGUAGES:
        raise InvalidInput(msg("'%(language)s' is not a language of ClassLab: choose one of %(choices)s.",
                               language=language, choices=", ".join(bankfile.LANGUAGES)), field="language")
    if digits not in DIGITS:
        raise InvalidInput(msg("'%(digits)s' is not a way of writing numbers: choose one of %(choices)s.",
                               digits=digits, choices=", ".join(DIGITS)), field="digits")
    if digits == "arabic-indic" and language != "ar":
        raise InvalidInput(msg("Arabic-Indic digits are for classes taught in Arabic."), field="digits")
    return language, digits


def create_class(session: Session, teacher: User, name: str, language: str = "en",
                 digits: str = "western") -> ClassGroup:
    """A class whose students see the bank and their pages in `language`, numbers written with `digits`."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(msg("A class needs a name of 1 to 200 characters."), field="name")
    language, digits = _language_and_digits(language, digits)
    group = ClassGroup(teacher=teacher, name=name, language=language, digits=digits)
    session.add(group)
    session.flush()
    return group


def set_class_language(session: Session, actor: User, class_id: int, language: str, digits: str) -> ClassGroup:
    """The language the class's students read in, and how their numbers are written; assignments already made
    keep their titles, everything from the bank follows at once."""
    group = get_class(session, actor, class_id, "edit")
    group.language, group.digits = _language_and_digits(language, digits)
    return group


def classes_of(session: Session, teacher: User) -> list[ClassGroup]:
    return list(session.scalars(authz.visible(teacher, select(ClassGroup).order_by(ClassGroup.name))))


def get_class(session: Session, actor: User, class_id: int, action: str = "view") -> ClassGroup:
    group = session.get(ClassGroup, class_id)
    authz.require(actor, action, group)
    return group


_CODE = re.compile(r"^[\w\-]{1,40}$")


def _clean_code(code: str) -> str:
    code = unicodedata.normalize("NFC", (code or "").strip())
    if not _CODE.match(code):
        raise InvalidInput(msg("'%(code)s' is not a student code: use 1 to 40 letters, digits or dashes.", code=code),
                           field="code")
    return code


def _generated_code(taken: set[str]) -> str:
    while (code := new_student_code()).lower() in taken:
        pass
    taken.add(code.lower())
    return code


def add_student(session: Session, actor: User, class_id: int, code: str, name: str | None = None) -> Student:
    """Add one student; without a code of the teacher's own, the student gets a generated, unguessable one."""
    group = get_class(session, actor, class_id, "edit")
    code = _clean_code(code) if (code or "").strip() else _generated_code({s.code.lower() for s in group.students})
    if any(s.code.lower() == code.lower() for s in group.students):
        raise Conflict(msg("There is already a student with code %(code)s in this class.", code=code), field="code")
    student = Student(class_group=group, code=code, name=(name or "").strip()[:200] or None)
    session.add(student)
    session.flush()
    return student


CODE_HEADERS = {"code", "student code", "student", "קוד", "קוד תלמיד", "رمز", "رمز الطالب", "الرمز"}
NAME_HEADERS = {"name", "student name", "שם", "שם תלמיד", "اسم", "اسم الطالب", "الاسم"}


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) or, for files saved by Hebrew Windows, Windows-1255. A file that starts with the
    UTF-8 byte order mark is UTF-8 or nothing: read as Windows-1255, its bad bytes (a lone surrogate's, say) would
    be stored as Hebrew letters nobody typed."""
    marked = data.startswith(codecs.BOM_UTF8)
    for encoding in ("utf-8-sig",) if marked else ("utf-8-sig", "cp1255"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text_refused(text):  # the text rule of every field (app.inputs): a NUL is no name
            raise InvalidInput(msg("The file holds control characters; save it again as CSV UTF-8."), field="file")
        return text
    if marked:
        raise InvalidInput(msg("The file starts as UTF-8 but holds bytes that are not UTF-8; save it again as CSV "
                               "UTF-8."), field="file")
    raise InvalidInput(msg("The file is neither UTF-8 nor Windows-1255 text; save it as CSV UTF-8."), field="file")


def _rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    text = decode_csv(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidInput(msg("The file is empty."), field="file")
    header = [unicodedata.normalize("NFC", h.strip().lower()) for h in rows[0]]
    return header, rows[1:]


def import_roster(session: Session, actor: User, class_id: int, data: bytes) -> int:
    """Add the students of a CSV (columns: code and/or name). All or nothing; errors name the row.

    A row without a code (or a file with only a name column) gets a generated code."""
    group = get_class(session, actor, class_id, "edit")
    header, rows = _rows(data)
    code_col = next((i for i, h in enumerate(header) if h in CODE_HEADERS), None)
    name_col = next((i for i, h in enumerate(header) if h in NAME_HEADERS), None)
    if code_col is None and name_col is None:
        raise InvalidInput(msg("The file has no 'code' or 'name' column (found: %(columns)s).",
                               columns=", ".join(header) or msg("nothing")), field="file")
    existing = {s.code.lower() for s in group.students}
    seen: dict[str, int] = {}
    problems, new, generated = [], [], []
    for n, row in enumerate(rows, start=2):
        code = row[code_col].strip() if code_col is not None and code_col < len(row) else ""
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        if not code:
            generated.append(name)
            continue
        try:
            code = _clean_code(code)
        except InvalidInput as exc:
            problems.append(msg("row %(row)d: %(problem)s", row=n, problem=exc.message))
            continue
        if code.lower() in seen:
            problems.append(msg("row %(row)d: code %(code)s repeats row %(first)d.", row=n, code=code,
                                first=seen[code.lower()]))
            continue
        if code.lower() in existing:
            problems.append(msg("row %(row)d: code %(code)s is already in this class.", row=n, code=code))
            continue
        seen[code.lower()] = n
        new.append(Student(class_group=group, code=code, name=name[:200] or None))
    if problems:
        raise InvalidInput(msg("Nothing was imported. %(problems)s", problems=problems[:20]), field="file")
    taken = existing | set(seen)
    new += [Student(class_group=group, code=_generated_code(taken), name=name[:200] or None) for name in generated]
    session.add_all(new)
    session.flush()
    return len(new)


# -------------------------------------------------------------------------------------- assignments


def create_assignment(session: Session, actor: User, class_id: int, *, title: str, opens_at: datetime,
                      closes_at: datetime, diagnostic_key: str | None = None,
                      item_keys: list[str] | None = None) -> Assignment:
    group = get_class(session, actor, class_id, "assign")
    if diagnostic_key:
        diagnostic = session.scalar(select(Diagnostic).where(Diagnostic.key == diagnostic_key))
        if diagnostic is None:
            raise InvalidInput(msg("Unknown diagnostic '%(key)s'.", key=diagnostic_key), field="diagnostic")
        item_keys = list(diagnostic.item_keys)
        title = title or diagnostic_record(diagnostic).in_language(group.language).title
    if not item_keys:
        raise InvalidInput(msg("Pick a ready diagnostic or at least one item."), field="items")
    if closes_at <= opens_at:
        raise InvalidInput(msg("The closing time must be after the opening time."), field="closes_at")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise InvalidInput(msg("An assignment needs a title of 1 to 300 characters."), field="title")
    assignment = Assignment(class_group=group, title=title, diagnostic_key=diagnostic_key, opens_at=opens_at,
                            closes_at=closes_at)
    for position, item in enumerate(current_items(session, item_keys, actor=actor)):
        assignment.items.append(AssignmentItem(item=item, position=position))
    session.add(assignment)
    session.flush()
    return assignment


def get_assignment(session: Session, actor: User, public_id: str, action: str = "view") -> Assignment:
    return authz.load(session, actor, Assignment, public_id, action,
                      options=(selectinload(Assignment.items).selectinload(AssignmentItem.item),))


def assignments_of(session: Session, actor: User) -> list[Assignment]:
    return list(session.scalars(authz.visible(actor, select(Assignment)).order_by(Assignment.created_at.desc())))


# ------------------------------------------------------------------------- students answer (no account)


WRONG_CODES = msg("These codes do not match a student of a class. Check both codes with your teacher.")
_CLASS_CODE = re.compile(r"^[A-Z0-9]{1,12}$")


def find_student(session: Session, class_code: str, student_code: str) -> Student:
    """The student of these two codes. Any wrong pair gets the same answer, so that a wrong class code cannot be told
    from a wrong student code."""
    code = (class_code or "").strip().upper()
    group = session.scalar(select(ClassGroup).where(ClassGroup.code == code)) if _CLASS_CODE.match(code) else None
    wanted = unicodedata.normalize("NFC", (student_code or "").strip()).lower()
    student = next((s for s in group.students if s.code.lower() == wanted), None) if group is not None else None
    if student is None:
        raise NotFound(WRONG_CODES)
    return student


def open_assignments(session: Session, student: Student, now: datetime | None = None) -> list[Assignment]:
    now = now or utcnow()
    return list(session.scalars(select(Assignment).where(
        Assignment.class_id == student.class_id, Assignment.opens_at <= now, Assignment.closes_at > now,
    ).order_by(Assignment.closes_at)))


def student_assignment(session: Session, student: Student, public_id: str) -> Assignment:
    assignment = session.scalar(select(Assignment).where(Assignment.public_id == str(public_id)[:32]))
    if assignment is None or assignment.class_id != student.class_id:
        raise NotFound(msg("This assignment is not for your class."))
    return assignment


def submission_of(session: Session, assignment: Assignment, student: Student) -> Submission | None:
    # populate_existing: after a concurrent request's commit, the row as stored now, not as first loaded.
    return session.scalar(select(Submission).where(Submission.assignment_id == assignment.id,
                                                   Submission.student_id == student.id)
                          .execution_options(populate_existing=True))


class AlreadySubmitted(Conflict):
    """The student's submission is closed (perhaps by their other request a moment ago)."""


ALREADY_SUBMITTED = msg("You already submitted this assignment; ask your teacher if something needs changing.")


def _open_submission(session: Session, assignment: Assignment, student: Student, source: str) -> Submission:
    """The student's submission row, created if missing. Two requests at once may both create it: the insert
    ignores the conflict on the unique pair (both SQLite and PostgreSQL), so neither fails and both get the one row."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(session.get_bind().dialect.name)
    if dialect is None:
        raise NotImplementedError(f"No insert-or-ignore for {session.get_bind().dialect.name}.")
    session.execute(dialect.insert(Submission).values(assignment_id=assignment.id, student_id=student.id,
                                                      started_at=utcnow(), source=source)
                    .on_conflict_do_nothing(index_elements=["assignment_id", "student_id"]))
    return submission_of(session, assignment, student)


def _claim(session: Session, submission: Submission, submit: bool) -> None:
    """Take the row for this request's writes while it is still open; a closed one is AlreadySubmitted.

    The conditional UPDATE waits for a concurrent request's lock (the row lock on PostgreSQL, the write lock on
    SQLite) and then sees its commit, so of two submits exactly one closes the submission."""
    values = {"submitted_at": utcnow()} if submit else {"source": submission.source}
    claimed = session.execute(update(Submission).where(Submission.id == submission.id,
                                                       Submission.submitted_at.is_(None)).values(**values)
                              .execution_options(synchronize_session=False)).rowcount
    session.refresh(submission)
    session.expire(submission, ["answers"])  # a concurrent save's answers, not those loaded before the wait
    if not claimed:
        raise AlreadySubmitted(ALREADY_SUBMITTED)


def _scored(assignment: Assignment, raw: dict[int, str]) -> dict[int, Scored]:
    items = {ai.item.id: ai.item for ai in assignment.items}
    numbers = {ai.item.id: n for n, ai in enumerate(assignment.items, start=1)}
    scored, problems = {}, []
    for item_id, value in raw.items():
        item = items.get(item_id)
        if item is None:
            problems.append(msg("Item %(id)s is not part of this assignment.", id=item_id))
            continue
        try:
            scored[item_id] = score(item, value, numbers[item_id])
        except InvalidInput as exc:
            problems.append(exc.message)
    if problems:
        raise InvalidInput(sentences(problems), field="answers")
    return scored


def _save(session: Session, assignment: Assignment, student: Student, raw: dict[int, str], *, source: str,
          submit: bool, claim: bool = False) -> Submission:
    """Score and store the answers; `claim` (a student's own request) refuses a submission already closed."""
    scored = _scored(assignment, raw)
    submission = _open_submission(session, assignment, student, source)
    if claim:
        _claim(session, submission, submit)
    elif submit:
        submission.submitted_at = utcnow()
    answers = {a.item_id: a for a in submission.answers}
    for item_id, result in scored.items():
        answer = answers.get(item_id) or Answer(submission=submission, item_id=item_id)
        answer.value, answer.correct, answer.misconception = result.value, result.correct, result.misconception
        answer.scored_by, answer.score = "auto", None
        session.add(answer)
    session.flush()
    return submission


def student_answers(session: Session, student: Student, public_id: str, raw: dict[int, str], *, submit: bool,
                    now: datetime | None = None) -> Submission:
    """A student saves (and may resume) or submits; one submission each, inside the window, even when two of their
    requests arrive at once."""
    now = now or utcnow()
    assignment = student_assignment(session, student, public_id)
    if now < assignment.opens_at:
        raise Conflict(msg("This assignment has not opened yet."))
    if now >= assignment.closes_at:
        raise Conflict(msg("This assignment is closed: answers are no longer accepted."))
    existing = submission_of(session, assignment, student)
    if existing is not None and existing.submitted_at is not None:
        raise AlreadySubmitted(ALREADY_SUBMITTED)
    return _save(session, assignment, student, raw, source="student", submit=submit, claim=True)


def teacher_grid(session: Session, actor: User, public_id: str, grid: dict[tuple[int, int], str]) -> int:
    """The teacher types answers for any students (paper diagnostics); replaces what was there."""
    assignment = get_assignment(session, actor, public_id, "score")
    students = {s.id: s for s in assignment.class_group.students}
    by_student: dict[int, dict[int, str]] = {}
    for (student_id, item_id), value in grid.items():
        if student_id not in students:
            raise InvalidInput(msg("Student %(id)s is not in this class.", id=student_id), field="grid")
        by_student.setdefault(student_id, {})[item_id] = value
    problems = []
    for student_id, raw in by_student.items():
        try:
            _save(session, assignment, students[student_id], raw, source="teacher", submit=True)
        except InvalidInput as exc:
            problems.append(msg("%(code)s: %(problem)s", code=students[student_id].code, problem=exc.message))
    if problems:
        raise InvalidInput(sentences(problems), field="grid")
    return len(by_student)


def import_answers(session: Session, actor: User, public_id: str, data: bytes) -> int:
    """A CSV with a student-code column and one column per item key. All or nothing; errors name the row."""
    assignment = get_assignment(session, actor, public_id, "score")
    header, rows = _rows(data)
    code_col = next((i for i, h in enumerate(header) if h in CODE_HEADERS), None)
    if code_col is None:
        raise InvalidInput(msg("The file has no 'code' column for the student codes."), field="file")
    items = {ai.item.key.lower(): ai.item for ai in assignment.items}
    columns = {i: items[h] for i, h in enumerate(header) if h in items}
    unknown = [h for i, h in enumerate(header) if i != code_col and h not in items]
    if unknown:
        raise InvalidInput(msg("Unknown item column(s): %(columns)s.", columns=", ".join(unknown)), field="file")
    students = {s.code.lower(): s for s in assignment.class_group.students}
    problems, parsed, seen = [], [], set()
    for n, row in enumerate(rows, start=2):
        code = row[code_col].strip() if code_col < len(row) else ""
        student = students.get(code.lower())
        if student is None:
            problems.append(msg("row %(row)d: no student with code '%(code)s' in this class.", row=n, code=code))
            continue
        if code.lower() in seen:
            problems.append(msg("row %(row)d: student %(code)s appears twice.", row=n, code=code))
            continue
        seen.add(code.lower())
        raw = {columns[i].id: row[i] for i in columns if i < len(row)}
        for i, item in columns.items():
            try:
                score(item, row[i] if i < len(row) else "")
            except InvalidInput as exc:
                problems.append(msg("row %(row)d, column %(column)s: %(problem)s", row=n, column=item.key,
                                    problem=exc.message))
        parsed.append((student, raw))
    if problems:
        raise InvalidInput(msg("Nothing was imported. %(problems)s", problems=problems[:20]), field="file")
    for student, raw in parsed:
        _save(session, assignment, student, raw, source="csv", submit=True)
    return len(parsed)


def score_text(session: Session, actor: User, answer_id: int, level: int, misconception: str | None) -> Answer:
    answer = session.get(Answer, answer_id)
    authz.require(actor, "score", answer)
    item = answer.item
    if item.type != "text":
        raise InvalidInput(msg("Only short-text answers are scored by hand."), field="answer")
    levels = {lv["score"] for lv in item.spec["rubric"]["levels"]}
    if level not in levels:
        raise InvalidInput(msg("Choose a rubric level: %(levels)s.", levels=", ".join(map(str, sorted(levels)))),
                           field="level")
    allowed = {p["misconception"] for p in item.spec["rubric"].get("patterns") or ()}
    if misconception and misconception not in allowed:
        raise InvalidInput(msg("'%(key)s' is not a misconception this item can reveal.", key=misconception),
                           field="misconception")
    top = max(levels)
    answer.score, answer.correct = level, level == top
    answer.misconception = misconception if level != top else None
    answer.scored_by = "teacher"
    return answer


# ------------------------------------------------------------------------------------------ results


@dataclass
class Results:
    assignment: Assignment
    items: list[Item]
    students: list[Student]
    matrix: analysis.Matrix
    item_stats: list[analysis.ItemStats]
    kr20: float | None
    profiles: list[analysis.StudentProfile]
    frequencies: dict[str, int]
    groups: list[analysis.Group]
    heatmap: analysis.Heatmap
    pending_text: list[Answer]
    submitted: int = 0  # students who submitted (drafts are not submissions)
    drafts: int = 0  # students who saved answers but have not submitted
    kr20_used: int = 0  # students KR-20 is computed over
    kr20_waiting: int = 0  # submitted students left out of KR-20 until a short text of theirs is scored


def _specs(assignment: Assignment, known: dict[int, analysis.ItemSpec] | None = None) -> list[analysis.ItemSpec]:
    """The assignment's items for the analysis; `known` keeps those already read (classes share item versions)."""
    known = {} if known is None else known
    for ai in assignment.items:
        if ai.item_id not in known:
            known[ai.item_id] = analysis.ItemSpec(ai.item.key, spec_item(ai.item.spec).misconception_of())
    return [known[ai.item_id] for ai in assignment.items]


def _responses(assignment: Assignment, submitted: list[str], given: dict) -> list[analysis.Response]:
    """Every submitted answer of the assignment as plain tuples: a network report reads hundreds of thousands,
    and ORM objects for each would cost more than the statistics themselves.

    The missing-answer rule (app.diagnostics.analysis): drafts count nowhere; in submitted work an item with no
    answer is wrong ("skipped"), and a short text the teacher has not scored is pending."""
    keys = [ai.item.key for ai in assignment.items]
    responses = []
    make = tuple.__new__  # Response is a named tuple: made from its fields without its Python-level __new__
    Response = analysis.Response
    nothing = (None, None, None)
    for code in submitted:
        for key in keys:
            correct, value, mis = given.get((code, key), nothing)
            if value is None and correct is None:  # skipped: wrong, once submitted
                correct = False
            responses.append(make(Response, (code, key, correct, value, mis)))
    return responses


def results(session: Session, actor: User, public_id: str) -> Results:
    assignment = get_assignment(session, actor, public_id)
    return results_of(session, [assignment])[0]


def results_of(session: Session, assignments: list[Assignment], *, statistics: bool = True,
               rosters: dict[int, list[Student]] | None = None) -> list[Results]:
    """The results of many assignments (already authorized: from `get_assignment` or `authz.visible`) in a fixed
    number of queries however many there are: a network's report, or plans drafted for every class.

    `statistics=False` is for a reader of the students' answers only (learning plans): the matrix (with the
    misconception each answer revealed), profiles and frequencies are there; item statistics, KR-20, groups, the
    heatmap and the short texts waiting to be scored are left empty. `rosters` (class id -> its students in code
    order) spares reading the students again when the caller has them already."""
    if not assignments:
        return []
    ids = [a.id for a in assignments]
    classes = {a.class_id for a in assignments}
    submitted: dict[int, list[str]] = {i: [] for i in ids}
    for assignment_id, code in session.execute(
            select(Submission.assignment_id, Student.code).join(Student, Submission.student_id == Student.id)
            .where(Submission.assignment_id.in_(ids), Submission.submitted_at.is_not(None))):
        submitted[assignment_id].append(code)
    students: dict[int, list[Student]] = {c: [] for c in classes}
    if rosters is not None and classes <= rosters.keys():
        students.update((c, rosters[c]) for c in classes)
    else:
        for student in session.scalars(select(Student).where(Student.class_id.in_(classes)).order_by(Student.code)):
            students[student.class_id].append(student)
    code_of = {st.id: st.code for roster in students.values() for st in roster}
    key_of = {ai.item_id: ai.item.key for a in assignments for ai in a.items}
    given: dict[int, dict] = {i: {} for i in ids}
    # Hundreds of thousands of rows for a network: read as the driver's plain tuples (a Row object each costs more
    # than the statistics), ids mapped to codes and keys here rather than joined in. A boolean column comes back
    # as 0/1 from SQLite, so `correct` is made a bool.
    answers = session.connection().execute(
        select(Submission.assignment_id, Submission.student_id, Answer.item_id, Answer.correct, Answer.value,
               Answer.misconception)
        .join(Submission, Answer.submission_id == Submission.id)
        .where(Submission.assignment_id.in_(ids), Submission.submitted_at.is_not(None)))
    rows = answers.cursor.fetchall()
    unknown_items = {row[2] for row in rows} - key_of.keys()
    if unknown_items:  # an answer to another version of an item than the assignment's: counted under its key
        key_of.update((i, k) for i, k in session.execute(select(Item.id, Item.key).where(Item.id.in_(unknown_items))))
    unknown_students = {row[1] for row in rows} - code_of.keys()
    if unknown_students:
        code_of.update((i, c) for i, c in session.execute(
            select(Student.id, Student.code).where(Student.id.in_(unknown_students))))
    for assignment_id, student_id, item_id, correct, value, mis in rows:
        given[assignment_id][(code_of[student_id], key_of[item_id])] = (
            None if correct is None else bool(correct), value, mis)
    pending: dict[int, list[Answer]] = {i: [] for i in ids}
    for answer in () if not statistics else session.scalars(
            select(Answer).join(Submission, Answer.submission_id == Submission.id)
            .join(Item, Answer.item_id == Item.id)
            .where(Submission.assignment_id.in_(ids), Submission.submitted_at.is_not(None), Item.type == "text",
                   Answer.value.is_not(None), Answer.scored_by != "teacher")
            .options(selectinload(Answer.item), selectinload(Answer.submission).selectinload(Submission.student))):
        pending[answer.submission.assignment_id].append(answer)
    counts: dict[tuple[int, bool], int] = {}
    for assignment_id, done, n in session.execute(
            select(Submission.assignment_id, Submission.submitted_at.is_not(None), func.count())
            .where(Submission.assignment_id.in_(ids))
            .group_by(Submission.assignment_id, Submission.submitted_at.is_not(None))):
        counts[assignment_id, bool(done)] = n
    out = []
    known: dict[int, analysis.ItemSpec] = {}
    for assignment in assignments:
        specs = _specs(assignment, known)
        responses = _responses(assignment, submitted[assignment.id], given[assignment.id])
        roster = students[assignment.class_id]
        codes = [s.code for s in roster]
        matrix, profiles, heat = analysis.analyse(specs, responses, students=codes, heat=statistics)
        kr20_used, kr20_waiting = analysis.kr20_counts(matrix) if statistics else (0, 0)
        out.append(Results(
            submitted=counts.get((assignment.id, True), 0), drafts=counts.get((assignment.id, False), 0),
            kr20_used=kr20_used, kr20_waiting=kr20_waiting, assignment=assignment,
            items=[ai.item for ai in assignment.items], students=roster, matrix=matrix,
            item_stats=analysis.item_statistics(matrix) if statistics else [],
            kr20=analysis.kr20(matrix) if statistics else None, profiles=profiles,
            frequencies=analysis.misconception_frequencies(profiles),
            groups=analysis.suggest_groups(profiles) if statistics else [],
            heatmap=heat or analysis.Heatmap((), (), ()), pending_text=pending[assignment.id],
        ))
    return out


def visible_assignments(session: Session, actor: User, public_ids: list[str]) -> list[Assignment]:
    """The assignments of these public ids the actor may see, with their items, in the order asked."""
    found = {a.public_id: a for a in session.scalars(
        authz.visible(actor, select(Assignment)).where(Assignment.public_id.in_([str(p)[:32] for p in public_ids]))
        .options(selectinload(Assignment.items).selectinload(AssignmentItem.item)))}
    return [found[p] for p in public_ids if p in found]


def results_csv(res: Results) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "name", "score", *[i.key for i in res.items], "misconceptions held"])
    names = {s.code: s.name or "" for s in res.students}
    for profile in res.profiles:
        cells = [res.heatmap.state(profile.student, i.key) for i in res.items]
        score_ = "" if profile.score is None else f"{profile.score:.2f}"
        writer.writerow([profile.student, names.get(profile.student, ""), score_, *cells, " ".join(profile.held)])
    return out.getvalue()


def progress(session: Session, actor: User, before_id: str, after_id: str) -> dict:
    """Re-assessment: the same class's misconceptions on an earlier and a later assignment."""
    before, after = results(session, actor, before_id), results(session, actor, after_id)
    if before.assignment.class_id != after.assignment.class_id:
        raise InvalidInput(msg("Compare two assignments of the same class."), field="after")
    if before.assignment.opens_at > after.assignment.opens_at:
        before, after = after, before
    change = analysis.change_over_time(before.profiles, after.profiles)
    return {"before": before.assignment, "after": after.assignment, "change": change}
