"""ClassLab's QTI 3.0 export validated against 1EdTech's QTI 3.0 XSDs.

The schemas are vendored in tests/data/qti3-xsd (where each file comes from, its licence and every edit made to it:
SOURCES.md there). Validation is offline: every import in them points at a file beside it, the parser may not use
the network, and the schema fixtures check that nothing outside the folder was read.

The ASI schema is a 7 MB file that lxml takes several seconds to compile, so each schema is compiled once per module.
A failing validation prints lxml's error log as `<item key or file>:<line>: <message>` lines.
"""

from __future__ import annotations

import copy
import functools
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from app.diagnostics.bankfile import Bank, load_bank
from app.diagnostics.qti import QTI_NS, bank_to_qti_package, item_to_qti

XSD_DIR = (Path(__file__).parents[1] / "data" / "qti3-xsd").resolve()
ASI_XSD = XSD_DIR / "qtiv3p0" / "imsqti_asiv3p0_v1p0.xsd"
CP_XSD = XSD_DIR / "qtiv3p0" / "imsqtiv3p0_imscpv1p2_v1p0.xsd"
TRILINGUAL = Path(__file__).parents[1] / "trilingual_bank"

XS = "{http://www.w3.org/2001/XMLSchema}"
Q = f"{{{QTI_NS}}}"
CP = "{http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1}"

# A small item written by hand from the QTI 3.0 specification: what a valid document looks like to these schemas.
MINIMAL_ITEM = f"""<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="{QTI_NS}" identifier="minimal" title="Minimal" adaptive="false"
    time-dependent="false" xml:lang="en">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>Which is larger?</p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="A">3/4</qti-simple-choice>
      <qti-simple-choice identifier="B">2/3</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing
      template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"/>
</qti-assessment-item>
"""


