"""A decision document's life, pure: registered draft → published for residents → on a session's
agenda → adopted (with its decision number) or rejected by the vote → signed by the mayor →
published → its execution followed. Each document is one event stream (``document:<id>``).

Events (past tense) and payloads:

- ``draft.registered {document, number, title, initiator, rapporteur, text}``;
  ``draft.attached {name, sha256, size, media_type}`` (a PDF stored by its SHA-256);
- ``draft.published {date}`` — published for residents (art. 15 part 3 counts from this date);
- ``draft.scheduled {session, item, date, override}`` — put on a session's agenda; ``override`` is
  null, or ``{reason}`` when the secretary put an early draft on the agenda anyway (logged);
- ``amendment.proposed {amendment, number, author, reason, changes}`` — a change to the draft's numbered
  lines (``voting.amendments``); ``amendment.withdrawn {amendment}``; ``amendment.decided {session, vote,
  amendments, adopted}`` — the council's vote on it (several put jointly);
- ``decision.adopted {session, vote, decision_number, text?, amendments?}`` / ``decision.rejected {session,
  vote}`` — taken from the vote's result; with adopted amendments, ``text`` is the consolidated text;
- ``decision.signed {signer, algorithm, key_id, digest, signature}`` — an Ed25519 (or another
  pluggable scheme's) signature over ``digest(state)`` by a key of the council's ``signer_keys``; or
  ``decision.signed {signer, algorithm: "webauthn", key_id, digest, council, document,
  decision_number, sign_count, assertion}`` — made on the mayor's enrolled device (``key_id`` is the
  credential id; ``assertion`` its raw parts, base64url), over ``voting.decision.decision_bytes``;
- ``decision.published {date}``;
- ``execution.assigned {unit, deadline}``; ``execution.reported {status, note}``.

Commands are the pydantic models in ``portal_bridge.document_commands``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from portal_bridge.amendment_rules import (
    STAFF,
    AmendmentRecord,
    Draft,
    amendment_of,
    consolidated,
    propose,
    record_outcome,
    withdraw,
)
from portal_bridge.document_commands import (
    AmendmentPropose,
    AmendmentRecordOutcome,
    AmendmentWithdraw,
    ConclusionRecord,
    DocumentAttach,
    DocumentCommand,
    DocumentPublish,
    DocumentPublishDraft,
    DocumentRecordOutcome,
    DocumentRegister,
    DocumentSchedule,
    DocumentSign,
    DraftAssign,
    ExecutionAssign,
    ExecutionReport,
)
from portal_bridge.document_events import (
    AmendmentDecided,
    AmendmentProposed,
    AmendmentWithdrawn,
    ConclusionRecorded,
    DecisionAdopted,
    DecisionPublished,
    DecisionRejected,
    DecisionSigned,
    DraftAssigned,
    DraftAttached,
    DraftPublished,
    DraftRegistered,
    DraftScheduled,
    ExecutionAssigned,
    ExecutionReported,
)
from portal_bridge.workdays import latest_publication
from session_server.domain.errors import DomainError, declare
from session_server.domain.events import Event, Recorded
from session_server.domain.roles import Context, Role
from voting.amendments import Change
from voting.decision import WEBAUTHN, DeviceKeys, SignatureRefused, check_device_signature, decision_bytes
from voting.decision import document_digest as _document_digest

__all__ = ["Attachment", "Conclusion", "DocumentState", "decide_document", "digest", "evolve_document", "overdue"]

Status = Literal["registered", "published_draft", "scheduled", "adopted", "rejected", "signed", "published"]
SignatureCheck = Callable[[str, str, bytes, str], bool]
"""``(algorithm, key_id, digest, signature) -> valid``: the pluggable signature scheme (Ed25519 by default)."""


declare(
    {
        "document_exists": "conflict",  # registering a decision document twice
        "document_not_found": "not_found",  # a command on a document that was never registered
        "draft_published": "conflict",  # changing the attachments of, or publishing again, a published draft
        "draft_not_published": "conflict",  # putting a draft on the agenda before it is published for residents
        # a draft published fewer than 10 working days before its consideration (art. 15 part 3 of the Law on
        # Access to Public Information), without an override reason
        "published_too_late": "conflict",
        "not_scheduled": "conflict",  # a vote's outcome for a document not on that session's agenda
        "not_adopted": "conflict",  # signing a decision that was not adopted
        "already_signed": "conflict",  # signing a decision twice
        "not_signed": "conflict",  # publishing, or controlling the execution of, an unsigned decision
        "no_execution": "conflict",  # reporting on the execution of a decision not under control
        "draft_without_text": "conflict",  # an amendment to a draft registered without a text
        "draft_decided": "conflict",  # an amendment to a draft the council has decided
        "invalid_amendment": "invalid",  # an amendment's lines outside the draft, or two of its changes meeting
        "unknown_amendment": "conflict",  # withdrawing, or recording a vote on, an amendment the draft lacks
        "amendment_withdrawn": "conflict",  # withdrawing an amendment twice
        "amendment_voted": "conflict",  # withdrawing an amendment that has been voted on
        "amendment_conflict": "conflict",  # a decision whose adopted amendments change the same lines
        "already_assigned": "conflict",  # sending a draft to a committee twice, or to a second lead committee
        "not_assigned": "conflict",  # a committee's conclusion on a draft not sent to it
    }
)
"""The codes a document command is refused with (``DomainError``), declared to the core with their kinds."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file of the draft, known by its SHA-256 (the bytes live in the file store)."""

    name: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class Conclusion:
    """A standing committee's conclusion on the draft: what it recommends, and whether its vote adopted it."""

    committee: str
    session: str
    vote: str
    recommendation: str
    adopted: bool
    text: str = ""
    """The words its vote was opened on ("" for conclusions recorded before they were kept)."""
    amendments: tuple[str, ...] = ()
    """The draft's amendments it proposes to the plenary."""


