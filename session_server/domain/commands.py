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
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter, field_validator

from session_server.domain.text import MULTILINE, Strict
from voting.kinds import Purpose, Recommendation, VoteKind
from voting.rules import Rule
from voting.tally import Choice

__all__ = [
    "COMMAND_ADAPTER",
    "COUNCIL_COMMAND_ADAPTER",
    "SESSION_COMMAND_ADAPTER",
    "AgendaItemIn",
    "AgendaProposal",
    "BallotCast",
    "BroadcastInterrupt",
    "BroadcastStart",
    "BroadcastStop",
    "Command",
    "CommissionCommit",
    "CommissionComplain",
    "CommissionDeal",
    "CommissionElect",
    "CommissionReady",
    "ConflictDeclare",
    "CouncilCommand",
    "CouncilConfigure",
    "CouncilCreate",
    "CredentialEnroll",
    "CredentialRevoke",
    "DecryptionShare",
    "DeputyAdd",
    "DeputyUpdate",
    "ItemAdd",
    "ItemFinish",
    "ItemRemove",
    "ItemStart",
    "ItemUpdate",
    "PresenceLeave",
    "PresenceRegister",
    "RegistrationClose",
    "RegistrationOpen",
    "SecretQuestion",
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
# Text a person types: surrounding spaces dropped, and blank is refused (a reason of spaces is no reason).
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), MULTILINE]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
# Strict mode would demand enum instances from Python input; accept their string values too.
RuleField = Annotated[Rule, Field(strict=False)]
ChoiceField = Annotated[Choice, Field(strict=False)]
# What a member's tablet publishes for a secret ballot or the commission's key (docs/ledger.md "Secret
# ballots"): exactly these shapes, every value a 32-byte point or scalar in base64url; voting.secret and
# voting.commission then check what the values are.
Value32 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
Proof2 = Annotated[list[Value32], Field(min_length=2, max_length=2)]
Member = Annotated[int, Field(ge=1, le=9)]


class _Model(Strict):
    """Strict, frozen, no unknown fields, and no control characters in any text (``text.Strict``)."""


class _Command(_Model):
    id: CommandId


class AgendaItemIn(_Model):
    """An agenda item as scheduled: `id` is optional (then "i1", "i2"… by position)."""

    id: Slug40 | None = None
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    draft: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class SessionSchedule(_Command):
    """Put a plenary session on the calendar with its agenda (starts the session stream)."""

    type: Literal["session.schedule"]
    number: Annotated[int, Field(ge=1, le=10_000)]
    convocation: Annotated[int, Field(ge=1, le=100)]
    date: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    title: Name
    agenda: Annotated[list[AgendaItemIn], Field(max_length=200)] = Field(default_factory=list)
    session_id: Slug60 | None = None
    committee: Slug40 | None = None
    """A standing committee's sitting (its number counts the committee's sittings); None: the plenary."""

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        dt.date.fromisoformat(value)  # ValueError for 2026-02-30 and the like
        return value

    @property
    def target_session_id(self) -> str:
        """The session id: `session_id` if given, else "c{convocation}-s{number}" (a committee's:
        "{committee}-c{convocation}-s{number}")."""
        own = f"c{self.convocation}-s{self.number}"
        return self.session_id or (f"{self.committee}-{own}" if self.committee else own)


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


ItemNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
ItemTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
DraftRef = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class ItemAdd(_Command):
    """Put an item on the agenda before the session opens; at `position` (1 = first), else last."""

    type: Literal["item.add"]
    item: Slug40 | None = None
    number: ItemNumber
    title: ItemTitle
    draft: DraftRef | None = None
    position: Annotated[int, Field(ge=1, le=200)] | None = None


class ItemUpdate(_Command):
    """Change an agenda item's number, title or draft before the session opens."""

    type: Literal["item.update"]
    item: Ref
    number: ItemNumber | None = None
    title: ItemTitle | None = None
    draft: DraftRef | None = None


class ItemRemove(_Command):
    """Take an item off the agenda before the session opens."""

    type: Literal["item.remove"]
    item: Ref


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


class AgendaProposal(_Model):
    """An item proposed for the agenda of an open sitting: what it will be if the council adopts it."""

    number: ItemNumber
    title: ItemTitle
    draft: DraftRef | None = None


