"""QTI 3.0 export and import of bank items, and IMS content packages of them."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from app.diagnostics.bankfile import LANGUAGES, Bank, Item, load_bank, pick
from app.diagnostics.qti import (
    MATCH_CORRECT,
    MATHML_NS,
    QTI_NS,
    QtiError,
    bank_to_qti_package,
    item_to_qti,
    qti_package_to_items,
    qti_to_item,
    read_package,
)
from app.richtext import render_block, render_inline

Q = f"{{{QTI_NS}}}"
M = f"{{{MATHML_NS}}}"
CP = "{http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1}"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TRILINGUAL = Path(__file__).parents[1] / "trilingual_bank"


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def trilingual() -> Bank:
    """A small bank with every text in en, he and ar (the starter bank gets there once translated)."""
    return load_bank(TRILINGUAL)


@pytest.fixture(scope="module", params=["starter", "trilingual"])
def any_bank(request, bank, trilingual) -> Bank:
    return bank if request.param == "starter" else trilingual


def _assert_same(a: Item, b: Item) -> None:
    for f in dataclasses.fields(Item):
        assert getattr(a, f.name) == getattr(b, f.name), (a.key, f.name)
    assert a == b


# ---------------------------------------------------------------------------------------------- round trips


def test_whole_bank_round_trips_field_by_field(any_bank) -> None:
    for item in any_bank.items.values():
        _assert_same(qti_to_item(item_to_qti(item)), item)
        # bytes, as read from a package, work the same
        _assert_same(qti_to_item(item_to_qti(item).encode("utf-8")), item)


def test_package_round_trip(any_bank, tmp_path) -> None:
    bank = any_bank
    out = bank_to_qti_package(bank, tmp_path / "bank.zip")
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        manifest = ET.fromstring(zf.read("imsmanifest.xml"))
    assert names[0] == "imsmanifest.xml"
    assert sorted(names[1:]) == sorted(f"items/{key}.xml" for key in bank.items)
    assert manifest.tag == f"{CP}manifest"
    assert manifest.findtext(f"{CP}metadata/{CP}schemaversion") == "3.0.0"
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    assert len(resources) == len(bank.items)
    for resource in resources:
        assert resource.get("type") == "imsqti_item_xmlv3p0"
        assert resource.get("href") == f"items/{resource.get('identifier')}.xml"
        assert resource.find(f"{CP}file").get("href") == resource.get("href")

    items = qti_package_to_items(out)
    assert [i.key for i in items] == list(bank.items)
    for item in items:
        _assert_same(item, bank.items[item.key])
    # the same bank gives the same bytes: packages can be compared and cached
    again = bank_to_qti_package(bank, tmp_path / "again.zip")
    assert again.read_bytes() == out.read_bytes()


# ---------------------------------------------------------------------------------------------- structure


def _root(item: Item) -> ET.Element:
    return ET.fromstring(item_to_qti(item).encode("utf-8"))


def _assert_common(root: ET.Element, item: Item, base_type: str) -> ET.Element:
    assert root.tag == f"{Q}qti-assessment-item"
    assert root.get("identifier") == item.key and root.get("title")
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert "imsqti_asiv3p0" in root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation")
    declaration = root.find(f"{Q}qti-response-declaration")
    assert declaration.attrib == {"identifier": "RESPONSE", "cardinality": "single", "base-type": base_type}
    score = root.find(f"{Q}qti-outcome-declaration[@identifier='SCORE']")
    assert score.get("cardinality") == "single" and score.get("base-type") == "float"
    assert score.findtext(f"{Q}qti-default-value/{Q}qti-value") == "0"
    body = root.find(f"{Q}qti-item-body")
    # on the item itself: the schema's qti-item-body takes no data-* attributes
    assert body is not None and root.get("data-cl-topic") == item.topic and body.get("data-cl-topic") is None
    assert root.get("data-cl-languages") == " ".join(item.languages)
    assert root.find(f"{Q}qti-response-processing") is not None
    # order required by the schema: declarations, then the body, then response processing
    order = [child.tag.split("}")[1] for child in root]
    assert order.index("qti-item-body") > max(i for i, t in enumerate(order) if t.endswith("-declaration"))
    assert order[-1] == "qti-response-processing"
    # maths is MathML in its own namespace; XHTML stays in the QTI namespace
    assert not root.findall(f".//{Q}math")
    assert body.find(f"{Q}div[@class='cl-stem']//{Q}p") is not None
    return body


def test_choice_item_structure(bank) -> None:
    item = bank.items["frac-compare-same-numerator"]
    root = _root(item)
    body = _assert_common(root, item, "identifier")
    assert root.findtext(f"{Q}qti-response-declaration/{Q}qti-correct-response/{Q}qti-value") == "A"
    interaction = body.find(f"{Q}qti-choice-interaction")
    assert interaction.get("response-identifier") == "RESPONSE" and interaction.get("max-choices") == "1"
    choices = interaction.findall(f"{Q}qti-simple-choice")
    assert [c.get("identifier") for c in choices] == ["A", "B"]
    assert [c.get("data-misconception") for c in choices] == [None, "larger-denominator-larger"]
    assert choices[0].find(f"{M}math/{M}mfrac/{M}mn").text == "3"
    # match_correct written out, plus a branch per misconception distractor that sets MISCONCEPTION
    misconception = root.find(f"{Q}qti-outcome-declaration[@identifier='MISCONCEPTION']")
    assert misconception.attrib == {"identifier": "MISCONCEPTION", "cardinality": "single", "base-type": "identifier"}
    processing = root.find(f"{Q}qti-response-processing")
    assert processing.get("template") is None
    branches = list(processing.find(f"{Q}qti-response-condition"))
    assert [b.tag.split("}")[1] for b in branches] == ["qti-response-if", "qti-response-else-if"]
    first = branches[0].find(f"{Q}qti-match")
    assert [o.tag.split("}")[1] for o in first] == ["qti-variable", "qti-correct"]
    assert branches[0].find(f"{Q}qti-set-outcome-value").get("identifier") == "SCORE"
    assert branches[1].findtext(f"{Q}qti-match/{Q}qti-base-value") == "B"
    setter = branches[1].find(f"{Q}qti-set-outcome-value")
    assert setter.get("identifier") == "MISCONCEPTION"
    assert setter.findtext(f"{Q}qti-base-value") == "larger-denominator-larger"
    stem = body.find(f"{Q}div")
    # the starter bank is English only for now, but this stem was already translated: each language its own div
    assert {div.get(LANG): div.get("data-cl-source") for div in stem} == item.stem
    assert [m.tag for m in stem.iter() if m.tag.startswith(M)][:3] == [f"{M}math", f"{M}mfrac", f"{M}mn"]


def test_numeric_item_structure(bank) -> None:
    item = bank.items["eq-two-step"]
    root = _root(item)
    body = _assert_common(root, item, "float")
    assert root.findtext(f"{Q}qti-response-declaration/{Q}qti-correct-response/{Q}qti-value") == "4"
    entry = body.find(f"{Q}p/{Q}qti-text-entry-interaction")
    assert entry is not None and entry.get("response-identifier") == "RESPONSE"
    outcome = root.find(f"{Q}qti-outcome-declaration[@identifier='MISCONCEPTION']")
    assert outcome.get("base-type") == "identifier"
    condition = root.find(f"{Q}qti-response-processing/{Q}qti-response-condition")
    correct = condition.find(f"{Q}qti-response-if/{Q}qti-equal")
    assert correct.attrib == {"tolerance-mode": "absolute", "tolerance": "0.001"}
    assert correct.find(f"{Q}qti-correct").get("identifier") == "RESPONSE"
    assert (
        condition.findtext(f"{Q}qti-response-if/{Q}qti-set-outcome-value[@identifier='SCORE']/{Q}qti-base-value") == "1"
    )
    branches = condition.findall(f"{Q}qti-response-else-if")
    found = [
        (b.findtext(f"{Q}qti-equal/{Q}qti-base-value"), b.findtext(f"{Q}qti-set-outcome-value/{Q}qti-base-value"))
        for b in branches
    ]
    assert found == [("7", "move-term-keep-sign"), ("2.2", "conjoining-terms")]
    # no tolerance: an exact comparison
    exact = _root(bank.items["eq-missing-number"]).find(f".//{Q}qti-response-if/{Q}qti-equal")
    assert exact.attrib == {"tolerance-mode": "exact"}


def test_text_item_structure(bank) -> None:
    item = bank.items["frac-explain-denominator"]
    root = _root(item)
    body = _assert_common(root, item, "string")
    assert root.findtext(f".//{Q}qti-correct-response/{Q}qti-value") == pick(item.model_answer, "en", item.languages)
    assert root.find(f"{Q}qti-outcome-declaration[@identifier='SCORE']").get("normal-maximum") == "2"
    assert body.find(f"{Q}qti-extended-text-interaction").get("response-identifier") == "RESPONSE"
    assert len(body.findall(f"{Q}div/{Q}div[@{LANG}='en']/{Q}p")) == 2
    rubric = body.find(f"{Q}qti-rubric-block")
    assert rubric.get("use") == "scoring" and rubric.get("view") == "scorer"
    levels = rubric.findall(f"{Q}qti-content-body/{Q}ol/{Q}li")
    assert [li.get("data-score") for li in levels] == ["2", "1", "0"]
    patterns = rubric.findall(f"{Q}qti-content-body/{Q}ul/{Q}li")
    assert [li.get("data-misconception") for li in patterns] == ["larger-denominator-larger"]
    assert len(root.find(f"{Q}qti-response-processing")) == 0  # a person scores it


def _rendered(texts, render) -> dict[str, str]:
    return {lang: str(render(text)) for lang, text in texts.items()}


def test_items_from_other_tools_import_without_classlab_attributes(any_bank) -> None:
    """Without data-cl-*, stems and choices are rebuilt from the XHTML and MathML and render the same, each
    language from its xml:lang."""
    for original in any_bank.items.values():
        if original.type == "inline":
            continue  # a qti-inline-choice holds text only: another tool has one language (its own test below)
        xml = re.sub(r' data-cl-[a-z-]+="[^"]*"', "", item_to_qti(original))
        item = qti_to_item(xml)
        # its languages are those every text is written in: at least the bank's (the starter bank's few items
        # translated before the bank had languages come back in all three)
        assert item.topic == "" and set(original.languages) <= set(item.languages), original.key
        assert _rendered(item.stem, render_block) == _rendered(original.stem, render_block), original.key
        assert [_rendered(c.text, render_inline) for c in item.choices] == [
            _rendered(c.text, render_inline) for c in original.choices
        ]
        assert [(c.key, c.correct, c.misconception) for c in item.choices] == [
            (c.key, c.correct, c.misconception) for c in original.choices
        ]
        assert (item.answer, item.tolerance, item.wrong_answers) == (
            original.answer,
            original.tolerance,
            original.wrong_answers,
        )
        if original.rubric:
            assert [_rendered(lv.description, render_inline) for lv in item.rubric.levels] == [
                _rendered(lv.description, render_inline) for lv in original.rubric.levels
            ]



def test_teachers_tex_survives_a_trip_through_another_tool(bank) -> None:
    """Maths beyond the bank's (matrices, units, Hebrew in \\text, accents) is read back from MathML alone."""
    from tests.unit.test_richtext import TEACHERS_TEX

    numeric = bank.items["frac-add-decimal"]
    for tex, _ in TEACHERS_TEX:
        stem = f"Work out ${tex}$ and $$\\frac{{1}}{{2}}$$ with **care**, [see](https://example.org/a?b=1&c=(2))."
        original = dataclasses.replace(numeric, stem={"en": stem})
        xml = re.sub(r' data-cl-[a-z-]+="[^"]*"', "", item_to_qti(original))
        assert ' rel="' not in xml
        assert render_block(qti_to_item(xml).stem["en"]) == render_block(stem), tex


