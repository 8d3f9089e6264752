"""Signed checkpoints of the ledger: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519 only.

A checkpoint body is three lines, ``origin``, the tree size in decimal and the base64 root, each ending
in a newline. Extension lines, which tlog-checkpoint allows but does not recommend, are refused: the
ledger writes none, and a verifier that accepted them would sign off text it cannot audit.

A signed note is the body, a blank line, then one line per signature::

    — <key name> base64(key ID (4 bytes) || Ed25519 signature over the body (64 bytes))

The key ID is ``SHA-256(key name || 0x0A || 0x01 || public key)[:4]`` and a verifier key is written
``<name>+<key ID in hex>+base64(0x01 || public key)``. See https://c2sp.org/signed-note and
https://c2sp.org/tlog-checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "NoteSigner",
    "NoteVerifier",
    "check_key_name",
    "note_parts",
    "open_note",
    "read_vkey",
]

MAX_SIGNATURES = 100
"""Notes with more signature lines are refused (signed-note asks for a limit of at least 16)."""

_ED25519 = 0x01  # signed-note's signature type byte for Ed25519
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # signed-note allows no control character but newline


class CheckpointError(ValueError):
    """A checkpoint, note or key that must not be trusted; ``code`` is stable: ``malformed_checkpoint``,
    ``malformed_note``, ``malformed_key``, ``unknown_key`` or ``bad_signature``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Checkpoint:
    """The ledger's tree head: ``size`` leaves with ``root``, issued by the log named ``origin``."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointError("malformed_checkpoint", "the origin must be one non-empty line of text")
        try:
            self.origin.encode()
        except UnicodeEncodeError:
            raise CheckpointError("malformed_checkpoint", "the origin is not valid Unicode text") from None
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size < 2**64:
            raise CheckpointError("malformed_checkpoint", f"the tree size {self.size!r} is not a 64-bit count")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise CheckpointError("malformed_checkpoint", "the root hash must be 32 bytes")

    def body(self) -> bytes:
        """The note text that gets signed: origin, size and base64 root, one line each."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n".encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        """Read a checkpoint body, strictly: exactly three lines, each ending in a newline."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("malformed_checkpoint", "the body is not UTF-8") from None
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise CheckpointError("malformed_checkpoint", "a body is three lines, each ending in a newline")
        origin, size, root_b64, _ = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError("malformed_checkpoint", f"the tree size {size!r} is not a decimal number")
        root = _b64decode(root_b64)
        if root is None:
            raise CheckpointError("malformed_checkpoint", "the root hash is not base64")
        return cls(origin, int(size), root)


def _b64decode(text: str) -> bytes | None:
    """Decode standard base64 with padding, or None: anything else, non-canonical forms included."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def check_key_name(name: str) -> None:
    """Refuse a signed-note key name that is empty or holds a space, a '+' or a control character."""
    if not name or "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise CheckpointError("malformed_key", f"key name {name!r} is empty or holds a space, '+' or control")


def read_vkey(text: str, signature_type: int, kind: str, algorithm: str) -> tuple[str, str, bytes]:
    """``(name, key ID hex, 32-byte Ed25519 key)`` of a verifier key ``<name>+<key ID hex>+base64(type ||
    key)`` whose type byte is ``signature_type``; ``kind`` and ``algorithm`` name the key and its type in a
    refusal. The caller checks that the key ID belongs to the name and key (its algorithm byte is its own)."""
    parts = text.strip().split("+", 2)  # a name holds no '+', base64 may
    if len(parts) != 3:
        raise CheckpointError("malformed_key", f"a {kind} is name+keyid+key")
    name, id_hex, key_b64 = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", id_hex):
        raise CheckpointError("malformed_key", f"key ID {id_hex!r} is not 8 lowercase hex digits")
    key = _b64decode(key_b64)
    if key is None or len(key) < 1:
        raise CheckpointError("malformed_key", "the key is not base64")
    if key[0] != signature_type:
        raise CheckpointError(
            "malformed_key", f"signature type {key[0]:#04x} is not {algorithm} ({signature_type:#04x})"
        )
    if len(key) != 33:
        raise CheckpointError("malformed_key", f"an Ed25519 public key is 32 bytes, not {len(key) - 1}")
    return name, id_hex, key[1:]


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([_ED25519]) + public_key).digest()[:4]


