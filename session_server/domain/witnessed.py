"""What people saved, checked against an exported ledger (step 4 of ``domain.audit``), with no I/O.

- **Witnesses** (``--witness KEY``, ``--witnesses-needed K``): on every checkpoint of the file, each
  cosignature line of a given witness must verify (``voting.cosignature``); the last checkpoint of each
  ledger must carry at least K of them. Earlier checkpoints need not: the consistency proofs bind
  them to the last one, which the witnesses checked against all they had cosigned before.
- **Receipts** (``kvorum-receipt-v1``, kept by a deputy's tablet): the ballot's leaf, its index, the
  RFC 9162 inclusion proof and the checkpoint (with its cosignatures) the tablet checked it under. The
  checkpoint must be signed by a council key for this sitting and the proof must hold; then the file
  must hold that very leaf at that index and agree with that checkpoint (``ledger_events`` is given it
  as a published one), or the ballot was removed or changed after the deputy's device saw it counted.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from session_server.domain.ledger_export import Discrepancy, b64_bytes
from voting.checkpoint import Checkpoint, CheckpointError, NoteVerifier, open_note
from voting.cosignature import CosignatureVerifier, cosignatures
from voting.merkle import ProofError, leaf_hash, verify_inclusion

__all__ = ["RECEIPT_FORMAT", "Receipt", "check_witnessed", "read_receipt", "witness_verifiers"]

RECEIPT_FORMAT = "kvorum-receipt-v1"


def witness_verifiers(keys: Sequence[str]) -> list[CosignatureVerifier]:
    """The witnesses' verifier keys the auditor trusts; a malformed one is named."""
    verifiers = []
    for key in keys:
        try:
            verifiers.append(CosignatureVerifier.from_vkey(key))
        except CheckpointError as exc:
            raise Discrepancy("export", None, f"a witness key is malformed: {exc.message}") from None
    return verifiers


def check_witnessed(
    name: str, notes: Sequence[Any], witnesses: Sequence[CosignatureVerifier], needed: int
) -> list[str]:
    """Every given witness's cosignature on every note verifies, and the last note has ``needed`` of them;
    the names of the witnesses that cosigned the last one."""
    last: list[str] = []
    for number, note in enumerate(notes, start=1):
        try:
            last = sorted(c.witness for c in cosignatures(str(note), witnesses))
        except CheckpointError as exc:
            raise Discrepancy(name, None, f"checkpoint {number}: {exc.message}") from None
    if len(last) < needed:
        size = str(notes[-1]).split("\n")[1] if notes else "?"
        missing = sorted({w.name for w in witnesses} - set(last))
        raise Discrepancy(
            name,
            None,
            f"the last checkpoint (size {size}) is cosigned by {len(last)} of the {needed} witnesses needed"
            f" ({', '.join(last) or 'none'}; missing: {', '.join(missing)}): not witnessed, or witnesses pending",
        )
    return last


@dataclass(frozen=True, slots=True)
class Receipt:
    """A deputy's receipt: their ballot's leaf at ``index`` under the signed checkpoint they kept."""

    source: str
    index: int
    leaf: bytes
    checkpoint: Checkpoint
    note: str

    def ballot(self) -> tuple[str, str]:
        """``(deputy, vote)`` of the receipt's event, as far as it says (``?`` where it does not)."""
        try:
            payload = orjson.loads(self.leaf)["payload"]
            return str(payload.get("deputy", "?")), str(payload.get("vote", "?"))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return "?", "?"

    def check_against(self, name: str, leaves: Sequence[Any]) -> None:
        """The file holds this very leaf at this index (else the ballot was dropped or changed)."""
        if self.index >= len(leaves):
            raise Discrepancy(
                name,
                None,
                f"receipt {self.source}: the file holds {len(leaves)} events, the receipt's ballot is event "
                f"{self.index} (seq {self.index + 1}): the file is cut short or the ballot was dropped",
            )
        try:
            held = b64_bytes(leaves[self.index])
        except (ValueError, binascii.Error):
            held = b""
        if held != self.leaf:
            raise Discrepancy(
                name,
                self.index,
                f"receipt {self.source}: this is not the ballot the deputy's device kept a receipt of "
                "(a ballot removed, moved or changed after it was counted)",
            )


def read_receipt(source: str, data: Mapping[str, Any], verifiers: Sequence[NoteVerifier], origin: str) -> Receipt:
    """A receipt, checked in itself: a council key signed its checkpoint for this sitting, and its proof
    puts its leaf under that checkpoint's root."""
    if not isinstance(data, Mapping) or data.get("format") != RECEIPT_FORMAT:
        raise Discrepancy("receipt", None, f"{source} is not a {RECEIPT_FORMAT} file")
    try:
        index, size = int(data["index"]), int(data["size"])
        leaf = b64_bytes(data["leaf"])
        hashes = [b64_bytes(h) for h in data["hashes"]]
        note = str(data["checkpoint"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Discrepancy("receipt", None, f"{source} is malformed") from None
    try:
        checkpoint, _ = open_note(note, verifiers)
    except CheckpointError as exc:
        raise Discrepancy("receipt", None, f"{source}: its checkpoint is not signed by a council key: {exc}") from None
    if checkpoint.origin != origin:
        raise Discrepancy("receipt", None, f"{source} is for {checkpoint.origin!r}, not this sitting ({origin!r})")
    if checkpoint.size != size:
        raise Discrepancy("receipt", None, f"{source}: its proof is for size {size}, its checkpoint {checkpoint.size}")
    try:
        verify_inclusion(leaf_hash(leaf), index, size, hashes, checkpoint.root)
    except ProofError as exc:
        raise Discrepancy("receipt", None, f"{source}: its inclusion proof does not hold: {exc}") from None
    return Receipt(source, index, leaf, checkpoint, note)
