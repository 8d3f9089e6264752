"""Signed ballots: the ballot's canonical form, its WebAuthn challenge, nonces and the assertion check.

A ballot is the RFC 8785 canonical JSON of ``{v, council, session, vote, item, deputy, choice,
nonce}``. The deputy's authenticator signs it through WebAuthn: the challenge is
``SHA-256("kvorum-ballot-v1" || 0x00 || ballot bytes)``, so the signature commits to every field and
a changed choice no longer matches. The assertion must carry the user-verified flag (a fingerprint
or PIN on the deputy's own device): that is what stops a colleague pressing the button for an
absent deputy.

Nonces make each signature single-use and impossible to prepare before the vote opens. ``vote.opened``
publishes a random ``nonce_seed``; a deputy's k-th ballot in that vote (k = 0, 1, … — a deputy may
change a ballot where the council allows it) carries ``nonce_for(seed, deputy, k)``. Anyone can
recompute them, so the offline verifier checks them too; nobody can know them before the seed.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography, verify_signature
from webauthn.helpers.algorithms import get_ec2_sig_alg
from webauthn.helpers.exceptions import InvalidPublicKeyStructure, UnsupportedAlgorithm, UnsupportedPublicKeyType

from voting.canonical import canonical

__all__ = [
    "BALLOT_VERSION",
    "CHALLENGE_DOMAIN",
    "Assertion",
    "BallotRefused",
    "Credential",
    "PreparedAssertion",
    "b64url",
    "ballot_bytes",
    "ballot_challenge",
    "check_assertion",
    "check_sign_count",
    "check_signature",
    "from_b64url",
    "nonce_for",
    "prepare_assertion",
    "verify_assertion",
    "verify_assertion_for",
]

BALLOT_VERSION = 1
CHALLENGE_DOMAIN = b"kvorum-ballot-v1"
_NONCE_DOMAIN = b"kvorum-nonce-v1"

# Authenticator data flags (WebAuthn §6.1).
_UP, _UV, _BE, _BS = 0x01, 0x04, 0x08, 0x10


class BallotRefused(ValueError):
    """A signed ballot that must not count; ``code`` is stable (see docs/ledger.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebAuthn writes it."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError on any other character."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not a base64url string")
    raw = text.encode("ascii")
    standard = raw.translate(_FROM_URLSAFE, b"+/")  # and drops '+' and '/', which are not base64url
    if len(standard) != len(raw):
        raise ValueError("not a base64url string: '+' or '/'")
    try:
        return binascii.a2b_base64(standard + b"=" * (-len(raw) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise ValueError(f"not a base64url string: {exc}") from None


_check_credential_id = functools.lru_cache(maxsize=4096)(from_b64url)
"""``from_b64url`` for the few credential ids a session's ballots name, each decoded once (only to check it)."""


def ballot_bytes(
    *,
    council: str,
    session: str,
    vote: str,
    item: str,
    deputy: str,
    nonce: str,
    choice: str | None = None,
    encrypted: str | None = None,
) -> bytes:
    """The canonical bytes of a ballot (what the challenge commits to): with its ``choice``, or for a secret
    ballot the ``encrypted`` ballot's digest in its place (``secret_votes.encrypted_digest``)."""
    if (choice is None) == (encrypted is None):
        raise ValueError("a ballot names its choice or, secret, its encrypted ballot's digest")
    if encrypted is not None:
        return canonical(
            {
                "v": BALLOT_VERSION,
                "council": council,
                "session": session,
                "vote": vote,
                "item": item,
                "deputy": deputy,
                "encrypted": encrypted,
                "nonce": nonce,
            }
        )
    assert choice is not None
    ballot = {
        "v": BALLOT_VERSION,
        "council": council,
        "session": session,
        "vote": vote,
        "item": item,
        "deputy": deputy,
        "choice": choice,
        "nonce": nonce,
    }
    strings = type(council) is str and type(session) is str and type(vote) is str and type(item) is str
    if strings and type(deputy) is str and type(choice) is str and type(nonce) is str:
        # The usual case, in JCS key order already: orjson writes strings exactly as JCS does
        # (voting.canonical), so one call gives the same bytes as the general path below.
        ordered = {
            "choice": choice,
            "council": council,
            "deputy": deputy,
            "item": item,
            "nonce": nonce,
            "session": session,
            "v": BALLOT_VERSION,
            "vote": vote,
        }
        try:
            return orjson.dumps(ordered)
        except orjson.JSONEncodeError:  # a lone surrogate: let the general path decide
            pass
    return canonical(ballot)


def ballot_challenge(ballot: bytes) -> bytes:
    """The WebAuthn challenge for a ballot: SHA-256("kvorum-ballot-v1" || 0x00 || ballot)."""
    return hashlib.sha256(CHALLENGE_DOMAIN + b"\x00" + ballot).digest()


def nonce_for(seed: str, deputy: str, index: int) -> str:
    """The nonce of ``deputy``'s ``index``-th ballot (from 0) in the vote whose seed is ``seed``."""
    material = b"\x00".join((_NONCE_DOMAIN, seed.encode(), deputy.encode(), str(index).encode()))
    return b64url(hashlib.sha256(material).digest())


@dataclass(frozen=True, slots=True)
class Credential:
    """A deputy's enrolled WebAuthn credential: ``id`` base64url, ``public_key`` the COSE key bytes."""

    id: str
    deputy: str
    public_key: bytes
    sign_count: int = 0
    backup_eligible: bool = False
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Assertion:
    """The raw parts of a WebAuthn assertion, exactly as the authenticator produced them."""

    credential: str
    authenticator_data: bytes
    client_data_json: bytes
    signature: bytes

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Assertion:
        """From ``{"credential", "authenticator_data", "client_data_json", "signature"}`` (base64url).

        Raises BallotRefused("assertion_invalid") when a field is missing or not base64url.
        """
        try:
            credential = data["credential"]
            if type(credential) is str:
                _check_credential_id(credential)
            else:
                from_b64url(credential)  # to raise what it raises
            return cls(
                credential=credential,
                authenticator_data=from_b64url(data["authenticator_data"]),
                client_data_json=from_b64url(data["client_data_json"]),
                signature=from_b64url(data["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BallotRefused("assertion_invalid", f"the assertion is malformed: {exc}") from None

    def to_json(self) -> dict[str, str]:
        """The JSON form stored in ``ballot.cast`` (base64url fields)."""
        return {
            "credential": self.credential,
            "authenticator_data": b64url(self.authenticator_data),
            "client_data_json": b64url(self.client_data_json),
            "signature": b64url(self.signature),
        }


Verify = Callable[[bytes, bytes], None]
"""``(signature, data) -> None``, raising when the signature does not verify."""


@functools.lru_cache(maxsize=4096)
def _public_key(cose: bytes) -> Verify:
    """The enrolled COSE key, decoded once per key and process, as a ready signature check."""
    decoded = decode_credential_public_key(cose)
    key, alg = decoded_public_key_to_cryptography(decoded), decoded.alg
    if isinstance(key, EllipticCurvePublicKey):
        # What webauthn's verify_signature does for an EC2 key, with the algorithm object made once
        # (nearly every authenticator signs ES256; this is most of a ballot audit's time).
        try:
            ecdsa = get_ec2_sig_alg(alg)
        except UnsupportedAlgorithm:
            pass
        else:
            return functools.partial(_ec2_verify, key, ecdsa)
    return functools.partial(_any_verify, key, alg)


def _ec2_verify(key: EllipticCurvePublicKey, algorithm: Any, signature: bytes, data: bytes) -> None:
    key.verify(signature, data, algorithm)


def _any_verify(key: Any, alg: Any, signature: bytes, data: bytes) -> None:
    verify_signature(public_key=key, signature_alg=alg, signature=signature, data=data)


def check_signature(public_key: bytes, signature: bytes, signed_data: bytes) -> None:
    """Verify a signature with an enrolled COSE key (releases the GIL); BallotRefused("signature_invalid")."""
    verify = _public_key(public_key)
    try:
        verify(signature, signed_data)
    except Exception:  # cryptography's InvalidSignature, malformed DER and an unusable key alike
        raise BallotRefused("signature_invalid", "the signature does not verify with the enrolled key") from None


@functools.lru_cache(maxsize=64)
def _rp_id_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()


def _rp_id_digest(rp_id: str) -> bytes:
    return _rp_id_hash(rp_id) if type(rp_id) is str else hashlib.sha256(rp_id.encode()).digest()


def _client_fields(raw: bytes) -> tuple[Any, Any, Any]:
    """``type``, ``challenge`` and ``origin`` of client data JSON, exactly as ``json.loads`` reads them.

    orjson first: it takes a subset of what json takes and reads strings the same way; anything else
    (a BOM, another encoding, NaN, a lone surrogate, a field that is not a string…) is json's to read.
    """
    try:
        client = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if type(client) is dict:
            kind, challenge, origin = client.get("type"), client.get("challenge"), client.get("origin")
            if type(kind) is str and type(challenge) is str and type(origin) is str:
                return kind, challenge, origin
    client = json.loads(raw)
    return client["type"], client["challenge"], client["origin"]


@dataclass(frozen=True, slots=True)
class PreparedAssertion:
    """An assertion whose every field checked out; only its signature is still to be verified."""

    sign_count: int
    public_key: bytes  # COSE, as enrolled (plain bytes, so a prepared assertion can go to another process)
    signature: bytes
    signed_data: bytes

    def verify(self) -> None:
        """Verify the signature (releases the GIL); BallotRefused("signature_invalid") if it fails."""
        check_signature(self.public_key, self.signature, self.signed_data)


def prepare_assertion(
    ballot: bytes, assertion: Assertion, credential: Credential, *, rp_id: str, origins: Sequence[str]
) -> PreparedAssertion:
    """Every check of ``verify_assertion`` but the signature itself (for callers that batch those)."""
    return _prepare(
        ballot_challenge(ballot), assertion, credential, rp_id, origins, "another ballot (choice, vote or nonce)"
    )


def _prepare(
    challenge: bytes,
    assertion: Assertion,
    credential: Credential,
    rp_id: str,
    origins: Sequence[str],
    other: str,
) -> PreparedAssertion:
    """The checks of an assertion whose challenge must be ``challenge`` (``other``: what else it is over)."""
    if assertion.credential != credential.id:
        raise BallotRefused("credential_mismatch", "the assertion names another credential")
    try:
        kind, signed_text, origin = _client_fields(assertion.client_data_json)
    except (ValueError, TypeError, KeyError):
        raise BallotRefused("assertion_invalid", "client data is not WebAuthn client data JSON") from None
    if kind != "webauthn.get":
        raise BallotRefused("assertion_invalid", f"client data type is {kind!r}, not 'webauthn.get'")
    try:
        signed_challenge = from_b64url(signed_text)
    except ValueError:
        raise BallotRefused("assertion_invalid", "the challenge is not base64url") from None
    if signed_challenge != challenge:
        raise BallotRefused("challenge_mismatch", f"the signature is over {other}")
    if origin not in origins:
        raise BallotRefused("origin_mismatch", f"signed on {origin!r}, not on one of the council's origins")
    data = assertion.authenticator_data
    if len(data) < 37:
        raise BallotRefused("assertion_invalid", "authenticator data is shorter than 37 bytes")
    if data[:32] != _rp_id_digest(rp_id):
        raise BallotRefused("rp_id_mismatch", f"the credential was not used for relying party {rp_id!r}")
    flags = data[32]
    if not flags & _UP or not flags & _UV:
        raise BallotRefused("user_not_verified", "the authenticator did not verify the user (fingerprint or PIN)")
    try:
        _public_key(credential.public_key)  # decodable, once per key and process
    except (InvalidPublicKeyStructure, UnsupportedPublicKeyType, ValueError) as exc:
        raise BallotRefused("signature_invalid", f"the enrolled public key is unusable: {exc}") from None
    signed_data = data + hashlib.sha256(assertion.client_data_json).digest()
    sign_count = int.from_bytes(data[33:37], "big")
    return PreparedAssertion(sign_count, credential.public_key, assertion.signature, signed_data)


def verify_assertion(
    ballot: bytes, assertion: Assertion, credential: Credential, *, rp_id: str, origins: Sequence[str]
) -> int:
    """Check everything about ``assertion`` that does not depend on history; return its sign count.

    Pure and thread-safe. Codes, in the order checked: ``credential_mismatch``,
    ``assertion_invalid``, ``challenge_mismatch``, ``origin_mismatch``, ``rp_id_mismatch``,
    ``user_not_verified``, ``signature_invalid``. Whether the credential belongs to the deputy and
    is live, and whether the sign count went back, are the caller's checks (``check_sign_count``).
    """
    prepared = prepare_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)
    prepared.verify()
    return prepared.sign_count


def verify_assertion_for(
    challenge: bytes, assertion: Assertion, credential: Credential, *, rp_id: str, origins: Sequence[str]
) -> int:
    """``verify_assertion`` for an assertion over any other record whose challenge is ``challenge``
    (the mayor's signature on a decision, ``voting.decision``); return its sign count.

    The same checks in the same order with the same codes, but the challenge is given rather than
    computed from a ballot, so each kind of record keeps its own domain-separated challenge.
    """
    prepared = _prepare(challenge, assertion, credential, rp_id, origins, "another record")
    prepared.verify()
    return prepared.sign_count


def check_sign_count(sign_count: int, last_sign_count: int) -> None:
    """Refuse a sign count that did not go up (``sign_count_regressed``).

    Authenticators that do not count report 0 every time; that is allowed.
    """
    if (sign_count or last_sign_count) and sign_count <= last_sign_count:
        raise BallotRefused(
            "sign_count_regressed", f"sign count {sign_count} after {last_sign_count}: a cloned authenticator?"
        )


def check_assertion(
    ballot: bytes,
    assertion: Assertion,
    credential: Credential,
    *,
    rp_id: str,
    origins: Sequence[str],
    last_sign_count: int,
) -> int:
    """``verify_assertion`` and ``check_sign_count`` together; return the new sign count."""
    sign_count = verify_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)
    check_sign_count(sign_count, last_sign_count)
    return sign_count
