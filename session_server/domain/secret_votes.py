"""Secret ballots in a sitting (issue 20): the counting commission's key, the secret vote's opening, its
encrypted ballots, its close to ballots and its count from the commission's partial decryptions. The
cryptography is ``voting.secret`` and ``voting.commission``; here, who may do what and when. Pure, no I/O.

The law lists the questions a council decides by secret ballot (art. 59 and the articles it names); the
council's ``secret_questions`` repeat them with their citations, and only those may be put secretly
(``secret_ballot_not_allowed``). The council elects a counting commission of deputies for the sitting; each
member's tablet makes its part of the key (``commission.commit``, ``.deal``, ``.ready``), so the key exists
only as shares. A secret vote opens only with the key made and at least k of its members registered
(``commission_too_few``: said before the vote, not after it). Who voted is public, as the signature on the
paper list is; how anyone voted is known to no one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from session_server.domain import session_events as happened
from session_server.domain.commands import (
    BallotCast,
    CommissionCommit,
    CommissionComplain,
    CommissionDeal,
    CommissionElect,
    CommissionReady,
    DecryptionShare,
    VoteOpen,
)
from session_server.domain.commission import Commission, commission_context
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event
from session_server.domain.session_state import SessionState, Vote
from voting import commission as cm
from voting import secret as sb
from voting.ballot import b64url, from_b64url
from voting.canonical import canonical
from voting.tally import count_secret

__all__ = [
    "close_secret",
    "commission_elect",
    "commission_step",
    "decryption_share",
    "encrypted_digest",
    "encrypted_of",
    "open_secret",
    "secret_ballot",
]

CommissionStep = CommissionCommit | CommissionDeal | CommissionReady | CommissionComplain


def encrypted_digest(encrypted: Mapping[str, Any]) -> str:
    """What a signed secret ballot names instead of a choice: base64url(SHA-256(JCS(encrypted ballot)))."""
    return b64url(hashlib.sha256(canonical(encrypted)).digest())


def _refused(error: sb.SecretBallotError) -> DomainError:
    return DomainError(error.code, str(error))


# ---- the commission --------------------------------------------------------------------------------


def commission_elect(state: SessionState, council: CouncilState, command: CommissionElect) -> list[Event]:
    """The council's counting commission for the sitting: registered deputies (not the mayor), k of n."""
    if council.committee is not None:
        raise DomainError("invalid_command", "a counting commission is elected at a plenary sitting")
    if (open_vote := state.open_vote) is not None and open_vote.secret:
        raise DomainError("vote_open", f"secret vote {open_vote.id!r} is not counted yet")
    members = list(command.members)
    if len(set(members)) != len(members):
        raise DomainError("invalid_commission", "a member is named twice")
    for member in members:
        if member not in council.deputies or member == council.mayor:
            raise DomainError("invalid_commission", f"{member!r} is not a deputy of the council")
        if member not in state.registered:
            raise DomainError("invalid_commission", f"{member!r} is not registered at the sitting")
    if command.threshold > len(members):
        raise DomainError("invalid_commission", f"{command.threshold} of {len(members)} members cannot be needed")
    attempt = 1 if state.commission is None else state.commission.attempt + 1
    return [happened.CommissionElected(members=members, threshold=command.threshold, attempt=attempt)]


def _commitments(context: str, commission: Commission) -> list[cm.Commitment]:
    """The members' recorded commitments, read again (each was checked when it was recorded)."""
    try:
        return [
            cm.check_commitment(context, commission.committed[i], commission.threshold)
            for i in sorted(commission.committed)
        ]
    except sb.SecretBallotError as error:  # pragma: no cover - recorded ones were checked
        raise _refused(error) from None


