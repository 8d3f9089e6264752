"""The council aggregate: its settings and its roster of deputies and the mayor.

Events (council stream):

- `council.created {council, name, composition, rules: [str], first_ballot_final: bool}` —
  `composition` is the statutory number of deputies (art. 46 counts quorum against it), not the
  number of seats filled; `rules` the vote thresholds the council allows.
- `deputy.added {deputy, name, faction, mayor: bool}` — a roster member; the mayor (at most one)
  has `mayor: true` and `faction: null`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from session_server.domain.commands import CouncilCommand, CouncilCreate, DeputyAdd
from session_server.domain.errors import DomainError
from session_server.domain.events import NewEvent, Recorded
from session_server.domain.roles import Context, authorize
from voting.rules import Rule

__all__ = ["CouncilState", "Deputy", "decide_council", "evolve_council"]


@dataclass(frozen=True, slots=True)
class Deputy:
    """A member of the council roster: a deputy, or the mayor (`mayor`, no faction)."""

    id: str
    name: str
    faction: str | None
    mayor: bool = False


@dataclass(slots=True)
class CouncilState:
    """A council as folded from its stream; `seq` is the last applied event's seq."""

    id: str
    name: str
    composition: int
    rules: tuple[Rule, ...]
    first_ballot_final: bool
    deputies: dict[str, Deputy] = field(default_factory=dict)
    seq: int = 0

    @property
    def mayor(self) -> str | None:
        """The mayor's member id, if the mayor is on the roster."""
        return next((d.id for d in self.deputies.values() if d.mayor), None)

    def to_public(self) -> dict[str, Any]:
        """The JSON-ready public view: settings, roster in order and the distinct factions."""
        return {
            "id": self.id,
            "name": self.name,
            "composition": self.composition,
            "rules": [rule.value for rule in self.rules],
            "first_ballot_final": self.first_ballot_final,
            "deputies": [
                {"id": d.id, "name": d.name, "faction": d.faction, "mayor": d.mayor} for d in self.deputies.values()
            ],
            "factions": sorted({d.faction for d in self.deputies.values() if d.faction is not None}),
        }


def decide_council(state: CouncilState | None, command: CouncilCommand, ctx: Context) -> list[NewEvent]:
    """Check a council command against the council and return the events it causes.

    Pure: never mutates `state`. Raises DomainError (`forbidden`, `council_not_found`,
    `invalid_command`).
    """
    authorize(ctx, command.type, ())
    if isinstance(command, CouncilCreate):
        if state is not None:
            raise DomainError("invalid_command", f"council {state.id!r} exists")
        rules = list(dict.fromkeys(command.rules))  # drop repeats, keep the order given
        return [
            NewEvent(
                "council.created",
                {
                    "council": command.council,
                    "name": command.name,
                    "composition": command.composition,
                    "rules": [rule.value for rule in rules],
                    "first_ballot_final": command.first_ballot_final,
                },
            )
        ]
    if isinstance(command, DeputyAdd):
        if state is None:
            raise DomainError("council_not_found", "the council does not exist")
        if command.deputy in state.deputies:
            raise DomainError("invalid_command", f"member {command.deputy!r} is already on the roster")
        if command.mayor:
            if state.mayor is not None:
                raise DomainError("invalid_command", f"the council already has a mayor ({state.mayor!r})")
            if command.faction is not None:
                raise DomainError("invalid_command", "the mayor belongs to no faction")
        else:
            seated = sum(1 for d in state.deputies.values() if not d.mayor)
            # The statutory composition is the number of seats: no more deputies than seats.
            if seated >= state.composition:
                raise DomainError("invalid_command", f"all {state.composition} seats are filled")
        return [
            NewEvent(
                "deputy.added",
                {"deputy": command.deputy, "name": command.name, "faction": command.faction, "mayor": command.mayor},
            )
        ]
    raise DomainError("invalid_command", f"not a council command: {command.type!r}")


def evolve_council(state: CouncilState | None, event: Recorded) -> CouncilState:
    """Apply one council event and return the new state.

    Does not mutate `state` (council events are rare; a fresh copy keeps readers safe).
    Raises ValueError for an unknown event type or an event that needs a council before it exists.
    """
    p = event.payload
    if event.type == "council.created":
        if state is not None:
            raise ValueError("council.created on an existing council")
        return CouncilState(
            id=p["council"],
            name=p["name"],
            composition=p["composition"],
            rules=tuple(Rule(r) for r in p["rules"]),
            first_ballot_final=p["first_ballot_final"],
            seq=event.seq,
        )
    if state is None:
        raise ValueError(f"{event.type} before council.created")
    if event.type == "deputy.added":
        deputy = Deputy(id=p["deputy"], name=p["name"], faction=p["faction"], mayor=p["mayor"])
        return replace(state, deputies={**state.deputies, deputy.id: deputy}, seq=event.seq)
    raise ValueError(f"unknown council event type: {event.type!r}")
