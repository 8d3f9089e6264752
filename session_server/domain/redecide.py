"""Deciding a vote event of an exported ledger again by the rules, as it was decided: step 3 of the audit
(``session_server.domain.audit``). Pure, no I/O."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from session_server.domain.commands import (
    BallotCast,
    CommissionCommit,
    CommissionComplain,
    CommissionDeal,
    CommissionElect,
    CommissionReady,
    DecryptionShare,
    VoteClose,
    VoteOpen,
)
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, parse_time
from session_server.domain.ledger_export import Discrepancy
from session_server.domain.roles import Actor, AssertionCheck, Context, Role
from session_server.domain.session import SessionState, decide
from voting.amendments import Amendment
from voting.ballot import from_b64url

__all__ = ["REDECIDED", "decided_again", "time_of"]

REDECIDED = frozenset(
    {
        "vote.opened",
        "ballot.cast",
        "vote.closed",
        # a secret vote (issue 20): the commission's key, every encrypted ballot, the close, each decryption
        "commission.elected",
        "commission.committed",
        "commission.dealt",
        "commission.ready",
        "commission.failed",
        "ballot.encrypted",
        "vote.tallying",
        "decryption.shared",
    }
)
"""The session events the audit decides again (a sealed ballot is decided again when ``ballots.opened``
opens it)."""

_STEPS = {
    "commission.committed": ("commission.commit", CommissionCommit),
    "commission.dealt": ("commission.deal", CommissionDeal),
    "commission.ready": ("commission.ready", CommissionReady),
    "commission.failed": ("commission.complain", CommissionComplain),
}

_AUDITOR = Actor(username="auditor", role=Role.ADMIN)


@functools.lru_cache(maxsize=4096)
def _deputy_of(username: str, member: str) -> Actor:
    return Actor(username, Role.DEPUTY, member)


def _deputy(username: Any, member: Any) -> Actor:
    """The deputy who cast a ballot, as the actor of the command (one per deputy and user)."""
    if type(username) is str and type(member) is str:
        return _deputy_of(username, member)
    return Actor(username, Role.DEPUTY, member)


def time_of(event: Mapping[str, Any], index: int) -> datetime:
    """The session event's time; a Discrepancy naming it if it is not an RFC 3339 time with a zone."""
    try:
        return parse_time(event["at"])
    except (ValueError, TypeError) as exc:
        raise Discrepancy("session", index, f"its time {event['at']!r} cannot be read: {exc}") from None


def decided_again(
    state: SessionState,
    council: CouncilState,
    event: Mapping[str, Any],
    index: int,
    check: AssertionCheck,
    at: datetime | None = None,
    opening: Mapping[str, Any] | None = None,
) -> list[Event]:
    """Decide a vote event again by the rules; it must come out exactly as recorded (``at``: its time, parsed).

    Returns the events the rules add after it in the same commit (an adopted agenda_add vote's
    ``item.added``; after a sealed vote's ``ballots.opened``, its ``vote.closed``), which must come next in
    the log. A ``ballot.sealed`` is decided again with its ``opening`` (from the vote's ``ballots.opened``).
    """
    p = event["payload"]
    openings: dict[int, Any] | None = None
    amendments: dict[str, Amendment] | None = None
    if at is None:
        at = time_of(event, index)
    try:
        match event["type"]:
            case "vote.opened":
                purpose = p.get("purpose")
                command: Any = VoteOpen(
                    id="audit",
                    type="vote.open",
                    item=None if purpose == "agenda_add" else p["item"],
                    subject=p["subject"],
                    rule=p["rule"],
                    seconds=p["seconds"],
                    purpose=purpose,
                    proposal=p.get("proposal"),
                    kind=p.get("kind"),
                    revote=p.get("revote"),
                    amendments=p.get("amendments"),
                    recommendation=p.get("recommendation"),
                    secret=bool(p.get("secret")),
                    question=p.get("question"),
                )
                ctx = Context(Actor("auditor", Role.CHAIR), at, entropy=from_b64url(p.get("nonce_seed", "")))
                # The session's log names an amendment vote's amendments, not their text (that is the draft's
                # own record, checked in its export): the order of the votes is checked here, not the lines.
                amendments = {a: Amendment(a, 0, ()) for a in p.get("amendments") or ()}
            case "ballot.cast" | "ballot.sealed":
                # A sealed ballot is decided again with its opening (``_Rules.open_again``): the choice and the
                # signature it hid, and the salt its commitment was made with (the context's entropy).
                if event["type"] == "ballot.sealed" and opening is None:
                    raise ValueError("a sealed ballot is decided again with its opening")
                cast = p if opening is None else opening
                command = BallotCast(
                    id="audit",
                    type="ballot.cast",
                    vote=p["vote"],
                    choice=cast["choice"],
                    nonce=p.get("nonce"),
                    assertion=cast.get("assertion"),
                )
                entropy = b"" if opening is None else from_b64url(str(opening["salt"]))
                ctx = Context(_deputy(event["actor"], p["deputy"]), at, check_assertion=check, entropy=entropy)
            case "ballot.encrypted":
                command = BallotCast(
                    id="audit",
                    type="ballot.cast",
                    vote=p["vote"],
                    encrypted=p["encrypted"],
                    nonce=p.get("nonce"),
                    assertion=p.get("assertion"),
                )
                ctx = Context(_deputy(event["actor"], p["deputy"]), at, check_assertion=check)
            case "commission.elected":
                command = CommissionElect(
                    id="audit", type="commission.elect", members=p["members"], threshold=p["threshold"]
                )
                ctx = Context(Actor("auditor", Role.CHAIR), at)
            case "commission.committed" | "commission.dealt" | "commission.ready" | "commission.failed":
                type_, step = _STEPS[event["type"]]
                command = step(id="audit", type=type_, published=p["published"])
                ctx = Context(_deputy(event["actor"], p["member"]), at)
            case "decryption.shared":
                command = DecryptionShare(
                    id="audit", type="decryption.share", vote=p["vote"], decryption=p["decryption"]
                )
                ctx = Context(_deputy(event["actor"], p["member"]), at)
            case (
                _
            ):  # vote.closed, vote.tallying; ballots.opened (a sealed vote's close: every ballot opened, the count)
                command, ctx = VoteClose(id="audit", type="vote.close", vote=p["vote"]), Context(_AUDITOR, at)
                if event["type"] == "ballots.opened":
                    openings = {int(o["seq"]): o for o in p["openings"]}
        again, *follow = decide(state, council, command, ctx, openings, amendments)
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
    return follow
