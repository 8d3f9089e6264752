"""The events of a decision document's stream (``document:<id>``): the draft's life, the outcome of its
vote, the mayor's signature, publication and the control of its execution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from session_server.domain.events import Event, event

__all__ = [
    "AmendmentDecided",
    "AmendmentProposed",
    "AmendmentWithdrawn",
    "ConclusionRecorded",
    "DecisionAdopted",
    "DecisionPublished",
    "DecisionRejected",
    "DecisionSigned",
    "DraftAssigned",
    "DraftAttached",
    "DraftPublished",
    "DraftRegistered",
    "DraftScheduled",
    "ExecutionAssigned",
    "ExecutionReported",
]


@event("draft.registered")
class DraftRegistered(Event):
    """A draft decision enters the registry with its number, title, initiator, rapporteur and text."""

    document: str
    number: str
    title: str
    initiator: str
    rapporteur: str
    text: str = ""


@event("draft.attached")
class DraftAttached(Event):
    """A file (PDF) attached to the draft, by its SHA-256."""

    name: str
    sha256: str
    size: int
    media_type: str


@event("draft.published")
class DraftPublished(Event):
    """The draft is published for residents (art. 15 part 3 counts ten working days from here)."""

    date: str


@event("draft.scheduled")
class DraftScheduled(Event):
    """The draft is on a sitting's agenda as ``item``; ``override`` holds the reason when it was published late."""

    session: str
    item: str
    date: str
    override: Mapping[str, Any] | None


@event("draft.assigned")
class DraftAssigned(Event):
    """The draft is sent to a standing committee: ``lead`` (the one that prepares it), else for its opinion."""

    committee: str
    lead: bool


@event("conclusion.recorded", omit_none=("text", "amendments"))
class ConclusionRecorded(Event):
    """A committee's conclusion on the draft: its closed vote ``vote`` at sitting ``session`` on what it
    recommends, adopted or not (a majority of the committee's composition, art. 47); ``text``, the words
    its vote was opened on; ``amendments``, the draft's amendments it proposes to the plenary (both left
    out by conclusions recorded before they existed, and ``amendments`` when it proposes none)."""

    committee: str
    session: str
    vote: str
    recommendation: str
    adopted: bool
    text: str | None = None
    amendments: Sequence[str] | None = None


@event("amendment.proposed")
class AmendmentProposed(Event):
    """An amendment to the draft: ``changes`` to the draft's numbered lines (``voting.amendments``), by
    ``author`` (``{kind: deputy, member}``, ``{kind: mayor}`` or ``{kind: committee, name}``), for ``reason``;
    ``number`` counts the draft's amendments from 1."""

    amendment: str
    number: int
    author: Mapping[str, Any]
    reason: str
    changes: Sequence[Mapping[str, Any]]


@event("amendment.withdrawn")
class AmendmentWithdrawn(Event):
    """Its author (or the secretary) withdrew the amendment before it was voted on."""

    amendment: str


@event("amendment.decided")
class AmendmentDecided(Event):
    """The council's vote ``vote`` on the amendments (several: put jointly) adopted or rejected them."""

    session: str
    vote: str
    amendments: Sequence[str]
    adopted: bool


@event("decision.adopted", omit_none=("text", "amendments"))
class DecisionAdopted(Event):
    """The council adopted it in ``vote``: it becomes decision number ``decision_number``. Where amendments
    were adopted, ``amendments`` names them in order and ``text`` is the consolidated text (the draft with
    them applied, ``voting.amendments.consolidate``), which the mayor signs."""

    session: str
    vote: str
    decision_number: str
    text: str | None = None
    amendments: Sequence[str] | None = None


@event("decision.rejected")
class DecisionRejected(Event):
    """The council did not adopt it in ``vote``."""

    session: str
    vote: str


@event("decision.signed", omit_none=("signature", "council", "document", "decision_number", "sign_count", "assertion"))
class DecisionSigned(Event):
    """The mayor signed the decision's ``digest``: with a council key (``signature``), or on the mayor's
    enrolled device (``algorithm`` ``webauthn``: the assertion and what it was made over)."""

    signer: str
    algorithm: str
    key_id: str
    digest: str
    signature: str | None = None
    council: str | None = None
    document: str | None = None
    decision_number: str | None = None
    sign_count: int | None = None
    assertion: Mapping[str, Any] | None = None


@event("decision.published")
class DecisionPublished(Event):
    """The signed decision is published."""

    date: str


@event("execution.assigned")
class ExecutionAssigned(Event):
    """A unit answers for carrying the decision out by ``deadline``."""

    unit: str
    deadline: str


@event("execution.reported")
class ExecutionReported(Event):
    """A report on the execution: ``in_progress`` or ``done``, with a note."""

    status: str
    note: str
