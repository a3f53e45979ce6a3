"""Open Badges 3.0 credentials with eddsa-rdfc-2022 Data Integrity proofs (app.standards.credentials).

The test vector is the one published in W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation),
Appendix "Test Vectors", section "Representation: eddsa-rdfc-2022": key pair, the "Alumni Credential", its
canonical form and hash, the proof options, their canonical form and hash, the signature and the signed
credential. No npm package ships these vectors, so the spec's published values are reproduced here.

An independent check (pyld's own normalize with a loader of its own, SHA-256, the did:key decoded here,
``cryptography``'s Ed25519 verify) confirms what ``sign`` produced without going through ``verify``, so a bug
shared by both cannot hide.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from app.standards import credentials as cred

CONTEXT_DIR = Path(cred.__file__).with_name("contexts")
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
# The VC 2.0 examples context, as the VC Data Model 2.0 publishes it; only the spec's test vector uses it.
EXAMPLES_V2_CONTEXT = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
REASONS = {"no-proof", "unsupported-proof", "malformed", "bad-key", "bad-signature", "context"}

# --- W3C vc-di-eddsa v1.0, Appendix "Test Vectors", "Representation: eddsa-rdfc-2022" -------------------------
SPEC_PUBLIC_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_SECRET_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SPEC_VM = f"did:key:{SPEC_PUBLIC_MULTIBASE}#{SPEC_PUBLIC_MULTIBASE}"
SPEC_UNSIGNED = {
    "@context": ["https://www.w3.org/ns/credentials/v2", EXAMPLES_V2],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
SPEC_CANONICAL_DOCUMENT = (
    '<did:example:abcdefgh> <https://www.w3.org/ns/credentials/examples#alumniOf> "The School of Examples" .\n'
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    "<https://www.w3.org/2018/credentials#VerifiableCredential> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
    "<https://www.w3.org/ns/credentials/examples#AlumniCredential> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://schema.org/description> "
    '"A minimum viable example of an Alumni Credential." .\n'
    '<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://schema.org/name> "Alumni Credential" .\n'
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#credentialSubject> "
    "<did:example:abcdefgh> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#issuer> "
    "<https://vc.example/issuers/5678> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#validFrom> "
    '"2023-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
)
SPEC_DOCUMENT_HASH = "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"
SPEC_PROOF_OPTIONS = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": SPEC_VM,
    "proofPurpose": "assertionMethod",
    "@context": ["https://www.w3.org/ns/credentials/v2", EXAMPLES_V2],
}
SPEC_CANONICAL_PROOF_OPTIONS = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"'
    "^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"'
    "^^<https://w3id.org/security#cryptosuiteString> .\n"
    "_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .\n"
    f"_:c14n0 <https://w3id.org/security#verificationMethod> <{SPEC_VM}> .\n"
)
SPEC_PROOF_HASH = "bea7b7acfbad0126b135104024a5f1733e705108f42d59668b05c0c50004c6b0"
SPEC_COMBINED_HASH = SPEC_PROOF_HASH + SPEC_DOCUMENT_HASH
SPEC_SIGNATURE_HEX = (
    "4d8e53c2d5b3f2a7891753eb16ca993325bdb0d3cfc5be1093d0a18426f5ef85"
    "78cadc0fd4b5f4dd0d1ce0aefd15ab120b7a894d0eb094ffda4e6553cd1ed50d"
)
SPEC_PROOF_VALUE = "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"
SPEC_CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
SPEC_SIGNED = SPEC_UNSIGNED | {
    "proof": {k: v for k, v in SPEC_PROOF_OPTIONS.items() if k != "@context"} | {"proofValue": SPEC_PROOF_VALUE}
}


# --- helpers written for the tests, independent of the module under test ----------------------------------------

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def own_loader(url, options=None):
    """A loader of the test's own: the bundled files read here, plus the spec's examples context."""
    files = {
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    }
    if url == EXAMPLES_V2:
        document = copy.deepcopy(EXAMPLES_V2_CONTEXT)
    elif url in files:
        document = json.loads((CONTEXT_DIR / files[url]).read_text(encoding="utf-8"))
    else:
        raise LookupError(url)
    return {"contextUrl": None, "documentUrl": url, "document": document}


def spec_loader(url, options=None):
    """The module's loader plus the spec's examples context (which ClassLab itself never serves)."""
    if url == EXAMPLES_V2:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(EXAMPLES_V2_CONTEXT)}
    return cred.DOCUMENT_LOADER(url, options)


def pyld_canonical(document: dict) -> str:
    return jsonld.normalize(
        document, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": own_loader}
    )


def independent_hash_data(signed: dict) -> tuple[str, str, bytes]:
    """(canonical proof options, canonical document, hashData) computed per the cryptosuite with pyld directly."""
    proof = signed["proof"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": signed["@context"]}
    canonical_options, canonical_document = pyld_canonical(options), pyld_canonical(unsecured)
    hash_data = (
        hashlib.sha256(canonical_options.encode()).digest() + hashlib.sha256(canonical_document.encode()).digest()
    )
    return canonical_options, canonical_document, hash_data


def independent_check(signed: dict) -> None:
    """Raises InvalidSignature unless the proof is a valid eddsa-rdfc-2022 signature by its did:key."""
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    did, _, fragment = proof["verificationMethod"].partition("#")
    assert did.startswith("did:key:z") and fragment == did.removeprefix("did:key:")
    raw_key = b58decode(fragment[1:])
    assert raw_key[:2] == bytes([0xED, 0x01]) and len(raw_key) == 34
    assert proof["proofValue"].startswith("z")
    signature = b58decode(proof["proofValue"][1:])
    assert len(signature) == 64
    Ed25519PublicKey.from_public_bytes(raw_key[2:]).verify(signature, independent_hash_data(signed)[2])


def spec_key() -> cred.KeyPair:
    secret = b58decode(SPEC_SECRET_MULTIBASE[1:])
    assert secret[:2] == bytes([0x80, 0x26])  # multicodec ed25519-priv
    return cred.KeyPair(Ed25519PrivateKey.from_private_bytes(secret[2:]))


# --- fixtures ------------------------------------------------------------------------------------------------------

ISSUED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def badge(**overrides) -> dict:
    arguments = {
        "credential_id": "urn:uuid:6a0d7d1e-3c5b-4b8f-9a53-2b1e6f0c1d11",
        "issuer": {
            "id": "https://classlab.example/issuers/1",
            "name": "Teacher Institute",
            "url": "https://classlab.example",
        },
        "subject_id": None,
        "subject_name": "Jane Doe",
        "achievement": {
            "id": "https://classlab.example/achievements/leaders-2027/mentor",
            "name": "Certified Mentor Teacher",
            "description": "Met every standard of the mentor role.",
            "criteria": {"narrative": "An evidence portfolio scored proficient on all standards by two assessors."},
        },
        "valid_from": ISSUED,
        "valid_until": ISSUED + timedelta(days=5 * 365),
        "credential_status": {
            "id": "https://classlab.example/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://classlab.example/status/1",
        },
        "evidence": [
            {"id": "https://classlab.example/portfolios/p-17", "name": "Portfolio", "narrative": "Ten pieces."}
        ],
        "name": "Certified Mentor Teacher",
    }
    return cred.achievement_credential(**(arguments | overrides))


@pytest.fixture(scope="module")
def key() -> cred.KeyPair:
    return cred.new_key()


@pytest.fixture(scope="module")
def signed(key) -> dict:
    return cred.sign(badge(), key, created=ISSUED)


@pytest.fixture
def no_network(monkeypatch):
    """Records (and blocks) every attempt to open a connection or resolve a name."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# --- the spec's test vector ------------------------------------------------------------------------------------------


