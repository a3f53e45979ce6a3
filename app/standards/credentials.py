"""Open Badges 3.0 certificates as W3C Verifiable Credentials (Data Model 2.0), secured with a Data Integrity
proof of the cryptosuite ``eddsa-rdfc-2022`` (W3C "Data Integrity EdDSA Cryptosuites v1.0"): Ed25519 keys,
RDF Dataset Canonicalization (RDFC-1.0, the URDNA2015 algorithm) by pyld, SHA-256, base58btc multibase.

Pure functions: no Flask, no database, no network. JSON-LD contexts are served only from the copies in
``contexts/`` (their npm sources are listed in ``contexts/SOURCES.md``); any other context URL is refused, so a
credential naming an unknown context fails with the reason "context" instead of a fetch.

Whether the key that signed a credential is one of the institute's (current or retired) and whether the
credential was revoked is the caller's business: ``verify`` reports the signing key's multibase and the caller
compares it with its own key list.

Two hardenings beyond the letter of the cryptosuite, both applied when signing and when verifying:

* "safe mode": a document whose JSON-LD expansion drops anything (a term no context defines, a relative IRI, a
  value the RDF conversion would skip) is refused, because what is dropped is not covered by the signature and
  could be changed or added by anyone without breaking it (the VC 2.0 context has no ``@vocab``);
* canonicalization is bounded (blank nodes, Hash N-Degree Quads calls) against "dataset poisoning" input built
  to make RDFC-1.0 run for hours.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld
from pyld.context_resolver import ContextResolver

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CREDENTIAL_CONTEXT = [VC_V2, OB_V3]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

_CONTEXT_DIR = Path(__file__).with_name("contexts")
_CONTEXT_FILES = {
    VC_V2: "credentials-v2.json",
    OB_V3: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.json",
    MULTIKEY_V1: "multikey-v1.json",
}

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint-encoded
_DID_KEY = "did:key:"
_MAX_BLANK_NODES = 256  # an Open Badge has a handful
_MAX_N_DEGREE_CALLS = 1000  # RDFC-1.0 Hash N-Degree Quads calls; a benign credential needs none or a few
_MAX_B58_CHARS = 128  # a 64-byte signature is at most 88 characters; longer input is refused before big-int work

_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*\Z")
_XSD_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?\Z")


class CredentialError(Exception):
    """A credential or key that cannot be built, signed or read; the message says why."""


class _UnknownContext(CredentialError):
    """The document loader was asked for a URL that is not bundled."""


class _Unsafe(CredentialError):
    """Part of the document would not be covered by the signature, or canonicalizing it is too much work."""


# ---------------------------------------------------------------------------------------------------------------
# Offline JSON-LD document loader


def _read_contexts() -> dict[str, str]:
    texts = {}
    for url, name in _CONTEXT_FILES.items():
        text = (_CONTEXT_DIR / name).read_text(encoding="utf-8")
        json.loads(text)  # a broken bundled file fails at import, not at the first credential
        texts[url] = text
    return texts


_CONTEXT_TEXTS = _read_contexts()


def _document_loader(url: str, options: dict | None = None) -> dict:
    """pyld document loader serving only the bundled contexts; it raises for any other URL (never fetches)."""
    text = _CONTEXT_TEXTS.get(url)
    if text is None:
        raise _UnknownContext(f"JSON-LD context {url!r} is not bundled with ClassLab; refusing to fetch it")
    # A fresh object each time: pyld rewrites context objects in place while resolving them.
    return {"contextUrl": None, "documentUrl": url, "document": json.loads(text)}


DOCUMENT_LOADER: Callable[..., dict] = _document_loader


# ---------------------------------------------------------------------------------------------------------------
# base58btc (Bitcoin alphabet), as multibase "z" uses it; small enough not to warrant a dependency

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def _b58decode(text: str) -> bytes:
    if not isinstance(text, str) or not text or len(text) > _MAX_B58_CHARS:
        raise CredentialError("not a base58btc value of a plausible length")
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise CredentialError(f"{char!r} is not a base58btc character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


# ---------------------------------------------------------------------------------------------------------------
# Keys


def _multibase_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + _b58encode(_ED25519_PUB + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a Multikey ``publicKeyMultibase`` ("z6Mk..."); CredentialError if malformed."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError("a publicKeyMultibase must be base58btc (start with 'z')")
    raw = _b58decode(value[1:])
    if len(raw) != 34 or raw[:2] != _ED25519_PUB:
        raise CredentialError("not a multicodec ed25519-pub key (0xed01 followed by 32 bytes)")
    try:
        return Ed25519PublicKey.from_public_bytes(raw[2:])
    except ValueError as error:
        raise CredentialError(f"not an Ed25519 public key: {error}") from error


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 signing key and the did:key names of its public half."""

    private_key: Ed25519PrivateKey

    @property
    def public_multibase(self) -> str:
        return _multibase_of(self.private_key.public_key())

    @property
    def did(self) -> str:
        return _DID_KEY + self.public_multibase

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.public_multibase}"

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def __repr__(self) -> str:  # never the secret
        return f"KeyPair({self.did})"