def commission_step(state: SessionState, council: CouncilState, member: str, command: CommissionStep) -> list[Event]:
    """A member's step in making the key, from its tablet, each checked by its proofs."""
    commission = state.commission
    if commission is None:
        raise DomainError("no_commission", "the council has not elected a counting commission at this sitting")
    index = commission.index_of(member)
    if index is None:
        raise DomainError("not_in_commission", f"{member!r} is not a member of the counting commission")
    stage = commission.stage
    if stage == "failed":
        raise DomainError(
            "commission_failed", "a member's share did not check: the council elects the commission again"
        )
    if stage == "keyed":
        raise DomainError("commission_keyed", "the commission's key is made")
    context = commission_context(council.id, state.id, commission.attempt)
    published = command.published.model_dump()
    if published["member"] != index:  # (a strict integer: the command's model)
        raise DomainError("invalid_commission_key", f"the member's number in the commission is {index}")
    try:
        match command:
            case CommissionCommit():
                if index in commission.committed:
                    raise DomainError("commission_step_done", "the member has committed already")
                cm.check_commitment(context, published, commission.threshold)
                return [happened.CommissionCommitted(member=member, index=index, published=published)]
            case CommissionDeal():
                if stage != "dealing":
                    raise DomainError("commission_not_ready", "every member commits before the shares are dealt")
                if index in commission.dealt:
                    raise DomainError("commission_step_done", "the member has dealt its shares already")
                others = [j for j in range(1, len(commission.members) + 1) if j != index]
                cm.check_deal(published, index, others)
                return [happened.CommissionDealt(member=member, index=index, published=published)]
            case CommissionReady():
                if stage != "confirming":
                    raise DomainError("commission_not_ready", "every member deals its shares before any is ready")
                if index in commission.ready:
                    raise DomainError("commission_step_done", "the member is ready already")
                commitments = _commitments(context, commission)
                cm.check_ready(context, commitments, published)
                events: list[Event] = [happened.CommissionReadied(member=member, index=index, published=published)]
                if len(commission.ready) + 1 == len(commission.members):
                    shares = {str(c.index): b64url(cm.public_share(commitments, c.index)) for c in commitments}
                    events.append(happened.CommissionKeyed(key=b64url(cm.election_key(commitments)), shares=shares))
                return events
            case CommissionComplain():
                if stage != "confirming":
                    raise DomainError("commission_not_ready", "a complaint follows the shares dealt")
                against = published.get("against")
                by_index = {c.index: c for c in _commitments(context, commission)}
                deals = {int(i): d for i, d in commission.dealt.items()}
                if not cm.check_complaint(context, by_index, deals, published):  # names two members, or refuses
                    raise DomainError("invalid_complaint", f"the share member {against} dealt does check")
                assert type(against) is int  # check_complaint took it for a member's number
                dealer = commission.members[against - 1]
                return [happened.CommissionFailed(member=member, against=dealer, published=published)]
    except sb.SecretBallotError as error:
        raise _refused(error) from None
    raise DomainError("invalid_command", f"not a commission step: {command.type!r}")


# ---- the secret vote -------------------------------------------------------------------------------


def open_secret(state: SessionState, council: CouncilState, command: VoteOpen) -> tuple[str, str]:
    """A secret vote may open: its question is one the law allows (the council's list), the commission's key is
    made and enough of its members are here to count. Its question and the key."""
    if council.committee is not None:
        raise DomainError("secret_ballot_not_allowed", "secret ballots are held at plenary sittings")
    if command.purpose is not None:
        raise DomainError("secret_ballot_not_allowed", "a procedural vote is an open one")
    allowed = {q: citation for q, _, citation in council.secret_questions}
    if command.question is None or command.question not in allowed:
        raise DomainError(
            "secret_ballot_not_allowed",
            f"the council's rules allow secret ballots only on: {', '.join(allowed) or 'no question'}",
        )
    commission = state.commission
    if commission is None or commission.key is None or commission.failed is not None:
        raise DomainError("commission_not_ready", "the counting commission's key is not made yet")
    here = sum(1 for m in commission.members if m in state.registered)
    if here < commission.threshold:
        raise DomainError(
            "commission_too_few",
            f"{here} of the commission's members are registered; {commission.threshold} are needed to count",
        )
    return command.question, commission.key


def encrypted_of(vote: Vote, command: BallotCast) -> dict[str, Any]:
    """A secret vote's ballot as cast, before its signature is checked: encrypted, never a plaintext choice,
    while the vote still takes ballots."""
    if command.choice is not None:
        raise DomainError("plaintext_in_secret_ballot", "a secret vote takes encrypted ballots only, never a choice")
    if command.encrypted is None:
        raise DomainError("invalid_secret_ballot", "a secret vote's ballot is the tablet's encrypted one")
    if vote.tallying:
        raise DomainError("vote_closed", f"vote {vote.id!r} is being counted")
    return command.encrypted.model_dump()