@dataclass(slots=True)
class DocumentState:
    """A decision document as folded from its stream."""

    id: str
    number: str
    title: str
    initiator: str
    rapporteur: str
    text: str
    status: Status = "registered"
    attachments: tuple[Attachment, ...] = ()
    published_on: str | None = None
    decision_published_on: str | None = None
    session: str | None = None
    item: str | None = None
    vote: str | None = None
    decision_number: str | None = None
    signature: dict[str, Any] | None = None
    """The ``decision.signed`` payload and its time ``at``; ``portal_bridge.decisions.Documents.document``
    adds ``check``, the signature verified again against the council's public keys."""
    execution: dict[str, Any] | None = None
    history: list[tuple[str, str]] = field(default_factory=list)  # (event type, at)
    seq: int = 0
    draft_text: str = ""
    """The text as registered: what the amendments' line numbers refer to. ``text`` is the consolidated
    text once the decision is adopted with amendments."""
    amendments: dict[str, AmendmentRecord] = field(default_factory=dict)
    adopted_amendments: tuple[str, ...] = ()
    """The amendments the decision was adopted with, in order."""
    committees: dict[str, bool] = field(default_factory=dict)
    """The standing committees the draft was sent to (committee id → whether it is the lead one), in order."""
    conclusions: list[Conclusion] = field(default_factory=list)
    """The committees' conclusions on it, in the order of their votes (a later one of a committee stands)."""


def digest(state: DocumentState) -> bytes:
    """What the mayor signs: SHA-256 of the canonical adopted text, its attachments and decision number
    (``voting.decision.document_digest``)."""
    return _document_digest(
        document=state.id,
        number=state.number,
        decision_number=state.decision_number,
        title=state.title,
        text=state.text,
        attachments=[a.sha256 for a in state.attachments],
        session=state.session,
        vote=state.vote,
    )


def _staff(ctx: Context) -> None:
    if ctx.actor.role not in STAFF:
        raise DomainError("forbidden", f"role {ctx.actor.role.value!r} may not change decision documents")