class VoteOpen(_Command):
    """Open a roll-call vote under one of the council's rules.

    On the current `item`, of a `kind` (`voting.kinds`: «за основу», «в цілому», «за основу та в
    цілому», procedural); `rule` defaults to the council's rule for the kind. A procedural vote names
    its `purpose`; with "revote", the closed vote on the item to be voted again (`revote`). With
    `purpose` "agenda_add" and a `proposal` (and no `item`), the procedural vote on including a new item
    in the open sitting's agenda: the item is added only if the council adopts it. A vote of kind
    "amendment" names the `amendments` of the item's draft it puts (jointly, when several); a committee's
    conclusion may name those it proposes to the plenary (each still voted there). A vote without a
    `kind` (as before kinds existed) is taken as a decision on the item, its `rule` named.
    """

    type: Literal["vote.open"]
    item: Ref | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    rule: RuleField | None = None
    seconds: Annotated[int, Field(ge=5, le=900)]
    secret: bool = False
    kind: Annotated[VoteKind, Field(strict=False)] | None = None
    purpose: Annotated[Purpose, Field(strict=False)] | None = None
    proposal: AgendaProposal | None = None
    revote: Ref | None = None
    amendments: Annotated[list[Ref], Field(min_length=1, max_length=20)] | None = None
    recommendation: Annotated[Recommendation, Field(strict=False)] | None = None
    """With `kind` "conclusion" (a committee's sitting): what the conclusion recommends on the item's draft."""
    question: Slug40 | None = None
    """With `secret`: which of the council's questions for secret ballots this is (`secret_questions`, each
    with the law's citation); any other is refused (`secret_ballot_not_allowed`)."""


class EncryptedOption(_Model):
    """One option of a secret ballot: the ciphertext (A, B) and its 0-or-1 proof ``[c0, c1, s0, s1]``."""

    a: Value32
    b: Value32
    proof: Annotated[list[Value32], Field(min_length=4, max_length=4)]


class EncryptedBallot(_Model):
    """A secret ballot as the tablet encrypts it: for, against, abstain, and the sum-to-one proof."""

    v: Annotated[int, Field(ge=1, le=1)]  # the format's version
    options: Annotated[list[EncryptedOption], Field(min_length=3, max_length=3)]
    sum_proof: Proof2


class CommitProofs(_Model):
    key: Proof2
    transport: Proof2


class CommitPublished(_Model):
    """A member's commitments to its polynomial's coefficients (k of them) and its transport key."""

    member: Member
    commitments: Annotated[list[Value32], Field(min_length=1, max_length=9)]
    transport: Value32
    proofs: CommitProofs


class DealtShare(_Model):
    to: Member
    ephemeral: Value32
    sealed: Value32


class DealPublished(_Model):
    """A member's shares for the other members, each encrypted to that member's transport key."""

    member: Member
    shares: Annotated[list[DealtShare], Field(min_length=1, max_length=8)]


class ReadyPublished(_Model):
    """A member's proof of knowing its share."""

    member: Member
    proof: Proof2


class ComplaintPublished(_Model):
    """A member's complaint: the point that opens the share ``against`` dealt it, with its proof."""

    member: Member
    against: Member
    shared: Value32
    proof: Proof2


class DecryptionOption(_Model):
    d: Value32
    proof: Proof2


class DecryptionPublished(_Model):
    """A member's partial decryption of a secret vote's product (``None`` for an option with nothing to decrypt)."""

    v: Annotated[int, Field(ge=1, le=1)]  # the format's version
    member: Member
    options: Annotated[list[DecryptionOption | None], Field(min_length=3, max_length=3)]


class BallotCast(_Command):
    """The caller votes.

    Where the council requires signed ballots, `nonce` is the deputy's current nonce for the vote
    and `assertion` the WebAuthn assertion over the ballot (`voting.ballot`): `{"credential",
    "authenticator_data", "client_data_json", "signature"}`, each base64url.
    """

    type: Literal["ballot.cast"]
    vote: Ref
    choice: ChoiceField | None = None
    """The choice of an open ballot; never in a secret vote (`plaintext_in_secret_ballot`)."""
    encrypted: EncryptedBallot | None = None
    """A secret vote's ballot as the tablet encrypted it (`voting.secret`, docs/ledger.md "Secret ballots")."""
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    assertion: (
        Annotated[
            dict[
                Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")],
                Annotated[str, StringConstraints(max_length=8000)],
            ],
            Field(max_length=10),
        ]
        | None
    ) = None


class CommissionElect(_Command):
    """Record the counting commission the council elected for the sitting (chair, secretary): its members,
    deputies numbered in this order, and how many of them are needed to count a secret vote (2 ≤ k ≤ n)."""

    type: Literal["commission.elect"]
    members: Annotated[list[Ref], Field(min_length=2, max_length=9)]
    threshold: Annotated[int, Field(ge=2, le=9)]


class CommissionCommit(_Command):
    """A commission member's first step, from its tablet: the commitments to its polynomial and its
    transport key, with their proofs (`voting.commission.commit`)."""

    type: Literal["commission.commit"]
    published: CommitPublished


class CommissionDeal(_Command):
    """A commission member's second step: its share for every other member, encrypted to that member."""

    type: Literal["commission.deal"]
    published: DealPublished


