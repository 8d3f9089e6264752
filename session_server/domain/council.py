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
- `council.configured {…}` — the settings that changed, with their new values; `witnesses` [{name, url,
  key}] and `witnesses_needed` name who cosigns the council's checkpoints (docs/witness.md).
- `credential.enrolled {deputy, credential, public_key, sign_count, backup_eligible, backed_up,
  aaguid}` — a deputy's WebAuthn credential (id and COSE public key base64url), verified with user
  verification at enrollment; public, so anyone can re-check the ballots it signs.
- `credential.revoked {deputy, credential, reason}` — it signs nothing from then on.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TypeVar

from session_server.domain.commands import (
    CommitteeCreate,
    CommitteeUpdate,
    CouncilCommand,
    CouncilConfigure,
    CouncilCreate,
    CredentialEnroll,
    CredentialRevoke,
    DeputyAdd,
    DeputyUpdate,
    Gender,
)
from session_server.domain.committees import Committee, check_committee
from session_server.domain.council_events import (
    CommitteeChanged,
    CommitteeCreated,
    CouncilConfigured,
    CouncilCreated,
    CredentialEnrolled,
    CredentialRevoked,
    DeputyAdded,
    DeputyUpdated,
    changes,
)
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, Recorded
from session_server.domain.roles import Context, authorize
from voting.ballot import Credential, from_b64url
from voting.checkpoint import CheckpointError
from voting.cosignature import CosignatureVerifier
from voting.kinds import VoteKind, default_rule
from voting.rules import Rule

__all__ = ["CouncilState", "Deputy", "Witness", "decide_council", "evolve_council"]


@dataclass(frozen=True, slots=True)
class Deputy:
    """A member of the council roster: a deputy, or the mayor (`mayor`, no faction)."""

    id: str
    name: str
    faction: str | None
    mayor: bool = False
    gender: Gender | None = None
    """Grammatical gender as recorded by the secretary; None when not recorded (texts then fit both)."""


@dataclass(frozen=True, slots=True)
class Witness:
    """A witness the council asks to cosign its checkpoints."""

    name: str
    url: str
    key: str
    """Its verifier key: ``<name>+<key ID hex>+base64(0x04 || Ed25519 key)``."""


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
    vote_rules: dict[VoteKind, Rule] = field(default_factory=dict)
    """The threshold of each kind of vote the council set (others: `voting.kinds.default_rule`)."""
    results: str = "live"
    """"hidden": ballots are sealed while a vote is open and opened at its close; "live": choices are seen."""
    witnesses: tuple[Witness, ...] = ()
    """The witnesses asked to cosign every checkpoint, in the council's order."""
    witnesses_needed: int = 0
    """How many of them must cosign a checkpoint before it counts as witnessed."""
    committees: dict[str, Committee] = field(default_factory=dict)
    """The standing committees, in the order they were formed (``domain.committees``)."""
    committees_per_deputy: int = 1
    """On how many standing committees a deputy may sit (the council's rules)."""
    secret_questions: tuple[tuple[str, str, str], ...] = ()
    """The questions the law lets the council decide by secret ballot: ``(question, title, citation)``."""
    committee_quorum: str = "half"
    """A committee's quorum: "half" — not less than half of its composition (art. 47 part 12) — or
    "majority", more than half, where the council's rules ask for it."""
    quorum_at_least_half: bool = False
    """Set on the view ``body`` gives for a committee with ``committee_quorum`` "half"; the plenary's quorum
    is always more than half (art. 46)."""
    committee: str | None = None
    """Set on the view ``body`` gives: the committee that sits, whose composition and members these are."""
    seq: int = 0

    def rule_for(self, kind: VoteKind) -> Rule:
        """The threshold of a vote of ``kind`` when the chair names none."""
        return default_rule(kind, self.vote_rules, self.procedural_rule)

    def body(self, committee: str | None) -> CouncilState:
        """The council as the body that sits: itself for a plenary sitting (``None``), else the committee —
        its composition counts for quorum and thresholds, its members are the ones who register and vote
        (no mayor), and each kind of vote is adopted by a majority of its composition (art. 47). Signing,
        devices and sealing stay the council's. ``DomainError("unknown_committee")`` for one it lacks."""
        if committee is None:
            return self
        found = self.committees.get(committee)
        if found is None:
            raise DomainError("unknown_committee", f"the council has no committee {committee!r}")
        majority = Rule.MAJORITY_OF_COMPOSITION
        return replace(
            self,
            composition=found.composition,
            deputies={m: self.deputies[m] for m in self.deputies if m in found.members},
            rules=(majority,),
            procedural_rule=majority,
            vote_rules={kind: majority for kind in VoteKind},
            quorum_at_least_half=self.committee_quorum == "half",
            committee=committee,
        )

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
            "vote_rules": {kind.value: self.rule_for(kind).value for kind in VoteKind},
            "results": self.results,
            "witnesses": [{"name": w.name, "url": w.url, "key": w.key} for w in self.witnesses],
            "witnesses_needed": self.witnesses_needed,
            "committees": [c.to_public() for c in self.committees.values()],
            "committees_per_deputy": self.committees_per_deputy,
            "committee_quorum": self.committee_quorum,
            "secret_questions": [
                {"question": q, "title": title, "citation": citation} for q, title, citation in self.secret_questions
            ],
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