def decide_document(
    state: DocumentState | None,
    command: DocumentCommand,
    ctx: Context,
    *,
    holidays: Collection[date] = (),
    mayor: str | None = None,
    check_signature: SignatureCheck | None = None,
    devices: DeviceKeys | None = None,
    members: Collection[str] = (),
    committees: Collection[str] = (),
) -> list[Event]:
    """Check a document command against the document's life and return the events it causes.

    ``holidays`` are the council's public holidays (working days, art. 15 part 3); ``mayor`` the
    member id whose account may sign; ``check_signature`` verifies a signature over ``digest``;
    ``devices`` are the council's enrolled credentials that a ``webauthn`` signature is checked against;
    ``members`` the council's members, who may author amendments; ``committees`` its standing committees'
    ids, which drafts are sent to. Raises DomainError.
    """
    if isinstance(command, DocumentRegister):
        _staff(ctx)
        if state is not None:
            raise DomainError("document_exists", f"document {state.id!r} is already registered")
        fields = command.model_dump(include={"document", "number", "title", "initiator", "rapporteur", "text"})
        return [DraftRegistered(**fields)]
    if state is None:
        raise DomainError("document_not_found", "the document has not been registered")
    match command:
        case DocumentAttach():
            _staff(ctx)
            if state.status != "registered":
                raise DomainError("draft_published", "attachments cannot change once the draft is published")
            if any(a.sha256 == command.sha256 for a in state.attachments):
                raise DomainError("invalid_command", "this file is already attached")
            return [DraftAttached(**command.model_dump(include={"name", "sha256", "size", "media_type"}))]
        case DocumentPublishDraft():
            _staff(ctx)
            if state.published_on is not None:
                raise DomainError("draft_published", f"the draft was published on {state.published_on}")
            return [DraftPublished(date=command.date)]
        case DocumentSchedule():
            return _schedule(state, command, ctx, holidays)
        case DocumentRecordOutcome():
            return [_outcome(state, command, ctx)]
        case AmendmentPropose():
            return [propose(command, ctx, Draft(state.status, state.draft_text, state.amendments), mayor, members)]
        case AmendmentWithdraw():
            return [withdraw(state.amendments, command, ctx, mayor)]
        case AmendmentRecordOutcome():
            return [record_outcome(state.amendments, command, ctx)]
        case DocumentSign():
            return _sign(state, command, ctx, mayor, check_signature, devices)
        case DocumentPublish():
            _staff(ctx)
            if state.status != "signed":
                raise DomainError("not_signed", "only a decision signed by the mayor is published")
            return [DecisionPublished(date=command.date)]
        case ExecutionAssign():
            _staff(ctx)
            if state.status not in ("signed", "published"):
                raise DomainError("not_signed", "execution is controlled for signed decisions")
            return [ExecutionAssigned(unit=command.unit, deadline=command.deadline)]
        case ExecutionReport():
            _staff(ctx)
            if state.execution is None:
                raise DomainError("no_execution", "assign the responsible unit and deadline first")
            return [ExecutionReported(status=command.status, note=command.note)]
        case DraftAssign():
            return [_assign(state, command, ctx, committees)]
        case ConclusionRecord():
            if ctx.actor.role is not Role.ADMIN:
                raise DomainError("forbidden", "a conclusion is taken from the committee's vote by the server")
            if command.committee not in state.committees:
                raise DomainError("not_assigned", f"the draft was not sent to committee {command.committee!r}")
            for amendment_id in command.amendments:
                amendment_of(state.amendments, amendment_id)
            recorded = command.model_dump(exclude={"id", "type"})
            return [ConclusionRecorded(**{**recorded, "amendments": command.amendments or None})]
    raise DomainError("invalid_command", f"not a document command: {command.type!r}")


def _assign(state: DocumentState, command: DraftAssign, ctx: Context, committees: Collection[str]) -> Event:
    """A draft goes to committees before the council decides it: one lead committee, others for opinion."""
    _staff(ctx)
    if command.committee not in committees:
        raise DomainError("unknown_committee", f"the council has no committee {command.committee!r}")
    if state.status not in ("registered", "published_draft", "scheduled"):
        raise DomainError("draft_decided", "the council has decided the draft")
    if command.committee in state.committees:
        raise DomainError("already_assigned", f"the draft was already sent to committee {command.committee!r}")
    lead = next((c for c, is_lead in state.committees.items() if is_lead), None)
    if command.lead and lead is not None:
        raise DomainError("already_assigned", f"committee {lead!r} already leads on the draft")
    return DraftAssigned(committee=command.committee, lead=command.lead)