class CommissionReady(_Command):
    """A commission member's third step: every share dealt to it checked, and a proof that it holds its own."""

    type: Literal["commission.ready"]
    published: ReadyPublished


class CommissionComplain(_Command):
    """A commission member names a dealer whose share does not match its commitments, with the point that
    opens that share and its proof (`voting.commission.complain`)."""

    type: Literal["commission.complain"]
    published: ComplaintPublished


class DecryptionShare(_Command):
    """A commission member's partial decryption of a secret vote's product, with its proofs."""

    type: Literal["decryption.share"]
    vote: Ref
    decryption: DecryptionPublished


class VoteClose(_Command):
    """Close a vote and publish its tally and roll call."""

    type: Literal["vote.close"]
    vote: Ref


class VoteCancel(_Command):
    """Cancel an open vote, with the reason for the minutes."""

    type: Literal["vote.cancel"]
    vote: Ref
    reason: Reason


class BroadcastStart(_Command):
    """The live video is on air: the first start sets the recording's timeline, later ones resume it."""

    type: Literal["broadcast.start"]
    source: Literal["whip", "camera"] = "whip"


class BroadcastInterrupt(_Command):
    """The live video dropped (the publisher went away); viewers are told, the publisher may come back."""

    type: Literal["broadcast.interrupt"]
    reason: Reason


class BroadcastStop(_Command):
    """The broadcast is over; the recording is finished."""

    type: Literal["broadcast.stop"]


Gender = Literal["female", "male"]
"""A member's grammatical gender, for the forms official texts agree with («утримався» / «утрималася»)."""

Faction = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


RpId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]{1,253}$")]
Origin = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")]


class CouncilCreate(_Command):
    """Create a council (starts the council stream).

    `rp_id` and `origins` are where deputies' WebAuthn credentials live and may sign (the tablets'
    host name and the page origins). `signed_ballots` may be false only for a `demo` council.
    """

    type: Literal["council.create"]
    council: Slug40
    name: Name
    composition: Annotated[int, Field(ge=1, le=1000)]
    rules: Annotated[list[RuleField], Field(min_length=1)] = Field(default_factory=lambda: list(Rule))
    first_ballot_final: bool = False
    demo: bool = False
    signed_ballots: bool = True
    refuse_backup_eligible: bool = False
    rp_id: RpId = "localhost"
    origins: Annotated[list[Origin], Field(min_length=1, max_length=20)] = Field(
        default_factory=lambda: ["http://localhost:8000"]
    )
    results: Literal["live", "counts", "hidden"] = "hidden"
    """When people see how deputies voted: at the close ("hidden", the default; "counts" also shows how many
    have voted while it is open) or as they vote ("live"). See ``CouncilConfigure.results``."""


IsoDay = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
Ed25519Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]


class VoteRules(_Model):
    """The council's threshold for each kind of vote (`voting.kinds`); a kind left out keeps its own."""

    basis: RuleField | None = None
    amendment: RuleField | None = None
    whole: RuleField | None = None
    basis_and_whole: RuleField | None = None
    procedural: RuleField | None = None
    conclusion: RuleField | None = None

    def by_kind(self) -> dict[VoteKind, Rule]:
        """The rules set, by kind."""
        return {VoteKind(kind): rule for kind, rule in self if rule is not None}


WitnessUrl = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")]


class WitnessSetting(_Model):
    """A witness the council asks to cosign its checkpoints (docs/witness.md): its name, the URL its
    ``add-checkpoint`` is under, and its verifier key (``<name>+<key ID>+base64(0x04 || key)``)."""

    name: Annotated[str, StringConstraints(pattern=r"^[^\s+]{1,200}$")]
    url: WitnessUrl
    key: Annotated[str, StringConstraints(pattern=r"^[^\s]{1,300}$")]


class SecretQuestion(_Model):
    """A question the law lets the council decide by secret ballot: its id, its name, and the law's citation
    (e.g. ``{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26 …"}``)."""

    question: Slug40
    title: Name
    citation: Name