class _Recorder(etree.Resolver):
    """Records every schema document lxml asks for; resolution itself is left to libxml2 (files only)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def resolve(self, url, pubid, context):
        self.urls.append(url)
        return None


def _is_vendored(url: str) -> bool:
    path = url.removeprefix("file://")
    return "://" not in path and XSD_DIR in Path(path).resolve().parents


def _compile(path: Path) -> etree.XMLSchema:
    resolver = _Recorder()
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(resolver)
    schema = etree.XMLSchema(etree.parse(str(path), parser))
    outside = [url for url in resolver.urls if not _is_vendored(url)]
    assert not outside, f"schema documents read from outside {XSD_DIR}: {outside}"
    assert len(resolver.urls) > 1, "the imports were not resolved through the recording resolver"
    return schema


@pytest.fixture(scope="module")
def asi() -> etree.XMLSchema:
    return _compile(ASI_XSD)


@pytest.fixture(scope="module")
def cp() -> etree.XMLSchema:
    return _compile(CP_XSD)


def _banks() -> list[tuple[str, Path | None]]:
    banks: list[tuple[str, Path | None]] = [("starter", None)]
    if TRILINGUAL.is_dir():
        banks.append(("trilingual", TRILINGUAL))
    return banks


@functools.cache
def _load(folder: Path | None) -> Bank:
    return load_bank() if folder is None else load_bank(folder)


@pytest.fixture(scope="module", params=_banks(), ids=lambda b: b[0])
def bank(request) -> Bank:
    return _load(request.param[1])


def _parse(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))


def _errors(schema: etree.XMLSchema, doc: etree._Element, where: str) -> list[str]:
    """`where:line: message` for every error lxml reports; empty when the document is valid."""
    if schema.validate(doc):
        return []
    return [f"{where}:{e.line}: {e.message}" for e in schema.error_log]


def _fail_with(lines: list[str], invalid: int, total: int, what: str) -> None:
    report = "\n".join(lines)
    pytest.fail(f"{invalid} of {total} {what} fail the QTI 3.0 XSD:\n{report}", pytrace=False)


# ------------------------------------------------------------------------------------------ the schemas themselves


def test_vendored_schemas_import_only_files_beside_them() -> None:
    """Every import, include and redefine names a relative path to a file in the folder: nothing is fetched."""
    problems = []
    for xsd in sorted(XSD_DIR.rglob("*.xsd")):
        root = etree.parse(str(xsd), etree.XMLParser(no_network=True, resolve_entities=False)).getroot()
        for ref in root.iter(f"{XS}import", f"{XS}include", f"{XS}redefine"):
            location = ref.get("schemaLocation")
            where = f"{xsd.relative_to(XSD_DIR)}:{ref.sourceline}"
            if not location or "://" in location:
                problems.append(f"{where}: schemaLocation {location!r} is not a local file")
                continue
            target = (xsd.parent / location).resolve()
            if not target.is_file() or XSD_DIR not in target.parents:
                problems.append(f"{where}: {location} does not name a vendored file")
    assert problems == []


def test_a_hand_written_qti3_item_is_valid(asi) -> None:
    """The positive control: the schema accepts a plain, correct QTI 3.0 item."""
    assert _errors(asi, _parse(MINIMAL_ITEM), "minimal") == []


# ------------------------------------------------------------------------------------------------- the export


def test_every_bank_item_is_valid_qti3(asi, bank) -> None:
    lines: list[str] = []
    invalid = 0
    for item in bank.items.values():
        errors = _errors(asi, _parse(item_to_qti(item)), item.key)
        invalid += bool(errors)
        lines.extend(errors)
    if lines:
        _fail_with(lines, invalid, len(bank.items), "exported items")


def test_package_manifest_and_items_are_valid_qti3(asi, cp, bank, tmp_path) -> None:
    package = bank_to_qti_package(bank, tmp_path / "bank.zip")
    lines: list[str] = []
    invalid = 0
    with zipfile.ZipFile(package) as zf:
        manifest = _parse(zf.read("imsmanifest.xml"))
        lines.extend(_errors(cp, manifest, "imsmanifest.xml"))
        invalid += bool(lines)
        hrefs = [f.get("href") for f in manifest.iter(f"{CP}file") if f.get("href", "").endswith(".xml")]
        assert sorted(hrefs) == sorted(f"items/{key}.xml" for key in bank.items)
        for href in hrefs:
            errors = _errors(asi, _parse(zf.read(href)), href)
            invalid += bool(errors)
            lines.extend(errors)
    if lines:
        _fail_with(lines, invalid, len(hrefs) + 1, "package files")


# ------------------------------------------------------------------- the schemas are really applied (negatives)


def _first_item_xml() -> str:
    return item_to_qti(next(iter(_load(None).items.values())))


@pytest.mark.parametrize("source", ["minimal", "exported"])
def test_a_renamed_element_fails(asi, source) -> None:
    doc = _parse(MINIMAL_ITEM if source == "minimal" else _first_item_xml())
    body = doc.find(f"{Q}qti-item-body")
    assert body is not None
    body.tag = f"{Q}qti-body"
    errors = _errors(asi, doc, source)
    assert any("qti-body" in e and "not expected" in e for e in errors), errors


@pytest.mark.parametrize("source", ["minimal", "exported"])
def test_an_attribute_the_schema_does_not_allow_fails(asi, source) -> None:
    doc = _parse(MINIMAL_ITEM if source == "minimal" else _first_item_xml())
    # qti-response-declaration has no wildcard attributes: a misspelt attribute is caught
    declaration = doc.find(f"{Q}qti-response-declaration")
    assert declaration is not None
    declaration.set("base_type", "identifier")
    errors = _errors(asi, doc, source)
    assert any("base_type" in e and "not allowed" in e for e in errors), errors


def test_a_wrong_attribute_value_fails(asi) -> None:
    doc = _parse(MINIMAL_ITEM)
    doc.find(f"{Q}qti-response-declaration").set("cardinality", "several")
    errors = _errors(asi, doc, "minimal")
    assert any("cardinality" in e for e in errors), errors


def test_a_manifest_without_its_metadata_fails(cp, tmp_path) -> None:
    bank = _load(TRILINGUAL if TRILINGUAL.is_dir() else None)
    with zipfile.ZipFile(bank_to_qti_package(bank, tmp_path / "bank.zip")) as zf:
        manifest = _parse(zf.read("imsmanifest.xml"))
    broken = copy.deepcopy(manifest)
    broken.remove(broken.find(f"{CP}metadata"))
    errors = _errors(cp, broken, "imsmanifest.xml")
    assert any("organizations" in e and "not expected" in e for e in errors), errors