class NoteVerifier:
    """A trusted Ed25519 key under its name, as a verifier key text names it."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        check_key_name(name)
        self._name = name
        self._public_key = public_key
        self._raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = _key_id(name, self._raw)

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Read ``<name>+<key ID hex>+base64(0x01 || public key)``; the key ID must match name and key."""
        name, id_hex, key = read_vkey(text, _ED25519, "verifier key", "Ed25519")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key))
        if verifier.key_id.hex() != id_hex:
            raise CheckpointError("malformed_key", f"key ID {id_hex} does not belong to this name and key")
        return verifier

    @property
    def name(self) -> str:
        """The key name signature lines carry."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The Ed25519 public key."""
        return self._public_key

    @property
    def vkey(self) -> str:
        """The verifier key text that `from_vkey` reads."""
        key = base64.b64encode(bytes([_ED25519]) + self._raw).decode("ascii")
        return f"{self._name}+{self._key_id.hex()}+{key}"

    def verify(self, body: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``body``."""
        try:
            self._public_key.verify(signature, body)
        except InvalidSignature:
            return False
        return True


class NoteSigner:
    """The log's signing key under its name (the name SHOULD be the checkpoint's origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._verifier = NoteVerifier(name, private_key.public_key())

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._verifier.key_id

    @property
    def vkey(self) -> str:
        """The verifier key text to publish for this key."""
        return self._verifier.vkey

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return self._verifier

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note: the checkpoint's body, a blank line and this key's signature line."""
        body = checkpoint.body()
        signature = base64.b64encode(self.key_id + self._private_key.sign(body)).decode("ascii")
        return f"{body.decode()}\n{_SIGNATURE_PREFIX}{self.name} {signature}\n"


def note_parts(note: str | bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A signed note's text (with its final newline) and its signature lines, each as ``(key name, key ID ||
    signature)``; ``CheckpointError("malformed_note")`` for anything that is not a signed note."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("malformed_note", "the note is not UTF-8") from None
    if _CONTROL.search(note):
        raise CheckpointError("malformed_note", "the note holds a control character")
    split = note.rfind("\n\n")  # the last blank line separates the text from the signatures
    if split < 0:
        raise CheckpointError("malformed_note", "no blank line before the signatures")
    body, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("malformed_note", "no signature lines, or the last one lacks its newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError("malformed_note", f"more than {MAX_SIGNATURES} signatures")
    try:
        body_bytes = body.encode()
    except UnicodeEncodeError:
        raise CheckpointError("malformed_note", "the note is not valid Unicode text") from None
    return body_bytes, [_signature_line(line) for line in lines]


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> tuple[Checkpoint, NoteVerifier]:
    """The checkpoint in ``note`` and the first known key whose signature on it verifies.

    Signature lines from unknown keys (other name or other key ID) are skipped, as signed-note
    requires; every line from a known key must verify, or the whole note is refused.
    """
    body_bytes, lines = note_parts(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    signer: NoteVerifier | None = None
    for name, signature in lines:
        verifier = known.get((name, signature[:4]))
        if verifier is None:
            continue
        if len(signature) != 4 + 64:
            raise CheckpointError("malformed_note", f"the signature by {name} is not 64 bytes long")
        if not verifier.verify(body_bytes, signature[4:]):
            raise CheckpointError("bad_signature", f"the signature by known key {name} does not verify")
        signer = signer or verifier
    if signer is None:
        raise CheckpointError("unknown_key", "no signature from a known key")
    return Checkpoint.parse(body_bytes), signer


def _signature_line(line: str) -> tuple[str, bytes]:
    """The key name and the decoded ``key ID || signature`` of one signature line."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise CheckpointError("malformed_note", "a signature line starts with an em dash and a space")
    name, space, signature_b64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise CheckpointError("malformed_note", "a signature line is '— name signature'")
    try:
        check_key_name(name)
    except CheckpointError as exc:
        raise CheckpointError("malformed_note", exc.message) from None
    signature = _b64decode(signature_b64)
    if signature is None or len(signature) < 5:
        raise CheckpointError("malformed_note", f"the signature by {name} is not base64 of a key ID and signature")
    return name, signature
