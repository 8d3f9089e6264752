"""A witness's rules, by C2SP tlog-witness (``add-checkpoint``): cosign a log's checkpoint only when it is
signed by the log's key and consistent with the latest checkpoint this witness cosigned for that log.

The request body is ``old <size>``, up to 63 base64 consistency-proof hashes (RFC 6962, from the old size
to the checkpoint's), an empty line, then the signed checkpoint. The answers, as the specification sets
them: 404 for a log (origin) the witness does not follow, 403 when no signature of the log's keys
verifies, 400 for a malformed body or an old size above the checkpoint's, 409 with ``<size>\\n``
(``text/x.tlog.size``) when the old size is not the witness's latest for that log — or the sizes match and
the roots do not —, 422 when the consistency proof does not verify, 200 with the cosignature line
otherwise, after which the checkpoint is the witness's latest for that log. The caller keeps the latest
per log and must read it and record the new one atomically (``decide`` is pure). See
https://c2sp.org/tlog-witness.

A council keeps one log per sitting (origin ``<ledger origin>/<council>/<sitting>``) besides its own
(``<ledger origin>/<council>``), all signed by the council's key, and sittings are added every month: a
witness follows the council once, and an origin it follows covers each origin one level below it
(``keys_for``), and no deeper: a sitting has one log, not a second one under it.
Each of those logs still has its own latest checkpoint.

"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voting.checkpoint import Checkpoint, CheckpointError, NoteVerifier, note_parts, open_note
from voting.cosignature import CosignatureSigner
from voting.merkle import ProofError, verify_consistency

__all__ = ["MAX_PROOF", "SIZE_TYPE", "AddCheckpoint", "Answer", "Latest", "decide", "keys_for"]

MAX_PROOF = 63
SIZE_TYPE = "text/x.tlog.size"
"""The content type of a 409's body: the witness's latest size for the log, in decimal."""


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest checkpoint a witness cosigned for a log: its size and root."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to an ``add-checkpoint``; ``latest`` is what to record when it is a 200."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    latest: Latest | None = None


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.answer = Answer(status, message + "\n")


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` body: the old size, the consistency proof, the signed checkpoint and its
    origin (read before any signature is checked, to find the log)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes
    origin: str

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint | Answer:
        """The request, or a 400 ``Answer`` saying what is malformed."""
        try:
            return cls._parse(body)
        except _Refused as refused:
            return refused.answer

    @classmethod
    def _parse(cls, body: bytes) -> AddCheckpoint:
        head, blank, note = body.partition(b"\n\n")
        if not blank:
            raise _Refused(400, "the body is the old size, the proof, an empty line, then the checkpoint")
        lines = head.split(b"\n")
        first = lines[0].decode("ascii", "replace")
        size = first.removeprefix("old ")
        if first == size or not size.isdigit() or (size != "0" and size.startswith("0")) or len(size) > 19:
            raise _Refused(400, "the first line is «old <size>», in decimal without leading zeros")
        if len(lines) - 1 > MAX_PROOF:
            raise _Refused(400, f"at most {MAX_PROOF} consistency proof lines")
        proof = []
        for line in lines[1:]:
            try:
                hash_ = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                hash_ = b""
            if len(hash_) != 32:
                raise _Refused(400, "each proof line is one SHA-256 hash in base64")
            proof.append(hash_)
        try:
            text, _ = note_parts(note)
            origin = Checkpoint.parse(text).origin
        except CheckpointError as exc:
            raise _Refused(400, f"the checkpoint is malformed: {exc}") from None
        return cls(int(size), tuple(proof), note, origin)


def keys_for(logs: Mapping[str, Sequence[NoteVerifier]], origin: str) -> Sequence[NoteVerifier] | None:
    """The keys of the log ``origin``: those followed for it, or for the origin one level above it
    (``a/b`` covers each ``a/b/c`` — a council, each of its sittings —, not ``a/b/c/d``); None otherwise."""
    keys = logs.get(origin)
    if keys is not None:
        return keys
    parent, slash, _ = origin.rpartition("/")
    return logs.get(parent) if slash and parent else None


def decide(
    request: AddCheckpoint,
    logs: Mapping[str, Sequence[NoteVerifier]],
    latest: Latest | None,
    signer: CosignatureSigner,
    now: int,
) -> Answer:
    """The witness's answer to ``request``: ``logs`` are the keys of every log it follows by origin,
    ``latest`` what it last cosigned for this one (None: never), ``now`` the time it cosigns at."""
    keys = keys_for(logs, request.origin)
    if keys is None:
        return Answer(404, f"this witness does not follow the log {request.origin}\n")
    try:
        checkpoint, _ = open_note(request.note, keys)
    except CheckpointError as exc:
        if exc.code in ("unknown_key", "bad_signature"):
            return Answer(403, "no signature by the log's key verifies\n")
        return Answer(400, f"the checkpoint is malformed: {exc}\n")
    if request.old_size > checkpoint.size:
        return Answer(400, "the old size is larger than the checkpoint's\n")
    known = latest.size if latest is not None else 0
    if request.old_size != known:
        return Answer(409, f"{known}\n", SIZE_TYPE)
    if request.old_size == 0:
        if request.proof:
            return Answer(422, "a proof from size 0 is empty\n")
    elif latest is not None and request.old_size == checkpoint.size:
        if latest.root != checkpoint.root or request.proof:
            return Answer(409, f"{known}\n", SIZE_TYPE)
    elif latest is not None:
        try:
            verify_consistency(request.old_size, checkpoint.size, latest.root, checkpoint.root, request.proof)
        except ProofError:
            return Answer(422, "the consistency proof does not verify\n")
    return Answer(200, signer.cosign(checkpoint, now), latest=Latest(checkpoint.size, checkpoint.root))