def test_spec_key_pair():
    key = spec_key()
    assert key.public_multibase == SPEC_PUBLIC_MULTIBASE
    assert key.verification_method == SPEC_VM
    assert (
        cred.public_key_from_multibase(SPEC_PUBLIC_MULTIBASE).public_bytes_raw()
        == key.private_key.public_key().public_bytes_raw()
    )


def test_spec_canonical_forms_and_hashes():
    assert cred._canonize(SPEC_UNSIGNED, spec_loader) == SPEC_CANONICAL_DOCUMENT
    assert hashlib.sha256(SPEC_CANONICAL_DOCUMENT.encode()).hexdigest() == SPEC_DOCUMENT_HASH
    assert cred._canonize(SPEC_PROOF_OPTIONS, spec_loader) == SPEC_CANONICAL_PROOF_OPTIONS
    assert hashlib.sha256(SPEC_CANONICAL_PROOF_OPTIONS.encode()).hexdigest() == SPEC_PROOF_HASH
    assert cred._hash_data(SPEC_UNSIGNED, SPEC_PROOF_OPTIONS, spec_loader).hex() == SPEC_COMBINED_HASH


def test_spec_signature_and_signed_credential():
    assert bytes.fromhex(SPEC_SIGNATURE_HEX) == b58decode(SPEC_PROOF_VALUE[1:])
    assert cred._b58decode(SPEC_PROOF_VALUE[1:]).hex() == SPEC_SIGNATURE_HEX
    assert cred._b58encode(bytes.fromhex(SPEC_SIGNATURE_HEX)) == SPEC_PROOF_VALUE[1:]
    # Ed25519 is deterministic: the same key, document and options give the spec's exact bytes.
    assert cred.sign(SPEC_UNSIGNED, spec_key(), created=SPEC_CREATED, document_loader=spec_loader) == SPEC_SIGNED
    result = cred.verify(SPEC_SIGNED, document_loader=spec_loader)
    assert result == cred.Verification(True, "", SPEC_VM, SPEC_PUBLIC_MULTIBASE)


