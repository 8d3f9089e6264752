"""A plenary session's state and how events fold into it (`evolve`), and its public view.

Session stream events and payloads (all values JSON):

- `session.scheduled {session, council, number, convocation, date, title, agenda: [{id, number,
  title, draft}], counting?}` — the first event (`counting`: see `SessionState.counting`);
  `session.opened {}`; `session.closed {}` (refused while a vote is open or an item in progress).
- `registration.opened {}`, `registration.closed {}`, `presence.registered {deputy}`,
  `presence.left {deputy}` (also drops the member from the speaker queue).
- `item.started {item}`, `item.finished {item}`.
- Before the session opens, the secretary edits the agenda: `item.added {item, number, title, draft,
  position}` (position 1 = first), `item.updated {item, number?, title?, draft?}`, `item.removed {item}`.
- `speaker.requested {deputy}`, `speaker.granted {deputy, seconds, until}`, `speaker.finished {deputy}`.
- `conflict.declared {deputy, item, reason}` (art. 59-1: shown on the display, goes into the minutes).
- `vote.opened {vote, item, subject, rule, seconds, closes_at, nonce_seed, purpose?, proposal?, kind?,
  revote?}` (`kind`: what it decides, `voting.kinds`; `revote`: a re-vote decision's subject; ids
  "v1", "v2"… in order of opening; with `purpose` "agenda_add" it is the procedural vote on including
  `proposal {number, title, draft}` in the open sitting's agenda as the new item `item`, and an
  adopted one is followed in the same commit by that `item.added`), `ballot.cast {vote, deputy,
  choice}` (a later ballot replaces an earlier one); a signed ballot adds `nonce`, `sign_count` and
  `assertion {credential, authenticator_data, client_data_json, signature}` (see `voting.ballot`; the
  ballot itself is rebuilt from the fields),
  `vote.closed {vote, tally, roll_call: {member: roll-call value}}`, `vote.cancelled {vote, reason}`.
- Secret ballots (issue 20; ``session_server.domain.commission``): `commission.elected/committed/dealt/
  ready/keyed/failed`; a secret `vote.opened {…, secret, question, key}`, `ballot.encrypted {vote, deputy,
  encrypted, nonce?, sign_count?, assertion?}`, `vote.tallying {vote, product, ballots}` (no more ballots),
  `decryption.shared {vote, member, index, decryption}`, then `vote.closed` whose roll call says who voted
  (`voted`), never how.
- The live video: `broadcast.started {source}` (its time is the recording's zero: chapters are offsets
  from it), `broadcast.interrupted {reason}` (the publisher dropped), `broadcast.resumed {source}`,
  `broadcast.stopped {}`; `source` is "whip" or "camera".

Times are RFC 3339 UTC strings (`events.format_time`). "deputy" fields hold council member ids,
the mayor's included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from session_server.domain.commission import Commission
from session_server.domain.council import CouncilState
from session_server.domain.events import Recorded
from session_server.domain.sealed import SealedBallot, SealedLog
from session_server.domain.session_events import (
    Ballot,
    BallotEncrypted,
    BallotSealed,
    BallotsOpened,
    BroadcastInterrupted,
    BroadcastResumed,
    BroadcastStarted,
    BroadcastStopped,
    CommissionCommitted,
    CommissionDealt,
    CommissionElected,
    CommissionFailed,
    CommissionKeyed,
    CommissionReadied,
    ConflictDeclared,
    DecryptionShared,
    ItemAdded,
    ItemFinished,
    ItemRemoved,
    ItemStarted,
    ItemUpdated,
    PresenceLeft,
    PresenceRegistered,
    RegistrationClosed,
    RegistrationOpened,
    SessionClosed,
    SessionOpened,
    SessionScheduled,
    SpeakerFinished,
    SpeakerGranted,
    SpeakerRequested,
    VoteCancelled,
    VoteClosed,
    VoteOpened,
    VoteTallying,
)
from voting.rules import Rule, has_quorum, quorum_needed
from voting.tally import Choice, RollCall, Tally

__all__ = [
    "COUNTING",
    "AgendaItem",
    "Broadcast",
    "Conflict",
    "SessionState",
    "Speech",
    "Vote",
    "composition",
    "evolve",
    "quorum",
    "registered_deputies",
]

COUNTING = 2
"""The counting rule new sessions are scheduled with (`SessionState.counting`)."""

SessionStatus = Literal["scheduled", "open", "closed"]
ItemStatus = Literal["pending", "in_progress", "done"]
VoteStatus = Literal["open", "closed", "cancelled"]
BroadcastStatus = Literal["live", "interrupted", "stopped"]


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """An item on the session's agenda; `draft` is the draft decision's registry number."""

    id: str
    number: str
    title: str
    draft: str | None
    status: ItemStatus = "pending"


@dataclass(frozen=True, slots=True)
class Speech:
    """The member holding the floor, for `seconds`, until the RFC 3339 time `until`."""

    deputy: str
    seconds: int
    until: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A declared conflict of interest of a member on an agenda item (art. 59-1)."""

    deputy: str
    item: str
    reason: str


