"""Commands: what clients ask for, validated at the edge with pydantic.

Every command is a JSON object `{"id", "type", …}`. `id` is made by the client and makes the
command idempotent; `type` is imperative (`vote.open`) and picks the model. Models are strict
(no coercion: `true` is not an int, `"5"` is not an int), forbid unknown fields and are frozen.
Enum fields (`rule`, `choice`) take their string values from Python dicts as well as JSON.
An unknown `type` or a malformed field raises `pydantic.ValidationError`; the HTTP edge answers 400.
Rules that need state (duplicate agenda ids, who may vote…) are checked by `decide`, which raises
`DomainError`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, field_validator

from voting.rules import Rule
from voting.tally import Choice

__all__ = [
    "COMMAND_ADAPTER",
    "COUNCIL_COMMAND_ADAPTER",
    "SESSION_COMMAND_ADAPTER",
    "AgendaItemIn",
    "BallotCast",
    "Command",
    "ConflictDeclare",
    "CouncilCommand",
    "CouncilCreate",
    "DeputyAdd",
    "ItemFinish",
    "ItemStart",
    "PresenceLeave",
    "PresenceRegister",
    "RegistrationClose",
    "RegistrationOpen",
    "SessionClose",
    "SessionCommand",
    "SessionOpen",
    "SessionSchedule",
    "SpeakerFinish",
    "SpeakerGrant",
    "SpeakerRequest",
    "VoteCancel",
    "VoteClose",
    "VoteOpen",
]

CommandId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Slug40 = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
Slug60 = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,60}$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
# Strict mode would demand enum instances from Python input; accept their string values too.
RuleField = Annotated[Rule, Field(strict=False)]
ChoiceField = Annotated[Choice, Field(strict=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Command(_Model):
    id: CommandId


class AgendaItemIn(_Model):
    """An agenda item as scheduled: `id` is optional (then "i1", "i2"… by position)."""

    id: Slug40 | None = None
    number: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    draft: Annotated[str, StringConstraints(max_length=100)] | None = None


class SessionSchedule(_Command):
    """Put a plenary session on the calendar with its agenda (starts the session stream)."""

    type: Literal["session.schedule"]
    number: Annotated[int, Field(ge=1)]
    convocation: Annotated[int, Field(ge=1)]
    date: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    title: Name
    agenda: Annotated[list[AgendaItemIn], Field(max_length=200)] = []
    session_id: Slug60 | None = None

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        dt.date.fromisoformat(value)  # ValueError for 2026-02-30 and the like
        return value

    @property
    def target_session_id(self) -> str:
        """The session id: `session_id` if given, else "c{convocation}-s{number}"."""
        return self.session_id or f"c{self.convocation}-s{self.number}"


class SessionOpen(_Command):
    """Open the plenary meeting."""

    type: Literal["session.open"]


class SessionClose(_Command):
    """Close the plenary meeting (refused while a vote is open)."""

    type: Literal["session.close"]


class RegistrationOpen(_Command):
    """Open the registration of members in the chamber."""

    type: Literal["registration.open"]


class RegistrationClose(_Command):
    """Close the registration."""

    type: Literal["registration.close"]


class PresenceRegister(_Command):
    """The caller registers as present."""

    type: Literal["presence.register"]


class PresenceLeave(_Command):
    """The caller leaves the chamber."""

    type: Literal["presence.leave"]


class ItemStart(_Command):
    """Take up an agenda item."""

    type: Literal["item.start"]
    item: Ref


class ItemFinish(_Command):
    """Finish the current agenda item."""

    type: Literal["item.finish"]
    item: Ref


class SpeakerRequest(_Command):
    """The caller asks for the floor."""

    type: Literal["speaker.request"]


class SpeakerGrant(_Command):
    """Give the floor to a member for a number of seconds."""

    type: Literal["speaker.grant"]
    deputy: Ref
    seconds: Annotated[int, Field(ge=10, le=3600)]


class SpeakerFinish(_Command):
    """End the current speech."""

    type: Literal["speaker.finish"]


class ConflictDeclare(_Command):
    """The caller declares a conflict of interest on an item (art. 59-1)."""

    type: Literal["conflict.declare"]
    item: Ref
    reason: Reason


class VoteOpen(_Command):
    """Open a roll-call vote on the current item under one of the council's rules."""

    type: Literal["vote.open"]
    item: Ref
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    rule: RuleField
    seconds: Annotated[int, Field(ge=5, le=900)]


class BallotCast(_Command):
    """The caller votes. `assertion` (WebAuthn) is accepted and not yet checked."""

    type: Literal["ballot.cast"]
    vote: Ref
    choice: ChoiceField
    assertion: dict[str, Any] | None = None


class VoteClose(_Command):
    """Close a vote and publish its tally and roll call."""

    type: Literal["vote.close"]
    vote: Ref


class VoteCancel(_Command):
    """Cancel an open vote, with the reason for the minutes."""

    type: Literal["vote.cancel"]
    vote: Ref
    reason: Reason


class CouncilCreate(_Command):
    """Create a council (starts the council stream)."""

    type: Literal["council.create"]
    council: Slug40
    name: Name
    composition: Annotated[int, Field(ge=1, le=1000)]
    rules: Annotated[list[RuleField], Field(min_length=1)] = Field(default_factory=lambda: list(Rule))
    first_ballot_final: bool = False


class DeputyAdd(_Command):
    """Add a member to the council roster: a deputy, or the mayor (`mayor`, no faction)."""

    type: Literal["deputy.add"]
    deputy: Slug40
    name: Name
    faction: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    mayor: bool = False


SessionCommandModel = (
    SessionSchedule
    | SessionOpen
    | SessionClose
    | RegistrationOpen
    | RegistrationClose
    | PresenceRegister
    | PresenceLeave
    | ItemStart
    | ItemFinish
    | SpeakerRequest
    | SpeakerGrant
    | SpeakerFinish
    | ConflictDeclare
    | VoteOpen
    | BallotCast
    | VoteClose
    | VoteCancel
)
CouncilCommandModel = CouncilCreate | DeputyAdd

SessionCommand = Annotated[SessionCommandModel, Field(discriminator="type")]
"""A command on a session stream (including `session.schedule`, which starts it)."""

CouncilCommand = Annotated[CouncilCommandModel, Field(discriminator="type")]
"""A command on a council stream."""

Command = Annotated[SessionCommandModel | CouncilCommandModel, Field(discriminator="type")]
"""Any command."""

COMMAND_ADAPTER: TypeAdapter[SessionCommandModel | CouncilCommandModel] = TypeAdapter(Command)
"""Validates any command from a dict (`validate_python`) or JSON text (`validate_json`)."""

SESSION_COMMAND_ADAPTER: TypeAdapter[SessionCommandModel] = TypeAdapter(SessionCommand)
"""Validates a session command; a council command's type is refused like an unknown one."""

COUNCIL_COMMAND_ADAPTER: TypeAdapter[CouncilCommandModel] = TypeAdapter(CouncilCommand)
"""Validates a council command."""