def decide_council(state: CouncilState | None, command: CouncilCommand, ctx: Context) -> list[Event]:
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
            CouncilCreated(
                council=command.council,
                name=command.name,
                composition=command.composition,
                rules=[rule.value for rule in rules],
                first_ballot_final=command.first_ballot_final,
                demo=command.demo,
                signed_ballots=command.signed_ballots,
                refuse_backup_eligible=command.refuse_backup_eligible,
                rp_id=command.rp_id,
                origins=list(dict.fromkeys(command.origins)),
                results=None if command.results == "live" else command.results,
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
        return [CredentialRevoked(deputy=credential.deputy, credential=credential.id, reason=command.reason)]
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
        return [
            DeputyAdded(
                deputy=command.deputy,
                name=command.name,
                faction=command.faction,
                mayor=command.mayor,
                gender=command.gender,
            )
        ]
    if isinstance(command, DeputyUpdate):
        return _update_deputy(state, command)
    if isinstance(command, CommitteeCreate | CommitteeUpdate):
        return _committee(state, command)
    raise DomainError("invalid_command", f"not a council command: {command.type!r}")


def _in_roster_order(state: CouncilState, members: list[str]) -> list[str]:
    """The members as the council lists its roster (then any it does not know, for the check to name)."""
    listed = [m for m in state.deputies if m in members]
    return listed + [m for m in members if m not in state.deputies]


def _committee(state: CouncilState, command: CommitteeCreate | CommitteeUpdate) -> list[Event]:
    if isinstance(command, CommitteeCreate):
        if command.committee in state.committees:
            raise DomainError("invalid_command", f"the council already has a committee {command.committee!r}")
        members = _in_roster_order(state, command.members)
        if len(set(command.members)) != len(command.members):
            raise DomainError("invalid_committee", "a member is listed twice")
        committee = Committee(
            command.committee,
            command.name,
            command.composition,
            tuple(members),
            command.chair,
            command.deputy_chair,
            command.secretary,
        )
        check_committee(committee, state.deputies, state.committees, state.committees_per_deputy)
        return [CommitteeCreated(**command.model_dump(exclude={"id", "type"}) | {"members": members})]
    before = state.committees.get(command.committee)
    if before is None:
        raise DomainError("unknown_committee", f"the council has no committee {command.committee!r}")
    changes = command.model_dump(exclude={"id", "type", "committee"}, exclude_none=True)
    if "members" in changes:
        if len(set(changes["members"])) != len(changes["members"]):
            raise DomainError("invalid_committee", "a member is listed twice")
        changes["members"] = _in_roster_order(state, changes["members"])
    changes = {k: v for k, v in changes.items() if v != _committee_field(before, k)}
    if not changes:
        raise DomainError("invalid_command", "committee.update changes nothing")
    after = _changed_committee(before, changes)
    check_committee(after, state.deputies, state.committees, state.committees_per_deputy)
    return [CommitteeChanged(committee=before.id, **changes)]


def _committee_field(committee: Committee, name: str) -> Any:
    value = getattr(committee, name)
    if name == "members":
        return list(value)
    return "" if value is None and name in ("deputy_chair", "secretary") else value


def _changed_committee(committee: Committee, changes: Mapping[str, Any]) -> Committee:
    fields = {k: v for k, v in changes.items()}
    if "members" in fields:
        fields["members"] = tuple(fields["members"])
    for office in ("deputy_chair", "secretary"):
        if fields.get(office) == "":
            fields[office] = None
    return replace(committee, **fields)


def _configure(state: CouncilState, command: CouncilConfigure) -> list[Event]:
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
    for kind, rule in (command.vote_rules.by_kind() if command.vote_rules else {}).items():
        if rule not in state.rules:
            raise DomainError("unknown_rule", f"the council does not vote by {rule.value!r} ({kind.value} votes)")
    if changes.get("vote_rules") == {}:
        del changes["vote_rules"]  # it names no kind
    questions = [q["question"] for q in changes.get("secret_questions", [])]
    if len(set(questions)) != len(questions):
        raise DomainError("invalid_command", "a question for secret ballots is listed twice")
    _check_witnesses(state, command)
    if changes.get("signed_ballots") is False and not state.demo:
        raise DomainError("signatures_required", "only a demo council may take unsigned ballots")
    if not changes:
        raise DomainError("invalid_command", "council.configure changes nothing")
    return [CouncilConfigured(**changes)]


def _check_witnesses(state: CouncilState, command: CouncilConfigure) -> None:
    """Each witness's key is a cosignature key under its own name, no name or key twice, and no more
    cosignatures needed than there are witnesses."""
    listed = command.witnesses if command.witnesses is not None else state.witnesses
    keys: set[bytes] = set()
    for witness in command.witnesses or []:
        try:
            verifier = CosignatureVerifier.from_vkey(witness.key)
        except CheckpointError as exc:
            raise DomainError("invalid_witness", f"witness {witness.name}: {exc.message}") from None
        if verifier.name != witness.name:
            raise DomainError("invalid_witness", f"the key of witness {witness.name} is named {verifier.name}")
        if verifier.public_bytes in keys:  # one witness under two names would count twice
            raise DomainError("invalid_witness", f"witness {witness.name} has another witness's public key")
        keys.add(verifier.public_bytes)
    for field_ in ("name", "key", "url"):
        values = [getattr(w, field_) for w in listed]
        if len(set(values)) != len(values):
            raise DomainError("invalid_witness", f"two witnesses have the same {field_}")
    needed = command.witnesses_needed if command.witnesses_needed is not None else state.witnesses_needed
    if needed > len(listed):
        raise DomainError("invalid_witness", f"{needed} cosignatures cannot be needed of {len(listed)} witnesses")


def _update_deputy(state: CouncilState, command: DeputyUpdate) -> list[Event]:
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
    return [DeputyUpdated(deputy=deputy.id, **changes)]


def _enroll(state: CouncilState, command: CredentialEnroll) -> list[Event]:
    if command.deputy not in state.deputies:
        raise DomainError("unknown_deputy", f"{command.deputy!r} is not a member of the council")
    if command.credential in state.credentials:
        raise DomainError("credential_exists", "this credential is already enrolled")
    # A synced passkey could sign on a colleague's phone; the council may insist on device-bound keys.
    if command.backup_eligible and state.refuse_backup_eligible:
        raise DomainError("credential_backup_eligible", "the council accepts only device-bound credentials")
    return [CredentialEnrolled(**command.model_dump(exclude={"id", "type"}))]


def evolve_council(state: CouncilState | None, event: Recorded) -> CouncilState:
    """Apply one council event and return the new state.

    Does not mutate `state` (council events are rare; a fresh copy keeps readers safe).
    Raises ValueError for an unknown event type or an event that needs a council before it exists.
    """
    data = event.data
    if isinstance(data, CouncilCreated):
        if state is not None:
            raise ValueError("council.created on an existing council")
        return CouncilState(
            id=data.council,
            name=data.name,
            composition=data.composition,
            rules=tuple(Rule(r) for r in data.rules),
            first_ballot_final=data.first_ballot_final,
            demo=data.demo,
            signed_ballots=data.signed_ballots,
            refuse_backup_eligible=data.refuse_backup_eligible,
            rp_id=data.rp_id,
            origins=tuple(data.origins if data.origins is not None else ("http://localhost:8000",)),
            results=data.results or "live",
            seq=event.seq,
        )
    if state is None:
        raise ValueError(f"{event.type} before council.created")
    match data:
        case DeputyAdded():
            deputy = Deputy(id=data.deputy, name=data.name, faction=data.faction, mayor=data.mayor, gender=data.gender)
            return replace(state, deputies={**state.deputies, deputy.id: deputy}, seq=event.seq)
        case DeputyUpdated():
            deputy = replace(state.deputies[data.deputy], **changes(data))
            return replace(state, deputies={**state.deputies, deputy.id: deputy}, seq=event.seq)
        case CouncilConfigured():
            return replace(
                state,
                signed_ballots=_or(data.signed_ballots, state.signed_ballots),
                refuse_backup_eligible=_or(data.refuse_backup_eligible, state.refuse_backup_eligible),
                rp_id=_or(data.rp_id, state.rp_id),
                origins=tuple(_or(data.origins, state.origins)),
                holidays=tuple(_or(data.holidays, state.holidays)),
                signer_keys=dict(_or(data.signer_keys, state.signer_keys)),
                faction_order=tuple(_or(data.factions, state.faction_order)),
                procedural_rule=Rule(data.procedural_rule) if data.procedural_rule else state.procedural_rule,
                results=_or(data.results, state.results),
                vote_rules={
                    **state.vote_rules,
                    **{VoteKind(k): Rule(r) for k, r in (data.vote_rules or {}).items()},
                },
                first_ballot_final=_or(data.first_ballot_final, state.first_ballot_final),
                witnesses=state.witnesses
                if data.witnesses is None
                else tuple(Witness(w["name"], w["url"], w["key"]) for w in data.witnesses),
                witnesses_needed=_or(data.witnesses_needed, state.witnesses_needed),
                committees_per_deputy=_or(data.committees_per_deputy, state.committees_per_deputy),
                committee_quorum=_or(data.committee_quorum, state.committee_quorum),
                secret_questions=state.secret_questions
                if data.secret_questions is None
                else tuple((q["question"], q["title"], q["citation"]) for q in data.secret_questions),
                seq=event.seq,
            )
        case CredentialEnrolled():
            credential = Credential(
                id=data.credential,
                deputy=data.deputy,
                public_key=from_b64url(data.public_key),
                sign_count=data.sign_count,
                backup_eligible=data.backup_eligible,
            )
            return replace(state, credentials={**state.credentials, credential.id: credential}, seq=event.seq)
        case CredentialRevoked():
            revoked = replace(state.credentials[data.credential], revoked=True)
            return replace(state, credentials={**state.credentials, revoked.id: revoked}, seq=event.seq)
        case CommitteeCreated():
            committee = Committee(
                data.committee,
                data.name,
                data.composition,
                tuple(data.members),
                data.chair,
                data.deputy_chair,
                data.secretary,
            )
            return replace(state, committees={**state.committees, committee.id: committee}, seq=event.seq)
        case CommitteeChanged():
            named = {k: v for k, v in data.payload.items() if k != "committee"}
            changed = _changed_committee(state.committees[data.committee], named)
            return replace(state, committees={**state.committees, changed.id: changed}, seq=event.seq)
    raise ValueError(f"unknown council event type: {event.type!r}")


T = TypeVar("T")


def _or(value: T | None, current: T) -> T:
    """A setting's new value, or the current one where the event leaves it out."""
    return current if value is None else value
