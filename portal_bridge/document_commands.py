"""Commands on decision documents, validated at the edge like the session's (strict, frozen, no extras)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter, field_validator, model_validator

from session_server.domain.text import MULTILINE, Strict

__all__ = [
    "DOCUMENT_COMMAND_ADAPTER",
    "AmendmentAuthor",
    "AmendmentPropose",
    "AmendmentRecordOutcome",
    "AmendmentWithdraw",
    "DeviceAssertion",
    "DocumentAttach",
    "DocumentCommand",
    "DocumentPublish",
    "DocumentPublishDraft",
    "DocumentRecordOutcome",
    "DocumentRegister",
    "DocumentSchedule",
    "DocumentSign",
    "ExecutionAssign",
    "ExecutionReport",
]

CommandId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,60}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
IsoDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
# A reason a person types: surrounding spaces dropped, a blank one refused.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), MULTILINE]


class _Command(Strict):
    id: CommandId


class _Dated(_Command):
    @field_validator("date", check_fields=False)
    @classmethod
    def _real_date(cls, value: str) -> str:
        dt.date.fromisoformat(value)
        return value


class DocumentRegister(_Command):
    """Register a draft decision: `document` (id), registry `number`, title, initiator, rapporteur, text."""

    type: Literal["document.register"]
    document: Slug
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    initiator: Text
    rapporteur: Text
    text: Annotated[str, StringConstraints(max_length=200_000), MULTILINE] = ""


class DocumentAttach(_Command):
    """Attach a stored file (the upload endpoint computes its SHA-256)."""

    type: Literal["document.attach"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1, le=50 * 2**20)]
    media_type: Literal["application/pdf"] = "application/pdf"


class DocumentPublishDraft(_Dated):
    """Publish the draft for residents on `date`."""

    type: Literal["document.publish_draft"]
    date: IsoDate


class DocumentSchedule(_Dated):
    """Put the draft on a session's agenda item, considered on `date`; an early one needs `override_reason`."""

    type: Literal["document.schedule"]
    session: Slug
    item: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
    date: IsoDate
    override_reason: Reason | None = None


AmendmentId = Annotated[str, StringConstraints(pattern=r"^a[0-9]{1,4}$")]
VoteId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class DocumentRecordOutcome(_Command):
    """The vote's result (issued by the server's consumer of `vote.closed`); an adopted decision names the
    draft's amendments the council adopted (`amendments`, in the order of their votes)."""

    type: Literal["document.record_outcome"]
    session: Slug
    vote: VoteId
    outcome: Literal["adopted", "rejected"]
    decision_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    amendments: Annotated[list[AmendmentId], Field(default_factory=list, max_length=500)]


Line = Annotated[int, Field(ge=0, le=100_000)]
ChangeText = Annotated[str, StringConstraints(max_length=20_000), MULTILINE]


class _Replace(Strict):
    """Lines `from`…`to` of the draft become `text`."""

    model_config = Strict.model_config | {"populate_by_name": True}
    op: Literal["replace"]
    start: Line = Field(alias="from")
    end: Line = Field(alias="to")
    text: ChangeText


class _Insert(Strict):
    """`text` goes after line `after` of the draft (0: before the first)."""

    op: Literal["insert"]
    after: Line
    text: ChangeText


class _Delete(Strict):
    """Lines `from`…`to` of the draft are deleted."""

    model_config = Strict.model_config | {"populate_by_name": True}
    op: Literal["delete"]
    start: Line = Field(alias="from")
    end: Line = Field(alias="to")


ChangeModel = Annotated[_Replace | _Insert | _Delete, Field(discriminator="op")]


class AmendmentAuthor(Strict):
    """Who proposes it: a deputy (`member`), the mayor, or a committee (`name`)."""

    kind: Literal["deputy", "mayor", "committee"]
    member: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = None
    name: Text | None = None

    @model_validator(mode="after")
    def _named(self) -> AmendmentAuthor:
        if (self.kind == "deputy") != (self.member is not None):
            raise ValueError("a deputy's amendment names the member, and only it does")
        if (self.kind == "committee") != (self.name is not None):
            raise ValueError("a committee's amendment names the committee, and only it does")
        return self


