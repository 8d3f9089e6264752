"""The events of a plenary sitting's stream (``session:<id>``): agenda, registration, speakers, votes,
ballots and the broadcast, each a class whose fields are exactly its JSON payload's keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from session_server.domain.events import ABSENT, Event, _Absent, event, sealed_field

__all__ = [
    "Ballot",
    "BallotEncrypted",
    "BallotSealed",
    "BallotsOpened",
    "BroadcastInterrupted",
    "BroadcastResumed",
    "BroadcastStarted",
    "BroadcastStopped",
    "CommissionCommitted",
    "CommissionDealt",
    "CommissionElected",
    "CommissionFailed",
    "CommissionKeyed",
    "CommissionReadied",
    "ConflictDeclared",
    "DecryptionShared",
    "ItemAdded",
    "ItemFinished",
    "ItemRemoved",
    "ItemStarted",
    "ItemUpdated",
    "PresenceLeft",
    "PresenceRegistered",
    "RegistrationClosed",
    "RegistrationOpened",
    "SessionClosed",
    "SessionOpened",
    "SessionScheduled",
    "SpeakerFinished",
    "SpeakerGranted",
    "SpeakerRequested",
    "VoteCancelled",
    "VoteClosed",
    "VoteOpened",
    "VoteTallying",
]


@event("session.scheduled", omit_none=("committee",))
class SessionScheduled(Event):
    """A sitting is scheduled with its agenda: ``[{"id", "number", "title", "draft"}]`` in order; a standing
    committee's sitting names its ``committee``."""

    session: str
    council: str
    number: int
    convocation: int
    date: str
    title: str
    agenda: list[dict[str, Any]]
    counting: int = 1
    """How its votes are counted (``SessionState.counting``); sittings from before it was recorded count by 1."""
    committee: str | None = None
    """The committee whose sitting it is (``CouncilState.body``); absent for the council's plenary."""


@event("session.opened")
class SessionOpened(Event):
    """The chair opens the sitting."""


@event("session.closed")
class SessionClosed(Event):
    """The chair closes the sitting."""


@event("registration.opened")
class RegistrationOpened(Event):
    """Deputies may register."""


@event("registration.closed")
class RegistrationClosed(Event):
    """Registration ends; who registered stays registered until they leave."""


@event("presence.registered")
class PresenceRegistered(Event):
    """A member registers in the chamber from their tablet."""

    deputy: str


@event("presence.left")
class PresenceLeft(Event):
    """A member leaves the chamber."""

    deputy: str


@event("item.added")
class ItemAdded(Event):
    """An agenda item added at ``position`` (1-based): by the secretary, or by the council's decision."""

    item: str
    number: str
    title: str
    draft: str | None
    position: int


@event("item.updated")
class ItemUpdated(Event):
    """An agenda item corrected: only what changed is named (a draft may change to none)."""

    item: str
    number: str | _Absent = ABSENT
    title: str | _Absent = ABSENT
    draft: str | _Absent | None = ABSENT

    def changes(self) -> dict[str, Any]:
        """The fields this update names."""
        return {k: v for k, v in self.payload.items() if k != "item"}


@event("item.removed")
class ItemRemoved(Event):
    """An agenda item removed before the sitting opened."""

    item: str


@event("item.started")
class ItemStarted(Event):
    """The item under consideration."""

    item: str


@event("item.finished")
class ItemFinished(Event):
    """The consideration of the item ends."""

    item: str


@event("speaker.requested")
class SpeakerRequested(Event):
    """A member asks for the floor."""

    deputy: str


@event("speaker.granted")
class SpeakerGranted(Event):
    """The chair gives a member the floor for ``seconds``, until ``until``."""

    deputy: str
    seconds: int
    until: str


@event("speaker.finished")
class SpeakerFinished(Event):
    """The speech ends."""

    deputy: str


@event("conflict.declared")
class ConflictDeclared(Event):
    """A member declares a conflict of interest on an item (art. 59-1): shown, minuted, and not voting on it."""

    deputy: str
    item: str
    reason: str


@event(
    "vote.opened",
    omit_none=(
        "purpose",
        "proposal",
        "kind",
        "revote",
        "sealed",
        "amendments",
        "recommendation",
        "secret",
        "question",
        "key",
    ),
)
class VoteOpened(Event):
    """A roll-call vote opens on ``item`` under ``rule`` until ``closes_at``; ``nonce_seed`` seeds ballot nonces.

    With ``purpose`` ``agenda_add`` it is the procedural vote on including ``proposal`` (``{"number",
    "title", "draft"}``) in the agenda as ``item``."""

    vote: str
    item: str
    subject: str
    rule: str
    seconds: int
    closes_at: str
    nonce_seed: str = ""
    purpose: str | None = None
    proposal: Mapping[str, Any] | None = None
    kind: str | None = None
    """What it decides (``voting.kinds.VoteKind``); left out by votes opened before kinds existed."""
    revote: str | None = None
    """With ``purpose`` ``revote``: the closed vote on the item the council is asked to hold again."""
    sealed: bool | None = None
    """True: its results are sealed until it closes (the council's ``results`` "hidden"); left out otherwise."""
    amendments: Sequence[str] | None = None
    """With ``kind`` ``amendment``: the amendments of the item's draft put to this vote (jointly, if several);
    with ``kind`` ``conclusion``: those the committee's conclusion proposes to the plenary."""
    recommendation: str | None = None
    """With ``kind`` ``conclusion``: what the committee's conclusion recommends (``voting.kinds.Recommendation``)."""
    secret: bool | None = None
    """True: a secret ballot — ballots are encrypted on the tablets under the counting commission's ``key``
    (``voting.secret``), for the council's ``question`` (one of its ``secret_questions``)."""
    question: str | None = None
    key: str | None = None