def _outcome(state: DocumentState, command: DocumentRecordOutcome, ctx: Context) -> Event:
    """The decision's outcome from its vote; adopted with amendments, the consolidated text."""
    if ctx.actor.role is not Role.ADMIN:
        raise DomainError("forbidden", "the outcome is taken from the vote by the server")
    if state.status != "scheduled" or state.session != command.session:
        raise DomainError("not_scheduled", f"the draft is not on the agenda of session {command.session!r}")
    if command.outcome == "rejected":
        return DecisionRejected(session=command.session, vote=command.vote)
    if not command.decision_number:
        raise DomainError("invalid_command", "an adopted decision needs its number")
    text = consolidated(state.draft_text, state.amendments, command.amendments) if command.amendments else None
    return DecisionAdopted(
        session=command.session,
        vote=command.vote,
        decision_number=command.decision_number,
        text=text,
        amendments=command.amendments or None,
    )


def _schedule(state: DocumentState, command: DocumentSchedule, ctx: Context, holidays: Collection[date]) -> list[Event]:
    _staff(ctx)
    if state.published_on is None:
        raise DomainError("draft_not_published", "a draft goes on the agenda only after it is published for residents")
    if state.status not in ("published_draft", "scheduled"):
        raise DomainError("invalid_command", f"the document is already {state.status}")
    latest = latest_publication(date.fromisoformat(command.date), holidays)
    override = None
    # Law "On Access to Public Information", art. 15 part 3: published ≥ 10 working days before.
    if date.fromisoformat(state.published_on) > latest:
        if not command.override_reason:
            raise DomainError(
                "published_too_late",
                f"published on {state.published_on}; for {command.date} it had to be published by {latest.isoformat()}"
                " (10 working days, art. 15 part 3); give an override reason to schedule it anyway",
            )
        override = {"reason": command.override_reason}
    return [DraftScheduled(session=command.session, item=command.item, date=command.date, override=override)]


def _sign(
    state: DocumentState,
    command: DocumentSign,
    ctx: Context,
    mayor: str | None,
    check_signature: SignatureCheck | None,
    devices: DeviceKeys | None,
) -> list[Event]:
    if not (ctx.actor.role is Role.ADMIN or (mayor is not None and ctx.actor.member == mayor)):
        raise DomainError("forbidden", "only the mayor signs the council's decisions")
    if state.status == "signed" or state.status == "published":
        raise DomainError("already_signed", "the decision is already signed")
    if state.status != "adopted" or state.decision_number is None:
        raise DomainError("not_adopted", "only an adopted decision is signed")
    doc_digest = digest(state)
    if command.algorithm == WEBAUTHN:
        return [_signed_on_device(state, command, doc_digest.hex(), mayor, devices)]
    assert command.key_id is not None and command.signature is not None  # the command's model requires them
    if check_signature is None or not check_signature(command.algorithm, command.key_id, doc_digest, command.signature):
        raise DomainError("signature_invalid", "the signature does not verify over the decision's digest")
    signed = DecisionSigned(
        signer=ctx.actor.member or ctx.actor.username,
        algorithm=command.algorithm,
        key_id=command.key_id,
        digest=doc_digest.hex(),
        signature=command.signature,
    )
    return [signed]


def _signed_on_device(
    state: DocumentState, command: DocumentSign, doc_digest: str, mayor: str | None, devices: DeviceKeys | None
) -> DecisionSigned:
    """The mayor's WebAuthn assertion over the decision (``voting.decision``), checked like a ballot's."""
    assert command.assertion is not None and state.decision_number is not None
    if devices is None:
        raise DomainError("unknown_credential", "the council has no enrolled devices to check the signature against")
    data = decision_bytes(
        council=devices.council, document=state.id, decision_number=state.decision_number, digest=doc_digest
    )
    assertion = command.assertion.model_dump()
    try:
        credential, sign_count = check_device_signature(data, assertion, devices, mayor=mayor)
    except SignatureRefused as exc:
        raise DomainError(exc.code, exc.message) from None
    return DecisionSigned(
        signer=credential.deputy,
        algorithm=WEBAUTHN,
        key_id=credential.id,
        digest=doc_digest,
        council=devices.council,
        document=state.id,
        decision_number=state.decision_number,
        sign_count=sign_count,
        assertion=assertion,
    )