def test_every_language_travels_in_the_item_marked_with_xml_lang(trilingual) -> None:
    item = trilingual.items["sample-explain"]
    root = _root(item)
    assert root.get(LANG) == "en"
    body = root.find(f"{Q}qti-item-body")
    assert root.get("data-cl-languages") == "en he ar"
    wrappers = body.findall(f"{Q}div[@class='cl-stem']/{Q}div")
    assert [(w.get(LANG), w.get("dir"), w.get("class")) for w in wrappers] == [
        ("en", None, "cl-lang"),
        ("he", "rtl", "cl-lang"),
        ("ar", "rtl", "cl-lang"),
    ]
    assert {w.get(LANG): w.get("data-cl-source") for w in wrappers} == item.stem
    assert "נועה" in "".join(wrappers[1].itertext()) and "ليان" in "".join(wrappers[2].itertext())
    # the scorer reads the model answer and every rubric line in each language
    content = body.find(f"{Q}qti-rubric-block/{Q}qti-content-body")
    model = content.find(f"{Q}div[@class='cl-model-answer']")
    assert {w.get(LANG): w.get("data-cl-source") for w in model} == item.model_answer
    for li, level in zip(content.findall(f"{Q}ol/{Q}li"), item.rubric.levels, strict=True):
        assert {s.get(LANG): s.get("data-cl-source") for s in li.findall(f"{Q}span")} == level.description
    # a choice that is only maths is written once; one with words once in each language
    choices = _root(trilingual.items["sample-compare"]).findall(f".//{Q}qti-simple-choice")
    assert choices[0].get("data-cl-source") == "$\\frac{3}{4}$" and not choices[0].findall(f"{Q}span")
    assert [(s.get(LANG), s.text) for s in choices[2].findall(f"{Q}span")] == [
        ("en", "They are equal"),
        ("he", "הם שווים"),
        ("ar", "هما متساويان"),
    ]