@dataclass(frozen=True, slots=True)
class Broadcast:
    """The session's live video: `started_at` (RFC 3339) is the zero of the recording's timeline."""

    status: BroadcastStatus
    source: str
    started_at: str
    reason: str | None = None


@dataclass(slots=True)
class Vote:
    """A roll-call vote on an item. `tally` and `roll_call` are set once it is closed.

    Only an open vote is ever mutated (by `evolve`); a closed or cancelled one is final, which lets
    `SessionState.clone` share it.
    """

    id: str
    item: str
    subject: str
    rule: Rule
    seconds: int
    opened_at: str
    closes_at: str
    nonce_seed: str = ""
    status: VoteStatus = "open"
    ballots: dict[str, Choice] = field(default_factory=dict)
    signed: dict[str, int] = field(default_factory=dict)
    """Signed ballots accepted per member: the index of the member's next nonce."""
    tally: Tally | None = None
    roll_call: dict[str, RollCall] | None = None
    reason: str | None = None
    purpose: str | None = None
    """A procedural vote's question (`voting.kinds.Purpose`); "agenda_add": including `proposal` in the
    agenda as item `item`."""
    proposal: dict[str, Any] | None = None
    kind: str | None = None
    """What it decides (`voting.kinds.VoteKind`); None for a vote opened before kinds existed."""
    revote: str | None = None
    """A re-vote decision's subject: the closed vote the council is asked to hold again."""
    amendments: tuple[str, ...] = ()
    """An amendment vote's amendments of the item's draft, or those a conclusion proposes (ids of the draft's
    stream)."""
    recommendation: str | None = None
    """A committee's conclusion vote: what it recommends (`voting.kinds.Recommendation`)."""
    sealed: bool = False
    """Its results are sealed until it closes: ballots are ``ballot.sealed`` commitments (docs/ledger.md)."""
    sealed_ballots: SealedLog = field(default_factory=lambda: SealedLog())
    """A sealed vote's ballots while it is open, in log order (with their openings where known)."""
    sealed_voters: dict[str, int] = field(default_factory=dict)
    """Each member who cast a sealed ballot → the seq of the member's last one."""
    secret: bool = False
    """A secret ballot (issue 20): ballots are encrypted under the counting commission's ``key``."""
    question: str | None = None
    """A secret vote's question, one of the council's ``secret_questions``."""
    key: str | None = None
    encrypted: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """A secret vote's ballots: each member who voted → the member's last encrypted ballot."""
    product: list[Mapping[str, str]] | None = None
    """Once a secret vote stops taking ballots: each option's ciphertexts added up, waiting to be decrypted."""
    counted_ballots: int = 0
    """How many ballots the product adds up."""
    decryptions: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    """The counting commission's partial decryptions of the product, by member number."""

    @property
    def voters(self) -> list[str]:
        """Who has voted, in the order of their first ballot (sealed, encrypted or not)."""
        return list(dict.fromkeys([*self.ballots, *self.sealed_voters, *self.encrypted]))

    @property
    def tallying(self) -> bool:
        """A secret vote closed to ballots, waiting for the commission's decryptions (still "open")."""
        return self.product is not None

    def has_voted(self, member: str) -> bool:
        return member in self.ballots or member in self.sealed_voters or member in self.encrypted

    def copy(self) -> Vote:
        """An independent copy (the sealed ballots' log is shared: it only grows, see ``SealedLog``)."""
        roll_call = None if self.roll_call is None else dict(self.roll_call)
        return replace(
            self,
            ballots=dict(self.ballots),
            signed=dict(self.signed),
            roll_call=roll_call,
            sealed_ballots=self.sealed_ballots.copy(),
            sealed_voters=dict(self.sealed_voters),
            encrypted=dict(self.encrypted),
            decryptions=dict(self.decryptions),
        )