def evolve_document(state: DocumentState | None, event: Recorded) -> DocumentState:
    """Apply one document event; creates the state on ``draft.registered``, else mutates and returns it."""
    data = event.data
    if isinstance(data, DraftRegistered):
        if state is not None:
            raise ValueError("draft.registered on an existing document")
        created = DocumentState(
            id=data.document,
            number=data.number,
            title=data.title,
            initiator=data.initiator,
            rapporteur=data.rapporteur,
            text=data.text,
            seq=event.seq,
            draft_text=data.text,
        )
        created.history.append((event.type, event.at))
        return created
    if state is None:
        raise ValueError(f"{event.type} before draft.registered")
    match data:
        case DraftAttached():
            state.attachments = (*state.attachments, Attachment(data.name, data.sha256, data.size, data.media_type))
        case DraftPublished():
            state.published_on = data.date
            state.status = "published_draft"
        case DraftScheduled():
            state.session, state.item, state.status = data.session, data.item, "scheduled"
        case DecisionAdopted():
            state.vote, state.decision_number, state.status = data.vote, data.decision_number, "adopted"
            if data.text is not None:
                state.text = data.text
            state.adopted_amendments = tuple(data.amendments or ())
        case AmendmentProposed():
            state.amendments[data.amendment] = AmendmentRecord(
                id=data.amendment,
                number=data.number,
                author=dict(data.author),
                reason=data.reason,
                changes=tuple(Change.of(dict(c)) for c in data.changes),
                proposed_at=event.at,
            )
        case AmendmentWithdrawn():
            state.amendments[data.amendment].status = "withdrawn"
        case AmendmentDecided():
            for amendment_id in data.amendments:
                record = state.amendments[amendment_id]
                record.status = "adopted" if data.adopted else "rejected"
                record.vote = data.vote
                record.jointly = tuple(a for a in data.amendments if a != amendment_id)
        case DecisionRejected():
            state.vote, state.status = data.vote, "rejected"
        case DecisionSigned():
            state.signature = {**event.payload, "at": event.at}
            state.status = "signed"
        case DecisionPublished():
            state.status = "published"
            state.decision_published_on = data.date
        case ExecutionAssigned():
            state.execution = {"unit": data.unit, "deadline": data.deadline, "status": "assigned", "reports": []}
        case ExecutionReported():
            assert state.execution is not None
            state.execution = {
                **state.execution,
                "status": data.status,
                "reports": [*state.execution["reports"], {"status": data.status, "note": data.note, "at": event.at}],
            }
        case DraftAssigned():
            state.committees[data.committee] = data.lead
        case ConclusionRecorded():
            state.conclusions.append(
                Conclusion(
                    data.committee,
                    data.session,
                    data.vote,
                    data.recommendation,
                    data.adopted,
                    data.text or "",
                    tuple(data.amendments or ()),
                )
            )
        case _:
            raise ValueError(f"unknown document event type: {event.type!r}")
    state.history.append((event.type, event.at))
    state.seq = event.seq
    return state


def overdue(documents: Iterable[DocumentState], today: date) -> list[DocumentState]:
    """Decisions whose execution deadline passed without a ``done`` report, earliest deadline first."""
    late = [
        d
        for d in documents
        if d.execution is not None
        and d.execution["status"] != "done"
        and date.fromisoformat(d.execution["deadline"]) < today
    ]
    return sorted(late, key=lambda d: (d.execution or {}).get("deadline", ""))


def clone(state: DocumentState) -> DocumentState:
    """An independent copy to apply events to."""
    return replace(
        state,
        history=list(state.history),
        execution=dict(state.execution) if state.execution else None,
        amendments={k: replace(a) for k, a in state.amendments.items()},
        committees=dict(state.committees),
        conclusions=list(state.conclusions),
    )
