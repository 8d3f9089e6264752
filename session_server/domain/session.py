"""The plenary session's rules: `decide` checks a command against the state and returns events.

The state, `evolve` and the public view live in `session_state`; they are re-exported here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from session_server.domain import session_events as happened
from session_server.domain.commands import (
    BallotCast,
    BroadcastInterrupt,
    BroadcastStart,
    BroadcastStop,
    ConflictDeclare,
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
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, format_time, parse_time
from session_server.domain.roles import Context, authorize
from session_server.domain.session_state import (
    COUNTING,
    AgendaItem,
    Conflict,
    SessionState,
    Speech,
    Vote,
    evolve,
    quorum,
    registered_deputies,
    to_public,
)
from voting.ballot import Assertion, BallotRefused, b64url, ballot_bytes, check_sign_count, nonce_for
from voting.rules import has_quorum
from voting.tally import Outcome, count

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


def decide(state: SessionState | None, council: CouncilState, command: SessionCommand, ctx: Context) -> list[Event]:
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
    _require_open(state)
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
            return _speaker_grant(state, council, command, ctx)
        case SpeakerFinish():
            if state.speaker is None:
                raise DomainError("no_speaker", "nobody holds the floor")
            return [happened.SpeakerFinished(deputy=state.speaker.deputy)]
        case VoteOpen():
            return _vote_open(state, council, command, ctx)
        case VoteClose():
            return _vote_close(state, council, command)
        case VoteCancel():
            vote = _open_vote_to_finish(state, command.vote)
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
            if member not in state.registered:
                raise DomainError("not_registered", f"{member!r} is not registered")
            if member in state.speaker_queue or (state.speaker is not None and state.speaker.deputy == member):
                raise DomainError("already_in_queue", f"{member!r} already asked for the floor")
            return [happened.SpeakerRequested(deputy=member)]
        case ConflictDeclare():
            return _conflict_declare(state, member, command)
        case BallotCast():
            return _ballot_cast(state, council, member, command, ctx)
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
    )
    return [scheduled]


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
            _number_free(state, command.number)
            position = min(command.position or len(state.agenda) + 1, len(state.agenda) + 1)
            added = happened.ItemAdded(
                item=item_id, number=command.number, title=command.title, draft=command.draft, position=position
            )
            return [added]
        case ItemUpdate():
            _item(state, command.item)
            changes = command.model_dump(include={"number", "title", "draft"}, exclude_unset=True)
            if "number" in changes:
                _number_free(state, changes["number"], but=command.item)
            if not changes:
                raise DomainError("invalid_command", "item.update changes nothing")
            return [happened.ItemUpdated(item=command.item, **changes)]
        case ItemRemove():
            _item(state, command.item)
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
    item = _item(state, command.item)
    if state.current_item is not None:
        raise DomainError("item_in_progress", f"item {state.current_item!r} is in progress")
    if item.status != "pending":
        raise DomainError("item_not_pending", f"item {item.id!r} was already taken up")
    return [happened.ItemStarted(item=item.id)]


def _item_finish(state: SessionState, command: ItemFinish) -> list[Event]:
    item = _item(state, command.item)
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
    item = _item(state, command.item)
    if _declared(state, member, item.id):
        raise DomainError("conflict_already_declared", f"{member!r} already declared a conflict on {item.id!r}")
    vote = state.open_vote
    # Art. 59-1: a conflicted deputy does not vote; declaring after voting would not undo the ballot.
    if vote is not None and vote.item == item.id and member in vote.ballots:
        raise DomainError("already_voted", f"{member!r} already voted in {vote.id!r}")
    return [happened.ConflictDeclared(deputy=member, item=item.id, reason=command.reason)]


def _vote_open(state: SessionState, council: CouncilState, command: VoteOpen, ctx: Context) -> list[Event]:
    if command.secret:
        # Art. 59 allows secret ballots for some questions, but a secret ballot needs cryptography that
        # keeps the choice from the server too; until Kvorum has it, it refuses rather than pretends.
        raise DomainError(
            "secret_ballot_unsupported", "secret ballots are not supported yet: the server would see every choice"
        )
    # Art. 59 part 2: the threshold is chosen per vote from the council's list.
    if command.rule not in council.rules:
        raise DomainError("unknown_rule", f"the council does not vote by {command.rule.value!r}")
    purpose: str | None = None
    proposal: dict[str, Any] | None = None
    if command.purpose == "agenda_add":
        # Including an item in an open sitting's agenda is the council's procedural decision.
        if command.proposal is None or command.item is not None:
            raise DomainError("invalid_command", "an agenda_add vote names a proposal and no item")
        if state.current_item is not None:
            # The council changes its agenda between items, not in the middle of one.
            item = state.agenda[state.current_item]
            raise DomainError("item_in_progress", f"item {item.number} is in progress: finish it first")
        _number_free(state, command.proposal.number)
        if council.procedural_rule is not None and command.rule != council.procedural_rule:
            raise DomainError(
                "procedural_rule_required", f"the council's rules set {council.procedural_rule.value!r} for it"
            )
        if len(state.agenda) >= 200:
            raise DomainError("invalid_command", "an agenda holds at most 200 items")
        item_id = _free_item_id(state)
        purpose, proposal = command.purpose, command.proposal.model_dump()
    else:
        if command.item is None or command.proposal is not None:
            raise DomainError("invalid_command", "a vote names the item under consideration")
        item_id = _item(state, command.item).id
        if state.current_item != item_id:
            raise DomainError("item_not_current", f"item {item_id!r} is not the current item")
    if state.open_vote is not None:
        raise DomainError("vote_already_open", f"vote {state.open_vote.id!r} is open")
    # Art. 46: a meeting without quorum is not competent to decide.
    if not quorum(state, council):
        raise DomainError("no_quorum", "more than half of the statutory composition must be registered")
    if len(ctx.entropy) < 16:
        raise ValueError("vote.open needs at least 16 bytes of Context.entropy for the nonce seed")
    opened = happened.VoteOpened(
        vote=f"v{len(state.votes) + 1}",
        item=item_id,
        subject=command.subject,
        rule=command.rule.value,
        seconds=command.seconds,
        closes_at=format_time(ctx.at + timedelta(seconds=command.seconds)),
        # Published only now, so no ballot can be signed before the vote opens (voting.ballot).
        nonce_seed=b64url(ctx.entropy[:16]),
        purpose=purpose,
        proposal=proposal,
    )
    return [opened]


def _number_free(state: SessionState, number: str, *, but: str | None = None) -> None:
    """Refuse an agenda number another item already has (``item_number_taken``)."""
    taken = next((i for i in state.agenda.values() if i.number == number and i.id != but), None)
    if taken is not None:
        raise DomainError("item_number_taken", f"item {taken.id!r} is already numbered {number!r}")


def _free_item_id(state: SessionState) -> str:
    """The id the next agenda item gets: "i<n>", the first not taken."""
    return next(f"i{n}" for n in range(len(state.agenda) + 1, 10_000) if f"i{n}" not in state.agenda)


def _ballot_cast(
    state: SessionState, council: CouncilState, member: str, command: BallotCast, ctx: Context
) -> list[Event]:
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
        registered_deputies(state, council, without_conflict_on=vote.item), council.composition
    ):
        raise DomainError("conflict_declared", f"{member!r} declared a conflict on {vote.item!r}")
    if member in vote.ballots and council.first_ballot_final:
        raise DomainError("ballot_final", "this council does not allow changing a ballot")
    if council.signed_ballots or command.assertion is not None:
        nonce, sign_count, assertion = _signed_ballot(state, council, member, vote, command, ctx)
        return [
            happened.Ballot(
                vote=vote.id,
                deputy=member,
                choice=command.choice.value,
                nonce=nonce,
                sign_count=sign_count,
                assertion=assertion,
            )
        ]
    return [happened.Ballot(vote=vote.id, deputy=member, choice=command.choice.value)]


def _signed_ballot(
    state: SessionState, council: CouncilState, member: str, vote: Vote, command: BallotCast, ctx: Context
) -> tuple[str, int, dict[str, Any]]:
    """Check a WebAuthn-signed ballot; return what `ballot.cast` records so anyone can re-check it:
    the nonce, the authenticator's sign count and the assertion."""
    if command.assertion is None or command.nonce is None:
        raise DomainError("signature_required", "this council counts only ballots signed on the deputy's device")
    try:
        assertion = Assertion.from_json(command.assertion)
    except BallotRefused as exc:
        raise DomainError(exc.code, exc.message) from None
    credential = council.credentials.get(assertion.credential)
    if credential is None:
        raise DomainError("unknown_credential", "the ballot is signed with a credential that is not enrolled")
    if credential.deputy != member:
        raise DomainError("credential_not_yours", "the ballot is signed with another deputy's credential")
    if credential.revoked:
        raise DomainError("credential_revoked", "the ballot is signed with a revoked credential")
    index = vote.signed.get(member, 0)
    if command.nonce != nonce_for(vote.nonce_seed, member, index):
        used = any(command.nonce == nonce_for(vote.nonce_seed, member, k) for k in range(index))
        if used:
            raise DomainError("nonce_used", "this ballot's nonce was already used (a replayed ballot?)")
        raise DomainError("nonce_invalid", f"the nonce is not {member!r}'s for vote {vote.id!r}")
    ballot = {
        "council": council.id,
        "session": state.id,
        "vote": vote.id,
        "item": vote.item,
        "deputy": member,
        "choice": command.choice.value,
        "nonce": command.nonce,
    }
    try:
        sign_count = ctx.check_assertion(ballot_bytes(**ballot), assertion, credential, council.rp_id, council.origins)
        check_sign_count(sign_count, state.sign_counts.get(credential.id, credential.sign_count))
    except BallotRefused as exc:
        raise DomainError(exc.code, exc.message) from None
    return command.nonce, sign_count, assertion.to_json()


def _vote_close(state: SessionState, council: CouncilState, command: VoteClose) -> list[Event]:
    vote = _open_vote_to_finish(state, command.vote)
    tally, roll_call = count(
        members=council.deputies.keys(),
        mayor=council.mayor,
        registered=state.registered.keys(),
        ballots=vote.ballots,
        rule=vote.rule,
        composition=council.composition,
        mayor_only_when_taking_part=state.counting >= 2,
    )
    # Art. 59 part 3: roll-call results per deputy are public.
    closed: list[Event] = [
        happened.VoteClosed(
            vote=vote.id, tally=tally.as_dict(), roll_call={m: line.value for m, line in roll_call.items()}
        )
    ]
    if vote.purpose == "agenda_add" and vote.proposal is not None and tally.outcome is Outcome.ADOPTED:
        # The council decided to include it: the item joins the agenda, last, with the id the vote named.
        closed.append(happened.ItemAdded(item=vote.item, **vote.proposal, position=len(state.agenda) + 1))
    return closed


# --- evolve ----------------------------------------------------------------------------------------
