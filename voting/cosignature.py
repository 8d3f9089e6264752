"""Witness cosignatures on the ledger's checkpoints, by C2SP tlog-cosignature (Ed25519, ``cosignature/v1``).

A witness cosigns a checkpoint it has checked is consistent with every checkpoint of the same log it
cosigned before. Its cosignature is one more signed-note line on the checkpoint::

    — <witness name> base64(key ID (4 bytes) || timestamp (u64, big-endian) || Ed25519 signature (64 bytes))

with the key ID ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` and the signature made over::

    cosignature/v1
    time <timestamp, ASCII decimal, no leading zeroes>
    <the checkpoint's whole note body, final newline included>

A witness's key is published as a verifier key ``<name>+<key ID hex>+base64(0x04 || public key)``. The
message does not commit to the witness's name: one key serves one witness. See
https://c2sp.org/tlog-cosignature and https://c2sp.org/signed-note. Pure, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from voting.checkpoint import Checkpoint, CheckpointError, check_key_name, note_parts, read_vkey

__all__ = ["COSIGNATURE_V1", "CosignatureSigner", "CosignatureVerifier", "Cosigned", "cosignatures", "cosigned_message"]

COSIGNATURE_V1 = 0x04
"""signed-note's signature type byte for an Ed25519 ``cosignature/v1``."""
_MAX_TIMESTAMP = 2**63 - 1


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """What a witness signs: the header line, the time line, then the checkpoint's whole note body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"a cosignature's timestamp is 0 … 2^63−1, not {timestamp}")
    return b"cosignature/v1\ntime %d\n" % timestamp + body


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_V1]) + public_key).digest()[:4]


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A verified cosignature: which witness, and when it says it cosigned (POSIX seconds)."""

    witness: str
    timestamp: int


class CosignatureVerifier:
    """A witness's Ed25519 key under its name, as its verifier key text names it."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        check_key_name(name)
        self._name = name
        self._public_key = public_key
        self._raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = _key_id(name, self._raw)

    @classmethod
    def from_vkey(cls, text: str) -> CosignatureVerifier:
        """Read ``<name>+<key ID hex>+base64(0x04 || public key)``; the key ID must match name and key."""
        name, id_hex, key = read_vkey(text, COSIGNATURE_V1, "witness key", "cosignature/v1")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key))
        if verifier.key_id.hex() != id_hex:
            raise CheckpointError("malformed_key", f"key ID {id_hex} does not belong to this name and key")
        return verifier

    @property
    def name(self) -> str:
        """The witness's name, as its signature lines carry it."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """``SHA-256(name || 0x0A || 0x04 || public key)[:4]``."""
        return self._key_id

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte Ed25519 public key (one witness, whatever names it is listed under)."""
        return self._raw

    @property
    def vkey(self) -> str:
        """The verifier key text ``from_vkey`` reads."""
        key = base64.b64encode(bytes([COSIGNATURE_V1]) + self._raw).decode("ascii")
        return f"{self._name}+{self._key_id.hex()}+{key}"

    def verify(self, body: bytes, signature: bytes) -> int | None:
        """The timestamp of a valid cosignature ``signature`` (key ID, timestamp, signature) on ``body``, else None."""
        if len(signature) != 4 + 8 + 64 or signature[:4] != self._key_id:
            return None
        (timestamp,) = struct.unpack(">Q", signature[4:12])
        if timestamp > _MAX_TIMESTAMP:
            return None
        try:
            self._public_key.verify(signature[12:], cosigned_message(body, timestamp))
        except InvalidSignature:
            return None
        return int(timestamp)


class CosignatureSigner:
    """A witness's signing key under its name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._verifier = CosignatureVerifier(name, private_key.public_key())

    @property
    def verifier(self) -> CosignatureVerifier:
        """The matching verifier (its ``vkey`` is what a council lists)."""
        return self._verifier

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> str:
        """The cosignature line (with its newline) on ``checkpoint`` at ``timestamp``."""
        body = checkpoint.body()
        signed = self._private_key.sign(cosigned_message(body, timestamp))
        raw = self._verifier.key_id + struct.pack(">Q", timestamp) + signed
        return f"\u2014 {self._verifier.name} {base64.b64encode(raw).decode('ascii')}\n"


def cosignatures(note: str | bytes, witnesses: Iterable[CosignatureVerifier]) -> list[Cosigned]:
    """The valid cosignatures on a signed note by the given witnesses, one per witness (its latest).

    Lines of other keys are skipped, as signed-note asks; a line that claims a listed witness's name and
    key ID but does not verify is refused (``CheckpointError("bad_signature")``): it is a forgery or a
    damaged file, and either is worth saying. A public key listed under two names is one witness (the
    message a witness signs does not name it, so its one signature would pass for both): it counts once,
    under the first name it is listed with.
    """
    body, lines = note_parts(note)
    listed = list(witnesses)
    first: dict[bytes, str] = {}
    for listed_witness in listed:
        first.setdefault(listed_witness.public_bytes, listed_witness.name)
    known = {(w.name, w.key_id): w for w in listed}
    found: dict[str, int] = {}
    for name, signature in lines:
        witness = known.get((name, signature[:4]))
        if witness is None:
            continue
        timestamp = witness.verify(body, signature)
        if timestamp is None:
            raise CheckpointError("bad_signature", f"the cosignature by witness {name} does not verify")
        who = first[witness.public_bytes]
        found[who] = max(timestamp, found.get(who, 0))
    return [Cosigned(name, at) for name, at in found.items()]
