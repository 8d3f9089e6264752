"""The default key signature scheme for decisions: Ed25519 over the document digest, keys by id.

Pluggable: a qualified electronic signature provider (КЕП) replaces it by another
``SignatureCheck`` — a function ``(algorithm, key_id, digest, signature) -> bool``. A signature made
on the mayor's enrolled device (``webauthn``) is checked by ``voting.decision`` instead.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal_bridge.documents import SignatureCheck
from voting.decision import ED25519

__all__ = ["ED25519", "ed25519_check", "ed25519_sign"]


def ed25519_sign(key: Ed25519PrivateKey, digest: bytes) -> str:
    """The base64 Ed25519 signature of ``digest`` (what the mayor's signing tool sends)."""
    return base64.b64encode(key.sign(digest)).decode("ascii")


def ed25519_check(keys: Mapping[str, Ed25519PublicKey]) -> SignatureCheck:
    """A ``SignatureCheck`` that accepts Ed25519 signatures by the keys in ``keys`` (key id → public key)."""

    def check(algorithm: str, key_id: str, digest: bytes, signature: str) -> bool:
        key = keys.get(key_id)
        if algorithm != ED25519 or key is None:
            return False
        try:
            key.verify(base64.b64decode(signature, validate=True), digest)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    return check
