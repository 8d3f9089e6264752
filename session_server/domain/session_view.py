"""What the screens are sent of a sitting: the public state (``to_public``) and a member's own view beside
it (``own_view``), from the folded ``SessionState``. Pure, no I/O."""

from __future__ import annotations

from typing import Any

from session_server.domain.council import CouncilState
from session_server.domain.session_state import (
    SessionState,
    Vote,
    composition,
    quorum,
)

__all__ = ["own_view", "to_public"]


def to_public(state: SessionState, council: CouncilState) -> dict[str, Any]:
    """The JSON-ready state everyone may see.

    While a vote is open only who has voted (`voters`, `voted`) is shown, never the choices; the
    tally and the roll call appear once it is closed (art. 59 part 3). A committee's sitting counts its
    committee (``committee``; ``CouncilState.body``).
    """
    council = council.body(state.committee)
    speaker = state.speaker
    return {
        "id": state.id,
        "council": state.council,
        "committee": state.committee,
        "number": state.number,
        "convocation": state.convocation,
        "date": state.date,
        "title": state.title,
        "status": state.status,
        "registration_open": state.registration_open,
        "registered": list(state.registered),
        "quorum": quorum(state, council),
        "composition": composition(state, council),
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
        "commission": None if state.commission is None else state.commission.to_public(),
        "broadcast": None
        if state.broadcast is None
        else {
            "status": state.broadcast.status,
            "source": state.broadcast.source,
            "started_at": state.broadcast.started_at,
            "reason": state.broadcast.reason,
        },
    }


def own_view(state: SessionState, member: str) -> dict[str, Any]:
    """What a member's own tablet sees beside the public state: their choices and signed-ballot counts in the
    open votes (the public state says only who voted, never how)."""
    mine = [v for v in state.votes.values() if v.status == "open" and member in v.voters]
    return {
        "member": member,
        "ballots": {v.id: choice for v in mine if (choice := _own_choice(v, member)) is not None},
        "signed": {v.id: v.signed.get(member, 0) for v in mine},
    }


def _own_choice(vote: Vote, member: str) -> str | None:
    """The member's last choice in ``vote``: as cast, or as sealed where this process knows its opening."""
    if member in vote.ballots:
        return vote.ballots[member].value
    last = vote.sealed_ballots.at(vote.sealed_voters[member]) if member in vote.sealed_voters else None
    return None if last is None or last.opening is None else str(last.opening["choice"])


def _public_vote(vote: Vote) -> dict[str, Any]:
    closed = vote.status == "closed"
    voters = vote.voters
    return {
        "id": vote.id,
        "item": vote.item,
        "subject": vote.subject,
        "rule": vote.rule.value,
        "seconds": vote.seconds,
        "opened_at": vote.opened_at,
        "closes_at": vote.closes_at,
        "nonce_seed": vote.nonce_seed,
        "status": vote.status,
        "voted": len(voters),
        "voters": voters,  # who has voted (never how, until the close)
        "tally": vote.tally.as_dict() if closed and vote.tally is not None else None,
        "roll_call": {m: line.value for m, line in vote.roll_call.items()}
        if closed and vote.roll_call is not None
        else None,
        "reason": vote.reason,
        "purpose": vote.purpose,
        "proposal": vote.proposal,
        "kind": vote.kind,
        "revote": vote.revote,
        "amendments": list(vote.amendments),
        "recommendation": vote.recommendation,
        "sealed": vote.sealed,
        # a secret ballot (issue 20): its question, the key ballots are encrypted under, and once it stops
        # taking ballots the product the commission decrypts and who of it has (all of it in the public log)
        "secret": vote.secret,
        "question": vote.question,
        "key": vote.key,
        "product": vote.product,
        "decrypted_by": sorted(vote.decryptions),
    }
