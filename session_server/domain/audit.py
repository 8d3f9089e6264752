"""Offline audit of an exported session ledger: what ``kvorum verify`` checks, with no I/O.

The export (``kvorum-ledger-v1``, see docs/ledger.md) holds the session's and the council's leaves,
their signed checkpoints, consistency proofs between successive checkpoints, and the verifier keys.
The audit checks, and stops at the first discrepancy it finds:

1. each leaf is the canonical form of its event and the hash chain holds from seq 1;
2. each checkpoint is signed by a known key, names the ledger's origin, and its root is the
   RFC 9162 Merkle root of that many leaves; each consistency proof between successive checkpoints
   verifies; the last checkpoint covers every leaf;
3. every ``vote.opened``, ``ballot.cast`` and ``vote.closed`` (and a sealed vote's ``ballot.sealed``, once
   ``ballots.opened`` gives its choice, salt and signature; a secret vote's commission key steps, encrypted
   ballots with their proofs, product and proved partial decryptions) is decided again by the council rules
   (``session.decide``) against the session as it stood and the council as it stood at that moment:
   no ballot outside an open vote, from a non-member, unregistered or conflicted deputy, every
   signed ballot's nonce, WebAuthn signature and challenge against the credentials enrolled and not
   revoked at that time; each closing tally and roll call is recounted and must equal the published one;
4. what people saved (``domain.witnessed``): the witnesses' cosignatures on the checkpoints (K of those
   the auditor trusts on each ledger's last one) and the deputies' receipts of their ballots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from session_server.domain.council import CouncilState, evolve_council
from session_server.domain.events import Event, parse_event, parse_time
from session_server.domain.ledger_export import (
    Discrepancy,
    close_ledger,
    ledger_events,
    open_checkpoints,
)
from session_server.domain.redecide import REDECIDED, decided_again, time_of
from session_server.domain.session import SessionState, evolve
from session_server.domain.witnessed import check_witnessed, read_receipt, witness_verifiers
from voting.ballot import Assertion, BallotRefused, Credential, PreparedAssertion, prepare_assertion
from voting.checkpoint import Checkpoint, CheckpointError, NoteVerifier, open_note

__all__ = [
    "EXPORT_FORMAT",
    "Discrepancy",
    "ExportCheck",
    "InOrder",
    "Report",
    "SignatureSink",
    "VoteSummary",
    "audit",
    "verified_council_ledger",
    "verify_in_order",
]

EXPORT_FORMAT = "kvorum-ledger-v1"

ExportCheck = Callable[[Mapping[str, Any], Sequence[str] | None], str]
"""An extension's check of an export of its own format (``kvorum verify``): the export and the pinned
keys (vkey lines) → the report's text, or ``Discrepancy`` naming the first problem."""


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
    sealed_ballots: int = 0
    """Ballots of sealed votes opened at their close and decided again as cast (among ``ballots``)."""
    secret_ballots: int = 0
    """Encrypted ballots of secret votes, each with its proofs checked (among ``ballots``)."""
    decryptions: int = 0
    """The counting commissions' partial decryptions, each with its proof checked."""
    unopened: int = 0
    """Sealed ballots of a vote still open when the file was made: their choices are not known yet."""
    checkpoints: int = 0
    keys: list[str] = field(default_factory=list)
    votes: list[VoteSummary] = field(default_factory=list)
    unsigned_demo: bool = False
    keys_pinned: bool = False
    """Whether the checkpoints were checked against keys the auditor trusts (else the file's own)."""
    closed: bool = False
    """Whether the sitting is closed (else more events may follow what the file holds)."""
    published: list[int] = field(default_factory=list)
    """The sizes of the published checkpoints the auditor brought that the file agrees with."""
    witnessed: dict[str, list[str]] = field(default_factory=dict)
    """Per ledger ("session", "council"): the trusted witnesses that cosigned its last checkpoint."""
    witnesses_needed: int = 0
    receipts: list[tuple[int, str, str]] = field(default_factory=list)
    """``(seq, deputy, vote)`` of each ballot whose receipt the file agrees with."""

    @property
    def unsigned_ballots(self) -> int:
        """Ballots no deputy's device signed, whatever the council's setting was when they were cast."""
        return self.ballots - self.signed_ballots