class CouncilConfigure(_Command):
    """Change the council's settings; fields left out stay as they are.

    `holidays` are the public holidays that are not working days (the 10-working-day rule for
    drafts); `signer_keys` the Ed25519 public keys (base64) the mayor signs decisions with, by key id.
    """

    type: Literal["council.configure"]
    signed_ballots: bool | None = None
    refuse_backup_eligible: bool | None = None
    rp_id: RpId | None = None
    origins: Annotated[list[Origin], Field(min_length=1, max_length=20)] | None = None
    holidays: Annotated[list[IsoDay], Field(max_length=500)] | None = None
    signer_keys: Annotated[dict[KeyId, Ed25519Key], Field(max_length=20)] | None = None
    factions: Annotated[list[Faction], Field(max_length=100)] | None = None
    procedural_rule: RuleField | None = None
    """The threshold the council's rules set for procedural votes (including an item in the agenda)."""
    vote_rules: VoteRules | None = None
    """The threshold of each kind of vote when the chair names none (kinds left out keep theirs)."""
    results: Literal["live", "counts", "hidden"] | None = None
    """Whether anyone can see the choices while a vote is open ("live"), or only at its close: ballots are
    sealed (docs/ledger.md "Sealed results"), and the public screens show that the vote is under way
    ("hidden") or also how many have voted ("counts")."""
    first_ballot_final: bool | None = None
    """Whether a deputy's first ballot is final (else it may be changed until the vote closes)."""
    witnesses: Annotated[list[WitnessSetting], Field(max_length=20)] | None = None
    """The witnesses asked to cosign every checkpoint (the whole list; ``[]`` asks none)."""
    witnesses_needed: Annotated[int, Field(ge=0, le=20)] | None = None
    """How many of them must cosign a checkpoint before it counts as witnessed (e.g. 2 of 3)."""
    committees_per_deputy: Annotated[int, Field(ge=1, le=20)] | None = None
    """On how many standing committees a deputy may sit (the council's rules; usually one)."""
    secret_questions: Annotated[list[SecretQuestion], Field(max_length=30)] | None = None
    """The questions for which secret ballots are allowed, each with the law's citation (the whole list)."""
    committee_quorum: Literal["half", "majority"] | None = None
    """A committee's quorum: "half" — not less than half of its composition, as art. 47 part 12 says (the
    default) — or "majority", more than half, where the council's rules ask for more."""
    """The factions in the council's own order (minutes, roll calls); others follow in roster order."""


class CommitteeCreate(_Command):
    """Form a standing committee (secretary, admin): its name, statutory composition, members and chair."""

    type: Literal["committee.create"]
    committee: Slug40
    name: Name
    composition: Annotated[int, Field(ge=1, le=200)]
    members: Annotated[list[Slug40], Field(min_length=1, max_length=200)]
    chair: Slug40
    deputy_chair: Slug40 | None = None
    secretary: Slug40 | None = None


class CommitteeUpdate(_Command):
    """Change a committee (secretary, admin): what is given replaces what it was (``""`` leaves the deputy
    chair's or the secretary's office vacant)."""

    type: Literal["committee.update"]
    committee: Slug40
    name: Name | None = None
    composition: Annotated[int, Field(ge=1, le=200)] | None = None
    members: Annotated[list[Slug40], Field(min_length=1, max_length=200)] | None = None
    chair: Slug40 | None = None
    deputy_chair: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{0,40}$")] | None = None
    secretary: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{0,40}$")] | None = None


class CredentialEnroll(_Command):
    """Record a deputy's verified WebAuthn credential (issued by the enrollment endpoint only)."""

    type: Literal["credential.enroll"]
    deputy: Slug40
    credential: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,1400}$")]
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,2000}$")]
    sign_count: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    backup_eligible: bool = False
    backed_up: bool = False
    aaguid: Annotated[str, StringConstraints(max_length=36)] = ""


class CredentialRevoke(_Command):
    """Revoke a credential: it signs nothing from then on (lost or replaced tablet)."""

    type: Literal["credential.revoke"]
    credential: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,1400}$")]
    reason: Reason


class DeputyAdd(_Command):
    """Add a member to the council roster: a deputy, or the mayor (`mayor`, no faction).

    `gender` is the member's grammatical gender as the secretary records it (never guessed from the
    name); without it, texts use forms that fit both («утримався(-лася)»).
    """

    type: Literal["deputy.add"]
    deputy: Slug40
    name: Name
    faction: Faction | None = None
    mayor: bool = False
    gender: Gender | None = None


class DeputyUpdate(_Command):
    """Correct a member's record: `name`, `gender`, or `faction` (`faction_none` moves a deputy out of any)."""

    type: Literal["deputy.update"]
    deputy: Slug40
    name: Name | None = None
    gender: Gender | None = None
    faction: Faction | None = None
    faction_none: bool = False


SessionCommandModel = (
    SessionSchedule
    | SessionOpen
    | SessionClose
    | RegistrationOpen
    | RegistrationClose
    | PresenceRegister
    | PresenceLeave
    | ItemAdd
    | ItemUpdate
    | ItemRemove
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
    | CommissionElect
    | CommissionCommit
    | CommissionDeal
    | CommissionReady
    | CommissionComplain
    | DecryptionShare
    | BroadcastStart
    | BroadcastInterrupt
    | BroadcastStop
)
CouncilCommandModel = (
    CouncilCreate
    | DeputyAdd
    | DeputyUpdate
    | CouncilConfigure
    | CredentialEnroll
    | CredentialRevoke
    | CommitteeCreate
    | CommitteeUpdate
)

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