def secret_ballot(
    vote: Vote,
    member: str,
    encrypted: dict[str, Any],
    context: str,
    signed: tuple[str, int, dict[str, Any]] | None,
) -> happened.BallotEncrypted:
    """A secret vote's ballot (``encrypted_of``): each option proved 0 or 1 and one of them 1. ``signed``: the
    nonce, sign count and assertion over its digest, when signed."""
    assert vote.key is not None
    try:
        sb.check_ballot(from_b64url(vote.key), encrypted, context, member)
    except sb.SecretBallotError as error:
        raise _refused(error) from None
    nonce, sign_count, assertion = signed if signed is not None else (None, None, None)
    return happened.BallotEncrypted(
        vote=vote.id,
        deputy=member,
        encrypted=encrypted,
        nonce=nonce,
        sign_count=sign_count,
        assertion=assertion,
    )


def _product(vote: Vote) -> list[sb.Ciphertext]:
    if vote.product is None:
        return sb.multiply([sb.ciphertexts(e) for e in vote.encrypted.values()])
    return [sb.Ciphertext(from_b64url(p["a"]), from_b64url(p["b"])) for p in vote.product]


def close_secret(state: SessionState, council: CouncilState, vote: Vote) -> list[Event]:
    """A secret vote stops taking ballots: its product waits for the commission (none cast: counted at once)."""
    if vote.tallying:
        raise DomainError("vote_tallying", f"vote {vote.id!r} waits for the counting commission's decryptions")
    if not vote.encrypted:
        return [_closed(state, council, vote, (0, 0, 0))]
    product = [{"a": b64url(ct.a), "b": b64url(ct.b)} for ct in _product(vote)]
    return [happened.VoteTallying(vote=vote.id, product=product, ballots=len(vote.encrypted))]


def decryption_share(
    state: SessionState, council: CouncilState, member: str, command: DecryptionShare, context: str
) -> list[Event]:
    """A commission member's partial decryption; with k of them, the count."""
    vote = state.votes.get(command.vote)
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {command.vote!r} in this session")
    if not vote.secret or vote.status != "open" or not vote.tallying:
        raise DomainError("vote_not_tallying", f"vote {vote.id!r} is not waiting for decryptions")
    commission = state.commission
    index = None if commission is None else commission.index_of(member)
    if commission is None or index is None or commission.key != vote.key:
        raise DomainError("not_in_commission", f"{member!r} is not a member of the commission that holds the key")
    if index in vote.decryptions:
        raise DomainError("decryption_shared", "the member's decryption is in already")
    product = _product(vote)
    decryption = command.decryption.model_dump()
    try:
        sb.check_partial(from_b64url(commission.shares[index]), index, product, decryption, context)
    except sb.SecretBallotError as error:
        raise _refused(error) from None
    shared: list[Event] = [happened.DecryptionShared(vote=vote.id, member=member, index=index, decryption=decryption)]
    collected = {**vote.decryptions, index: decryption}
    if len(collected) < commission.threshold:
        return shared
    counts = _count(commission, vote, product, collected, context)
    return [*shared, _closed(state, council, vote, counts)]


def _count(
    commission: Commission,
    vote: Vote,
    product: Sequence[sb.Ciphertext],
    decryptions: Mapping[int, Mapping[str, Any]],
    context: str,
) -> tuple[int, int, int]:
    """The options' counts from the partial decryptions (each checked again: they are in the log)."""
    points = {
        i: sb.check_partial(from_b64url(commission.shares[i]), i, product, d, context) for i, d in decryptions.items()
    }
    try:
        yes, no, abstain = sb.combine(product, points, vote.counted_ballots)
    except sb.SecretBallotError as error:
        raise _refused(error) from None
    return yes, no, abstain


def _closed(state: SessionState, council: CouncilState, vote: Vote, counts: tuple[int, int, int]) -> Event:
    tally, roll_call = count_secret(
        members=council.deputies.keys(),
        mayor=council.mayor,
        registered=state.registered.keys(),
        voters=list(vote.encrypted),
        counts=counts,
        rule=vote.rule,
        composition=council.composition,
        mayor_only_when_taking_part=state.counting >= 2,
    )
    return happened.VoteClosed(
        vote=vote.id, tally=tally.as_dict(), roll_call={m: line.value for m, line in roll_call.items()}
    )