def new_key() -> KeyPair:
    return KeyPair(Ed25519PrivateKey.generate())


def load_key(pem: bytes) -> KeyPair:
    """The key stored by ``KeyPair.private_pem`` (unencrypted PKCS8 PEM); CredentialError if it is not Ed25519."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise CredentialError(f"not an unencrypted PEM private key: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise CredentialError(f"not an Ed25519 key: {type(key).__name__}")
    return KeyPair(key)


def _key_of_verification_method(verification_method: str) -> tuple[str, Ed25519PublicKey]:
    """(publicKeyMultibase, key) of a did:key verification method "did:key:z6Mk...#z6Mk..."."""
    did, sep, fragment = verification_method.partition("#")
    if not did.startswith(_DID_KEY) or not sep:
        raise CredentialError("the verification method is not a did:key URL with a fragment")
    multibase = did[len(_DID_KEY) :]
    if fragment != multibase:  # did:key: the key's id is the DID with its multibase as the fragment
        raise CredentialError("the did:key fragment does not name the DID's key")
    return multibase, public_key_from_multibase(multibase)


# ---------------------------------------------------------------------------------------------------------------
# Open Badges 3.0 data model


def _xsd_datetime(value: datetime) -> str:
    if not isinstance(value, datetime):
        raise CredentialError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CredentialError("datetimes in a credential must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_xsd_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _XSD_DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _require_iri(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ABSOLUTE_IRI.match(value):
        raise CredentialError(f"{what} must be an absolute IRI (a URL, urn: or did:), got {value!r}")
    return value


def _require_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CredentialError(f"{what} must be a non-empty string")
    return value


def _with_type(node: dict, type_: str, what: str) -> dict:
    """A copy of node with ``type_`` among its types (placed first when added)."""
    if not isinstance(node, dict):
        raise CredentialError(f"{what} must be a dict")
    node = copy.deepcopy(node)
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise CredentialError(f"{what} type must be a string or a list of strings")
    types = list(types)
    if type_ not in types:
        types.insert(0, type_)
    rest = {k: v for k, v in node.items() if k not in ("id", "type")}
    return ({"id": node["id"]} if "id" in node else {}) | {"type": types} | rest


def achievement_credential(
    *,
    credential_id: str,
    issuer: dict,
    subject_id: str | None,
    subject_name: str,
    achievement: dict,
    valid_from: datetime,
    valid_until: datetime | None = None,
    credential_status: dict | None = None,
    evidence: list[dict] | None = None,
    name: str,
) -> dict:
    """An unsigned Open Badges 3.0 ``OpenBadgeCredential`` awarding ``achievement`` to its recipient.

    ``issuer`` is a Profile ({id, name, url?, ...}; type "Profile" is added). ``achievement`` is an Achievement
    ({id, name, description, criteria: {narrative} or a narrative string, achievementType (default
    "Certificate"), ...}; type "Achievement" is added). The recipient's name is written twice: as
    ``credentialSubject.name`` (schema:name, what wallets and ``service`` display) and as the OB 3.0
    IdentityObject (identityType "name", hashed false) in ``credentialSubject.identifier``, which OB 3.0 requires
    when the subject has no ``id``. Datetimes must be timezone-aware; they are written in UTC to the second
    ("2026-05-01T09:30:00Z"). CredentialError names the first argument that cannot be used.
    """
    _require_iri(credential_id, "credential_id")
    profile = _with_type(issuer, "Profile", "issuer")
    _require_iri(profile.get("id"), "issuer id")
    _require_text(profile.get("name"), "issuer name")

    badge = _with_type(achievement, "Achievement", "achievement")
    _require_iri(badge.get("id"), "achievement id")
    _require_text(badge.get("name"), "achievement name")
    _require_text(badge.get("description"), "achievement description")
    criteria = badge.get("criteria")
    if isinstance(criteria, str):
        badge["criteria"] = {"narrative": _require_text(criteria, "achievement criteria")}
    elif not isinstance(criteria, dict) or not (criteria.get("narrative") or criteria.get("id")):
        raise CredentialError("achievement criteria must have a narrative (or an id)")
    badge.setdefault("achievementType", "Certificate")

    subject: dict[str, Any] = {}
    if subject_id is not None:
        subject["id"] = _require_iri(subject_id, "subject_id")
    subject["type"] = ["AchievementSubject"]
    subject["name"] = _require_text(subject_name, "subject_name")
    subject["identifier"] = [
        {"type": "IdentityObject", "identityHash": subject_name, "identityType": "name", "hashed": False}
    ]
    subject["achievement"] = badge

    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": _require_text(name, "name"),
        "issuer": profile,
        "validFrom": _xsd_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = _xsd_datetime(valid_until)
        if valid_until <= valid_from:
            raise CredentialError("valid_until must be after valid_from")
    credential["credentialSubject"] = subject
    if credential_status is not None:
        if not isinstance(credential_status, dict):
            raise CredentialError("credential_status must be a dict")
        credential["credentialStatus"] = copy.deepcopy(credential_status)
    if evidence:
        credential["evidence"] = [_with_type(item, "Evidence", "evidence item") for item in evidence]
    return credential


# ---------------------------------------------------------------------------------------------------------------
# Canonicalization (RDFC-1.0) with safe mode and a work bound


class _BoundedURDNA2015(jsonld.URDNA2015):
    """pyld's URDNA2015 (= RDFC-1.0) that gives up after a fixed number of Hash N-Degree Quads calls."""

    def __init__(self) -> None:
        super().__init__()
        self._calls = 0

    def hash_n_degree_quads(self, id_, issuer):
        self._calls += 1
        if self._calls > _MAX_N_DEGREE_CALLS:
            raise _Unsafe("canonicalization needs too much work (dataset poisoning?)")
        return super().hash_n_degree_quads(id_, issuer)