@dataclass(slots=True)
class SessionState:
    """A plenary session as folded from its stream; `seq` is the last applied event's seq.

    `registered` is an insertion-ordered set (dict keys) of member ids; `agenda` and `votes` keep
    their order too.
    """

    id: str
    council: str
    number: int
    convocation: int
    date: str
    title: str
    status: SessionStatus = "scheduled"
    registration_open: bool = False
    registered: dict[str, None] = field(default_factory=dict)
    agenda: dict[str, AgendaItem] = field(default_factory=dict)
    current_item: str | None = None
    speaker_queue: list[str] = field(default_factory=list)
    speaker: Speech | None = None
    conflicts: list[Conflict] = field(default_factory=list)
    votes: dict[str, Vote] = field(default_factory=dict)
    sign_counts: dict[str, int] = field(default_factory=dict)
    """The last sign count seen per credential in this session (a count must never go back)."""
    broadcast: Broadcast | None = None
    committee: str | None = None
    """A standing committee's sitting: the committee (its composition and members count, ``CouncilState.body``)."""
    commission: Commission | None = None
    """The counting commission the council elected for the sitting's secret ballots (the latest election)."""
    counting: int = 1
    """How a vote's roll call treats the mayor. 1 (sessions scheduled before December 2026): every
    roster member has a line, an absent mayor counted "absent". 2: the mayor has a line only while
    taking part in the meeting (registered), as art. 59 part 2 counts the mayor in the composition
    only then; so a tally's lines add up to the composition the threshold was computed from."""
    seq: int = 0

    def clone(self) -> SessionState:
        """An independent copy to apply a batch to: containers are copied, immutable parts shared.

        Agenda items, speeches and conflicts are frozen; finished votes are never mutated again, so
        only the open vote is copied. Cost is linear in the containers' sizes, no deep copy.
        """
        return replace(
            self,
            registered=dict(self.registered),
            agenda=dict(self.agenda),
            speaker_queue=list(self.speaker_queue),
            conflicts=list(self.conflicts),
            votes={vid: vote.copy() if vote.status == "open" else vote for vid, vote in self.votes.items()},
            sign_counts=dict(self.sign_counts),
            commission=None if self.commission is None else self.commission.copy(),
        )

    @property
    def open_vote(self) -> Vote | None:
        """The vote now open, if any (at most one is)."""
        return next((v for v in reversed(self.votes.values()) if v.status == "open"), None)


# --- rules shared by decide and to_public ---------------------------------------------------------


def registered_deputies(state: SessionState, council: CouncilState, *, without_conflict_on: str | None = None) -> int:
    """Registered members who are deputies (not the mayor), optionally without a conflict on an item."""
    mayor = council.mayor
    conflicted = {c.deputy for c in state.conflicts if c.item == without_conflict_on}
    return sum(1 for m in state.registered if m != mayor and m not in conflicted)


def quorum(state: SessionState, council: CouncilState) -> bool:
    """Whether the meeting is competent now (art. 46: more than half of the statutory composition
    of deputies registered; the mayor is not a deputy and does not count)."""
    return has_quorum(
        registered_deputies(state, council), council.composition, at_least_half=council.quorum_at_least_half
    )


