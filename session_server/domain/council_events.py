"""The events of a council's stream (``council:<id>``): its creation, roster, settings and devices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from session_server.domain.events import ABSENT, Event, _Absent, event

Gender = Literal["female", "male"]

__all__ = [
    "CommitteeChanged",
    "CommitteeCreated",
    "CouncilConfigured",
    "CouncilCreated",
    "CredentialEnrolled",
    "CredentialRevoked",
    "DeputyAdded",
    "DeputyUpdated",
]


@event("council.created", omit_none=("results",))
class CouncilCreated(Event):
    """The council exists: its statutory composition (art. 46, 59), vote rules and ballot settings."""

    council: str
    name: str
    composition: int
    rules: list[str]
    first_ballot_final: bool
    demo: bool = False
    signed_ballots: bool = True
    refuse_backup_eligible: bool = False
    rp_id: str = "localhost"
    origins: list[str] | None = None
    """The WebAuthn origins (None in councils created before they were recorded: ``http://localhost:8000``)."""
    results: str | None = None
    """``counts`` or ``hidden``; left out for ``live`` (as in councils created before it was chosen at creation)."""


@event("deputy.added", omit_none=("gender",))
class DeputyAdded(Event):
    """A member joins the roster: a deputy with a faction (or none), or the mayor."""

    deputy: str
    name: str
    faction: str | None
    mayor: bool
    gender: Gender | None = None
    """``female`` or ``male`` for the Ukrainian of the minutes; left out when not known."""


@event("deputy.updated")
class DeputyUpdated(Event):
    """A member's record corrected: only what changed is named (a faction may change to none)."""

    deputy: str
    name: str | _Absent = ABSENT
    faction: str | _Absent | None = ABSENT
    gender: Gender | _Absent = ABSENT


@event(
    "council.configured",
    omit_none=(
        "signed_ballots",
        "refuse_backup_eligible",
        "rp_id",
        "origins",
        "holidays",
        "signer_keys",
        "factions",
        "procedural_rule",
        "first_ballot_final",
        "vote_rules",
        "results",
        "witnesses",
        "witnesses_needed",
        "committees_per_deputy",
        "committee_quorum",
        "secret_questions",
    ),
)
class CouncilConfigured(Event):
    """Settings changed: only those named (none is ever null)."""

    signed_ballots: bool | None = None
    refuse_backup_eligible: bool | None = None
    rp_id: str | None = None
    origins: list[str] | None = None
    holidays: list[str] | None = None
    signer_keys: Mapping[str, str] | None = None
    factions: list[str] | None = None
    procedural_rule: str | None = None
    first_ballot_final: bool | None = None
    vote_rules: Mapping[str, str] | None = None
    """Rules by kind of vote (``voting.kinds``): merged into those set before."""
    results: str | None = None
    """"live" or "hidden": whether a vote's choices are seen while it is open, or sealed until its close."""
    witnesses: list[Mapping[str, str]] | None = None
    """The witnesses asked to cosign checkpoints, each ``{name, url, key}`` (the whole list)."""
    witnesses_needed: int | None = None
    """How many of them must cosign a checkpoint."""
    committees_per_deputy: int | None = None
    """On how many standing committees a deputy may sit."""
    committee_quorum: str | None = None
    """A committee's quorum: "half" (not less than half of its composition, art. 47) or "majority"."""
    secret_questions: list[Mapping[str, str]] | None = None
    """The questions a secret ballot is allowed for, each ``{question, title, citation}`` (the whole list)."""


@event("credential.enrolled")
class CredentialEnrolled(Event):
    """A deputy's tablet enrolled: its WebAuthn credential and public key (COSE, base64url)."""

    deputy: str
    credential: str
    public_key: str
    sign_count: int = 0
    backup_eligible: bool = False
    backed_up: bool = False
    aaguid: str = ""


@event("credential.revoked")
class CredentialRevoked(Event):
    """A credential signs nothing from now on (a lost or replaced tablet)."""

    deputy: str
    credential: str
    reason: str


def changes(event: Event) -> dict[str, Any]:
    """The fields an update names (its payload without the record's id)."""
    return {k: v for k, v in event.payload.items() if k != "deputy"}


@event("committee.created", omit_none=("deputy_chair", "secretary"))
class CommitteeCreated(Event):
    """A standing committee is formed (``domain.committees``)."""

    committee: str
    name: str
    composition: int
    members: list[str]
    chair: str
    deputy_chair: str | None = None
    secretary: str | None = None


@event(
    "committee.changed",
    omit_none=("name", "composition", "members", "chair", "deputy_chair", "secretary"),
)
class CommitteeChanged(Event):
    """A committee changed: what is named, with its new value (an office of ``""`` is left vacant)."""

    committee: str
    name: str | None = None
    composition: int | None = None
    members: list[str] | None = None
    chair: str | None = None
    deputy_chair: str | None = None
    secretary: str | None = None