def test_spec_vector_through_the_independent_check():
    """The test's own checker reproduces the spec's values, so it is fit to judge ``sign`` below."""
    canonical_options, canonical_document, hash_data = independent_hash_data(SPEC_SIGNED)
    assert canonical_options == SPEC_CANONICAL_PROOF_OPTIONS
    assert canonical_document == SPEC_CANONICAL_DOCUMENT
    assert hash_data.hex() == SPEC_COMBINED_HASH
    independent_check(SPEC_SIGNED)


def test_spec_vector_needs_a_context_classlab_does_not_serve(no_network):
    assert cred.verify(SPEC_SIGNED).reason == "context"
    assert no_network == []


# --- keys and did:key ------------------------------------------------------------------------------------------------


def test_did_key_format(key):
    multibase = key.public_multibase
    assert re.fullmatch(r"z6Mk[1-9A-HJ-NP-Za-km-z]{44}", multibase)
    assert key.did == "did:key:" + multibase
    assert key.verification_method == f"did:key:{multibase}#{multibase}"
    raw = b58decode(multibase[1:])
    assert raw[:2] == b"\xed\x01" and raw[2:] == key.private_key.public_key().public_bytes_raw()
    assert "PRIVATE" not in repr(key) and key.did in repr(key)


def test_pem_round_trip(key):
    pem = key.private_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = cred.load_key(pem)
    assert again.public_multibase == key.public_multibase
    assert again.private_key.private_bytes_raw() == key.private_key.private_bytes_raw()
    assert cred.new_key().public_multibase != key.public_multibase


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"not a pem",
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
    ],
)
def test_load_key_refuses(pem):
    with pytest.raises(cred.CredentialError):
        cred.load_key(pem)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "z",
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "u" + SPEC_PUBLIC_MULTIBASE[1:],  # another multibase
        SPEC_PUBLIC_MULTIBASE[:-1],  # one character short
        SPEC_PUBLIC_MULTIBASE + "1",
        SPEC_PUBLIC_MULTIBASE[:10] + "0" + SPEC_PUBLIC_MULTIBASE[11:],  # not a base58 character
        SPEC_SECRET_MULTIBASE,  # a secret key is not a public key
        "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",  # a P-256 key (0x1200)
        "z" + "2" * 500,
        None,
        42,
    ],
)
def test_public_key_from_multibase_refuses(value):
    with pytest.raises(cred.CredentialError):
        cred.public_key_from_multibase(value)


# --- the Open Badges 3.0 credential ----------------------------------------------------------------------------------


