"""Offline audit of an exported session ledger: what ``kvorum verify`` checks, with no I/O.

The export (``kvorum-ledger-v1``, see docs/ledger.md) holds the session's and the council's leaves,
their signed checkpoints, consistency proofs between successive checkpoints, and the verifier keys.
The audit checks, and stops at the first discrepancy it finds:

1. each leaf is the canonical form of its event and the hash chain holds from seq 1;
2. each checkpoint is signed by a known key, names the ledger's origin, and its root is the
   RFC 9162 Merkle root of that many leaves; each consistency proof between successive checkpoints
   verifies; the last checkpoint covers every leaf;
3. every ``vote.opened``, ``ballot.cast`` and ``vote.closed`` is decided again by the council rules
   (``session.decide``) against the session as it stood and the council as it stood at that moment:
   no ballot outside an open vote, from a non-member, unregistered or conflicted deputy, every
   signed ballot's nonce, WebAuthn signature and challenge against the credentials enrolled and not
   revoked at that time; each closing tally and roll call is recounted and must equal the published one.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from session_server.domain.commands import BallotCast, VoteClose, VoteOpen
from session_server.domain.council import CouncilState, evolve_council
from session_server.domain.errors import DomainError
from session_server.domain.events import RecordedEvent, parse_time
from session_server.domain.roles import Actor, AssertionCheck, Context, Role
from session_server.domain.session import SessionState, decide, evolve
from voting.ballot import Assertion, BallotRefused, Credential, PreparedAssertion, from_b64url, prepare_assertion
from voting.canonical import GENESIS, seal
from voting.checkpoint import Checkpoint, CheckpointError, NoteVerifier, open_note
from voting.merkle import CompactRange, ProofError, leaf_hash, verify_consistency

__all__ = [
    "EXPORT_FORMAT",
    "Discrepancy",
    "InOrder",
    "Report",
    "SignatureSink",
    "VoteSummary",
    "audit",
    "verify_in_order",
]

EXPORT_FORMAT = "kvorum-ledger-v1"
_AUDITOR = Actor(username="auditor", role=Role.ADMIN)


class Discrepancy(Exception):
    """The first thing that does not hold: in which ledger, at which leaf index (if any), and what."""

    def __init__(self, ledger: str, index: int | None, message: str) -> None:
        where = f"{ledger} ledger" + (f", event {index} (seq {index + 1})" if index is not None else "")
        super().__init__(f"{where}: {message}")
        self.ledger = ledger
        self.index = index
        self.message = message


@dataclass(frozen=True, slots=True)
class VoteSummary:
    """A closed vote as recounted."""

    id: str
    subject: str
    tally: Mapping[str, Any]


@dataclass(slots=True)
class Report:
    """What the audit established."""

    council: str = ""
    session: str = ""
    events: int = 0
    council_events: int = 0
    ballots: int = 0
    signed_ballots: int = 0
    checkpoints: int = 0
    keys: list[str] = field(default_factory=list)
    votes: list[VoteSummary] = field(default_factory=list)
    unsigned_demo: bool = False


@dataclass(slots=True)
class _Ledger:
    name: str
    origin: str
    events: list[dict[str, Any]]
    checkpoints: list[Checkpoint]


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(text, validate=True)


def _open_ledger(name: str, data: Any, verifiers: Sequence[NoteVerifier], keys_used: set[str]) -> _Ledger:
    """Steps 1 and 2 for one ledger: chain, canonical leaves, checkpoints, consistency."""
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
    wanted = {c.size: c for c in checkpoints}
    if 0 in wanted and wanted[0].root != CompactRange().root():
        raise Discrepancy(name, None, "the checkpoint of size 0 does not have the empty tree's root")
    events: list[dict[str, Any]] = []
    tree = CompactRange()
    prev = GENESIS
    for index, encoded in enumerate(data["leaves"]):
        try:
            leaf = _b64(encoded)
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
        prev = bytes.fromhex(digest)
        tree.append_hash(leaf_hash(leaf))
        signed = wanted.get(tree.size)
        if signed is not None and signed.root != tree.root():
            what = "another root than these leaves"
            if signed is not checkpoints[-1]:
                what += " (history rewritten after it was signed: not consistent with the later checkpoints)"
            raise Discrepancy(name, index, f"the signed checkpoint of size {signed.size} has {what}")
        events.append(event)
    if checkpoints[-1].size > len(events):
        raise Discrepancy(
            name, None, f"a checkpoint covers {checkpoints[-1].size} events, the export has {len(events)}"
        )
    if checkpoints[-1].size != len(events):
        raise Discrepancy(name, checkpoints[-1].size, "events after the last signed checkpoint")
    _check_consistency(name, checkpoints, data.get("consistency") or [])
    return _Ledger(name, origin, events, checkpoints)


def _check_consistency(name: str, checkpoints: list[Checkpoint], proofs: Iterable[Any]) -> None:
    by_range = {}
    for proof in proofs:
        try:
            by_range[(int(proof["from"]), int(proof["to"]))] = [_b64(h) for h in proof["hashes"]]
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


def _recorded(event: Mapping[str, Any]) -> RecordedEvent:
    return RecordedEvent(event["type"], event["payload"], event["seq"], event["at"], actor=event["actor"])


def _decided_again(
    state: SessionState, council: CouncilState, event: Mapping[str, Any], index: int, check: AssertionCheck
) -> None:
    """Decide a vote event again by the rules; it must come out exactly as recorded."""
    p = event["payload"]
    at = parse_time(event["at"])
    try:
        match event["type"]:
            case "vote.opened":
                command: Any = VoteOpen(
                    id="audit",
                    type="vote.open",
                    item=p["item"],
                    subject=p["subject"],
                    rule=p["rule"],
                    seconds=p["seconds"],
                )
                ctx = Context(Actor("auditor", Role.CHAIR), at, entropy=from_b64url(p.get("nonce_seed", "")))
            case "ballot.cast":
                command = BallotCast(
                    id="audit",
                    type="ballot.cast",
                    vote=p["vote"],
                    choice=p["choice"],
                    nonce=p.get("nonce"),
                    assertion=p.get("assertion"),
                )
                ctx = Context(Actor(event["actor"], Role.DEPUTY, p["deputy"]), at, check_assertion=check)
            case _:
                command, ctx = VoteClose(id="audit", type="vote.close", vote=p["vote"]), Context(_AUDITOR, at)
        [again] = decide(state, council, command, ctx)
    except DomainError as exc:
        raise Discrepancy("session", index, f"{event['type']} breaks the rules: {exc.code}: {exc.message}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise Discrepancy("session", index, f"{event['type']} cannot be checked: {exc}") from None
    if again.type != event["type"] or dict(again.payload) != p:
        if event["type"] == "vote.closed":
            raise Discrepancy(
                "session",
                index,
                f"the published tally of {p.get('vote')} does not match the ballots: "
                f"recounted {again.payload.get('tally')}, published {p.get('tally')}",
            )
        raise Discrepancy("session", index, f"{event['type']} differs from what the rules produce")


class SignatureSink(Protocol):
    """Where the audit hands the ballot signatures it prepared, to verify them in bulk (maybe elsewhere)."""

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        """A signature of the event at ``index`` (added in index order)."""

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        """``(index, message)`` of the first bad signature added (below ``before``, if given), else None."""


class InOrder:
    """The plain ``SignatureSink``: keeps them, and verifies one after another when asked."""

    def __init__(self) -> None:
        self.jobs: list[tuple[int, PreparedAssertion]] = []

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        self.jobs.append((index, prepared))

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        return verify_in_order([job for job in self.jobs if before is None or job[0] < before])


def verify_in_order(jobs: Iterable[tuple[int, PreparedAssertion]]) -> tuple[int, str] | None:
    """Verify one after another; ``(index, message)`` of the first that fails, else None."""
    for index, prepared in jobs:
        try:
            prepared.verify()
        except BallotRefused as exc:
            return index, f"{exc.code}: {exc.message}"
    return None


def audit(
    export: Mapping[str, Any],
    *,
    trusted_keys: Sequence[str] | None = None,
    signatures: SignatureSink | None = None,
) -> Report:
    """Audit an export; return the report or raise Discrepancy naming the first problem.

    ``trusted_keys`` (vkey lines) pins the council's keys; without it the export's own keys are used
    (the report lists which ones signed, to compare with the council's published keys). Every
    check but the ballot signatures themselves runs here in order; the signatures go to
    ``signatures`` (default: verified here, after the rest; the CLI verifies them in other
    processes while the rest runs), and a bad one is reported if it comes before any other
    discrepancy.
    """
    sink = signatures if signatures is not None else InOrder()
    try:
        report = _audit(export, trusted_keys, sink)
    except Discrepancy as found:
        earlier = sink.first_failure(found.index if found.ledger == "session" else None)
        if earlier is not None and found.ledger == "session":
            raise _bad_signature(*earlier) from None
        raise
    failed = sink.first_failure()
    if failed is not None:
        raise _bad_signature(*failed)
    return report


def _bad_signature(index: int, message: str) -> Discrepancy:
    return Discrepancy("session", index, f"ballot.cast breaks the rules: {message}")


def _audit(export: Mapping[str, Any], trusted_keys: Sequence[str] | None, sink: SignatureSink) -> Report:
    if export.get("format") != EXPORT_FORMAT:
        raise Discrepancy("export", None, f"not a {EXPORT_FORMAT} file")
    try:
        verifiers = [NoteVerifier.from_vkey(k) for k in (trusted_keys or export.get("keys") or [])]
    except CheckpointError as exc:
        raise Discrepancy("export", None, f"a verifier key is malformed: {exc}") from None
    keys_used: set[str] = set()
    council_ledger = _open_ledger("council", export.get("council_ledger"), verifiers, keys_used)
    session_ledger = _open_ledger("session", export.get("session_ledger"), verifiers, keys_used)
    report = Report(
        council=str(export.get("council", "")),
        session=str(export.get("session", "")),
        events=len(session_ledger.events),
        council_events=len(council_ledger.events),
        checkpoints=len(council_ledger.checkpoints) + len(session_ledger.checkpoints),
        keys=sorted(keys_used),
    )
    at_index = [0]

    def deferred(
        ballot: bytes, assertion: Assertion, credential: Credential, rp_id: str, origins: Sequence[str]
    ) -> int:
        prepared = prepare_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)
        sink.add(at_index[0], prepared)
        return prepared.sign_count

    council_events = iter(council_ledger.events)
    pending = next(council_events, None)
    council: CouncilState | None = None
    state: SessionState | None = None
    for index, event in enumerate(session_ledger.events):
        # The council as it stood when this event was decided: everything it recorded up to then.
        while pending is not None and parse_time(pending["at"]) <= parse_time(event["at"]):
            council = evolve_council(council, _recorded(pending))
            pending = next(council_events, None)
        if council is None:
            raise Discrepancy("session", index, "an event before the council existed")
        if state is not None and event["type"] in ("vote.opened", "ballot.cast", "vote.closed"):
            at_index[0] = index
            _decided_again(state, council, event, index, deferred)
        try:
            state = evolve(state, _recorded(event))
        except (ValueError, KeyError, TypeError) as exc:
            raise Discrepancy("session", index, f"{event['type']} does not apply: {exc}") from None
        if event["type"] == "ballot.cast":
            report.ballots += 1
            report.signed_ballots += "assertion" in event["payload"]
        elif event["type"] == "vote.closed":
            vote = state.votes[event["payload"]["vote"]]
            report.votes.append(VoteSummary(vote.id, vote.subject, event["payload"]["tally"]))
        if state.council != council.id:
            raise Discrepancy("session", index, f"the session belongs to {state.council!r}, not {council.id!r}")
    report.unsigned_demo = council is not None and not council.signed_ballots
    return report
