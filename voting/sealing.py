"""Sealed ballots: a commitment to a ballot's choice, published while the vote is open and opened at its
close (docs/ledger.md, "Sealed results"). Pure, no I/O; the server and the verifier share it.

    commitment = hex(SHA-256("kvorum-sealed-ballot-v1" ‖ 0x00 ‖ JCS({vote, deputy, choice, salt, assertion?})))

``salt`` is 16 random bytes (base64url, no padding) drawn by the server for the ballot; ``assertion`` is
a signed ballot's WebAuthn assertion as recorded (absent for an unsigned ballot), inside the commitment
because a published signature over the ballot would reveal its choice to anyone trying the three.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from voting.ballot import b64url, from_b64url
from voting.canonical import canonical
from voting.tally import Choice

__all__ = ["SALT_BYTES", "commitment", "new_salt", "opens"]

_DOMAIN = b"kvorum-sealed-ballot-v1\x00"
SALT_BYTES = 16


def new_salt(entropy: bytes) -> str:
    """The salt of a ballot, from at least ``SALT_BYTES`` fresh random bytes."""
    if len(entropy) < SALT_BYTES:
        raise ValueError(f"a salt needs {SALT_BYTES} random bytes, got {len(entropy)}")
    return b64url(entropy[:SALT_BYTES])


def commitment(*, vote: str, deputy: str, choice: str, salt: str, assertion: Mapping[str, Any] | None = None) -> str:
    """The commitment to a ballot (lowercase hex): binds its choice, its salt and its signature, if any."""
    Choice(choice)  # only the three choices are ever committed to
    if len(from_b64url(salt)) != SALT_BYTES:
        raise ValueError(f"a salt is {SALT_BYTES} bytes")
    opened: dict[str, Any] = {"vote": vote, "deputy": deputy, "choice": choice, "salt": salt}
    if assertion is not None:
        opened["assertion"] = dict(assertion)
    return hashlib.sha256(_DOMAIN + canonical(opened)).hexdigest()


def opens(
    sealed: str, *, vote: str, deputy: str, choice: str, salt: str, assertion: Mapping[str, Any] | None = None
) -> bool:
    """Whether (choice, salt, assertion) opens the commitment ``sealed`` of ``deputy``'s ballot in ``vote``."""
    try:
        again = commitment(vote=vote, deputy=deputy, choice=choice, salt=salt, assertion=assertion)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again, sealed)