def test_achievement_credential_shape():
    doc = badge(valid_from=datetime(2026, 5, 1, 11, 30, 15, 999, tzinfo=timezone(timedelta(hours=2))))
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["issuer"]["type"] == ["Profile"] and doc["issuer"]["url"] == "https://classlab.example"
    assert doc["validFrom"] == "2026-05-01T09:30:15Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["validUntil"])
    subject = doc["credentialSubject"]
    assert "id" not in subject and subject["type"] == ["AchievementSubject"] and subject["name"] == "Jane Doe"
    assert subject["identifier"] == [
        {"type": "IdentityObject", "identityHash": "Jane Doe", "identityType": "name", "hashed": False}
    ]
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["achievementType"] == "Certificate"
    assert achievement["criteria"]["narrative"].startswith("An evidence portfolio")
    assert doc["evidence"][0]["type"] == ["Evidence"]
    assert doc["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert doc["name"] == "Certified Mentor Teacher"
    assert "proof" not in doc
    json.dumps(doc)


def test_achievement_credential_optional_parts():
    doc = badge(subject_id="did:example:jane", valid_until=None, credential_status=None, evidence=None)
    assert doc["credentialSubject"]["id"] == "did:example:jane"
    assert not {"validUntil", "credentialStatus", "evidence"} & doc.keys()
    assert cred.verify(cred.sign(doc, cred.new_key(), created=ISSUED)).ok


@pytest.mark.parametrize(
    "overrides",
    [
        {"valid_from": datetime(2026, 5, 1)},  # naive
        {"valid_until": ISSUED - timedelta(days=1)},
        {"valid_until": datetime(2031, 5, 1)},  # naive
        {"issuer": {"id": "https://x.example/i", "name": "I", "type": 5}},
        {"credential_id": "credential-17"},  # relative: it would not be signed
        {"subject_id": "jane"},
        {"subject_name": ""},
        {"issuer": {"name": "No id"}},
        {"achievement": {"id": "https://x.example/a", "name": "A", "description": "d"}},  # no criteria
        {"name": " "},
    ],
)
def test_achievement_credential_refuses(overrides):
    with pytest.raises(cred.CredentialError):
        badge(**overrides)


def test_other_bundled_contexts_can_be_named(key):
    doc = badge()
    doc["@context"].append("https://w3id.org/security/data-integrity/v2")
    assert cred.verify(cred.sign(doc, key, created=ISSUED)).ok


# --- sign and verify -------------------------------------------------------------------------------------------------


def test_sign_then_verify(key, signed):
    proof = signed["proof"]
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-05-01T09:30:00Z",
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
        "proofValue": proof["proofValue"],
    }
    assert proof["proofValue"].startswith("z")
    assert {k: v for k, v in signed.items() if k != "proof"} == badge()  # the input is not changed
    assert cred.verify(signed) == cred.Verification(True, "", key.verification_method, key.public_multibase)


def test_signature_checked_independently(signed):
    independent_check(signed)
    forged = copy.deepcopy(signed)
    forged["credentialSubject"]["identifier"][0]["identityHash"] = "Jane Dot"
    with pytest.raises(InvalidSignature):
        independent_check(forged)


def test_verify_ignores_json_layout(key, signed):
    shuffled = json.loads(json.dumps({k: signed[k] for k in reversed(list(signed))}, indent=3))
    shuffled["credentialSubject"] = dict(reversed(list(shuffled["credentialSubject"].items())))
    assert cred.verify(shuffled).ok
    as_set = copy.deepcopy(signed)
    as_set["proof"] = [as_set["proof"]]
    assert cred.verify(as_set).ok


def _set(doc: dict, path: tuple, value) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def _get(doc: dict, path: tuple):
    for part in path:
        doc = doc[part]
    return doc


def _one_character_changed(text: str) -> str:
    """The last digit changed (so a date stays a valid date), else the last character."""
    digits = [i for i, char in enumerate(text) if char.isdigit()]
    if digits:
        i = digits[-1]
        return text[:i] + ("1" if text[i] == "2" else "2") + text[i + 1 :]
    return text[:-1] + ("b" if text[-1] == "a" else "a")


@pytest.mark.parametrize(
    "path",
    [
        ("credentialSubject", "name"),  # the recipient's name, as displayed
        ("credentialSubject", "identifier", 0, "identityHash"),  # the recipient's name, as OB 3.0 identifies
        ("credentialSubject", "achievement", "id"),
        ("credentialSubject", "achievement", "name"),
        ("credentialSubject", "achievement", "description"),
        ("credentialSubject", "achievement", "criteria", "narrative"),
        ("validFrom",),
        ("validUntil",),
        ("id",),
        ("name",),
        ("issuer", "id"),
        ("issuer", "name"),
        ("issuer", "url"),
        ("evidence", 0, "narrative"),
        ("credentialStatus", "statusListIndex"),
        ("proof", "created"),
    ],
)
def test_one_character_changed_breaks_the_signature(signed, path):
    tampered = copy.deepcopy(signed)
    _set(tampered, path, _one_character_changed(_get(signed, path)))
    assert _get(tampered, path) != _get(signed, path)
    assert cred.verify(tampered).reason == "bad-signature"