def test_a_package_in_three_languages_imports_keeping_all_three(trilingual, tmp_path) -> None:
    items = qti_package_to_items(bank_to_qti_package(trilingual, tmp_path / "three.zip"))
    assert len(items) == 5
    for item in items:
        original = trilingual.items[item.key]
        _assert_same(item, original)
        for lang in LANGUAGES:
            assert item.in_language(lang) == original.in_language(lang)


def test_an_item_that_declares_a_language_it_lacks_is_refused(trilingual) -> None:
    xml = item_to_qti(trilingual.items["sample-compare"])
    without_ar = re.sub(r'<span xml:lang="ar"[^>]*>هما متساويان</span>', "", xml)
    assert without_ar != xml
    with pytest.raises(QtiError, match=r"^qti-simple-choice 'C' has no text in ar \(the item is in en he ar\)$"):
        qti_to_item(without_ar)
    with pytest.raises(QtiError, match="^qti-assessment-item: data-cl-languages 'en fr' must list languages from en"):
        qti_to_item(xml.replace('data-cl-languages="en he ar"', 'data-cl-languages="en fr"'))


OLD_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="old" title="old" xml:lang="en">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-item-body data-cl-topic="fractions">
    <div class="cl-stem" data-cl-source="Which is larger?" data-cl-source-he="מה גדול יותר?">
      <p>Which is larger?</p>
    </div>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="A" data-cl-source="$1$"
        ><math xmlns="http://www.w3.org/1998/Math/MathML"><mn>1</mn></math></qti-simple-choice>
      <qti-simple-choice identifier="B" data-misconception="m" data-cl-source="Nothing">Nothing</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
</qti-assessment-item>
"""


def test_an_item_exported_before_the_bank_had_languages_still_imports() -> None:
    item = qti_to_item(OLD_EXPORT)
    assert item.stem == {"en": "Which is larger?", "he": "מה גדול יותר?"}
    assert item.languages == ("en",)  # what every text has: a single-language item, which falls back
    assert [c.text for c in item.choices] == [dict.fromkeys(LANGUAGES, "$1$"), {"en": "Nothing"}]
    assert item.in_language("he").stem == "מה גדול יותר?" and item.in_language("he").choices[1].text == "Nothing"


FOREIGN_CHOICE = """<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" xmlns:m="http://www.w3.org/1998/Math/MathML"
    identifier="q1" title="Halves" adaptive="false" time-dependent="false">
  <qti-response-declaration identifier="R1" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>c2</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>Which is <strong>half</strong> of
      <m:math><m:mfrac><m:mn>1</m:mn><m:mn>2</m:mn></m:mfrac></m:math>?</p>
    <qti-choice-interaction response-identifier="R1" max-choices="1">
      <qti-prompt>Choose one.</qti-prompt>
      <qti-simple-choice identifier="c1"><m:math><m:mn>1</m:mn></m:math></qti-simple-choice>
      <qti-simple-choice identifier="c2">
        <m:math><m:mfrac><m:mn>1</m:mn><m:mn>4</m:mn></m:mfrac></m:math>
      </qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"/>
</qti-assessment-item>
"""


def test_a_hand_written_qti_item_imports() -> None:
    item = qti_to_item(FOREIGN_CHOICE)
    assert (item.key, item.type, item.topic, item.languages) == ("q1", "choice", "", ("en",))
    assert item.stem == {"en": "Which is **half** of $\\frac{1}{2}$?\n\nChoose one."}
    # a choice that is only maths reads the same in every language
    assert [(c.key, c.text, c.correct, c.misconception) for c in item.choices] == [
        ("c1", dict.fromkeys(LANGUAGES, "$1$"), False, None),
        ("c2", dict.fromkeys(LANGUAGES, "$\\frac{1}{4}$"), True, None),
    ]
    # an item in Hebrew says so with its xml:lang
    hebrew = qti_to_item(FOREIGN_CHOICE.replace('identifier="q1"', 'identifier="q1" xml:lang="he-IL"')
                         .replace("Which is <strong>half</strong> of", "מהו <strong>חצי</strong> של")
                         .replace("Choose one.", "בחרו תשובה אחת."))
    assert hebrew.languages == ("he",)
    assert hebrew.stem == {"he": "מהו **חצי** של $\\frac{1}{2}$?\n\nבחרו תשובה אחת."}
    assert hebrew.in_language("ar").stem == hebrew.stem["he"]  # a single-language item falls back


FOREIGN_PROCESSING = """
  <qti-response-processing>
    <qti-response-condition>
      <qti-response-if>
        <qti-match><qti-variable identifier="R1"/><qti-correct identifier="R1"/></qti-match>
        <qti-set-outcome-value identifier="SCORE"><qti-base-value base-type="float">1</qti-base-value>
        </qti-set-outcome-value>
      </qti-response-if>
      <qti-response-else-if>
        <qti-match><qti-variable identifier="R1"/><qti-base-value base-type="identifier">c1</qti-base-value></qti-match>
        <qti-set-outcome-value identifier="MISCONCEPTION">
          <qti-base-value base-type="identifier">half-means-double</qti-base-value>
        </qti-set-outcome-value>
      </qti-response-else-if>
    </qti-response-condition>
  </qti-response-processing>
"""
TEMPLATE = '<qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"/>'


def test_another_tools_choice_misconceptions_are_read_from_its_response_processing() -> None:
    """An engine that knows nothing of data-misconception writes the distractor's misconception as a branch of
    the response processing; that is where it is read from."""
    item = qti_to_item(FOREIGN_CHOICE.replace(TEMPLATE, FOREIGN_PROCESSING))
    assert [(c.key, c.misconception) for c in item.choices] == [("c1", "half-means-double"), ("c2", None)]
    # ClassLab writes both, and they agree; when they do not, the item is refused rather than half believed
    agreeing = FOREIGN_CHOICE.replace(TEMPLATE, FOREIGN_PROCESSING).replace(
        '<qti-simple-choice identifier="c1">',
        '<qti-simple-choice identifier="c1" data-misconception="half-means-double">')
    assert qti_to_item(agreeing).choices[0].misconception == "half-means-double"
    with pytest.raises(QtiError, match="data-misconception says 'other' but the response processing sets"):
        qti_to_item(agreeing.replace('data-misconception="half-means-double"', 'data-misconception="other"'))
    with pytest.raises(QtiError, match="'c9', which is not the identifier of a qti-simple-choice"):
        qti_to_item(FOREIGN_CHOICE.replace(TEMPLATE, FOREIGN_PROCESSING.replace(">c1<", ">c9<")))
    with pytest.raises(QtiError, match="'c2' is a correct response and cannot reveal a misconception"):
        qti_to_item(FOREIGN_CHOICE.replace(TEMPLATE, FOREIGN_PROCESSING.replace(">c1<", ">c2<")))


def test_every_misconception_distractor_of_the_bank_sets_the_outcome(any_bank) -> None:
    """What another engine sees: for each choice item, the branch that a distractor's identifier takes sets
    MISCONCEPTION to its misconception, and an item without such distractors keeps match_correct."""
    checked = 0
    for item in any_bank.items.values():
        if item.type != "choice":
            continue
        root = _root(item)
        processing = root.find(f"{Q}qti-response-processing")
        distractors = {c.key: c.misconception for c in item.choices if c.misconception}
        if not distractors:
            assert processing.get("template") == MATCH_CORRECT
            assert root.find(f"{Q}qti-outcome-declaration[@identifier='MISCONCEPTION']") is None
            continue
        sets = {}
        for branch in processing.iter(f"{Q}qti-response-else-if"):
            setter = branch.find(f"{Q}qti-set-outcome-value[@identifier='MISCONCEPTION']")
            sets[branch.findtext(f"{Q}qti-match/{Q}qti-base-value")] = setter.findtext(f"{Q}qti-base-value")
        assert sets == distractors, item.key
        checked += len(sets)
    assert checked >= 3


# ---------------------------------------------------------------------------------------------- malformed

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="&lol3;"/>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE item [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x">&secret;
</qti-assessment-item>"""


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        BILLION_LAUGHS.encode("utf-16"),  # no byte pattern to spot: the parser itself must refuse
        EXTERNAL_ENTITY.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.org/x.dtd"><x/>',
    ],
    ids=["billion-laughs", "external-entity", "billion-laughs-utf16", "external-entity-utf16", "external-dtd"],
)
def test_entities_and_dtds_are_refused_in_any_encoding(document) -> None:
    with pytest.raises(QtiError, match="QTI item: DOCTYPE declarations are not allowed"):
        qti_to_item(document)