@event("ballot.cast", omit_none=("nonce", "sign_count", "assertion"))
class Ballot(Event):
    """A member's ballot (``ballot.cast``); a signed one carries its nonce, the authenticator's sign count and
    the WebAuthn assertion, so that anyone can check it again."""

    vote: str
    deputy: str
    choice: str
    nonce: str | None = None
    sign_count: int | None = None
    assertion: Mapping[str, Any] | None = None


@event("ballot.sealed", omit_none=("nonce", "sign_count", "credential"))
class BallotSealed(Event):
    """A member's ballot in a vote whose results are sealed until the close: who voted (and a signed
    ballot's nonce, sign count and device), and the commitment to the choice (``voting.sealing``). The
    ``opening`` (choice, salt, assertion) is kept by the server apart from the log until the close."""

    vote: str
    deputy: str
    commitment: str
    nonce: str | None = None
    sign_count: int | None = None
    credential: str | None = None
    opening: Mapping[str, Any] | None = sealed_field()


@event("ballots.opened")
class BallotsOpened(Event):
    """At a sealed vote's close: the opening of every ``ballot.sealed`` of the vote, in log order, each
    naming its sealed event's ``seq``: ``{seq, choice, salt, assertion?}``."""

    vote: str
    openings: list[Mapping[str, Any]]


@event("ballot.encrypted", omit_none=("nonce", "sign_count", "assertion"))
class BallotEncrypted(Event):
    """A member's ballot in a secret vote: who voted, and the ballot as its tablet encrypted it with the proofs
    that it is one of the options (``voting.secret``); signed as a ballot is, over the digest of ``encrypted``."""

    vote: str
    deputy: str
    encrypted: Mapping[str, Any]
    nonce: str | None = None
    sign_count: int | None = None
    assertion: Mapping[str, Any] | None = None


@event("vote.tallying")
class VoteTallying(Event):
    """A secret vote closes to ballots: ``product``, each option's ciphertexts added over the last ballot of
    each of the ``ballots`` voters, waits for the counting commission's partial decryptions."""

    vote: str
    product: Sequence[Mapping[str, str]]
    ballots: int


@event("decryption.shared")
class DecryptionShared(Event):
    """A counting commission member's partial decryption of the vote's product, with its proofs."""

    vote: str
    member: str
    index: int
    decryption: Mapping[str, Any]


@event("commission.elected")
class CommissionElected(Event):
    """The counting commission the council elected for the sitting: its members (numbered 1…n in this order)
    and ``threshold``, how many of them count a secret vote; ``attempt`` numbers the sitting's elections."""

    members: Sequence[str]
    threshold: int
    attempt: int


@event("commission.committed")
class CommissionCommitted(Event):
    """A member's commitments to its polynomial and its transport key, with their proofs."""

    member: str
    index: int
    published: Mapping[str, Any]


@event("commission.dealt")
class CommissionDealt(Event):
    """A member's shares for the other members, each encrypted to its transport key."""

    member: str
    index: int
    published: Mapping[str, Any]


@event("commission.ready")
class CommissionReadied(Event):
    """A member checked every share dealt to it and proves it holds its own."""

    member: str
    index: int
    published: Mapping[str, Any]


@event("commission.keyed")
class CommissionKeyed(Event):
    """Every member is ready: the election key K = Σ C_i0 and each member's public share, by number."""

    key: str
    shares: Mapping[str, str]


@event("commission.failed")
class CommissionFailed(Event):
    """A member's founded complaint: the dealer ``against`` dealt it a share that does not match its
    commitments (``published``: the point that opens it, proved). The commission must be elected again."""

    member: str
    against: str
    published: Mapping[str, Any]


@event("vote.closed")
class VoteClosed(Event):
    """The vote's result: the tally (``voting.tally.Tally.as_dict``) and each member's line of the roll call."""

    vote: str
    tally: Mapping[str, Any]
    roll_call: Mapping[str, str]


@event("vote.cancelled")
class VoteCancelled(Event):
    """The chair cancels an open vote, saying why; it counts for nothing."""

    vote: str
    reason: str


@event("broadcast.started")
class BroadcastStarted(Event):
    """The live video goes on air (``whip`` or ``camera``)."""

    source: str


@event("broadcast.resumed")
class BroadcastResumed(Event):
    """The live video is back after an interruption."""

    source: str


@event("broadcast.interrupted")
class BroadcastInterrupted(Event):
    """The live video dropped, with the reason."""

    reason: str


@event("broadcast.stopped")
class BroadcastStopped(Event):
    """The live video ends."""