def test_other_changes_break_the_signature(signed, key):
    def changed(change) -> cred.Verification:
        tampered = copy.deepcopy(signed)
        change(tampered)
        return cred.verify(tampered)

    assert changed(lambda d: _set(d, ("credentialSubject", "identifier", 0, "hashed"), True)).reason == "bad-signature"
    assert changed(lambda d: _set(d, ("credentialSubject", "id"), "did:example:mallory")).reason == "bad-signature"
    assert changed(lambda d: d.pop("validUntil")).reason == "bad-signature"
    assert changed(lambda d: d.pop("credentialStatus")).reason == "bad-signature"
    assert changed(lambda d: _set(d, ("credentialSubject", "name"), "Mallory")).reason == "bad-signature"
    other = cred.new_key()
    result = changed(lambda d: _set(d, ("proof", "verificationMethod"), other.verification_method))
    assert result.reason == "bad-signature" and result.public_multibase == other.public_multibase
    # a proof made by another key over the same credential verifies, naming that key: trust is the caller's call
    resigned = cred.sign(badge(), other, created=ISSUED)
    assert cred.verify(resigned).ok and cred.verify(resigned).public_multibase != key.public_multibase


@pytest.mark.parametrize("position", [1, 20, 44, -1])
def test_proof_value_changed(signed, position):
    tampered = copy.deepcopy(signed)
    value = tampered["proof"]["proofValue"]
    index = position % len(value)
    tampered["proof"]["proofValue"] = value[:index] + ("2" if value[index] != "2" else "3") + value[index + 1 :]
    assert cred.verify(tampered).reason in {"bad-signature", "malformed"}


def _string_leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _string_leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _string_leaves(v, (*path, i))
    elif isinstance(node, str):
        yield path


def test_every_string_in_a_signed_credential_is_protected(signed):
    paths = list(_string_leaves(signed))
    assert len(paths) > 30
    for path in paths:
        tampered = copy.deepcopy(signed)
        _set(tampered, path, _one_character_changed(_get(signed, path)))
        result = cred.verify(tampered)
        assert not result.ok, path
        assert result.reason in REASONS, path


def test_unknown_context_is_refused_without_network(signed, no_network):
    with pytest.raises(cred.CredentialError):
        cred.DOCUMENT_LOADER("https://example.org/contexts/evil.json")
    assert cred.DOCUMENT_LOADER("https://www.w3.org/ns/credentials/v2")["document"]["@context"]["@protected"] is True
    for context in (
        "https://example.org/contexts/evil.json",
        {"@import": "https://example.org/contexts/evil.json"},
        "https://www.w3.org/2018/credentials/v1",
    ):
        tampered = copy.deepcopy(signed)
        tampered["@context"].append(context)
        assert cred.verify(tampered).reason == "context"
        with pytest.raises(cred.CredentialError):
            cred.sign({k: v for k, v in tampered.items() if k != "proof"}, cred.new_key(), created=ISSUED)
    assert no_network == []


def test_other_proofs_are_unsupported(signed):
    for change in (
        {"cryptosuite": "eddsa-jcs-2022"},
        {"cryptosuite": "ecdsa-rdfc-2019"},
        {"type": "Ed25519Signature2020"},
        {"proofPurpose": "authentication"},
    ):
        tampered = copy.deepcopy(signed)
        tampered["proof"] |= change
        assert cred.verify(tampered).reason == "unsupported-proof"
    two = copy.deepcopy(signed)
    two["proof"] = [signed["proof"], signed["proof"]]
    assert cred.verify(two).reason == "unsupported-proof"


def test_bad_keys(signed):
    for method in (
        "https://classlab.example/issuers/1#key-1",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no fragment
        f"did:key:{SPEC_PUBLIC_MULTIBASE}#key-1",
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        "did:key:z6Mk#z6Mk",
    ):
        tampered = copy.deepcopy(signed)
        tampered["proof"]["verificationMethod"] = method
        result = cred.verify(tampered)
        assert result.reason == "bad-key" and result.verification_method == method


