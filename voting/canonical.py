"""Canonical event bytes and the per-stream hash chain (see docs/ledger.md).

An event is ``{"stream", "seq", "type", "payload", "actor", "at", "hash"}``. Its ``hash`` is the hex
SHA-256 of the previous event's hash bytes (32 zero bytes before seq 1) followed by the RFC 8785
(JCS) canonical JSON of the event without ``hash``. The ledger leaf is the canonical JSON of the
whole event, ``hash`` included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import rfc8785

GENESIS = bytes(32)
"""The "previous hash" of the first event of every stream."""


class ChainBroken(ValueError):
    """A stream's events do not chain: ``seq`` names the first event that fails."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"hash chain broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


_FAST = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def _plain(value: Any) -> bool:
    """Whether orjson's sorted output is already RFC 8785 for ``value``.

    It is for dicts, lists, strings, integers within ±2^53, booleans and null: orjson escapes
    strings exactly as JCS does (checked for every code point in tests/test_canonical.py) and sorts
    keys by code point, which is JCS's UTF-16 order unless a key holds a character beyond U+FFFF.
    Floats need ECMAScript number formatting: those go the slow way.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) < "\U00010000"):
                return False
            if not _plain_scalar(item) and not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain_scalar(item) or _plain(item) for item in value)
    return _plain_scalar(value)


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    return kind is str or kind is int or kind is bool or value is None


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of ``value`` (orjson where that is provably the same bytes, else rfc8785)."""
    if type(value) is str:
        return orjson.dumps(value)
    if _plain(value):
        try:
            return orjson.dumps(value, option=_FAST)
        except orjson.JSONEncodeError:  # an integer beyond ±2^53: rfc8785 raises its own error
            pass
    return rfc8785.dumps(value)


def _envelope(stream: str, seq: int, type_: str, payload: bytes, actor: str, at: str, hash_hex: str | None) -> bytes:
    # The envelope's keys are fixed ASCII names, so JCS order is plain sorting:
    # actor < at < hash < payload < seq < stream < type. The payload is canonicalised once.
    parts = [b'{"actor":', canonical(actor), b',"at":', canonical(at)]
    if hash_hex is not None:
        parts += [b',"hash":"', hash_hex.encode("ascii"), b'"']
    parts += [b',"payload":', payload, b',"seq":', str(seq).encode("ascii")]
    parts += [b',"stream":', canonical(stream), b',"type":', canonical(type_), b"}"]
    return b"".join(parts)


def seal(
    prev_hash: bytes, *, stream: str, seq: int, type: str, payload: Mapping[str, Any], actor: str, at: str
) -> tuple[str, bytes]:
    """Chain one event after ``prev_hash``: return its hex hash and its leaf bytes (canonical, with hash)."""
    body = canonical(payload)
    digest = hashlib.sha256(prev_hash + _envelope(stream, seq, type, body, actor, at, None)).hexdigest()
    return digest, _envelope(stream, seq, type, body, actor, at, digest)


def event_hash(prev_hash: bytes, event: Mapping[str, Any]) -> str:
    """The hex hash ``event`` must carry when it follows ``prev_hash`` (``event["hash"]`` is ignored)."""
    unsigned = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(prev_hash + canonical(unsigned)).hexdigest()


def verify_chain(events: Iterable[Mapping[str, Any]], *, prev_hash: bytes = GENESIS, first_seq: int = 1) -> int:
    """Check that ``events`` are consecutive from ``first_seq`` and each hash chains to the one before.

    Returns the number of events checked; raises ChainBroken at the first bad event.
    """
    expected_seq = first_seq
    count = 0
    for event in events:
        seq = event.get("seq")
        if seq != expected_seq:
            raise ChainBroken(expected_seq, f"expected seq {expected_seq}, found {seq}")
        want = event_hash(prev_hash, event)
        if event.get("hash") != want:
            raise ChainBroken(expected_seq, "hash does not match the previous hash and the event's content")
        prev_hash = bytes.fromhex(want)
        expected_seq += 1
        count += 1
    return count