def composition(state: SessionState, council: CouncilState) -> dict[str, Any]:
    """The one count every screen, the minutes and the open data state, and what it is made of.

    - `statutory`: the council's statutory composition (deputies; art. 46 counts the quorum against it);
    - `quorum`: the registered deputies a competent meeting needs: more than half of `statutory`;
    - `registered_deputies`: deputies registered now (the mayor is not a deputy);
    - `mayor_taking_part`: whether the mayor is registered, hence counted in the composition (art. 59 part 2);
    - `total`: the composition thresholds are computed from: `statutory`, plus one while the mayor takes part;
    - `registered`: every registered member, the mayor included (the base of "majority of registered");
    - `committee`: whether these are a committee's (its composition and members; art. 47), not the council's.
    """
    mayor = council.mayor
    deputies = registered_deputies(state, council)
    taking_part = mayor is not None and mayor in state.registered
    return {
        "statutory": council.composition,
        "quorum": quorum_needed(council.composition, at_least_half=council.quorum_at_least_half),
        "registered_deputies": deputies,
        "mayor_taking_part": taking_part,
        "total": council.composition + (1 if taking_part else 0),
        "registered": deputies + (1 if taking_part else 0),
        "committee": council.committee is not None,
    }


def evolve(state: SessionState | None, event: Recorded) -> SessionState:
    """Apply one session event and return the state.

    Creates the state on `session.scheduled`; otherwise MUTATES `state` in place and returns it
    (apply a batch to `state.clone()` to keep the original). Raises ValueError for an unknown event
    type, an event before `session.scheduled`, or a change to a vote that is no longer open.
    """
    data = event.data
    if isinstance(data, SessionScheduled):
        if state is not None:
            raise ValueError("session.scheduled on an existing session")
        agenda = {
            i["id"]: AgendaItem(id=i["id"], number=i["number"], title=i["title"], draft=i["draft"]) for i in data.agenda
        }
        return SessionState(
            id=data.session,
            council=data.council,
            number=data.number,
            convocation=data.convocation,
            date=data.date,
            title=data.title,
            agenda=agenda,
            counting=data.counting,
            committee=data.committee,
            seq=event.seq,
        )
    if state is None:
        raise ValueError(f"{event.type} before session.scheduled")
    match data:
        case SessionOpened():
            state.status = "open"
        case SessionClosed():
            state.status = "closed"
            state.registration_open = False
        case RegistrationOpened():
            state.registration_open = True
        case RegistrationClosed():
            state.registration_open = False
        case PresenceRegistered(deputy=deputy):
            state.registered[deputy] = None
        case PresenceLeft(deputy=deputy):
            state.registered.pop(deputy, None)
            if deputy in state.speaker_queue:
                state.speaker_queue.remove(deputy)
        case ItemAdded():
            items = list(state.agenda.values())
            added = AgendaItem(id=data.item, number=data.number, title=data.title, draft=data.draft)
            items.insert(data.position - 1, added)
            state.agenda = {i.id: i for i in items}
        case ItemUpdated():
            state.agenda[data.item] = replace(state.agenda[data.item], **data.changes())
        case ItemRemoved(item=item):
            del state.agenda[item]
        case ItemStarted(item=item):
            state.agenda[item] = replace(state.agenda[item], status="in_progress")
            state.current_item = item
        case ItemFinished(item=item):
            state.agenda[item] = replace(state.agenda[item], status="done")
            state.current_item = None
        case SpeakerRequested(deputy=deputy):
            state.speaker_queue.append(deputy)
        case SpeakerGranted():
            if data.deputy in state.speaker_queue:
                state.speaker_queue.remove(data.deputy)
            state.speaker = Speech(deputy=data.deputy, seconds=data.seconds, until=data.until)
        case SpeakerFinished():
            state.speaker = None
        case ConflictDeclared():
            state.conflicts.append(Conflict(deputy=data.deputy, item=data.item, reason=data.reason))
        case VoteOpened():
            state.votes[data.vote] = Vote(
                id=data.vote,
                item=data.item,
                subject=data.subject,
                rule=Rule(data.rule),
                seconds=data.seconds,
                opened_at=event.at,
                closes_at=data.closes_at,
                nonce_seed=data.nonce_seed,
                purpose=data.purpose,
                proposal=dict(data.proposal) if data.proposal is not None else None,
                kind=data.kind,
                revote=data.revote,
                amendments=tuple(data.amendments or ()),
                recommendation=data.recommendation,
                sealed=bool(data.sealed),
                secret=bool(data.secret),
                question=data.question,
                key=data.key,
            )
        case Ballot():
            vote = _still_open(state, data.vote)
            vote.ballots[data.deputy] = Choice(data.choice)
            if data.assertion is not None:
                _signed(state, vote, data.deputy, data.sign_count, data.assertion["credential"])
        case BallotSealed():
            vote = _still_open(state, data.vote)
            # decided in this process: its opening is known here; else it is read at the close (Sitting.facts)
            vote.sealed_ballots.append(SealedBallot(event.seq, data.deputy, data.commitment, data.opening))
            vote.sealed_voters[data.deputy] = event.seq  # a member keeps the place of the first ballot
            if data.nonce is not None:
                _signed(state, vote, data.deputy, data.sign_count, data.credential)
        case BallotsOpened():
            vote = _still_open(state, data.vote)
            members = {ballot.seq: ballot.member for ballot in vote.sealed_ballots}
            for opening in data.openings:  # in log order: each member's last ballot counts
                vote.ballots[members[int(opening["seq"])]] = Choice(opening["choice"])
            vote.sealed_ballots, vote.sealed_voters = SealedLog(), {}
        case BallotEncrypted():
            vote = _still_open(state, data.vote)
            vote.encrypted[data.deputy] = data.encrypted  # a changed ballot replaces the member's last one
            if data.assertion is not None:
                _signed(state, vote, data.deputy, data.sign_count, data.assertion["credential"])
        case VoteTallying():
            vote = _still_open(state, data.vote)
            vote.product = [dict(p) for p in data.product]
            vote.counted_ballots = data.ballots
        case DecryptionShared():
            _still_open(state, data.vote).decryptions[data.index] = data.decryption
        case CommissionElected():
            state.commission = Commission(tuple(data.members), data.threshold, data.attempt)
        case CommissionCommitted():
            _commission(state).committed[data.index] = dict(data.published)
        case CommissionDealt():
            _commission(state).dealt[data.index] = dict(data.published)
        case CommissionReadied():
            _commission(state).ready.add(data.index)
        case CommissionKeyed():
            commission = _commission(state)
            commission.key = data.key
            commission.shares = {int(i): s for i, s in data.shares.items()}
        case CommissionFailed():
            _commission(state).failed = {"member": data.member, "against": data.against}
        case VoteClosed():
            vote = _still_open(state, data.vote)
            vote.status = "closed"
            vote.tally = Tally.from_dict(data.tally)
            vote.roll_call = {m: RollCall(line) for m, line in data.roll_call.items()}
        case VoteCancelled():
            vote = _still_open(state, data.vote)
            vote.status = "cancelled"
            vote.reason = data.reason
        case BroadcastStarted():
            state.broadcast = Broadcast(status="live", source=data.source, started_at=event.at)
        case BroadcastResumed() | BroadcastInterrupted() | BroadcastStopped():
            if state.broadcast is None:
                raise ValueError(f"{event.type} before broadcast.started")
            status: BroadcastStatus = "live"
            source, reason = state.broadcast.source, None
            match data:
                case BroadcastResumed():
                    source = data.source
                case BroadcastInterrupted():
                    status, reason = "interrupted", data.reason
                case BroadcastStopped():
                    status = "stopped"
            state.broadcast = replace(state.broadcast, status=status, source=source, reason=reason)
        case _:
            raise ValueError(f"unknown session event type: {event.type!r}")
    state.seq = event.seq
    return state


def _signed(state: SessionState, vote: Vote, deputy: str, sign_count: int | None, credential: str | None) -> None:
    """A signed ballot of ``deputy`` (open, sealed or encrypted): its next nonce, its device's sign count."""
    if sign_count is None or credential is None:
        raise ValueError("a signed ballot without its sign count or device")
    vote.signed[deputy] = vote.signed.get(deputy, 0) + 1
    state.sign_counts[credential] = sign_count


def _commission(state: SessionState) -> Commission:
    if state.commission is None:
        raise ValueError("a commission event before commission.elected")
    return state.commission


def _still_open(state: SessionState, vote_id: str) -> Vote:
    vote = state.votes[vote_id]
    if vote.status != "open":
        raise ValueError(f"vote {vote_id!r} is {vote.status}; finished votes are final")
    return vote
