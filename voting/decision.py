"""The mayor's signature on an adopted decision: what is signed, its WebAuthn challenge, and the check.

A decision's **digest** is SHA-256 of the RFC 8785 canonical JSON of ``{document, number,
decision_number, title, text, attachments: [sha256 hex…], session, vote}`` — the adopted text, its
files and where it was adopted. What the mayor's device signs is the canonical JSON of
``{v, council, document, decision_number, digest}`` (``digest`` in lower-case hex); the WebAuthn
challenge is ``SHA-256("kvorum-decision-v1" || 0x00 || those bytes)``, domain-separated from a
ballot's, so a ballot's assertion can never pass for a decision's or the other way round.

The assertion must come from a credential enrolled (``credential.enrolled`` in the public council
stream) for the roster member who is the mayor, not revoked, with user verification, on one of the
council's origins and for its relying party — exactly as a ballot's. A decision is signed once, so
an assertion cannot be replayed on it; the sign count is recorded but not compared.

Pure: used by the decisions workflow when the mayor signs, by the decision page and by ``kvorum
verify``, which re-checks it offline from the public council ledger.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from voting.ballot import Assertion, BallotRefused, Credential, verify_assertion_for
from voting.canonical import canonical

__all__ = [
    "CHALLENGE_DOMAIN",
    "DECISION_VERSION",
    "ED25519",
    "WEBAUTHN",
    "DeviceKeys",
    "SignatureRefused",
    "check_device_signature",
    "decision_bytes",
    "decision_challenge",
    "document_digest",
    "ed25519_valid",
]

DECISION_VERSION = 1
CHALLENGE_DOMAIN = b"kvorum-decision-v1"
WEBAUTHN = "webauthn"
"""The ``algorithm`` of a signature made on the mayor's enrolled device."""
ED25519 = "ed25519"
"""The ``algorithm`` of an Ed25519 signature over the digest by one of the council's ``signer_keys``."""


class SignatureRefused(ValueError):
    """A decision signature that must not count; ``code`` is one of the domain's stable codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def document_digest(
    *,
    document: str,
    number: str,
    decision_number: str | None,
    title: str,
    text: str,
    attachments: Sequence[str],
    session: str | None,
    vote: str | None,
) -> bytes:
    """SHA-256 of the canonical adopted decision: its text, the SHA-256 of each file, its number and vote."""
    body = {
        "document": document,
        "number": number,
        "decision_number": decision_number,
        "title": title,
        "text": text,
        "attachments": list(attachments),
        "session": session,
        "vote": vote,
    }
    return hashlib.sha256(canonical(body)).digest()


def decision_bytes(*, council: str, document: str, decision_number: str, digest: str) -> bytes:
    """The canonical bytes the mayor's device signs (``digest`` as lower-case hex)."""
    return canonical(
        {
            "v": DECISION_VERSION,
            "council": council,
            "document": document,
            "decision_number": decision_number,
            "digest": digest,
        }
    )


def decision_challenge(data: bytes) -> bytes:
    """The WebAuthn challenge for a decision: SHA-256("kvorum-decision-v1" || 0x00 || data)."""
    return hashlib.sha256(CHALLENGE_DOMAIN + b"\x00" + data).digest()


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """What a device signature is checked against: the council's id, relying party, origins and
    every credential it ever enrolled (revoked ones included, marked)."""

    council: str
    rp_id: str
    origins: tuple[str, ...]
    credentials: Mapping[str, Credential]


def check_device_signature(
    data: bytes, assertion: Mapping[str, Any], keys: DeviceKeys, *, mayor: str | None
) -> tuple[Credential, int]:
    """Check the mayor's WebAuthn assertion over ``data`` (``decision_bytes``); ``(credential, sign count)``.

    Codes, in the order checked: ``assertion_invalid``, ``unknown_credential``,
    ``credential_not_yours`` (not the mayor's), ``credential_revoked``, then those of
    ``voting.ballot.verify_assertion`` (``challenge_mismatch``, ``origin_mismatch``,
    ``rp_id_mismatch``, ``user_not_verified``, ``signature_invalid``…).
    """
    try:
        parsed = Assertion.from_json(assertion)
    except BallotRefused as exc:
        raise SignatureRefused(exc.code, exc.message) from None
    credential = keys.credentials.get(parsed.credential)
    if credential is None:
        raise SignatureRefused("unknown_credential", "the credential is not enrolled in the council")
    if mayor is None or credential.deputy != mayor:
        raise SignatureRefused("credential_not_yours", f"the credential is {credential.deputy!r}'s, not the mayor's")
    if credential.revoked:
        raise SignatureRefused("credential_revoked", "the credential was revoked")
    try:
        sign_count = verify_assertion_for(
            decision_challenge(data), parsed, credential, rp_id=keys.rp_id, origins=keys.origins
        )
    except BallotRefused as exc:
        raise SignatureRefused(exc.code, exc.message) from None
    return credential, sign_count


def ed25519_valid(public_key: str, signature: str, digest: bytes) -> bool:
    """Whether ``signature`` (base64) is an Ed25519 signature of ``digest`` by ``public_key`` (base64, raw 32 bytes)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), digest)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
