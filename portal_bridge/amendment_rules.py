"""The rules of a draft's amendments, pure: who proposes one and when, its changes checked against the
draft's numbered lines (``voting.amendments``), its withdrawal, the outcome of its vote, and the
consolidated text the adopted ones make. ``portal_bridge.documents`` decides a document's commands with
them; the amendments live in the document's own stream."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from portal_bridge.document_commands import AmendmentPropose, AmendmentRecordOutcome, AmendmentWithdraw
from portal_bridge.document_events import AmendmentDecided, AmendmentProposed, AmendmentWithdrawn
from session_server.domain.errors import DomainError
from session_server.domain.roles import Context, Role
from voting.amendments import Amendment, AmendmentError, Change, check_changes, consolidate, lines_of

__all__ = [
    "STAFF",
    "AmendmentRecord",
    "Draft",
    "amendment_of",
    "consolidated",
    "propose",
    "record_outcome",
    "withdraw",
]

STAFF = frozenset({Role.SECRETARY, Role.ADMIN})
"""Who keeps the council's documents (and enters an amendment for its author)."""


@dataclass(slots=True)
class AmendmentRecord:
    """An amendment to the draft as its stream tells it (``amendment.*`` events)."""

    id: str
    number: int
    author: dict[str, Any]
    reason: str
    changes: tuple[Change, ...]
    proposed_at: str
    status: Literal["proposed", "withdrawn", "adopted", "rejected"] = "proposed"
    vote: str | None = None
    """The vote that decided it."""
    jointly: tuple[str, ...] = ()
    """The other amendments put to that vote together with it."""

    def as_amendment(self) -> Amendment:
        """As the sitting and the conflict checks see it (``voting.amendments.Amendment``)."""
        return Amendment(self.id, self.number, self.changes, self.status)


@dataclass(frozen=True, slots=True)
class Draft:
    """What proposing an amendment depends on: where the draft stands, its text, its amendments so far."""

    status: str
    text: str
    amendments: Mapping[str, AmendmentRecord]


def amendment_of(amendments: Mapping[str, AmendmentRecord], amendment_id: str) -> AmendmentRecord:
    """The draft's amendment ``amendment_id``; DomainError("unknown_amendment") when it has none."""
    amendment = amendments.get(amendment_id)
    if amendment is None:
        raise DomainError("unknown_amendment", f"the draft has no amendment {amendment_id!r}")
    return amendment


def propose(
    command: AmendmentPropose, ctx: Context, draft: Draft, mayor: str | None, members: Collection[str]
) -> AmendmentProposed:
    """An amendment in its author's name: a deputy's (or the mayor's) own, or one the secretary enters."""
    if ctx.actor.role in STAFF:
        if command.author is None:
            raise DomainError("invalid_command", "name the amendment's author (a deputy, the mayor or a committee)")
        author = command.author.model_dump(exclude_none=True)
        if command.author.member is not None and command.author.member not in members:
            raise DomainError("unknown_deputy", f"{command.author.member!r} is not a member of the council")
    elif ctx.actor.member is not None:
        author = {"kind": "mayor"} if ctx.actor.member == mayor else {"kind": "deputy", "member": ctx.actor.member}
        if command.author is not None and command.author.model_dump(exclude_none=True) != author:
            raise DomainError("forbidden", "a deputy proposes amendments in the deputy's own name")
    else:
        raise DomainError("forbidden", "amendments are proposed by deputies, the mayor, or entered by the secretary")
    if draft.status not in ("registered", "published_draft", "scheduled"):
        raise DomainError("draft_decided", "the draft has been decided: amendments are proposed before its decision")
    if not draft.text.strip():
        raise DomainError("draft_without_text", "the draft was registered without a text to amend")
    changes = [Change.of(c.model_dump(by_alias=True)) for c in command.changes]
    try:
        check_changes(changes, len(lines_of(draft.text)))
    except AmendmentError as exc:
        raise DomainError("invalid_amendment", str(exc)) from None
    number = len(draft.amendments) + 1
    return AmendmentProposed(
        amendment=f"a{number}",
        number=number,
        author=author,
        reason=command.reason,
        changes=[c.as_json() for c in changes],
    )


def withdraw(
    amendments: Mapping[str, AmendmentRecord], command: AmendmentWithdraw, ctx: Context, mayor: str | None
) -> AmendmentWithdrawn:
    """Its author (or the secretary) withdraws an amendment not yet voted on."""
    amendment = amendment_of(amendments, command.amendment)
    author = amendment.author.get("member") or (mayor if amendment.author["kind"] == "mayor" else None)
    if ctx.actor.role not in STAFF and (author is None or ctx.actor.member != author):
        raise DomainError("forbidden", "an amendment is withdrawn by its author or the secretary")
    if amendment.status == "withdrawn":
        raise DomainError("amendment_withdrawn", f"amendment {amendment.number} was withdrawn already")
    if amendment.status != "proposed":
        raise DomainError("amendment_voted", f"amendment {amendment.number} has been voted on")
    return AmendmentWithdrawn(amendment=amendment.id)


def record_outcome(
    amendments: Mapping[str, AmendmentRecord], command: AmendmentRecordOutcome, ctx: Context
) -> AmendmentDecided:
    """The result of an amendment vote, as the server takes it from the sitting's log."""
    if ctx.actor.role is not Role.ADMIN:
        raise DomainError("forbidden", "an amendment's outcome is taken from the vote by the server")
    for amendment_id in command.amendments:
        amendment_of(amendments, amendment_id)
    return AmendmentDecided(
        session=command.session,
        vote=command.vote,
        amendments=command.amendments,
        adopted=command.outcome == "adopted",
    )


def consolidated(draft_text: str, amendments: Mapping[str, AmendmentRecord], adopted: Sequence[str]) -> str:
    """The draft's text with the ``adopted`` amendments' changes applied (``voting.amendments.consolidate``)."""
    try:
        return consolidate(draft_text, [amendment_of(amendments, a).changes for a in adopted])
    except AmendmentError as exc:
        raise DomainError("amendment_conflict", str(exc)) from None