GARBAGE = [
    None,
    [],
    "x",
    3,
    b"{}",
    {},
    {"proof": 3},
    {"proof": None},
    {"proof": []},
    {"proof": {}},
    {"proof": [1, 2]},
    {"proof": "z123"},
    {"@context": 5, "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}},
]


@pytest.mark.parametrize("document", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(document):
    result = cred.verify(document)
    assert not result.ok and result.reason in REASONS


def test_garbage_reasons():
    assert cred.verify(None).reason == "malformed"
    assert cred.verify({}).reason == "no-proof"
    assert cred.verify({"proof": []}).reason == "no-proof"
    assert cred.verify({"proof": 3}).reason == "malformed"
    assert cred.verify({"proof": {}}).reason == "unsupported-proof"


def test_broken_signed_credentials_never_raise(signed):
    breakages = [
        lambda d: d.update({"@context": 5}),
        lambda d: d.update({"@context": [{"@version": 2}]}),
        lambda d: d.pop("@context"),
        lambda d: d["proof"].update(proofValue="z" + "2" * 100_000),
        lambda d: d["proof"].update(proofValue=12),
        lambda d: d["proof"].update(proofValue="u" + d["proof"]["proofValue"][1:]),
        lambda d: d["proof"].update(proofValue="z"),
        lambda d: d["proof"].update(created="yesterday"),
        lambda d: d["proof"].update(created="2026-13-01T00:00:00Z"),
        lambda d: d["proof"].update(verificationMethod=["did:key:x"]),
        lambda d: d["proof"].pop("verificationMethod"),
        lambda d: d.update(credentialSubject=float("nan")),
        lambda d: d.update(issuer={"id": {"nested": ["deep"] * 3}}),
        lambda d: d.update(validFrom=None),
        lambda d: d["credentialSubject"].update({"@context": "https://example.org/c"}),
    ]
    for breakage in breakages:
        tampered = copy.deepcopy(signed)
        breakage(tampered)
        result = cred.verify(tampered)
        assert result.reason in REASONS | {""}
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    tampered = copy.deepcopy(signed) | {"deep": deep}
    assert cred.verify(tampered).reason in REASONS


# --- data the signature would not cover ------------------------------------------------------------------------------


def test_undefined_terms_are_refused(signed, key):
    for change in (
        {"displayName": "Mallory"},  # no context defines it: JSON-LD would drop it, unsigned
        {"type": ["VerifiableCredential", "OpenBadgeCredential", "PlatinumBadge"]},
    ):
        tampered = copy.deepcopy(signed) | change
        assert cred.verify(tampered).reason == "malformed"
        with pytest.raises(cred.CredentialError):
            cred.sign({k: v for k, v in tampered.items() if k != "proof"}, key, created=ISSUED)
    relative = copy.deepcopy(signed)
    relative["issuer"]["image"] = "logo.png"  # an IRI-typed term with a relative IRI: dropped from the RDF
    assert cred.verify(relative).reason == "malformed"


def test_canonicalization_work_is_bounded(key, monkeypatch):
    twins = [{"narrative": "Same."}, {"narrative": "Same."}]  # identical blank nodes need Hash N-Degree Quads
    doc = badge(evidence=twins)
    assert cred.verify(cred.sign(doc, key, created=ISSUED)).ok
    monkeypatch.setattr(cred, "_MAX_N_DEGREE_CALLS", 0)
    with pytest.raises(cred.CredentialError):
        cred.sign(doc, key, created=ISSUED)
    monkeypatch.undo()
    crowd = badge(evidence=[{"narrative": f"piece {i}"} for i in range(300)])
    with pytest.raises(cred.CredentialError):
        cred.sign(crowd, key, created=ISSUED)


def test_sign_refuses(key):
    with pytest.raises(cred.CredentialError):
        cred.sign(badge(), key, created=datetime(2026, 5, 1))  # naive
    with pytest.raises(cred.CredentialError):
        cred.sign(badge() | {"proof": {}}, key, created=ISSUED)
    with pytest.raises(cred.CredentialError):
        cred.sign({"id": "urn:x"}, key, created=ISSUED)  # no @context
    with pytest.raises(cred.CredentialError):
        cred.sign(badge() | {"name": datetime.now(UTC)}, key, created=ISSUED)  # not JSON
    with pytest.raises(cred.CredentialError):
        cred.sign("{}", key, created=ISSUED)


# --- the bundled contexts ------------------------------------------------------------------------------------------


def test_bundled_contexts_match_sources_md():
    """The files are the npm packages' bytes that SOURCES.md records, not edited since."""
    listed = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (CONTEXT_DIR / "SOURCES.md").read_text(), re.M)
    )
    files = {path.name for path in CONTEXT_DIR.glob("*.json")}
    assert set(listed) == files == set(cred._CONTEXT_FILES.values())
    for name, digest in listed.items():
        assert hashlib.sha256((CONTEXT_DIR / name).read_bytes()).hexdigest() == digest, name