@pytest.fixture(scope="module")
def choice_xml(bank) -> str:
    return item_to_qti(bank.items["frac-compare-same-numerator"])


@pytest.fixture(scope="module")
def numeric_xml(bank) -> str:
    return item_to_qti(bank.items["eq-two-step"])


def _replace(xml: str, old: str, new: str, count: int = 1) -> str:
    assert old in xml, old
    return xml.replace(old, new, count)


def test_not_xml() -> None:
    with pytest.raises(QtiError, match=r"QTI item: not well-formed XML \(.*line 1, column"):
        qti_to_item("<qti-assessment-item")
    with pytest.raises(QtiError, match="not well-formed XML"):
        qti_to_item("this is not XML at all")


def test_wrong_root() -> None:
    qti21 = '<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" title="x"/>'
    with pytest.raises(QtiError, match=r"root element is assessmentItem, expected qti-assessment-item \(a QTI 2\.x"):
        qti_to_item(qti21)
    with pytest.raises(QtiError, match=r"root element qti-assessment-item is in namespace \(none\), expected"):
        qti_to_item('<qti-assessment-item identifier="x"/>')
    with pytest.raises(QtiError, match="root element is html, expected qti-assessment-item$"):
        qti_to_item("<html/>")


def test_missing_identifier(choice_xml) -> None:
    xml = _replace(choice_xml, ' identifier="frac-compare-same-numerator"', "")
    with pytest.raises(QtiError, match="^qti-assessment-item has no identifier attribute$"):
        qti_to_item(xml)


def test_choice_interaction_without_choices(choice_xml) -> None:
    xml = re.sub(r"<qti-simple-choice .*?</qti-simple-choice>", "", choice_xml, flags=re.S)
    with pytest.raises(QtiError, match="^qti-choice-interaction has no qti-simple-choice$"):
        qti_to_item(xml)


def test_unknown_base_type(choice_xml) -> None:
    with pytest.raises(QtiError, match="^qti-response-declaration 'RESPONSE': unknown base-type 'colour'$"):
        qti_to_item(_replace(choice_xml, 'base-type="identifier"', 'base-type="colour"'))


@pytest.mark.parametrize(
    ("fixture", "old", "new", "message"),
    [
        (
            "choice_xml",
            "<?xml version",
            '<!DOCTYPE x [<!ENTITY a "b">]><?xml version',
            "QTI item: DOCTYPE declarations are not allowed",
        ),
        ("choice_xml", 'base-type="identifier"', "", "qti-response-declaration 'RESPONSE' has no base-type attribute"),
        (
            "choice_xml",
            'base-type="identifier"',
            'base-type="float"',
            "qti-choice-interaction needs base-type identifier, qti-response-declaration 'RESPONSE' has 'float'",
        ),
        (
            "choice_xml",
            'cardinality="single" base-type="identifier"',
            'cardinality="ordered" base-type="identifier"',
            "qti-response-declaration 'RESPONSE': cardinality 'ordered' is not supported",
        ),
        (
            "choice_xml",
            'response-identifier="RESPONSE"',
            'response-identifier="OTHER"',
            "qti-choice-interaction response-identifier 'OTHER' has no qti-response-declaration",
        ),
        ("choice_xml", ' response-identifier="RESPONSE"', "", "qti-choice-interaction has no response-identifier"),
        (
            "choice_xml",
            "<qti-value>A</qti-value>",
            "<qti-value>E</qti-value>",
            "qti-correct-response names 'E', which is not the identifier of a qti-simple-choice",
        ),
        (
            "choice_xml",
            "<qti-value>A</qti-value>",
            "<qti-value>A</qti-value><qti-value>B</qti-value>",
            "qti-response-declaration 'RESPONSE': qti-correct-response must hold exactly one qti-value, has 2",
        ),
        (
            "choice_xml",
            '<qti-simple-choice identifier="B"',
            '<qti-simple-choice identifier="A"',
            "qti-simple-choice identifier 'A' is used twice",
        ),
        (
            "choice_xml",
            '<qti-simple-choice identifier="B"',
            "<qti-simple-choice",
            "qti-simple-choice number 2 has no identifier",
        ),
        ("choice_xml", "qti-choice-interaction", "qti-hotspot-interaction", "qti-hotspot-interaction is not supported"),
        (
            "choice_xml",
            "<qti-choice-interaction",
            '<p><qti-text-entry-interaction response-identifier="X"/></p><qti-choice-interaction',
            "qti-item-body has 2 interactions",
        ),
        (
            "numeric_xml",
            "<qti-value>4</qti-value>",
            "<qti-value>four</qti-value>",
            "qti-response-declaration 'RESPONSE' qti-correct-response: 'four' is not a number",
        ),
        (
            "numeric_xml",
            'tolerance-mode="absolute"',
            'tolerance-mode="relative"',
            "qti-equal: tolerance-mode 'relative' is not supported",
        ),
        ("numeric_xml", 'tolerance="0.001"', 'tolerance="small"', "qti-equal tolerance: 'small' is not a number"),
        ("numeric_xml", 'tolerance="0.001"', 'tolerance="-1"', "qti-equal: tolerance -1 is negative"),
        (
            "numeric_xml",
            '<qti-base-value base-type="float">7</qti-base-value>',
            '<qti-base-value base-type="float">x</qti-base-value>',
            "qti-base-value: 'x' is not a number",
        ),
    ],
)
def test_each_malformed_case_names_the_element(request, fixture: str, old: str, new: str, message: str) -> None:
    xml = _replace(request.getfixturevalue(fixture), old, new, -1)
    with pytest.raises(QtiError) as info:
        qti_to_item(xml)
    assert str(info.value).startswith(message), str(info.value)