def _count_values(value: Any) -> int:
    """Leaf values of a compacted JSON-LD document (contexts and value-object keywords other than @value aside)."""
    if isinstance(value, list):
        return sum(_count_values(item) for item in value)
    if isinstance(value, dict):
        if "@value" in value:
            return _count_values(value["@value"])
        return sum(_count_values(v) for k, v in value.items() if k != "@context")
    return 0 if value is None else 1


def _check_iri(value: Any, where: str) -> None:
    if not isinstance(value, str) or not (value.startswith("_:") or _ABSOLUTE_IRI.match(value)):
        raise _Unsafe(f"{where} {value!r} is not an absolute IRI; it would not be signed")


def _count_expanded(value: Any) -> int:
    """Leaf values of an expanded document, checking that every IRI in it is absolute (else it is not signed)."""
    if isinstance(value, list):
        return sum(_count_expanded(item) for item in value)
    if not isinstance(value, dict):
        return 0 if value is None else 1
    if "@value" in value:
        datatype = value.get("@type")
        if datatype == "@json":
            return _count_values(value["@value"])
        if datatype is not None:
            _check_iri(datatype, "datatype")
        return 0 if value["@value"] is None else 1
    count = 0
    for key, item in value.items():
        if key == "@id":
            _check_iri(item, "@id")
            count += 1
        elif key == "@type":
            for type_ in item if isinstance(item, list) else [item]:
                _check_iri(type_, "type")
                count += 1
        elif key == "@reverse":
            for prop, objects in item.items():
                _check_iri(prop, "property")
                count += _count_expanded(objects)
        elif key in ("@list", "@set", "@graph", "@included"):
            count += _count_expanded(item)
        elif key.startswith("@"):
            continue  # @index, @language, @direction: carried by map keys or value objects, not counted
        else:
            if key.startswith("_:"):
                raise _Unsafe(f"property {key!r} is a blank node; it would not be signed")
            _check_iri(key, "property")
            count += _count_expanded(item)
    return count


