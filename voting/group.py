"""The group of the secret ballots: the prime-order subgroup of edwards25519 (order ℓ = 2^252 + …), every
point and scalar operation done by libsodium through PyNaCl — none is written here.

Encodings (docs/ledger.md "Secret ballots"): a point is its 32-byte RFC 8032 encoding; a scalar is 32 bytes,
little-endian, below ℓ. A point received from anyone must be a valid group element other than the identity
(``point``: canonical, on the curve, in the prime-order subgroup, not of small order — libsodium's
``crypto_core_ed25519_is_valid_point``); the identity appears only in results (an encryption of 0 decrypts
to it). Belenios offers the same group for its elections.

Fiat–Shamir challenges (``challenge``) are SHA-512 over length-prefixed parts under a domain that names the
proof, reduced mod ℓ by libsodium: ``SHA-512(frame("kvorum-secret-v1/" + label) || frame(part) || …)``, where
``frame(x)`` is ``len(x)`` as 4 bytes big-endian followed by ``x``. The browser's copy (web/secret-ballot.js)
uses @noble/curves over the same encodings, so what one side makes the other checks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import Final

from nacl import bindings as sodium
from nacl.exceptions import RuntimeError as SodiumError

__all__ = [
    "BASE",
    "DOMAIN",
    "IDENTITY",
    "ORDER",
    "ZERO",
    "GroupError",
    "add",
    "base",
    "challenge",
    "frame",
    "mul",
    "point",
    "random_scalar",
    "s_add",
    "s_inv",
    "s_mul",
    "s_neg",
    "s_sub",
    "scalar",
    "scalar_of",
    "sub",
    "total",
]

DOMAIN: Final = "kvorum-secret-v1/"
ORDER: Final = 2**252 + 27742317777372353535851937790883648493
"""ℓ, the order of the group (and of its scalars)."""
ZERO: Final = bytes(32)
ONE: Final = (1).to_bytes(32, "little")
IDENTITY: Final = b"\x01" + bytes(31)
"""The neutral element's encoding (x = 0, y = 1)."""
BASE: Final = sodium.crypto_scalarmult_ed25519_base_noclamp(ONE)
"""G, the standard base point."""


class GroupError(ValueError):
    """Bytes that are not a point or a scalar of the group (an invalid ballot, proof or share)."""


def scalar(data: bytes) -> bytes:
    """``data`` if it is a canonical scalar (32 bytes, below ℓ); else GroupError."""
    if len(data) != 32 or sodium.crypto_core_ed25519_scalar_reduce(data + ZERO) != data:
        raise GroupError("not a canonical scalar")
    return data


def point(data: bytes) -> bytes:
    """``data`` if it encodes a group element other than the identity; else GroupError."""
    if len(data) != 32 or not sodium.crypto_core_ed25519_is_valid_point(data):
        raise GroupError("not a point of the group")
    return data


def scalar_of(n: int) -> bytes:
    """The scalar n mod ℓ (a member's index, a count)."""
    return (n % ORDER).to_bytes(32, "little")


def random_scalar() -> bytes:
    """A uniformly random scalar: 64 random bytes reduced mod ℓ (libsodium)."""
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(os.urandom(64)))


def s_add(x: bytes, y: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_add(x, y))


def s_sub(x: bytes, y: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_sub(x, y))


def s_mul(x: bytes, y: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_mul(x, y))


def s_neg(x: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_negate(x))


def s_inv(x: bytes) -> bytes:
    """1 / x mod ℓ; GroupError for 0."""
    if x == ZERO:
        raise GroupError("zero has no inverse")
    return bytes(sodium.crypto_core_ed25519_scalar_invert(x))


def add(p: bytes, q: bytes) -> bytes:
    """p + q (either may be the identity)."""
    try:
        return bytes(sodium.crypto_core_ed25519_add(p, q))
    except SodiumError:
        raise GroupError("not points of the curve") from None


def sub(p: bytes, q: bytes) -> bytes:
    """p − q (either may be the identity)."""
    try:
        return bytes(sodium.crypto_core_ed25519_sub(p, q))
    except SodiumError:
        raise GroupError("not points of the curve") from None


def mul(k: bytes, p: bytes) -> bytes:
    """k·p for a scalar k and a group element p (the identity for k = 0 or p the identity: libsodium refuses
    both, as their product is the identity)."""
    if k == ZERO or p == IDENTITY:
        return IDENTITY
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_noclamp(k, p))
    except SodiumError:
        raise GroupError("not a point of the group") from None


def base(k: bytes) -> bytes:
    """k·G."""
    if k == ZERO:
        return IDENTITY
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(k))


def total(points: Iterable[bytes]) -> bytes:
    """The sum of ``points`` (the identity for none)."""
    result = IDENTITY
    for p in points:
        result = add(result, p)
    return result


def frame(part: bytes | str) -> bytes:
    """A part of a hashed statement: its length (4 bytes, big-endian), then its bytes (UTF-8 for text)."""
    data = part.encode() if isinstance(part, str) else part
    return len(data).to_bytes(4, "big") + data


def challenge(label: str, *parts: bytes | str) -> bytes:
    """The Fiat–Shamir challenge of a proof named ``label`` over ``parts``: SHA-512 of the framed domain and
    parts, reduced mod ℓ."""
    digest = hashlib.sha512(frame(DOMAIN + label) + b"".join(frame(p) for p in parts)).digest()
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(digest))