class _Recorded:
    """An exported event as ``evolve`` reads it (a ``Recorded``, lighter than ``RecordedEvent``)."""

    __slots__ = ("actor", "at", "payload", "seq", "type")

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.type: str = event["type"]
        self.payload: Mapping[str, Any] = event["payload"]
        self.seq: int = event["seq"]
        self.at: str = event["at"]
        self.actor: str = event["actor"]

    @property
    def data(self) -> Event:
        return parse_event(self.type, self.payload)


class SignatureSink(Protocol):
    """Where the audit hands the ballot signatures it prepared, to verify them in bulk (maybe elsewhere)."""

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        """A signature of the event at ``index`` (added in index order)."""

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        """``(index, message)`` of the first bad signature added (below ``before``, if given), else None."""

    def discard(self) -> None:
        """Drop every signature added: the audit stopped at a discrepancy that no bad signature can precede."""


class InOrder:
    """The plain ``SignatureSink``: keeps them, and verifies one after another when asked."""

    def __init__(self) -> None:
        self.jobs: list[tuple[int, PreparedAssertion]] = []

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        self.jobs.append((index, prepared))

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        return verify_in_order([job for job in self.jobs if before is None or job[0] < before])

    def discard(self) -> None:
        self.jobs = []


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
    published: Sequence[str] = (),
    witnesses: Sequence[str] = (),
    witnesses_needed: int = 0,
    receipts: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> Report:
    """Audit an export; return the report or raise Discrepancy naming the first problem.

    ``trusted_keys`` (vkey lines) pins the council's keys; without it the export's own keys are used
    (the report lists which ones signed, to compare with the council's published keys). Every
    check but the ballot signatures themselves runs here in order; the signatures go to
    ``signatures`` (default: verified here, after the rest; the CLI verifies them in other
    processes while the rest runs), and a bad one is reported if it comes before any other
    discrepancy of the rules (steps 1 and 2, the ledgers themselves, come first).

    ``published`` are signed notes of the session's ledger the auditor got elsewhere (the council's
    site, a witness, an earlier download): the file must agree with each and reach the largest, so a
    file cut short at an earlier checkpoint, or a history other than the published one, fails.
    ``witnesses`` (cosignature vkeys) are the witnesses the auditor trusts, ``witnesses_needed`` how many
    must have cosigned each ledger's last checkpoint; ``receipts`` (``(name, parsed file)``) the deputies'
    receipts: the file must hold each receipt's ballot and agree with its checkpoint.
    """
    sink = signatures if signatures is not None else InOrder()
    saved = _Saved(witnesses, witnesses_needed, receipts)
    try:
        report, broken = _audit(export, trusted_keys, sink, published, saved)
    except BaseException:
        sink.discard()
        raise
    if isinstance(broken, Discrepancy):
        earlier = sink.first_failure(broken.index)
        if earlier is not None:
            raise _bad_signature(*earlier) from None
        raise broken
    if broken is not None:
        sink.discard()
        raise broken
    failed = sink.first_failure()
    if failed is not None:
        raise _bad_signature(*failed)
    return report


def verified_council_ledger(
    export: Mapping[str, Any], trusted_keys: Sequence[str] | None
) -> tuple[list[dict[str, Any]], list[str], int]:
    """Steps 1 and 2 for the export's council ledger alone (what a decision's export relies on):
    ``(its events, the verifier keys that signed its checkpoints, how many checkpoints)``."""
    keys_used: set[str] = set()
    events, checkpoints = _council_ledger(export, _verifiers(export, trusted_keys), keys_used)
    return events, sorted(keys_used), checkpoints


