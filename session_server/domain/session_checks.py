"""Checks the rules of a sitting share (`session.decide` and `votes`): the sitting is open, an item or a
vote exists and is in the state a command needs, an agenda number is free."""

from __future__ import annotations

from session_server.domain.errors import DomainError
from session_server.domain.session_state import AgendaItem, SessionState, Vote

__all__ = ["declared", "free_item_id", "item_of", "number_free", "open_vote_to_finish", "require_open"]


def require_open(state: SessionState) -> None:
    if state.status == "closed":
        raise DomainError("session_closed", f"session {state.id!r} is closed")
    if state.status != "open":
        raise DomainError("session_not_open", f"session {state.id!r} is not open")


def item_of(state: SessionState, item_id: str) -> AgendaItem:
    item = state.agenda.get(item_id)
    if item is None:
        raise DomainError("unknown_item", f"item {item_id!r} is not on the agenda")
    return item


def open_vote_to_finish(state: SessionState, vote_id: str) -> Vote:
    vote = state.votes.get(vote_id)
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {vote_id!r} in this session")
    if vote.status == "closed":
        raise DomainError("vote_closed", f"vote {vote_id!r} is closed")
    if vote.status != "open":
        raise DomainError("vote_not_open", f"vote {vote_id!r} was cancelled")
    return vote


def declared(state: SessionState, member: str, item: str) -> bool:
    return any(c.deputy == member and c.item == item for c in state.conflicts)


def number_free(state: SessionState, number: str, *, but: str | None = None) -> None:
    """Refuse an agenda number another item already has (``item_number_taken``)."""
    taken = next((i for i in state.agenda.values() if i.number == number and i.id != but), None)
    if taken is not None:
        raise DomainError("item_number_taken", f"item {taken.id!r} is already numbered {number!r}")


def free_item_id(state: SessionState) -> str:
    """The id the next agenda item gets: "i<n>", the first not taken."""
    return next(f"i{n}" for n in range(len(state.agenda) + 1, 10_000) if f"i{n}" not in state.agenda)
