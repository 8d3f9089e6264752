"""The council aggregate: its settings and its roster of deputies and the mayor.

Events (council stream):

- `council.created {council, name, composition, rules: [str], first_ballot_final: bool}` —
  `composition` is the statutory number of deputies (art. 46 counts quorum against it), not the
  number of seats filled; `rules` the vote thresholds the council allows.
- `council.created` also carries the ballot-signing settings: `demo`, `signed_ballots`,
  `refuse_backup_eligible`, `rp_id`, `origins` (absent in councils created before they existed:
  then not a demo, signed ballots, backup-eligible credentials allowed, "localhost").
- `deputy.added {deputy, name, faction, mayor: bool, gender?}` — a roster member; the mayor (at most
  one) has `mayor: true` and `faction: null`; `gender` ("female" | "male") is the grammatical gender
  the secretary recorded, absent when not recorded.
- `deputy.updated {deputy, name?, faction?, gender?}` — a correction of the member's record; a
  `faction` of null moves a deputy out of every faction.
- `council.configured {…}` — the settings that changed, with their new values.
- `credential.enrolled {deputy, credential, public_key, sign_count, backup_eligible, backed_up,
  aaguid}` — a deputy's WebAuthn credential (id and COSE public key base64url), verified with user
  verification at enrollment; public, so anyone can re-check the ballots it signs.
- `credential.revoked {deputy, credential, reason}` — it signs nothing from then on.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from session_server.domain.commands import (
    CouncilCommand,
    CouncilConfigure,
    CouncilCreate,
    CredentialEnroll,
    CredentialRevoke,
    DeputyAdd,
    DeputyUpdate,
    Gender,
)
from session_server.domain.errors import DomainError
from session_server.domain.events import NewEvent, Recorded
from session_server.domain.roles import Context, authorize
from voting.ballot import Credential, from_b64url
from voting.rules import Rule

__all__ = ["CouncilState", "Deputy", "decide_council", "evolve_council"]


@dataclass(frozen=True, slots=True)
class Deputy:
    """A member of the council roster: a deputy, or the mayor (`mayor`, no faction)."""

    id: str
    name: str
    faction: str | None
    mayor: bool = False
    gender: Gender | None = None
    """Grammatical gender as recorded by the secretary; None when not recorded (texts then fit both)."""


@dataclass(slots=True)
class CouncilState:
    """A council as folded from its stream; `seq` is the last applied event's seq."""

    id: str
    name: str
    composition: int
    rules: tuple[Rule, ...]
    first_ballot_final: bool
    deputies: dict[str, Deputy] = field(default_factory=dict)
    demo: bool = False
    signed_ballots: bool = True
    refuse_backup_eligible: bool = False
    rp_id: str = "localhost"
    origins: tuple[str, ...] = ("http://localhost:8000",)
    credentials: dict[str, Credential] = field(default_factory=dict)
    """Every credential ever enrolled, revoked ones included (`Credential.revoked`)."""
    holidays: tuple[str, ...] = ()
    """Public holidays (ISO dates) that are not working days, for the publication rule on drafts."""
    signer_keys: dict[str, str] = field(default_factory=dict)
    """Ed25519 public keys (base64) that sign the council's decisions, by key id."""
    faction_order: tuple[str, ...] = ()
    """The factions in the order the council set; see `factions`."""
    procedural_rule: Rule | None = None
    """The threshold the council's rules set for procedural votes (None: the chair picks from `rules`)."""
    seq: int = 0

    @property
    def factions(self) -> list[str]:
        """The factions in the council's order: those it listed, then the rest as they first appear on the roster."""
        seated = dict.fromkeys(d.faction for d in self.deputies.values() if d.faction is not None)
        listed = [f for f in self.faction_order if f in seated]
        return listed + [f for f in seated if f not in listed]

    def live_credentials(self, deputy: str) -> list[Credential]:
        """The deputy's credentials that may sign."""
        return [c for c in self.credentials.values() if c.deputy == deputy and not c.revoked]

    @property
    def mayor(self) -> str | None:
        """The mayor's member id, if the mayor is on the roster."""
        return next((d.id for d in self.deputies.values() if d.mayor), None)

    def by_faction(self, members: Container[str]) -> list[tuple[str | None, list[str]]]:
        """The deputies among ``members`` grouped as the council lists them (minutes, roll calls):
        each faction in the council's order, then those of no faction (None); roster order within a
        group; empty groups left out. The mayor, no deputy, is in no group: pages set the mayor apart."""
        grouped: dict[str | None, list[str]] = {}
        for member, deputy in self.deputies.items():
            if member in members and not deputy.mayor:
                grouped.setdefault(deputy.faction, []).append(member)
        return [(f, grouped[f]) for f in [*self.factions, None] if f in grouped]

    def to_public(self) -> dict[str, Any]:
        """The JSON-ready public view: settings, roster in order and the distinct factions."""
        return {
            "id": self.id,
            "name": self.name,
            "composition": self.composition,
            "rules": [rule.value for rule in self.rules],
            "first_ballot_final": self.first_ballot_final,
            "deputies": [
                {"id": d.id, "name": d.name, "faction": d.faction, "mayor": d.mayor, "gender": d.gender}
                for d in self.deputies.values()
            ],
            "factions": self.factions,
            "procedural_rule": None if self.procedural_rule is None else self.procedural_rule.value,
            "demo": self.demo,
            "signed_ballots": self.signed_ballots,
            "refuse_backup_eligible": self.refuse_backup_eligible,
            "rp_id": self.rp_id,
            "origins": list(self.origins),
            "holidays": list(self.holidays),
            "signer_keys": dict(self.signer_keys),
            "credentials": [
                {"id": c.id, "deputy": c.deputy, "backup_eligible": c.backup_eligible, "revoked": c.revoked}
                for c in self.credentials.values()
            ],
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
        if not command.signed_ballots and not command.demo:
            raise DomainError("signatures_required", "only a demo council may take unsigned ballots")
        return [
            NewEvent(
                "council.created",
                {
                    "council": command.council,
                    "name": command.name,
                    "composition": command.composition,
                    "rules": [rule.value for rule in rules],
                    "first_ballot_final": command.first_ballot_final,
                    "demo": command.demo,
                    "signed_ballots": command.signed_ballots,
                    "refuse_backup_eligible": command.refuse_backup_eligible,
                    "rp_id": command.rp_id,
                    "origins": list(dict.fromkeys(command.origins)),
                },
            )
        ]
    if state is None:
        raise DomainError("council_not_found", "the council does not exist")
    if isinstance(command, CouncilConfigure):
        return _configure(state, command)
    if isinstance(command, CredentialEnroll):
        return _enroll(state, command)
    if isinstance(command, CredentialRevoke):
        credential = state.credentials.get(command.credential)
        if credential is None:
            raise DomainError("unknown_credential", "no such credential is enrolled")
        if credential.revoked:
            raise DomainError("credential_revoked", "the credential is already revoked")
        payload = {"deputy": credential.deputy, "credential": credential.id, "reason": command.reason}
        return [NewEvent("credential.revoked", payload)]
    if isinstance(command, DeputyAdd):
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
        added = {"deputy": command.deputy, "name": command.name, "faction": command.faction, "mayor": command.mayor}
        if command.gender is not None:
            added["gender"] = command.gender
        return [NewEvent("deputy.added", added)]
    if isinstance(command, DeputyUpdate):
        return _update_deputy(state, command)
    raise DomainError("invalid_command", f"not a council command: {command.type!r}")


def _configure(state: CouncilState, command: CouncilConfigure) -> list[NewEvent]:
    changes = command.model_dump(mode="json", exclude={"id", "type"}, exclude_none=True)
    if "origins" in changes:
        changes["origins"] = list(dict.fromkeys(changes["origins"]))
    if "holidays" in changes:
        for day in changes["holidays"]:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise DomainError("invalid_command", f"{day!r} is not a date") from None
        changes["holidays"] = sorted(set(changes["holidays"]))
    if changes.get("signed_ballots") is False and not state.demo:
        raise DomainError("signatures_required", "only a demo council may take unsigned ballots")
    if not changes:
        raise DomainError("invalid_command", "council.configure changes nothing")
    return [NewEvent("council.configured", changes)]


def _update_deputy(state: CouncilState, command: DeputyUpdate) -> list[NewEvent]:
    deputy = state.deputies.get(command.deputy)
    if deputy is None:
        raise DomainError("unknown_deputy", f"{command.deputy!r} is not a member of the council")
    if command.faction is not None and command.faction_none:
        raise DomainError("invalid_command", "give a faction or faction_none, not both")
    changes: dict[str, Any] = {}
    if command.name is not None and command.name != deputy.name:
        changes["name"] = command.name
    if command.gender is not None and command.gender != deputy.gender:
        changes["gender"] = command.gender
    faction = None if command.faction_none else command.faction
    if (command.faction is not None or command.faction_none) and faction != deputy.faction:
        if deputy.mayor:
            raise DomainError("invalid_command", "the mayor belongs to no faction")
        changes["faction"] = faction
    if not changes:
        raise DomainError("invalid_command", "deputy.update changes nothing")
    return [NewEvent("deputy.updated", {"deputy": deputy.id, **changes})]


def _enroll(state: CouncilState, command: CredentialEnroll) -> list[NewEvent]:
    if command.deputy not in state.deputies:
        raise DomainError("unknown_deputy", f"{command.deputy!r} is not a member of the council")
    if command.credential in state.credentials:
        raise DomainError("credential_exists", "this credential is already enrolled")
    # A synced passkey could sign on a colleague's phone; the council may insist on device-bound keys.
    if command.backup_eligible and state.refuse_backup_eligible:
        raise DomainError("credential_backup_eligible", "the council accepts only device-bound credentials")
    payload = command.model_dump(exclude={"id", "type"})
    return [NewEvent("credential.enrolled", payload)]


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
            demo=p.get("demo", False),
            signed_ballots=p.get("signed_ballots", True),
            refuse_backup_eligible=p.get("refuse_backup_eligible", False),
            rp_id=p.get("rp_id", "localhost"),
            origins=tuple(p.get("origins", ("http://localhost:8000",))),
            seq=event.seq,
        )
    if state is None:
        raise ValueError(f"{event.type} before council.created")
    if event.type == "deputy.added":
        deputy = Deputy(id=p["deputy"], name=p["name"], faction=p["faction"], mayor=p["mayor"], gender=p.get("gender"))
        return replace(state, deputies={**state.deputies, deputy.id: deputy}, seq=event.seq)
    if event.type == "deputy.updated":
        changes = {k: p[k] for k in ("name", "faction", "gender") if k in p}
        deputy = replace(state.deputies[p["deputy"]], **changes)
        return replace(state, deputies={**state.deputies, deputy.id: deputy}, seq=event.seq)
    if event.type == "council.configured":
        return replace(
            state,
            signed_ballots=p.get("signed_ballots", state.signed_ballots),
            refuse_backup_eligible=p.get("refuse_backup_eligible", state.refuse_backup_eligible),
            rp_id=p.get("rp_id", state.rp_id),
            origins=tuple(p.get("origins", state.origins)),
            holidays=tuple(p.get("holidays", state.holidays)),
            signer_keys=dict(p.get("signer_keys", state.signer_keys)),
            faction_order=tuple(p.get("factions", state.faction_order)),
            procedural_rule=Rule(p["procedural_rule"]) if "procedural_rule" in p else state.procedural_rule,
            first_ballot_final=p.get("first_ballot_final", state.first_ballot_final),
            seq=event.seq,
        )
    if event.type == "credential.enrolled":
        credential = Credential(
            id=p["credential"],
            deputy=p["deputy"],
            public_key=from_b64url(p["public_key"]),
            sign_count=p["sign_count"],
            backup_eligible=p["backup_eligible"],
        )
        return replace(state, credentials={**state.credentials, credential.id: credential}, seq=event.seq)
    if event.type == "credential.revoked":
        revoked = replace(state.credentials[p["credential"]], revoked=True)
        return replace(state, credentials={**state.credentials, revoked.id: revoked}, seq=event.seq)
    raise ValueError(f"unknown council event type: {event.type!r}")
