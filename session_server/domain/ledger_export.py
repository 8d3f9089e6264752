"""Reading an exported ledger (``kvorum-ledger-v1``), with no I/O: each leaf is the canonical form of its
event and the hash chain holds from seq 1; each checkpoint is signed by a known key, names the ledger's
origin and its root is the RFC 9162 Merkle root of that many leaves; successive checkpoints are
consistent and the last covers every leaf. Steps 1 and 2 of ``session_server.domain.audit``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from voting.canonical import GENESIS, canonical, seal
from voting.checkpoint import Checkpoint, CheckpointError, NoteVerifier, open_note
from voting.merkle import CompactRange, ProofError, leaf_hash, verify_consistency

__all__ = ["Discrepancy", "b64_bytes", "check_consistency", "close_ledger", "ledger_events", "open_checkpoints"]


class Discrepancy(Exception):
    """The first thing that does not hold: in which ledger, at which leaf index (if any), and what."""

    def __init__(self, ledger: str, index: int | None, message: str) -> None:
        where = f"{ledger} ledger" + (f", event {index} (seq {index + 1})" if index is not None else "")
        super().__init__(f"{where}: {message}")
        self.ledger = ledger
        self.index = index
        self.message = message


def b64_bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(text, validate=True)


def open_checkpoints(
    name: str, data: Any, verifiers: Sequence[NoteVerifier], keys_used: set[str]
) -> tuple[Mapping[str, Any], list[Checkpoint]]:
    """Step 2's start for one ledger: every checkpoint signed by a known key, for this origin, growing."""
    if not isinstance(data, Mapping) or not isinstance(data.get("leaves"), list):
        raise Discrepancy(name, None, "the export has no list of leaves")
    origin = str(data.get("origin", ""))
    notes = data.get("checkpoints") or []
    checkpoints: list[Checkpoint] = []
    for number, note in enumerate(notes, start=1):
        try:
            checkpoint, verifier = open_note(str(note), verifiers)
        except CheckpointError as exc:
            raise Discrepancy(
                name, None, f"checkpoint {number} is not validly signed by a council key: {exc}"
            ) from None
        if checkpoint.origin != origin:
            raise Discrepancy(name, None, f"checkpoint {number} is for {checkpoint.origin!r}, not {origin!r}")
        if checkpoints and checkpoint.size <= checkpoints[-1].size:
            raise Discrepancy(name, None, f"checkpoint {number} does not grow the tree (size {checkpoint.size})")
        keys_used.add(verifier.vkey)
        checkpoints.append(checkpoint)
    if not checkpoints:
        raise Discrepancy(name, None, "no signed checkpoint")
    if checkpoints[0].size == 0 and checkpoints[0].root != CompactRange().root():
        raise Discrepancy(name, None, "the checkpoint of size 0 does not have the empty tree's root")
    return data, checkpoints