def test_missing_item_body_or_interaction(choice_xml) -> None:
    without_body = re.sub(r"<qti-item-body.*</qti-item-body>", "", choice_xml, flags=re.S)
    with pytest.raises(QtiError, match="^qti-assessment-item 'frac-compare-same-numerator' has no qti-item-body$"):
        qti_to_item(without_body)
    without_interaction = re.sub(r"<qti-choice-interaction.*</qti-choice-interaction>", "", choice_xml, flags=re.S)
    with pytest.raises(QtiError, match="^qti-item-body has no interaction"):
        qti_to_item(without_interaction)


def test_bad_rubric_score(bank) -> None:
    xml = _replace(item_to_qti(bank.items["frac-explain-denominator"]), 'data-score="2"', 'data-score="two"')
    with pytest.raises(QtiError, match="^qti-rubric-block: data-score 'two' on a level is not a whole number$"):
        qti_to_item(xml)


def test_text_that_xml_cannot_carry_is_refused_on_export(bank) -> None:
    item = dataclasses.replace(bank.items["frac-compare-same-numerator"], stem={"en": "bell \x07 here"})
    with pytest.raises(QtiError, match="U\\+0007 cannot be written in XML 1.0"):
        item_to_qti(item)


def test_malformed_packages(bank, tmp_path) -> None:
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("hello")
    with pytest.raises(QtiError, match="^not.zip: not a zip file"):
        qti_package_to_items(not_zip)
    with pytest.raises(QtiError, match="^missing.zip: cannot be opened"):
        qti_package_to_items(tmp_path / "missing.zip")

    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("items/a.xml", "<x/>")
    with pytest.raises(QtiError, match="^the package has no imsmanifest.xml$"):
        qti_package_to_items(empty)

    good = bank_to_qti_package(bank, tmp_path / "good.zip")
    with zipfile.ZipFile(good) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}

    def repack(name: str, **changes: bytes | None) -> object:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for member, data in {**members, **changes}.items():
                if data is not None:
                    zf.writestr(member, data)
        return path

    with pytest.raises(QtiError, match="^items/neg-lift.xml is not in the package$"):
        qti_package_to_items(repack("hole.zip", **{"items/neg-lift.xml": None}))
    broken = members["items/neg-lift.xml"].replace(b'base-type="float"', b'base-type="number"', 1)
    with pytest.raises(QtiError, match="^items/neg-lift.xml: qti-response-declaration 'RESPONSE': unknown base-type"):
        qti_package_to_items(repack("broken.zip", **{"items/neg-lift.xml": broken}))
    with pytest.raises(QtiError, match="^items/neg-lift.xml: not well-formed XML"):
        qti_package_to_items(repack("garbled.zip", **{"items/neg-lift.xml": b"<qti-assessment-item"}))
    with pytest.raises(QtiError, match="^imsmanifest.xml: root element is html, expected manifest$"):
        qti_package_to_items(repack("manifest.zip", **{"imsmanifest.xml": b"<html/>"}))
    duplicate = members["items/neg-lift.xml"].replace(b'identifier="neg-lift"', b'identifier="neg-compare"', 1)
    with pytest.raises(QtiError, match="item identifier 'neg-compare' is also used by items/neg-compare.xml"):
        qti_package_to_items(repack("dup.zip", **{"items/neg-lift.xml": duplicate}))