class AmendmentPropose(_Command):
    """Propose an amendment to the draft: its changes to the draft's numbered lines (`voting.amendments`),
    its author and reason. A deputy proposes in the deputy's own name (`author` may be left out); the
    secretary enters one for any author."""

    type: Literal["amendment.propose"]
    author: AmendmentAuthor | None = None
    reason: Reason
    changes: Annotated[list[ChangeModel], Field(min_length=1, max_length=50)]


class AmendmentWithdraw(_Command):
    """Withdraw an amendment not yet voted on (its author, or the secretary)."""

    type: Literal["amendment.withdraw"]
    amendment: AmendmentId


class AmendmentRecordOutcome(_Command):
    """An amendment vote's result (issued by the server's consumer of the sitting's log)."""

    type: Literal["amendment.record_outcome"]
    session: Slug
    vote: VoteId
    amendments: Annotated[list[AmendmentId], Field(min_length=1, max_length=20)]
    outcome: Literal["adopted", "rejected"]


Base64url = Annotated[str, StringConstraints(min_length=1, max_length=8_000, pattern=r"^[A-Za-z0-9_-]+$")]


class DeviceAssertion(Strict):
    """A WebAuthn assertion's raw parts, base64url, exactly as the authenticator produced them."""

    credential: Base64url
    authenticator_data: Base64url
    client_data_json: Base64url
    signature: Base64url


class DocumentSign(_Command):
    """The mayor's signature on an adopted decision, one of two kinds.

    - ``algorithm: "webauthn"`` with ``assertion``: made on the mayor's enrolled device, whose
      challenge commits to the council, the document, its decision number and digest
      (``voting.decision``);
    - any other ``algorithm`` (``ed25519`` by default; pluggable, e.g. a qualified signature tool)
      with ``key_id`` and ``signature``: over the decision's digest, by a key of the council's
      ``signer_keys``.
    """

    type: Literal["document.sign"]
    algorithm: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    key_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    signature: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] | None = None
    assertion: DeviceAssertion | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DocumentSign:
        if self.algorithm == "webauthn":
            if self.assertion is None:
                raise ValueError("a webauthn signature needs the assertion")
            if self.key_id is not None or self.signature is not None:
                raise ValueError("a webauthn signature carries its key and signature in the assertion")
        elif self.key_id is None or self.signature is None or self.assertion is not None:
            raise ValueError(f"an {self.algorithm} signature needs key_id and signature, and no assertion")
        return self


class DocumentPublish(_Dated):
    """Publish the signed decision on `date`."""

    type: Literal["document.publish"]
    date: IsoDate


class ExecutionAssign(_Command):
    """Put the decision under execution control: the responsible unit and the deadline."""

    type: Literal["execution.assign"]
    unit: Text
    deadline: IsoDate


class ExecutionReport(_Command):
    """Report on the execution: `in_progress` or `done`, with a note."""

    type: Literal["execution.report"]
    status: Literal["in_progress", "done"]
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class DraftAssign(_Command):
    """Send the draft to a standing committee (secretary, admin): the lead committee (one) or one for its opinion."""

    type: Literal["draft.assign"]
    committee: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
    lead: bool = False


class ConclusionRecord(_Command):
    """Record a committee's conclusion on the draft from the committee's closed vote (the server only)."""

    type: Literal["conclusion.record"]
    committee: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
    session: Slug
    vote: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,6}$")]
    recommendation: Literal["support", "reject", "rework"]
    adopted: bool
    text: Annotated[str, StringConstraints(max_length=200)] | None = None
    """The conclusion's words: what its vote was opened on."""
    amendments: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^a[0-9]{1,6}$")]], Field(default_factory=list, max_length=20)
    ]
    """The draft's amendments the conclusion proposes to the plenary."""


DocumentCommandModel = (
    DocumentRegister
    | DocumentAttach
    | DocumentPublishDraft
    | DocumentSchedule
    | DocumentRecordOutcome
    | DocumentSign
    | DocumentPublish
    | ExecutionAssign
    | ExecutionReport
    | AmendmentPropose
    | AmendmentWithdraw
    | AmendmentRecordOutcome
    | DraftAssign
    | ConclusionRecord
)
DocumentCommand = Annotated[DocumentCommandModel, Field(discriminator="type")]
DOCUMENT_COMMAND_ADAPTER: TypeAdapter[DocumentCommandModel] = TypeAdapter(DocumentCommand)
