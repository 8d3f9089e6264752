"""Who may issue which command: roles, the acting user and the permission table.

The chair and the secretary steer a session from the console; deputies (and the mayor, when the
mayor chairs) act for themselves from tablets; administrators set up councils and the clock; the
public observes. Authentication is the outer layer's job: it hands the domain an `Actor`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from session_server.domain.errors import DomainError
from voting.ballot import Assertion, Credential, verify_assertion

__all__ = [
    "ALLOWED",
    "BROADCAST_COMMANDS",
    "MEMBER_COMMANDS",
    "STEERING_COMMANDS",
    "SYSTEM",
    "Actor",
    "AssertionCheck",
    "Context",
    "Role",
    "authorize",
]


class Role(StrEnum):
    """A user's role in the system."""

    ADMIN = "admin"
    SECRETARY = "secretary"
    CHAIR = "chair"
    DEPUTY = "deputy"
    OBSERVER = "observer"
    OPERATOR = "operator"
    """Runs the chamber camera: starts and stops the broadcast, nothing else."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user behind a command.

    `member` is the council member id ("d07", "mayor") when the user is a deputy or the mayor
    chairing the meeting, None for staff, administrators and observers.
    """

    username: str
    role: Role
    member: str | None = None


SYSTEM = Actor(username="system", role=Role.ADMIN, member=None)
"""The server itself, e.g. when it closes a vote whose time ran out."""


AssertionCheck = Callable[[bytes, Assertion, Credential, str, Sequence[str]], int]
"""``(ballot, assertion, credential, rp_id, origins) -> sign count``, raising ``BallotRefused``."""


def _verify(ballot: bytes, assertion: Assertion, credential: Credential, rp_id: str, origins: Sequence[str]) -> int:
    return verify_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)


@dataclass(frozen=True, slots=True)
class Context:
    """Who issues a command and when; pure code reads the clock and randomness only from here.

    `at` must be timezone-aware; it is normalised to UTC. `entropy` is fresh random bytes for the
    commands that need them (a vote's nonce seed); the service fills it, tests may fix it.
    `check_assertion` checks a ballot's WebAuthn signature; the service passes one that answers from
    checks it already ran in worker threads before the batch (the same pure function, run earlier).
    """

    actor: Actor
    at: datetime
    entropy: bytes = b""
    check_assertion: AssertionCheck = _verify

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("Context.at must be timezone-aware")
        object.__setattr__(self, "at", self.at.astimezone(UTC))


STEERING_COMMANDS: frozenset[str] = frozenset(
    {
        "session.open",
        "session.close",
        "registration.open",
        "registration.close",
        "item.start",
        "item.finish",
        "speaker.grant",
        "speaker.finish",
        "vote.open",
        "vote.close",
        "vote.cancel",
        "commission.elect",
    }
)
"""Commands that steer the meeting from the console."""

MEMBER_COMMANDS: frozenset[str] = frozenset(
    {
        "presence.register",
        "presence.leave",
        "speaker.request",
        "conflict.declare",
        "ballot.cast",
        # a counting commission member's steps, from its own tablet (its secret never leaves it)
        "commission.commit",
        "commission.deal",
        "commission.ready",
        "commission.complain",
        "decryption.share",
    }
)
"""Commands a council member issues for themself; the caller must be on the roster."""

BROADCAST_COMMANDS: frozenset[str] = frozenset({"broadcast.start", "broadcast.interrupt", "broadcast.stop"})
"""Commands that mark the live video's start, interruption and stop on the session's timeline."""

_STEERING = frozenset({Role.CHAIR, Role.SECRETARY})
_MEMBER = frozenset({Role.DEPUTY, Role.CHAIR})
_ADMIN = frozenset({Role.ADMIN})

ALLOWED: dict[str, frozenset[Role]] = {
    **dict.fromkeys(STEERING_COMMANDS, _STEERING),
    # The server's own SYSTEM actor (an ADMIN) closes votes whose time ran out.
    "vote.close": _STEERING | _ADMIN,
    "session.schedule": frozenset({Role.ADMIN, Role.SECRETARY}),
    # The agenda is the secretary's to prepare, until the meeting opens.
    **dict.fromkeys(("item.add", "item.update", "item.remove"), frozenset({Role.ADMIN, Role.SECRETARY})),
    **dict.fromkeys(MEMBER_COMMANDS, _MEMBER),
    "council.create": _ADMIN,
    "deputy.add": _ADMIN,
    # The secretary keeps the roster's records right (a name's spelling, grammatical gender, faction).
    "deputy.update": frozenset({Role.ADMIN, Role.SECRETARY}),
    # Turning signatures off (demo councils only) or moving the RP id is an administrator's act.
    "council.configure": _ADMIN,
    # Only the enrollment endpoint, after verifying the credential, records it (as an ADMIN actor).
    "credential.enroll": _ADMIN,
    "credential.revoke": frozenset({Role.SECRETARY, Role.ADMIN}),
    # The council forms its committees; the secretary (or an admin) records them.
    **dict.fromkeys(("committee.create", "committee.update"), frozenset({Role.ADMIN, Role.SECRETARY})),
    # The video operator (or the secretary) runs the broadcast; the server (ADMIN) marks a dropped one.
    **dict.fromkeys(BROADCAST_COMMANDS, frozenset({Role.OPERATOR, Role.SECRETARY, Role.ADMIN})),
}
"""The roles allowed to issue each command type."""


def authorize(ctx: Context, command_type: str, roster: Container[str]) -> str | None:
    """Check that `ctx.actor` may issue `command_type`; return the acting member for member commands.

    Raises DomainError `forbidden` when the role is not allowed (or the type is unknown), and
    `not_a_deputy` when a member command comes from a user with no member id on `roster`.
    Returns the caller's member id for member commands, None otherwise.
    """
    allowed = ALLOWED.get(command_type)
    if allowed is None or ctx.actor.role not in allowed:
        raise DomainError("forbidden", f"role {ctx.actor.role.value!r} may not issue {command_type!r}")
    if command_type not in MEMBER_COMMANDS:
        return None
    member = ctx.actor.member
    if member is None or member not in roster:
        raise DomainError("not_a_deputy", f"user {ctx.actor.username!r} is not a member of this council")
    return member