def _verifiers(export: Mapping[str, Any], trusted_keys: Sequence[str] | None) -> list[NoteVerifier]:
    """The keys checkpoints are verified with: those the auditor trusts, else the export's own."""
    try:
        return [NoteVerifier.from_vkey(k) for k in (trusted_keys or export.get("keys") or [])]
    except CheckpointError as exc:
        raise Discrepancy("export", None, f"a verifier key is malformed: {exc}") from None


def _council_ledger(
    export: Mapping[str, Any], verifiers: Sequence[NoteVerifier], keys_used: set[str]
) -> tuple[list[dict[str, Any]], int]:
    """The council ledger's events, each proven by its checkpoints; ``(events, how many checkpoints)``."""
    data, checkpoints = open_checkpoints("council", export.get("council_ledger"), verifiers, keys_used)
    council = str(export.get("council", ""))
    if not str(data.get("origin", "")).endswith(f"/{council}"):
        raise Discrepancy("council", None, f"the ledger's origin {data.get('origin')!r} is not council {council!r}'s")
    events = list(ledger_events("council", data, checkpoints, stream=f"council:{council}"))
    close_ledger("council", data, checkpoints, len(events))
    return events, len(checkpoints)


def _bad_signature(index: int, message: str) -> Discrepancy:
    return Discrepancy("session", index, f"ballot.cast breaks the rules: {message}")


def _published(notes: Sequence[str], verifiers: Sequence[NoteVerifier], origin: str) -> list[Checkpoint]:
    found = []
    for number, note in enumerate(notes, start=1):
        try:
            checkpoint, _ = open_note(note, verifiers)
        except CheckpointError as exc:
            raise Discrepancy(
                "session", None, f"the published checkpoint {number} is not validly signed by a council key: {exc}"
            ) from None
        if checkpoint.origin != origin:
            raise Discrepancy(
                "session", None, f"the published checkpoint {number} is for {checkpoint.origin!r}, not {origin!r}"
            )
        found.append(checkpoint)
    return found


@dataclass(frozen=True, slots=True)
class _Saved:
    """What the auditor brings besides the file: trusted witnesses and receipts."""

    witnesses: Sequence[str] = ()
    needed: int = 0
    receipts: Sequence[tuple[str, Mapping[str, Any]]] = ()


