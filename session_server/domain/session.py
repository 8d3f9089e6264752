"""The plenary session aggregate: `decide` checks commands, `evolve` folds events into state.

Session stream events and payloads (all values JSON):

- `session.scheduled {session, council, number, convocation, date, title, agenda: [{id, number,
  title, draft}]}` — the first event; `session.opened {}`; `session.closed {}`.
- `registration.opened {}`, `registration.closed {}`, `presence.registered {deputy}`,
  `presence.left {deputy}` (also drops the member from the speaker queue).
- `item.started {item}`, `item.finished {item}`.
- `speaker.requested {deputy}`, `speaker.granted {deputy, seconds, until}`, `speaker.finished {deputy}`.
- `conflict.declared {deputy, item, reason}` (art. 59-1: shown on the display, goes into the minutes).
- `vote.opened {vote, item, subject, rule, seconds, closes_at}` (ids "v1", "v2"… in order of
  opening), `ballot.cast {vote, deputy, choice}` (a later ballot replaces an earlier one),
  `vote.closed {vote, tally, roll_call: {member: roll-call value}}`, `vote.cancelled {vote, reason}`.

Times are RFC 3339 UTC strings (`events.format_time`). "deputy" fields hold council member ids,
the mayor's included.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from session_server.domain.commands import (
    BallotCast,
    ConflictDeclare,
    ItemFinish,
    ItemStart,
    PresenceLeave,
    PresenceRegister,
    RegistrationClose,
    RegistrationOpen,
    SessionClose,
    SessionCommand,
    SessionOpen,
    SessionSchedule,
    SpeakerFinish,
    SpeakerGrant,
    SpeakerRequest,
    VoteCancel,
    VoteClose,
    VoteOpen,
)
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import NewEvent, Recorded, format_time, parse_time
from session_server.domain.roles import Context, authorize
from voting.rules import Rule, has_quorum
from voting.tally import Choice, RollCall, Tally, count

__all__ = [
    "AgendaItem",
    "Conflict",
    "SessionState",
    "Speech",
    "Vote",
    "decide",
    "evolve",
    "quorum",
    "to_public",
]

SessionStatus = Literal["scheduled", "open", "closed"]
ItemStatus = Literal["pending", "in_progress", "done"]
VoteStatus = Literal["open", "closed", "cancelled"]


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
    status: VoteStatus = "open"
    ballots: dict[str, Choice] = field(default_factory=dict)
    tally: Tally | None = None
    roll_call: dict[str, RollCall] | None = None
    reason: str | None = None

    def copy(self) -> Vote:
        """An independent copy."""
        roll_call = None if self.roll_call is None else dict(self.roll_call)
        return replace(self, ballots=dict(self.ballots), roll_call=roll_call)


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
        )

    @property
    def open_vote(self) -> Vote | None:
        """The vote now open, if any (at most one is)."""
        return next((v for v in reversed(self.votes.values()) if v.status == "open"), None)


# --- rules shared by decide and to_public ---------------------------------------------------------


def _registered_deputies(state: SessionState, council: CouncilState, *, without_conflict_on: str | None = None) -> int:
    """Registered members who are deputies (not the mayor), optionally without a conflict on an item."""
    mayor = council.mayor
    conflicted = {c.deputy for c in state.conflicts if c.item == without_conflict_on}
    return sum(1 for m in state.registered if m != mayor and m not in conflicted)


def quorum(state: SessionState, council: CouncilState) -> bool:
    """Whether the meeting is competent now (art. 46: more than half of the statutory composition
    of deputies registered; the mayor is not a deputy and does not count)."""
    return has_quorum(_registered_deputies(state, council), council.composition)


def _require_open(state: SessionState) -> None:
    if state.status == "closed":
        raise DomainError("session_closed", f"session {state.id!r} is closed")
    if state.status != "open":
        raise DomainError("session_not_open", f"session {state.id!r} is not open")


def _item(state: SessionState, item_id: str) -> AgendaItem:
    item = state.agenda.get(item_id)
    if item is None:
        raise DomainError("unknown_item", f"item {item_id!r} is not on the agenda")
    return item


def _open_vote_to_finish(state: SessionState, vote_id: str) -> Vote:
    vote = state.votes.get(vote_id)
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {vote_id!r} in this session")
    if vote.status == "closed":
        raise DomainError("vote_closed", f"vote {vote_id!r} is closed")
    if vote.status != "open":
        raise DomainError("vote_not_open", f"vote {vote_id!r} was cancelled")
    return vote


def _declared(state: SessionState, member: str, item: str) -> bool:
    return any(c.deputy == member and c.item == item for c in state.conflicts)


# --- decide ----------------------------------------------------------------------------------------


def decide(state: SessionState | None, council: CouncilState, command: SessionCommand, ctx: Context) -> list[NewEvent]:
    """Check `command` against the session and council rules; return the events it causes.

    Pure: never mutates `state` or `council`. The caller's permission is checked first
    (`roles.authorize`), then the session's status, then the command's own rules.
    Raises DomainError with a code from `errors.CODES`.
    """
    member = authorize(ctx, command.type, council.deputies)
    if isinstance(command, SessionSchedule):
        if state is not None:
            raise DomainError("session_exists", f"session {state.id!r} already exists")
        return _schedule(command, council)
    if state is None:
        raise DomainError("session_not_found", "the session has not been scheduled")
    if state.council != council.id:
        raise ValueError(f"session {state.id!r} belongs to council {state.council!r}, not {council.id!r}")
    if isinstance(command, SessionOpen):
        if state.status == "closed":
            raise DomainError("session_closed", f"session {state.id!r} is closed")
        if state.status != "scheduled":
            raise DomainError("session_not_scheduled", f"session {state.id!r} is already open")
        return [NewEvent("session.opened", {})]
    _require_open(state)
    match command:
        case SessionClose():
            if state.open_vote is not None:
                raise DomainError("vote_open", "close the open vote first")
            return [NewEvent("session.closed", {})]
        case RegistrationOpen():
            if state.registration_open:
                raise DomainError("registration_open", "registration is already open")
            return [NewEvent("registration.opened", {})]
        case RegistrationClose():
            if not state.registration_open:
                raise DomainError("registration_closed", "registration is not open")
            return [NewEvent("registration.closed", {})]
        case ItemStart():
            return _item_start(state, command)
        case ItemFinish():
            return _item_finish(state, command)
        case SpeakerGrant():
            return _speaker_grant(state, council, command, ctx)
        case SpeakerFinish():
            if state.speaker is None:
                raise DomainError("no_speaker", "nobody holds the floor")
            return [NewEvent("speaker.finished", {"deputy": state.speaker.deputy})]
        case VoteOpen():
            return _vote_open(state, council, command, ctx)
        case VoteClose():
            return _vote_close(state, council, command)
        case VoteCancel():
            vote = _open_vote_to_finish(state, command.vote)
            return [NewEvent("vote.cancelled", {"vote": vote.id, "reason": command.reason})]
    if member is None:  # authorize returns the member for every member command
        raise DomainError("not_a_deputy", "a member command needs a council member")
    match command:
        case PresenceRegister():
            if not state.registration_open:
                raise DomainError("registration_closed", "registration is closed")
            if member in state.registered:
                raise DomainError("already_registered", f"{member!r} is already registered")
            return [NewEvent("presence.registered", {"deputy": member})]
        case PresenceLeave():
            if member not in state.registered:
                raise DomainError("not_registered", f"{member!r} is not registered")
            return [NewEvent("presence.left", {"deputy": member})]
        case SpeakerRequest():
            if member not in state.registered:
                raise DomainError("not_registered", f"{member!r} is not registered")
            if member in state.speaker_queue or (state.speaker is not None and state.speaker.deputy == member):
                raise DomainError("already_in_queue", f"{member!r} already asked for the floor")
            return [NewEvent("speaker.requested", {"deputy": member})]
        case ConflictDeclare():
            return _conflict_declare(state, member, command)
        case BallotCast():
            return _ballot_cast(state, council, member, command, ctx)
    raise DomainError("invalid_command", f"not a session command: {command.type!r}")


def _schedule(command: SessionSchedule, council: CouncilState) -> list[NewEvent]:
    agenda: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(command.agenda, start=1):
        item_id = item.id or f"i{position}"
        if item_id in seen:
            raise DomainError("invalid_command", f"agenda item id {item_id!r} appears twice")
        seen.add(item_id)
        agenda.append({"id": item_id, "number": item.number, "title": item.title, "draft": item.draft})
    payload = {
        "session": command.target_session_id,
        "council": council.id,
        "number": command.number,
        "convocation": command.convocation,
        "date": command.date,
        "title": command.title,
        "agenda": agenda,
    }
    return [NewEvent("session.scheduled", payload)]


def _item_start(state: SessionState, command: ItemStart) -> list[NewEvent]:
    item = _item(state, command.item)
    if state.current_item is not None:
        raise DomainError("item_in_progress", f"item {state.current_item!r} is in progress")
    if item.status != "pending":
        raise DomainError("item_not_pending", f"item {item.id!r} was already taken up")
    return [NewEvent("item.started", {"item": item.id})]


def _item_finish(state: SessionState, command: ItemFinish) -> list[NewEvent]:
    item = _item(state, command.item)
    if state.current_item != item.id:
        raise DomainError("item_not_current", f"item {item.id!r} is not the current item")
    vote = state.open_vote
    if vote is not None and vote.item == item.id:
        raise DomainError("vote_open", f"vote {vote.id!r} on this item is open")
    return [NewEvent("item.finished", {"item": item.id})]


def _speaker_grant(state: SessionState, council: CouncilState, command: SpeakerGrant, ctx: Context) -> list[NewEvent]:
    if command.deputy not in council.deputies:
        raise DomainError("unknown_deputy", f"{command.deputy!r} is not a member of the council")
    if state.speaker is not None:
        raise DomainError("speaker_active", f"{state.speaker.deputy!r} holds the floor")
    until = format_time(ctx.at + timedelta(seconds=command.seconds))
    return [NewEvent("speaker.granted", {"deputy": command.deputy, "seconds": command.seconds, "until": until})]


def _conflict_declare(state: SessionState, member: str, command: ConflictDeclare) -> list[NewEvent]:
    item = _item(state, command.item)
    if _declared(state, member, item.id):
        raise DomainError("conflict_already_declared", f"{member!r} already declared a conflict on {item.id!r}")
    vote = state.open_vote
    # Art. 59-1: a conflicted deputy does not vote; declaring after voting would not undo the ballot.
    if vote is not None and vote.item == item.id and member in vote.ballots:
        raise DomainError("already_voted", f"{member!r} already voted in {vote.id!r}")
    return [NewEvent("conflict.declared", {"deputy": member, "item": item.id, "reason": command.reason})]


def _vote_open(state: SessionState, council: CouncilState, command: VoteOpen, ctx: Context) -> list[NewEvent]:
    # Art. 59 part 2: the threshold is chosen per vote from the council's list.
    if command.rule not in council.rules:
        raise DomainError("unknown_rule", f"the council does not vote by {command.rule.value!r}")
    item = _item(state, command.item)
    if state.current_item != item.id:
        raise DomainError("item_not_current", f"item {item.id!r} is not the current item")
    if state.open_vote is not None:
        raise DomainError("vote_already_open", f"vote {state.open_vote.id!r} is open")
    # Art. 46: a meeting without quorum is not competent to decide.
    if not quorum(state, council):
        raise DomainError("no_quorum", "more than half of the statutory composition must be registered")
    payload = {
        "vote": f"v{len(state.votes) + 1}",
        "item": item.id,
        "subject": command.subject,
        "rule": command.rule.value,
        "seconds": command.seconds,
        "closes_at": format_time(ctx.at + timedelta(seconds=command.seconds)),
    }
    return [NewEvent("vote.opened", payload)]


def _ballot_cast(
    state: SessionState, council: CouncilState, member: str, command: BallotCast, ctx: Context
) -> list[NewEvent]:
    vote = state.votes.get(command.vote)
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {command.vote!r} in this session")
    if vote.status == "cancelled":
        raise DomainError("vote_not_open", f"vote {vote.id!r} was cancelled")
    if vote.status == "closed" or ctx.at > parse_time(vote.closes_at):
        raise DomainError("vote_closed", f"vote {vote.id!r} is closed")
    if member not in state.registered:
        raise DomainError("not_registered", f"{member!r} is not registered")
    # Art. 59-1: a deputy with a declared conflict does not vote, unless without the conflicted
    # deputies the meeting would lose its quorum; then they vote, having declared it publicly.
    if _declared(state, member, vote.item) and has_quorum(
        _registered_deputies(state, council, without_conflict_on=vote.item), council.composition
    ):
        raise DomainError("conflict_declared", f"{member!r} declared a conflict on {vote.item!r}")
    if member in vote.ballots and council.first_ballot_final:
        raise DomainError("ballot_final", "this council does not allow changing a ballot")
    return [NewEvent("ballot.cast", {"vote": vote.id, "deputy": member, "choice": command.choice.value})]


def _vote_close(state: SessionState, council: CouncilState, command: VoteClose) -> list[NewEvent]:
    vote = _open_vote_to_finish(state, command.vote)
    tally, roll_call = count(
        members=council.deputies.keys(),
        mayor=council.mayor,
        registered=state.registered.keys(),
        ballots=vote.ballots,
        rule=vote.rule,
        composition=council.composition,
    )
    # Art. 59 part 3: roll-call results per deputy are public.
    payload = {
        "vote": vote.id,
        "tally": tally.as_dict(),
        "roll_call": {m: line.value for m, line in roll_call.items()},
    }
    return [NewEvent("vote.closed", payload)]


# --- evolve ----------------------------------------------------------------------------------------


def evolve(state: SessionState | None, event: Recorded) -> SessionState:
    """Apply one session event and return the state.

    Creates the state on `session.scheduled`; otherwise MUTATES `state` in place and returns it
    (apply a batch to `state.clone()` to keep the original). Raises ValueError for an unknown event
    type, an event before `session.scheduled`, or a change to a vote that is no longer open.
    """
    p = event.payload
    if event.type == "session.scheduled":
        if state is not None:
            raise ValueError("session.scheduled on an existing session")
        agenda = {
            i["id"]: AgendaItem(id=i["id"], number=i["number"], title=i["title"], draft=i["draft"]) for i in p["agenda"]
        }
        return SessionState(
            id=p["session"],
            council=p["council"],
            number=p["number"],
            convocation=p["convocation"],
            date=p["date"],
            title=p["title"],
            agenda=agenda,
            seq=event.seq,
        )
    if state is None:
        raise ValueError(f"{event.type} before session.scheduled")
    match event.type:
        case "session.opened":
            state.status = "open"
        case "session.closed":
            state.status = "closed"
            state.registration_open = False
        case "registration.opened":
            state.registration_open = True
        case "registration.closed":
            state.registration_open = False
        case "presence.registered":
            state.registered[p["deputy"]] = None
        case "presence.left":
            state.registered.pop(p["deputy"], None)
            if p["deputy"] in state.speaker_queue:
                state.speaker_queue.remove(p["deputy"])
        case "item.started":
            state.agenda[p["item"]] = replace(state.agenda[p["item"]], status="in_progress")
            state.current_item = p["item"]
        case "item.finished":
            state.agenda[p["item"]] = replace(state.agenda[p["item"]], status="done")
            state.current_item = None
        case "speaker.requested":
            state.speaker_queue.append(p["deputy"])
        case "speaker.granted":
            if p["deputy"] in state.speaker_queue:
                state.speaker_queue.remove(p["deputy"])
            state.speaker = Speech(deputy=p["deputy"], seconds=p["seconds"], until=p["until"])
        case "speaker.finished":
            state.speaker = None
        case "conflict.declared":
            state.conflicts.append(Conflict(deputy=p["deputy"], item=p["item"], reason=p["reason"]))
        case "vote.opened":
            state.votes[p["vote"]] = Vote(
                id=p["vote"],
                item=p["item"],
                subject=p["subject"],
                rule=Rule(p["rule"]),
                seconds=p["seconds"],
                opened_at=event.at,
                closes_at=p["closes_at"],
            )
        case "ballot.cast":
            _still_open(state, p["vote"]).ballots[p["deputy"]] = Choice(p["choice"])
        case "vote.closed":
            vote = _still_open(state, p["vote"])
            vote.status = "closed"
            vote.tally = Tally.from_dict(p["tally"])
            vote.roll_call = {m: RollCall(line) for m, line in p["roll_call"].items()}
        case "vote.cancelled":
            vote = _still_open(state, p["vote"])
            vote.status = "cancelled"
            vote.reason = p["reason"]
        case _:
            raise ValueError(f"unknown session event type: {event.type!r}")
    state.seq = event.seq
    return state


def _still_open(state: SessionState, vote_id: str) -> Vote:
    vote = state.votes[vote_id]
    if vote.status != "open":
        raise ValueError(f"vote {vote_id!r} is {vote.status}; finished votes are final")
    return vote


# --- public view -----------------------------------------------------------------------------------


def to_public(state: SessionState, council: CouncilState) -> dict[str, Any]:
    """The JSON-ready state everyone may see.

    While a vote is open only the number of ballots (`voted`) is shown, never the choices; the
    tally and the roll call appear once it is closed (art. 59 part 3).
    """
    speaker = state.speaker
    return {
        "id": state.id,
        "council": state.council,
        "number": state.number,
        "convocation": state.convocation,
        "date": state.date,
        "title": state.title,
        "status": state.status,
        "registration_open": state.registration_open,
        "registered": list(state.registered),
        "quorum": quorum(state, council),
        "agenda": [
            {"id": i.id, "number": i.number, "title": i.title, "draft": i.draft, "status": i.status}
            for i in state.agenda.values()
        ],
        "current_item": state.current_item,
        "speakers": {
            "queue": list(state.speaker_queue),
            "current": None
            if speaker is None
            else {"deputy": speaker.deputy, "seconds": speaker.seconds, "until": speaker.until},
        },
        "conflicts": [{"deputy": c.deputy, "item": c.item, "reason": c.reason} for c in state.conflicts],
        "votes": [_public_vote(v) for v in state.votes.values()],
    }


def _public_vote(vote: Vote) -> dict[str, Any]:
    closed = vote.status == "closed"
    return {
        "id": vote.id,
        "item": vote.item,
        "subject": vote.subject,
        "rule": vote.rule.value,
        "seconds": vote.seconds,
        "opened_at": vote.opened_at,
        "closes_at": vote.closes_at,
        "status": vote.status,
        "voted": len(vote.ballots),
        "tally": vote.tally.as_dict() if closed and vote.tally is not None else None,
        "roll_call": {m: line.value for m, line in vote.roll_call.items()}
        if closed and vote.roll_call is not None
        else None,
        "reason": vote.reason,
    }
