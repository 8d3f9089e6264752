"""The plenary session's rules: `decide` checks a command against the state and returns events.

The state, `evolve` and the public view live in `session_state`; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from session_server.domain import secret_votes, votes
from session_server.domain import session_events as happened
from session_server.domain.commands import (
    BallotCast,
    BroadcastInterrupt,
    BroadcastStart,
    BroadcastStop,
    CommissionCommit,
    CommissionComplain,
    CommissionDeal,
    CommissionElect,
    CommissionReady,
    ConflictDeclare,
    DecryptionShare,
    ItemAdd,
    ItemFinish,
    ItemRemove,
    ItemStart,
    ItemUpdate,
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
from session_server.domain.commission import vote_context
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, format_time
from session_server.domain.roles import STEERING_COMMANDS, Context, Role, authorize
from session_server.domain.session_checks import (
    declared,
    item_of,
    number_free,
    open_vote_to_finish,
    require_open,
)
from session_server.domain.session_state import (
    COUNTING,
    AgendaItem,
    Conflict,
    SessionState,
    Speech,
    Vote,
    evolve,
    quorum,
)
from session_server.domain.session_view import to_public
from voting.amendments import Amendment

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


# --- decide ----------------------------------------------------------------------------------------


def decide(
    state: SessionState | None,
    council: CouncilState,
    command: SessionCommand,
    ctx: Context,
    openings: Mapping[int, Mapping[str, Any]] | None = None,
    amendments: Mapping[str, Amendment] | None = None,
) -> list[Event]:
    """Check `command` against the session and council rules; return the events it causes.

    `openings` are the kept openings of the open vote's sealed ballots (for its close); `amendments` the
    current item's draft's amendments by id (for an amendment vote), None where it has none.

    Pure: never mutates `state` or `council`. The caller's permission is checked first
    (`roles.authorize`), then the session's status, then the command's own rules.
    Raises DomainError with a code from `errors.CODES`.
    """
    if state is not None and state.committee is not None:
        ctx = _committee_officer(ctx, council, state.committee, command.type)
    member = authorize(ctx, command.type, council.deputies)
    if isinstance(command, SessionSchedule):
        if state is not None:
            raise DomainError("session_exists", f"session {state.id!r} already exists")
        if command.committee is not None:
            council.body(command.committee)  # refuses a committee the council does not have
        return _schedule(command, council)
    if state is None:
        raise DomainError("session_not_found", "the session has not been scheduled")
    if state.council != council.id:
        raise ValueError(f"session {state.id!r} belongs to council {state.council!r}, not {council.id!r}")
    # A committee's sitting is the committee's: its composition and members count (art. 47); anyone of the
    # council may attend and take the floor, only its members register and vote.
    roster, council = council, council.body(state.committee)
    if member is not None and member not in council.deputies and not isinstance(command, SpeakerRequest):
        raise DomainError("not_a_committee_member", f"{member!r} is not a member of the committee")
    if isinstance(command, ItemAdd | ItemUpdate | ItemRemove):
        return _edit_agenda(state, command)
    if isinstance(command, BroadcastStart | BroadcastInterrupt | BroadcastStop):
        return _broadcast(state, command)
    if isinstance(command, SessionOpen):
        if state.status == "closed":
            raise DomainError("session_closed", f"session {state.id!r} is closed")
        if state.status != "scheduled":
            raise DomainError("session_not_scheduled", f"session {state.id!r} is already open")
        return [happened.SessionOpened()]
    require_open(state)
    match command:
        case SessionClose():
            if state.open_vote is not None:
                raise DomainError("vote_open", "close the open vote first")
            if state.current_item is not None:
                # An item left "in progress" would stay so in the record for ever: finish it first.
                item = state.agenda[state.current_item]
                raise DomainError("item_in_progress", f"item {item.number} is in progress: finish it first")
            return [happened.SessionClosed()]
        case RegistrationOpen():
            if state.registration_open:
                raise DomainError("registration_open", "registration is already open")
            return [happened.RegistrationOpened()]
        case RegistrationClose():
            if not state.registration_open:
                raise DomainError("registration_closed", "registration is not open")
            return [happened.RegistrationClosed()]
        case ItemStart():
            return _item_start(state, command)
        case ItemFinish():
            return _item_finish(state, command)
        case SpeakerGrant():
            return _speaker_grant(state, roster, command, ctx)
        case SpeakerFinish():
            if state.speaker is None:
                raise DomainError("no_speaker", "nobody holds the floor")
            return [happened.SpeakerFinished(deputy=state.speaker.deputy)]
        case VoteOpen():
            return votes.vote_open(state, council, command, ctx, amendments)
        case VoteClose():
            return votes.vote_close(state, council, command, openings)
        case CommissionElect():
            return secret_votes.commission_elect(state, council, command)
        case VoteCancel():
            vote = open_vote_to_finish(state, command.vote)
            return [happened.VoteCancelled(vote=vote.id, reason=command.reason)]
    if member is None:  # authorize returns the member for every member command
        raise DomainError("not_a_deputy", "a member command needs a council member")
    match command:
        case PresenceRegister():
            if not state.registration_open:
                raise DomainError("registration_closed", "registration is closed")
            if member in state.registered:
                raise DomainError("already_registered", f"{member!r} is already registered")
            return [happened.PresenceRegistered(deputy=member)]
        case PresenceLeave():
            if member not in state.registered:
                raise DomainError("not_registered", f"{member!r} is not registered")
            return [happened.PresenceLeft(deputy=member)]
        case SpeakerRequest():
            if member not in state.registered and member in council.deputies:  # a committee's guest need not
                raise DomainError("not_registered", f"{member!r} is not registered")
            if member in state.speaker_queue or (state.speaker is not None and state.speaker.deputy == member):
                raise DomainError("already_in_queue", f"{member!r} already asked for the floor")
            return [happened.SpeakerRequested(deputy=member)]
        case ConflictDeclare():
            return _conflict_declare(state, member, command)
        case BallotCast():
            return votes.ballot_cast(state, council, member, command, ctx)
        case CommissionCommit() | CommissionDeal() | CommissionReady() | CommissionComplain():
            return secret_votes.commission_step(state, council, member, command)
        case DecryptionShare():
            context = vote_context(council.id, state.id, command.vote)
            return secret_votes.decryption_share(state, council, member, command, context)
    raise DomainError("invalid_command", f"not a session command: {command.type!r}")


def _schedule(command: SessionSchedule, council: CouncilState) -> list[Event]:
    agenda: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(command.agenda, start=1):
        item_id = item.id or f"i{position}"
        if item_id in seen:
            raise DomainError("invalid_command", f"agenda item id {item_id!r} appears twice")
        if any(i["number"] == item.number for i in agenda):
            raise DomainError("item_number_taken", f"two agenda items are numbered {item.number!r}")
        seen.add(item_id)
        agenda.append({"id": item_id, "number": item.number, "title": item.title, "draft": item.draft})
    scheduled = happened.SessionScheduled(
        session=command.target_session_id,
        council=council.id,
        number=command.number,
        convocation=command.convocation,
        date=command.date,
        title=command.title,
        agenda=agenda,
        # How votes are counted in this session (see `SessionState.counting`); sessions scheduled
        # before this field existed count by rule 1, so their ledgers recount as they were closed.
        counting=COUNTING,
        committee=command.committee,
    )
    return [scheduled]


def _committee_officer(ctx: Context, council: CouncilState, committee: str, command_type: str) -> Context:
    """In a committee's sitting its chair (or, standing in, its deputy chair) steers it as the chair does:
    for a steering command, the context of a chair; otherwise ``ctx`` as it is."""
    found = council.committees.get(committee)
    member = ctx.actor.member
    if found is None or member is None or command_type not in STEERING_COMMANDS or ctx.actor.role is not Role.DEPUTY:
        return ctx
    if member not in (found.chair, found.deputy_chair):
        return ctx
    return replace(ctx, actor=replace(ctx.actor, role=Role.CHAIR))


def _edit_agenda(state: SessionState, command: ItemAdd | ItemUpdate | ItemRemove) -> list[Event]:
    if state.status != "scheduled":
        raise DomainError("agenda_locked", "the agenda can be changed only before the session opens")
    match command:
        case ItemAdd():
            item_id = command.item or next(
                f"i{n}" for n in range(len(state.agenda) + 1, 10_000) if f"i{n}" not in state.agenda
            )
            if item_id in state.agenda:
                raise DomainError("invalid_command", f"agenda item id {item_id!r} is taken")
            if len(state.agenda) >= 200:
                raise DomainError("invalid_command", "an agenda holds at most 200 items")
            number_free(state, command.number)
            position = min(command.position or len(state.agenda) + 1, len(state.agenda) + 1)
            added = happened.ItemAdded(
                item=item_id, number=command.number, title=command.title, draft=command.draft, position=position
            )
            return [added]
        case ItemUpdate():
            item_of(state, command.item)
            changes = command.model_dump(include={"number", "title", "draft"}, exclude_unset=True)
            if "number" in changes:
                number_free(state, changes["number"], but=command.item)
            if not changes:
                raise DomainError("invalid_command", "item.update changes nothing")
            return [happened.ItemUpdated(item=command.item, **changes)]
        case ItemRemove():
            item_of(state, command.item)
            return [happened.ItemRemoved(item=command.item)]


def _broadcast(state: SessionState, command: BroadcastStart | BroadcastInterrupt | BroadcastStop) -> list[Event]:
    """The broadcast may go on air before the session opens (the chamber fills up); not after it closed."""
    current = state.broadcast
    live = current is not None and current.status == "live"
    match command:
        case BroadcastStart():
            if state.status == "closed":
                raise DomainError("session_closed", f"session {state.id!r} is closed")
            if live:
                raise DomainError("broadcast_live", "the broadcast is already live")
            if current is None:
                return [happened.BroadcastStarted(source=command.source)]
            return [happened.BroadcastResumed(source=command.source)]
        case BroadcastInterrupt():
            if not live:
                raise DomainError("broadcast_not_live", "the broadcast is not live")
            return [happened.BroadcastInterrupted(reason=command.reason)]
        case BroadcastStop():
            if current is None or current.status == "stopped":
                raise DomainError("broadcast_not_live", "the broadcast is not on")
            return [happened.BroadcastStopped()]


def _item_start(state: SessionState, command: ItemStart) -> list[Event]:
    item = item_of(state, command.item)
    if state.current_item is not None:
        raise DomainError("item_in_progress", f"item {state.current_item!r} is in progress")
    if item.status != "pending":
        raise DomainError("item_not_pending", f"item {item.id!r} was already taken up")
    return [happened.ItemStarted(item=item.id)]


def _item_finish(state: SessionState, command: ItemFinish) -> list[Event]:
    item = item_of(state, command.item)
    if state.current_item != item.id:
        raise DomainError("item_not_current", f"item {item.id!r} is not the current item")
    vote = state.open_vote
    if vote is not None and vote.item == item.id:
        raise DomainError("vote_open", f"vote {vote.id!r} on this item is open")
    return [happened.ItemFinished(item=item.id)]


def _speaker_grant(state: SessionState, council: CouncilState, command: SpeakerGrant, ctx: Context) -> list[Event]:
    if command.deputy not in council.deputies:
        raise DomainError("unknown_deputy", f"{command.deputy!r} is not a member of the council")
    if state.speaker is not None:
        raise DomainError("speaker_active", f"{state.speaker.deputy!r} holds the floor")
    until = format_time(ctx.at + timedelta(seconds=command.seconds))
    return [happened.SpeakerGranted(deputy=command.deputy, seconds=command.seconds, until=until)]


def _conflict_declare(state: SessionState, member: str, command: ConflictDeclare) -> list[Event]:
    item = item_of(state, command.item)
    if declared(state, member, item.id):
        raise DomainError("conflict_already_declared", f"{member!r} already declared a conflict on {item.id!r}")
    vote = state.open_vote
    # Art. 59-1: a conflicted deputy does not vote; declaring after voting would not undo the ballot.
    if vote is not None and vote.item == item.id and vote.has_voted(member):
        raise DomainError("already_voted", f"{member!r} already voted in {vote.id!r}")
    return [happened.ConflictDeclared(deputy=member, item=item.id, reason=command.reason)]


# --- evolve ----------------------------------------------------------------------------------------