def _canonize(document: dict, loader: Callable[..., dict]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, refusing documents whose data would not all be signed."""
    options = {
        "documentLoader": loader,
        "contextResolver": ContextResolver({}, loader),  # private cache: never a context another loader resolved
    }
    expanded = jsonld.expand(document, dict(options))
    if _count_expanded(expanded) != _count_values(document):
        raise _Unsafe("JSON-LD expansion drops part of the document (an undefined term?); it would not be signed")
    dataset = jsonld.to_rdf(expanded, dict(options))
    blank_nodes = {
        term["value"]
        for triples in dataset.values()
        for triple in triples
        for term in (triple["subject"], triple["object"])
        if term["type"] == "blank node"
    }
    if len(blank_nodes) > _MAX_BLANK_NODES:
        raise _Unsafe(f"{len(blank_nodes)} blank nodes; at most {_MAX_BLANK_NODES} are canonicalized")
    return _BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})


def _unknown_context(error: BaseException) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UnknownContext):
            return True
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
    return False


def _hash_data(unsecured: dict, proof_config: dict, loader: Callable[..., dict]) -> bytes:
    """eddsa-rdfc-2022 hashData: SHA-256 of the canonical proof configuration, then of the canonical document."""
    try:
        canonical_config = _canonize(proof_config, loader)
        canonical_document = _canonize(unsecured, loader)
    except _Unsafe:
        raise
    except Exception as error:
        if _unknown_context(error):
            raise _UnknownContext("the document names a JSON-LD context that is not bundled") from error
        raise CredentialError(f"JSON-LD processing failed: {error.__class__.__name__}") from error
    return hashlib.sha256(canonical_config.encode()).digest() + hashlib.sha256(canonical_document.encode()).digest()


# ---------------------------------------------------------------------------------------------------------------
# Sign and verify


def sign(
    document: dict, key: KeyPair, *, created: datetime, document_loader: Callable[..., dict] = DOCUMENT_LOADER
) -> dict:
    """A copy of ``document`` with a DataIntegrityProof (eddsa-rdfc-2022) made by ``key``.

    CredentialError if the document is not JSON, has no @context, already has a proof, names a context that is
    not bundled, or has data that would not be covered by the signature (see the module docstring).
    """
    if not isinstance(document, dict):
        raise CredentialError("a credential is a JSON object")
    try:
        unsecured = json.loads(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise CredentialError(f"the credential is not JSON: {error}") from error
    if "@context" not in unsecured:
        raise CredentialError("the credential has no @context")
    if "proof" in unsecured:
        raise CredentialError("the credential already has a proof")
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _xsd_datetime(created),
        "verificationMethod": key.verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    hash_data = _hash_data(unsecured, proof | {"@context": unsecured["@context"]}, document_loader)
    proof["proofValue"] = "z" + _b58encode(key.private_key.sign(hash_data))
    return unsecured | {"proof": proof}


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # "" when ok; else no-proof, unsupported-proof, malformed, bad-key, bad-signature, context
    verification_method: str = ""
    public_multibase: str = ""


def verify(document: Any, *, document_loader: Callable[..., dict] = DOCUMENT_LOADER) -> Verification:
    """Check the eddsa-rdfc-2022 proof of a credential. Never raises: any failure is ``ok=False`` and a reason."""
    try:
        return _verify(document, document_loader)
    except Exception:  # a pyld or cryptography surprise on hostile input is a malformed credential, not a 500
        return Verification(False, "malformed")


def _verify(document: Any, loader: Callable[..., dict]) -> Verification:
    if not isinstance(document, dict):
        return Verification(False, "malformed")
    proof = document.get("proof")
    if isinstance(proof, list):  # a proof set of one is the same proof; larger sets are not ours
        if len(proof) > 1:
            return Verification(False, "unsupported-proof")
        proof = proof[0] if proof else None
    if proof is None:
        return Verification(False, "no-proof")
    if not isinstance(proof, dict):
        return Verification(False, "malformed")

    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else ""

    def fail(reason: str, multibase: str = "") -> Verification:
        return Verification(False, reason, method, multibase)

    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return fail("unsupported-proof")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        return fail("unsupported-proof")
    if not method or "@context" not in document:
        return fail("malformed")
    if "created" in proof and not _is_xsd_datetime(proof["created"]):
        return fail("malformed")
    proof_value = proof.get("proofValue")
    try:
        if not isinstance(proof_value, str) or not proof_value.startswith("z"):
            raise CredentialError("proofValue is not base58btc multibase")
        signature = _b58decode(proof_value[1:])
    except CredentialError:
        return fail("malformed")
    if len(signature) != 64:
        return fail("malformed")
    try:
        multibase, public_key = _key_of_verification_method(method)
    except CredentialError:
        return fail("bad-key")

    unsecured = {k: v for k, v in document.items() if k != "proof"}
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"} | {"@context": document["@context"]}
    try:
        hash_data = _hash_data(unsecured, proof_config, loader)
    except _UnknownContext:
        return fail("context", multibase)
    except CredentialError:
        return fail("malformed", multibase)
    try:
        public_key.verify(signature, hash_data)
    except InvalidSignature:
        return fail("bad-signature", multibase)
    return Verification(True, "", method, multibase)