_EVENT_KEYS = frozenset({"actor", "at", "hash", "payload", "seq", "stream", "type"})
_HASH_MEMBER = b',"hash":"'
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def _has_no_float(value: Any) -> bool:
    """Whether a parsed JSON object or array holds no float, at any depth."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and not _has_no_float(item)):
            return False
    return True


def _sealed(prev: bytes, index: int, encoded: Any) -> tuple[dict[str, Any], bytes, bytes] | None:
    """``(event, leaf, hash bytes)`` when the leaf is the canonical form of its event and chains after
    ``prev``, else None (then ``_sealed_slowly`` names what is wrong).

    The leaf is checked once as a whole: it must be JCS of the parsed event, whose keys are exactly
    the event's; the hash then covers those bytes without the ``hash`` member, which is what
    ``voting.canonical.seal`` hashes (JCS of an object less one member is its JCS less that member).
    A ``hash`` that is not plain hex would be cut out wrongly, but then cannot equal the hex digest.
    """
    try:
        leaf = binascii.a2b_base64(encoded, strict_mode=True)
        event = orjson.loads(leaf)
        if type(event) is not dict or event.keys() != _EVENT_KEYS:
            return None
        seq, claimed = event["seq"], event["hash"]
        if type(seq) is not int or seq != index + 1 or type(claimed) is not str:
            return None
        # Strings before the hash member, so that nothing before it can look like it.
        if type(event["actor"]) is not str or type(event["at"]) is not str:
            return None
        # orjson's sorted output is JCS but for floats and keys beyond U+FFFF (voting.canonical): an
        # ASCII leaf holds no such key, and the walk finds any float. Other leaves go the general way.
        if leaf.isascii() and _has_no_float(event):
            if orjson.dumps(event, option=_SORTED) != leaf:
                return None
        elif canonical(event) != leaf:
            return None
    except (ValueError, TypeError, RecursionError):  # an integer beyond 2**53 too: the general way decides
        return None
    start = leaf.find(_HASH_MEMBER)  # after two strings: a quote after a comma cannot sit in a string
    end = start + len(_HASH_MEMBER) + len(claimed) + 1
    digest = hashlib.sha256(prev + leaf[:start] + leaf[end:])
    if digest.hexdigest() != claimed:
        return None
    return event, leaf, digest.digest()


def _sealed_slowly(name: str, prev: bytes, index: int, encoded: Any) -> tuple[dict[str, Any], bytes, bytes]:
    """Rebuild the leaf from its event field by field: ``(event, leaf, hash bytes)`` or the Discrepancy."""
    try:
        leaf = b64_bytes(encoded)
        event = orjson.loads(leaf)
        digest, canonical_leaf = seal(
            prev,
            stream=event["stream"],
            seq=event["seq"],
            type=event["type"],
            payload=event["payload"],
            actor=event["actor"],
            at=event["at"],
        )
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Discrepancy(name, index, f"the leaf is not an event: {exc}") from None
    if event["seq"] != index + 1:
        raise Discrepancy(name, index, f"seq {event['seq']} where {index + 1} belongs (events dropped or swapped)")
    if event.get("hash") != digest:
        raise Discrepancy(name, index, "the hash does not chain to the previous event (an edited or moved event)")
    if leaf != canonical_leaf:
        raise Discrepancy(name, index, "the leaf is not the canonical form of its event")
    return event, leaf, bytes.fromhex(digest)


def ledger_events(
    name: str,
    data: Mapping[str, Any],
    checkpoints: list[Checkpoint],
    published: Sequence[Checkpoint] = (),
    stream: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Step 1 and the roots of step 2, leaf by leaf: each event once it chains and fits the tree (and
    the trees of the ``published`` checkpoints the auditor brought), and is an event of ``stream``."""
    wanted = {c.size: c for c in checkpoints}
    known = {c.size: c for c in published}
    tree = CompactRange()
    prev = GENESIS
    for index, encoded in enumerate(data["leaves"]):
        sealed = _sealed(prev, index, encoded) or _sealed_slowly(name, prev, index, encoded)
        event, leaf, prev = sealed
        if stream is not None and event["stream"] != stream:
            raise Discrepancy(name, index, f"an event of {event['stream']!r}, not of this ledger ({stream!r})")
        tree.append_hash(leaf_hash(leaf))
        signed = wanted.get(tree.size)
        if signed is not None and signed.root != tree.root():
            what = "another root than these leaves"
            if signed is not checkpoints[-1]:
                what += " (history rewritten after it was signed: not consistent with the later checkpoints)"
            raise Discrepancy(name, index, f"the signed checkpoint of size {signed.size} has {what}")
        outside = known.get(tree.size)
        if outside is not None and outside.root != tree.root():
            raise Discrepancy(
                name,
                index,
                f"the published checkpoint of size {outside.size} has another root than these leaves: "
                "this is not the history the council published",
            )
        yield event


def close_ledger(name: str, data: Mapping[str, Any], checkpoints: list[Checkpoint], count: int) -> None:
    """The end of step 2: the last checkpoint covers every leaf; consistency between successive ones."""
    if checkpoints[-1].size > count:
        raise Discrepancy(name, None, f"a checkpoint covers {checkpoints[-1].size} events, the export has {count}")
    if checkpoints[-1].size != count:
        raise Discrepancy(name, checkpoints[-1].size, "events after the last signed checkpoint")
    check_consistency(name, checkpoints, data.get("consistency") or [])


def check_consistency(name: str, checkpoints: list[Checkpoint], proofs: Iterable[Any]) -> None:
    by_range = {}
    for proof in proofs:
        try:
            by_range[(int(proof["from"]), int(proof["to"]))] = [b64_bytes(h) for h in proof["hashes"]]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise Discrepancy(name, None, "a consistency proof is malformed") from None
    for old, new in itertools.pairwise(checkpoints):
        hashes = by_range.get((old.size, new.size))
        if hashes is None:
            raise Discrepancy(name, None, f"no consistency proof from size {old.size} to {new.size}")
        try:
            verify_consistency(old.size, new.size, old.root, new.root, hashes)
        except ProofError as exc:
            raise Discrepancy(name, None, f"checkpoint {new.size} is not consistent with {old.size}: {exc}") from None