def _members(bank, tmp_path) -> dict[str, bytes]:
    with zipfile.ZipFile(bank_to_qti_package(bank, tmp_path / "good.zip")) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _repack(path: Path, members: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            if data is not None:
                zf.writestr(member, data)
    return path


def test_one_bad_item_refuses_that_item_alone(bank, tmp_path) -> None:
    """Five rubric items whose levels lost data-score once refused a whole package of 49: now each refused item
    says why and the others are read."""
    members = _members(bank, tmp_path)
    rubric_items = [n for n, d in members.items() if b"data-score=" in d]
    assert len(rubric_items) >= 2
    changes = {name: re.sub(rb' data-score="\d+"', b"", members[name]) for name in rubric_items}
    changes["items/neg-lift.xml"] = None  # listed in the manifest, missing from the zip
    changes["items/neg-compare.xml"] = members["items/neg-compare.xml"].replace(b"qti-choice-interaction",
                                                                                b"qti-match-interaction")
    entries = read_package(_repack(tmp_path / "mixed.zip", {**members, **changes}))
    assert len(entries) == len(bank.items)
    refused = {e.href: e.reason for e in entries if e.reason}
    assert set(refused) == {*rubric_items, "items/neg-lift.xml", "items/neg-compare.xml"}
    for name in rubric_items:
        assert refused[name] == f"{name}: qti-rubric-block: data-score None on a level is not a whole number"
    assert refused["items/neg-lift.xml"] == "items/neg-lift.xml is not in the package"
    assert refused["items/neg-compare.xml"].startswith("items/neg-compare.xml: qti-match-interaction is not supported")
    good = [e for e in entries if e.item]
    assert len(good) == len(bank.items) - len(refused) and all(e.reason is None for e in good)
    assert [e.identifier for e in good] == [k for k in bank.items if f"items/{k}.xml" not in refused]
    # the strict reader still refuses on the first
    with pytest.raises(QtiError, match="data-score None"):
        qti_package_to_items(tmp_path / "mixed.zip")


def test_hrefs_outside_the_package_and_twice_used_identifiers(bank, tmp_path) -> None:
    members = _members(bank, tmp_path)
    manifest = members["imsmanifest.xml"].decode()
    manifest = manifest.replace('href="items/neg-lift.xml"', 'href="../../etc/passwd"')
    manifest = manifest.replace('href="items/neg-compare.xml"', 'href="https://example.org/item.xml"')
    duplicate = members["items/frac-compare-same-numerator.xml"]
    entries = read_package(_repack(tmp_path / "out.zip", {**members, "imsmanifest.xml": manifest.encode(),
                                                          "items/neg-order.xml": duplicate}))
    refused = {e.href: e.reason for e in entries if e.reason}
    assert refused["../../etc/passwd"] == "../../etc/passwd: points outside the package"
    assert refused["https://example.org/item.xml"].endswith("an item must be a file in the package, not "
                                                            "'https://example.org/item.xml'")
    assert "item identifier 'frac-compare-same-numerator' is also used by" in "".join(refused.values())


def test_zip_bombs_and_oversized_packages_are_refused(bank, tmp_path, monkeypatch) -> None:
    from app.diagnostics import qti

    members = _members(bank, tmp_path)
    # one member that deflates 1000 times: refused as that item's reason, before it is unpacked
    bomb = members["items/neg-lift.xml"].replace(b"</qti-assessment-item>", b"<!--" + b" " * 1_500_000 + b"-->"
                                                 b"</qti-assessment-item>")
    entries = read_package(_repack(tmp_path / "bomb.zip", {**members, "items/neg-lift.xml": bomb}))
    reason = next(e.reason for e in entries if e.href == "items/neg-lift.xml")
    assert "is compressed" in reason and "zip bomb" in reason
    # a member larger than one file may be is refused by its size
    monkeypatch.setattr(qti, "MAX_RATIO", 10**9)
    monkeypatch.setattr(qti, "MAX_MEMBER_BYTES", 1_000_000)
    entries = read_package(tmp_path / "bomb.zip")
    reason = next(e.reason for e in entries if e.href == "items/neg-lift.xml")
    assert reason == f"items/neg-lift.xml is {len(bomb)} bytes; the limit for one file is 1000000"
    # what all items unpack to is bounded: the package as a whole is refused
    monkeypatch.setattr(qti, "MAX_PACKAGE_BYTES", 20_000)
    with pytest.raises(QtiError, match="the package unpacks to more than 20000 bytes of items"):
        read_package(tmp_path / "good.zip")
    empty = tmp_path / "none.zip"
    _repack(empty, {"imsmanifest.xml": members["imsmanifest.xml"].replace(b"imsqti_item_xmlv3p0", b"webcontent")})
    with pytest.raises(QtiError, match="lists no QTI 3.0 item .*; it lists webcontent"):
        read_package(empty)


# ------------------------------------------------------------------- other tools' items arrive whole or not at all

INLINE_FEEDBACK = FOREIGN_CHOICE.replace(
    '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>',
    '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>'
    '<qti-outcome-declaration identifier="FEEDBACK" cardinality="single" base-type="identifier"/>',
).replace(
    '<qti-simple-choice identifier="c1"><m:math><m:mn>1</m:mn></m:math></qti-simple-choice>',
    '<qti-simple-choice identifier="c1">One <qti-feedback-inline outcome-identifier="FEEDBACK" identifier="c1" '
    'show-hide="show">Half of a half is smaller than the half.</qti-feedback-inline></qti-simple-choice>',
).replace(TEMPLATE, """<qti-response-processing>
    <qti-set-outcome-value identifier="FEEDBACK"><qti-variable identifier="R1"/></qti-set-outcome-value>
    <qti-response-condition><qti-response-if>
      <qti-match><qti-variable identifier="R1"/><qti-correct identifier="R1"/></qti-match>
      <qti-set-outcome-value identifier="SCORE"><qti-base-value base-type="float">1</qti-base-value>
      </qti-set-outcome-value></qti-response-if></qti-response-condition>
  </qti-response-processing>
  <qti-modal-feedback outcome-identifier="FEEDBACK" identifier="c2" show-hide="show">
    <qti-content-body><p>Yes: <strong>half</strong> of a half is a quarter.</p></qti-content-body>
  </qti-modal-feedback>""")


def test_feedback_is_kept_as_feedback_never_as_the_choice_text() -> None:
    """1EdTech's examples put "That's correct" inside the choice: read as text, it gave the answer away."""
    item = qti_to_item(INLINE_FEEDBACK)
    first, second = item.choices
    assert first.text == {"en": "One"} and first.feedback == {"en": "Half of a half is smaller than the half."}
    assert second.feedback == {"en": "Yes: **half** of a half is a quarter."}
    assert "quarter" not in item.stem["en"] and "smaller" not in item.stem["en"]
    # and it travels on: ClassLab's export shows it through FEEDBACK = RESPONSE and modal feedback
    root = ET.fromstring(item_to_qti(dataclasses.replace(item, topic="fractions")))
    assert root.find(f"{Q}qti-outcome-declaration[@identifier='FEEDBACK']") is not None
    setter = root.find(f"{Q}qti-response-processing/{Q}qti-set-outcome-value[@identifier='FEEDBACK']")
    assert setter.find(f"{Q}qti-variable").get("identifier") == "RESPONSE"
    modal = root.findall(f"{Q}qti-modal-feedback")
    assert [(m.get("identifier"), m.get("outcome-identifier"), m.get("show-hide")) for m in modal] == [
        ("c1", "FEEDBACK", "show"), ("c2", "FEEDBACK", "show")]
    assert not root.findall(f".//{Q}qti-simple-choice//{Q}qti-feedback-inline")
    again = qti_to_item(item_to_qti(dataclasses.replace(item, topic="fractions")))
    assert [c.feedback for c in again.choices] == [c.feedback for c in item.choices]


def test_bank_items_with_feedback_round_trip_in_every_language(trilingual) -> None:
    item = next(i for i in trilingual.items.values() if i.type == "choice")
    feedback = {code: f"feedback {code} $\\frac{{1}}{{2}}$" for code in item.languages}
    with_feedback = dataclasses.replace(item, choices=tuple(
        dataclasses.replace(c, feedback=feedback) if not c.correct else c for c in item.choices))
    back = qti_to_item(item_to_qti(with_feedback))
    _assert_same(with_feedback, back)
    assert [c.feedback for c in back.choices] == [c.feedback for c in with_feedback.choices]
    assert item_to_qti(back) == item_to_qti(with_feedback)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('identifier="c2" show-hide="show"', 'identifier="c2" show-hide="hide"',
         "qti-modal-feedback 'c2': feedback shown when an outcome"),
        ('identifier="c2" show-hide="show">\n    <qti-content-body><p>Yes',
         'identifier="right" show-hide="show">\n    <qti-content-body><p>Yes',
         "qti-modal-feedback 'right': feedback shown by the outcome 'FEEDBACK' depends on response processing"),
        ('<qti-set-outcome-value identifier="FEEDBACK"><qti-variable identifier="R1"/></qti-set-outcome-value>', "",
         "qti-modal-feedback 'c2': feedback shown by the outcome 'FEEDBACK' depends on response processing"),
    ],
    ids=["hide", "not-a-choice", "not-set-from-the-response"],
)
def test_feedback_that_depends_on_processing_classlab_does_not_keep_refuses_the_item(old, new, message) -> None:
    assert old in INLINE_FEEDBACK
    with pytest.raises(QtiError, match=re.escape(message)):
        qti_to_item(INLINE_FEEDBACK.replace(old, new))


NUMERIC_GAP = """<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="gap"
    title="Gap" adaptive="false" time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="float">
    <qti-correct-response><qti-value>5</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body><p>2 + 3 = <qti-text-entry-interaction response-identifier="RESPONSE"/> apples.</p></qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"/>
</qti-assessment-item>"""