def _audit(
    export: Mapping[str, Any],
    trusted_keys: Sequence[str] | None,
    sink: SignatureSink,
    notes: Sequence[str] = (),
    saved: _Saved = _Saved(),
) -> tuple[Report, Exception | None]:
    """The report and what broke the rules (step 3) first, if anything; a discrepancy in the ledgers
    themselves (steps 1 and 2, which come first wherever it is) is raised."""
    if export.get("format") != EXPORT_FORMAT:
        raise Discrepancy("export", None, f"not a {EXPORT_FORMAT} file")
    verifiers = _verifiers(export, trusted_keys)
    keys_used: set[str] = set()
    council_events, council_checkpoints = _council_ledger(export, verifiers, keys_used)
    session_data, session_checkpoints = open_checkpoints("session", export.get("session_ledger"), verifiers, keys_used)
    origin = str(session_data.get("origin", ""))
    session = str(export.get("session", ""))
    # One sitting, one log: a witness follows the council and each sitting's log right below it, so a second
    # history under another origin (…/<sitting>/shadow) is not this sitting's, whoever cosigned it.
    expected = f"{export['council_ledger']['origin']}/{session}"
    if origin != expected:
        raise Discrepancy(
            "session", None, f"the ledger's origin {origin!r} is not sitting {session!r}'s ({expected!r})"
        )
    published = _published(notes, verifiers, origin)
    receipts = [read_receipt(name, data, verifiers, origin) for name, data in saved.receipts]
    for receipt in receipts:
        receipt.check_against("session", session_data["leaves"])
    published += [r.checkpoint for r in receipts]
    witnesses = witness_verifiers(saved.witnesses)
    witnessed = {}
    if witnesses or saved.needed:
        for name, data in (("council", export.get("council_ledger")), ("session", session_data)):
            notes_of = data.get("checkpoints") or [] if isinstance(data, Mapping) else []
            witnessed[name] = check_witnessed(name, notes_of, witnesses, saved.needed)
        for receipt in receipts:
            check_witnessed(f"receipt {receipt.source}", [receipt.note], witnesses, saved.needed)
    report = Report(
        council=str(export.get("council", "")),
        session=str(export.get("session", "")),
        council_events=len(council_events),
        checkpoints=council_checkpoints + len(session_checkpoints),
        keys=sorted(keys_used),
        keys_pinned=bool(trusted_keys),
    )
    rules = _Rules(council_events, sink, report)
    broken: Exception | None = None
    events = ledger_events("session", session_data, session_checkpoints, published, stream=f"session:{session}")
    for index, event in enumerate(events):
        report.events = index + 1
        if broken is None:
            # Each event is decided as soon as it is known to chain; what breaks the rules is kept
            # until every leaf is checked, since a broken chain or tree anywhere is reported first.
            try:
                rules.apply(index, event)
            except Exception as exc:
                broken = exc
    if broken is None and rules.expecting:
        broken = Discrepancy("session", report.events, f"{rules.expecting} must follow the last vote")
    close_ledger("session", session_data, session_checkpoints, report.events)
    beyond = max((c.size for c in published), default=0)
    if beyond > report.events:
        raise Discrepancy(
            "session",
            None,
            f"the file holds {report.events} events, but the council published a checkpoint of {beyond}: "
            "the file is cut short (an earlier copy, or a server showing an older history)",
        )
    report.published = sorted({c.size for c in published})
    report.witnessed = witnessed
    report.witnesses_needed = saved.needed
    report.receipts = sorted((r.index + 1, *r.ballot()) for r in receipts)
    report.closed = rules.closed
    report.unopened = rules.unopened
    report.unsigned_demo = rules.council is not None and not rules.council.signed_ballots
    return report, broken