def test_a_gap_stays_in_the_stem_where_it_was() -> None:
    item = qti_to_item(NUMERIC_GAP)
    assert item.type == "numeric" and item.answer == 5
    assert item.stem == {"en": "2 + 3 = \\_\\_\\_\\_\\_ apples."}
    assert "_____" in render_block(item.stem["en"])


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("apples.", 'apples. <img src="media/apples.png" alt="five apples"/>',
         "img 'media/apples.png': the image is not in the upload; import the package (.zip) that holds the item"),
        ("apples.", '<img src="https://example.org/a.png" alt=""/>',
         "img 'https://example.org/a.png': the item shows an image from another site"),
        ("apples.</p>", "apples.</p><table><tr><td>1</td></tr></table>", "table: the item shows a table"),
        ("apples.</p>", 'apples.</p><object data="clip.mp4" type="video/mp4"/>',
         "object 'clip.mp4': the item shows an embedded object"),
        ("<qti-item-body>", '<qti-assessment-stimulus-ref identifier="s1" href="stimuli/passage.xml"/><qti-item-body>',
         "qti-assessment-stimulus-ref: the shared stimulus 'stimuli/passage.xml' (a passage or figures the item "
         "shows) is not in the upload; import the package (.zip) that holds it"),
        ('base-type="float">\n    <qti-correct-response><qti-value>5',
         'base-type="string">\n    <qti-correct-response><qti-value>five',
         "qti-text-entry-interaction with base-type 'string' (a gap scored by matching words) is not kept yet"),
        ("apples.</p>", 'apples.</p><qti-feedback-block outcome-identifier="FEEDBACK" identifier="x" '
         'show-hide="show"><p>Count again.</p></qti-feedback-block>',
         "qti-feedback-block: feedback on a number answer depends on response processing"),
    ],
    ids=["image", "external-image", "table", "object", "stimulus", "string-gap", "numeric-feedback"],
)
def test_what_cannot_be_kept_refuses_the_item_with_its_reason(old, new, message) -> None:
    assert old in NUMERIC_GAP
    with pytest.raises(QtiError, match=re.escape(message)):
        qti_to_item(NUMERIC_GAP.replace(old, new))


# ------------------------------------------------------------------------------------------------ images


def test_an_image_in_another_tools_package_is_kept_with_the_item_and_travels_on(tmp_path) -> None:
    from tests import builders

    image = builders.png()
    path = tmp_path / "graph.zip"
    path.write_bytes(builders.qti_package_with_image(image=image))
    [entry] = read_package(path)
    assert entry.reason is None, entry.reason
    ref = f"{hashlib.sha256(image).hexdigest()}.png"
    assert entry.media == {ref: image}
    assert entry.item.stem == {"en": f"The graph shows a line.\n\n![a line through (0, 0) and (1, 2)](item-media:{ref})"
                                     "\n\nWhat is its slope?"}
    # out again: the image beside the item, the item pointing at it, then back in unchanged
    item = dataclasses.replace(entry.item, topic="linear-graphs")
    out = bank_to_qti_package(Bank(topics={}, misconceptions={}, items={item.key: item}, diagnostics={}),
                              tmp_path / "out.zip", media=entry.media.__getitem__)
    with zipfile.ZipFile(out) as zf:
        assert zf.read(f"items/media/{ref}") == image
        xml = zf.read("items/slope-graph.xml").decode()
        manifest = zf.read("imsmanifest.xml").decode()
    assert f'<img src="media/{ref}" alt="a line through (0, 0) and (1, 2)"/>' in xml
    assert f'href="items/media/{ref}"' in manifest
    [again] = read_package(out)
    assert again.item == item and again.media == entry.media
    with pytest.raises(QtiError, match="shows the image .*, and no images were given"):
        bank_to_qti_package(Bank(topics={}, misconceptions={}, items={item.key: item}, diagnostics={}),
                            tmp_path / "none.zip")


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"image": False}, "img '../images/graph.png': the image is not in the package (images/graph.png)"),
        ({"image": b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"},
         "not a PNG, JPEG, GIF or WebP image (SVG is not accepted: it can run script)"),
        ({"image": b"GIF89a" + bytes(6_000_000)}, "the image is 6,000,006 bytes; the limit is 5,000,000"),
    ],
    ids=["missing", "svg", "too-large"],
)
def test_an_image_that_cannot_be_kept_refuses_its_item(tmp_path, changes, reason) -> None:
    from tests import builders

    path = tmp_path / "p.zip"
    path.write_bytes(builders.qti_package_with_image(**changes))
    [entry] = read_package(path)
    assert entry.item is None and reason in entry.reason, entry.reason


def test_a_classlab_item_whose_image_is_missing_from_the_package_is_refused(tmp_path) -> None:
    from tests import builders

    path = tmp_path / "p.zip"
    path.write_bytes(builders.qti_package_with_image(image=builders.png()))
    [entry] = read_package(path)
    item = dataclasses.replace(entry.item, topic="linear-graphs")
    out = bank_to_qti_package(Bank(topics={}, misconceptions={}, items={item.key: item}, diagnostics={}),
                              tmp_path / "out.zip", media=entry.media.__getitem__)
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if "/media/" not in n}
    hole = _repack(tmp_path / "hole.zip", members)
    [refused] = read_package(hole)
    assert "the image is not in the package" in refused.reason


# --------------------------------------------------------------------------- choose all that apply


def _multiple_item() -> Item:
    from app.diagnostics.bankfile import Choice

    return Item(key="neg-greater-than", topic="negative_numbers", type="multiple",
                stem={"en": "Which numbers are greater than $-3$?"},
                choices=(Choice("A", {"en": "$-5$"}, misconception="larger-magnitude-larger-negative"),
                         Choice("B", dict.fromkeys(LANGUAGES, "$0$"), correct=True),
                         Choice("C", {"en": "$-1$"}, correct=True),
                         Choice("D", {"en": "$-4$"}, misconception="larger-magnitude-larger-negative",
                                feedback={"en": "On the number line, $-4$ is left of $-3$."})),
                languages=("en",))


def test_a_choose_all_that_apply_item_travels_as_cardinality_multiple() -> None:
    item = _multiple_item()
    root = _root(item)
    declaration = root.find(f"{Q}qti-response-declaration")
    assert declaration.get("cardinality") == "multiple"
    assert [v.text for v in declaration.iter(f"{Q}qti-value")] == ["B", "C"]
    assert root.find(f".//{Q}qti-choice-interaction").get("max-choices") == "4"
    # a chosen misconception distractor is found with qti-member: the first one sets MISCONCEPTION
    members = [b.find(f"{Q}qti-member") for b in root.iter(f"{Q}qti-response-else-if")]
    assert [m.findtext(f"{Q}qti-base-value") for m in members] == ["A", "D"]
    assert root.find(f"{Q}qti-outcome-declaration[@identifier='FEEDBACK']").get("cardinality") == "multiple"
    back = qti_to_item(item_to_qti(item))
    assert back == item and item_to_qti(back) == item_to_qti(item)