class _Rules:
    """Step 3, one session event after another: the session and the council as they stood then."""

    def __init__(self, council_events: Iterable[Mapping[str, Any]], sink: SignatureSink, report: Report) -> None:
        self._council_events = iter(council_events)
        self._pending = next(self._council_events, None)
        self._pending_at: datetime | None = None
        self.council: CouncilState | None = None
        self._state: SessionState | None = None
        self._sink = sink
        self._report = report
        self._index = 0
        self._expected: list[Event] = []
        self._sealed: dict[int, tuple[SessionState, CouncilState, datetime, int, Mapping[str, Any]]] = {}
        """Each ``ballot.sealed`` by seq: the sitting and the council as they stood when it was cast."""

    @property
    def closed(self) -> bool:
        """Whether the sitting was closed by the last event read."""
        return self._state is not None and self._state.status == "closed"

    @property
    def unopened(self) -> int:
        """Sealed ballots read but not opened (their vote was still open)."""
        return len(self._sealed)

    @property
    def expecting(self) -> str | None:
        """The type of the event the rules still expect after the last vote, if any."""
        return self._expected[0].type if self._expected else None

    def _deferred(
        self, ballot: bytes, assertion: Assertion, credential: Credential, rp_id: str, origins: Sequence[str]
    ) -> int:
        """Every check of the assertion here but the signature itself, which goes to the sink."""
        prepared = prepare_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)
        self._sink.add(self._index, prepared)
        return prepared.sign_count

    def open_again(self, event: Mapping[str, Any]) -> None:
        """Decide every ballot a ``ballots.opened`` opens again, as it was cast: against the sitting and the
        council as they stood then, with its opened choice, salt and signature; it must come out as the
        ``ballot.sealed`` recorded then (the same commitment, nonce, sign count and device)."""
        try:
            openings = [(int(o["seq"]), o) for o in event["payload"]["openings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise Discrepancy("session", None, f"ballots.opened cannot be read: {exc}") from None
        for seq, opening in openings:
            if seq not in self._sealed:
                raise Discrepancy("session", None, f"ballots.opened opens #{seq}, which is no sealed ballot")
            state, council, at, index, sealed = self._sealed.pop(seq)
            self._index = index
            decided_again(state, council, sealed, index, self._deferred, at, opening)

    def apply(self, index: int, event: Mapping[str, Any]) -> None:
        """Decide the event again if it is a vote event, then apply it; Discrepancy if either fails."""
        # The council as it stood when this event was decided: everything it recorded up to then.
        at: datetime | None = None
        while self._pending is not None:
            if at is None:
                at = time_of(event, index)
            try:
                if self._pending_at is None:
                    self._pending_at = parse_time(self._pending["at"])
                if self._pending_at > at:
                    break
                self.council = evolve_council(self.council, _Recorded(self._pending))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                seq = self._pending.get("seq")
                raise Discrepancy(
                    "council", None, f"council event {seq} ({self._pending.get('type')}) cannot be read: {exc}"
                ) from None
            self._pending, self._pending_at = next(self._council_events, None), None
        council = self.council
        if council is None:
            raise Discrepancy("session", index, "an event before the council existed")
        expected, self._expected = self._expected, []
        if expected:
            # What the rules add after a vote (the item an adopted agenda_add vote includes) must follow it.
            if event["type"] != expected[0].type or dict(event["payload"]) != dict(expected[0].payload):
                raise Discrepancy("session", index, f"{expected[0].type} must follow the vote, as the rules decide it")
            self._expected = expected[1:]
        elif (
            self._state is not None
            and self._state.status != "scheduled"
            and event["type"] in ("item.added", "item.updated", "item.removed")
        ):
            # After the sitting opens only the council changes the agenda: by an adopted agenda_add vote.
            raise Discrepancy("session", index, f"{event['type']} in an open sitting without the council's vote")
        if self._state is not None and event["type"] == "ballot.sealed":
            # How it was cast is known only at the close: the sitting and the council as they stood now wait.
            seq = int(event.get("seq", 0))
            self._sealed[seq] = (self._state.clone(), council, at or time_of(event, index), index, event)
        elif self._state is not None and event["type"] == "ballots.opened":
            self.open_again(event)
            self._index = index
            self._expected = decided_again(self._state, council, event, index, self._deferred, at)
        elif not expected and self._state is not None and event["type"] in REDECIDED:
            self._index = index
            self._expected = decided_again(self._state, council, event, index, self._deferred, at)
        try:
            state = self._state = evolve(self._state, _Recorded(event))
        except (ValueError, KeyError, TypeError) as exc:
            raise Discrepancy("session", index, f"{event['type']} does not apply: {exc}") from None
        report = self._report
        if event["type"] in ("ballot.cast", "ballot.encrypted"):
            report.ballots += 1
            report.signed_ballots += "assertion" in event["payload"]
            report.secret_ballots += event["type"] == "ballot.encrypted"
        elif event["type"] == "decryption.shared":
            report.decryptions += 1
        elif event["type"] == "ballots.opened":
            report.ballots += len(event["payload"]["openings"])
            report.sealed_ballots += len(event["payload"]["openings"])
            report.signed_ballots += sum("assertion" in o for o in event["payload"]["openings"])
        elif event["type"] == "vote.closed":
            vote = state.votes[event["payload"]["vote"]]
            report.votes.append(VoteSummary(vote.id, vote.subject, event["payload"]["tally"]))
        if state.council != council.id:
            raise Discrepancy("session", index, f"the session belongs to {state.council!r}, not {council.id!r}")