FOREIGN_MULTIPLE = """<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="primes"
    title="Primes" adaptive="false" time-dependent="false" xml:lang="en-GB">
  <qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">
    <qti-correct-response><qti-value>p2</qti-value><qti-value>p3</qti-value></qti-correct-response>
    <qti-mapping lower-bound="0" upper-bound="2" default-value="-1">
      <qti-map-entry map-key="p2" mapped-value="1"/><qti-map-entry map-key="p3" mapped-value="1"/>
    </qti-mapping>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="0">
      <qti-prompt>Which of these are prime numbers?</qti-prompt>
      <qti-simple-choice identifier="p1">1</qti-simple-choice>
      <qti-simple-choice identifier="p2">2</qti-simple-choice>
      <qti-simple-choice identifier="p3">3</qti-simple-choice>
      <qti-simple-choice identifier="p4">4</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response"/>
</qti-assessment-item>"""


def test_another_tools_multiple_response_item_imports() -> None:
    item = qti_to_item(FOREIGN_MULTIPLE)
    assert item.type == "multiple" and item.correct_keys == ("p2", "p3")
    assert item.stem == {"en": "Which of these are prime numbers?"}
    with pytest.raises(QtiError, match="every qti-simple-choice is a correct response"):
        qti_to_item(FOREIGN_MULTIPLE.replace("<qti-value>p3</qti-value>", "<qti-value>p3</qti-value><qti-value>p1"
                                             "</qti-value><qti-value>p4</qti-value>"))
    with pytest.raises(QtiError, match="holds no qti-value"):
        qti_to_item(FOREIGN_MULTIPLE.replace("<qti-value>p2</qti-value><qti-value>p3</qti-value>", ""))


# ------------------------------------------------------------------------------------- inline choice

FOREIGN_INLINE = """<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="sign"
    title="Sign" adaptive="false" time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>neg</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>The product of two numbers with different signs is
      <qti-inline-choice-interaction response-identifier="RESPONSE" shuffle="false">
        <qti-inline-choice identifier="pos">positive</qti-inline-choice>
        <qti-inline-choice identifier="neg">negative</qti-inline-choice>
        <qti-inline-choice identifier="zero">zero</qti-inline-choice>
      </qti-inline-choice-interaction>.</p>
  </qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"/>
</qti-assessment-item>"""


def test_another_tools_inline_choice_item_imports_with_its_gap() -> None:
    item = qti_to_item(FOREIGN_INLINE)
    assert item.type == "inline" and item.correct_keys == ("neg",)
    assert item.stem == {"en": "The product of two numbers with different signs is \\_\\_\\_\\_\\_."}
    assert [(c.key, c.text) for c in item.choices] == [
        ("pos", {"en": "positive"}), ("neg", {"en": "negative"}), ("zero", {"en": "zero"})]
    with pytest.raises(QtiError, match="needs at least two qti-inline-choice"):
        qti_to_item(re.sub(r"<qti-inline-choice identifier=\"(pos|zero)\">\w+</qti-inline-choice>", "",
                           FOREIGN_INLINE))


def test_an_inline_item_in_three_languages_round_trips() -> None:
    from app.diagnostics.bankfile import Choice

    item = Item(key="sign-3", topic="negative_numbers", type="inline",
                stem={"en": "$-2 \\cdot 3$ is _____.", "he": "$-2 \\cdot 3$ הוא מספר _____.",
                      "ar": "$-2 \\cdot 3$ عدد _____."},
                choices=(Choice("A", {"en": "positive", "he": "חיובי", "ar": "موجب"},
                                misconception="neg-times-neg-rule-overused"),
                         Choice("B", {"en": "negative", "he": "שלילי", "ar": "سالب"}, correct=True),
                         Choice("C", dict.fromkeys(LANGUAGES, "$0$"), misconception="neg-times-neg-rule-overused")),
                languages=LANGUAGES)
    xml = item_to_qti(item)
    root = ET.fromstring(xml)
    interaction = root.find(f".//{Q}qti-inline-choice-interaction")
    assert [(c.get("identifier"), c.text) for c in interaction] == [("A", "positive"), ("B", "negative"), ("C", "0")]
    assert interaction[0].get("data-cl-source-he") == "חיובי" and interaction[2].get("data-cl-source") == "$0$"
    back = qti_to_item(xml)
    assert back == item and item_to_qti(back) == xml



# ------------------------------------------------------------------------------------------ stimuli

STIMULUS = """<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-stimulus xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="trip" title="The trip"
    xml:lang="en">
  <qti-stimulus-body>
    <p>Dana's class measured the temperature every hour on a winter trip.</p>
    <p><img src="img/temps.png" alt="a table of temperatures from -6 to 2"/></p>
  </qti-stimulus-body>
</qti-assessment-stimulus>"""


def test_a_shared_stimulus_arrives_with_the_item_and_its_images(tmp_path) -> None:
    from tests import builders

    image = builders.png(8, 8, (10, 200, 10))
    ref = f"{hashlib.sha256(image).hexdigest()}.png"
    item_xml = FOREIGN_CHOICE.replace(
        '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>',
        '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>'
        '<qti-assessment-stimulus-ref identifier="trip" href="../stimuli/trip.xml" title="The trip"/>')
    manifest = """<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m"><resources>
      <resource identifier="q1" type="imsqti_item_xmlv3p0" href="items/q1.xml"><file href="items/q1.xml"/>
      <dependency identifierref="trip"/></resource>
      <resource identifier="trip" type="imsqti_stimulus_xmlv3p0" href="stimuli/trip.xml">
      <file href="stimuli/trip.xml"/><file href="stimuli/img/temps.png"/></resource></resources></manifest>"""
    members = {"imsmanifest.xml": manifest.encode(), "items/q1.xml": item_xml.encode(),
               "stimuli/trip.xml": STIMULUS.encode(), "stimuli/img/temps.png": image}
    [entry] = read_package(_repack(tmp_path / "s.zip", members))
    assert entry.reason is None, entry.reason
    assert entry.item.stimulus == {"en": "Dana's class measured the temperature every hour on a winter trip.\n\n"
                                         f"![a table of temperatures from -6 to 2](item-media:{ref})"}
    assert "winter" not in entry.item.stem["en"] and entry.media == {ref: image}
    # ClassLab writes it into the item, in every language, and reads it back
    item = dataclasses.replace(entry.item, topic="negative_numbers")
    out = bank_to_qti_package(Bank(topics={}, misconceptions={}, items={item.key: item}, diagnostics={}),
                              tmp_path / "out.zip", media=entry.media.__getitem__)
    with zipfile.ZipFile(out) as zf:
        assert 'class="cl-stimulus"' in zf.read("items/q1.xml").decode() and f"items/media/{ref}" in zf.namelist()
    [again] = read_package(out)
    assert again.item == item and again.media == entry.media
    missing = read_package(_repack(tmp_path / "m.zip", {**members, "stimuli/trip.xml": None}))
    assert missing[0].reason == "items/q1.xml: stimuli/trip.xml is not in the package"
    video = STIMULUS.replace('<p><img src="img/temps.png" alt="a table of temperatures from -6 to 2"/></p>',
                             '<video src="clip.mp4"/>')
    [refused] = read_package(_repack(tmp_path / "v.zip", {**members, "stimuli/trip.xml": video.encode()}))
    assert "stimuli/trip.xml: video 'clip.mp4': the item shows a video" in refused.reason
