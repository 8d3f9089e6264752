"""The rules of the sitting's votes: opening one (its kind, threshold and place in the item's
consideration), a deputy's ballot, and the close with its tally and roll call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from session_server.domain import session_events as happened
from session_server.domain.commands import BallotCast, VoteClose, VoteOpen
from session_server.domain.commission import vote_context
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, format_time, parse_time
from session_server.domain.roles import Context
from session_server.domain.secret_votes import close_secret, encrypted_digest, encrypted_of, open_secret, secret_ballot
from session_server.domain.session_checks import declared, free_item_id, item_of, number_free, open_vote_to_finish
from session_server.domain.session_state import SessionState, Vote, quorum, registered_deputies
from voting.amendments import Amendment, conflicting
from voting.ballot import Assertion, BallotRefused, b64url, ballot_bytes, check_sign_count, nonce_for
from voting.kinds import DECISIVE, Purpose, VoteKind
from voting.rules import Rule, has_quorum, quorum_needed
from voting.sealing import commitment, new_salt, opens
from voting.tally import Choice, Outcome, count

__all__ = ["Consideration", "ballot_cast", "vote_close", "vote_open"]


def vote_open(
    state: SessionState,
    council: CouncilState,
    command: VoteOpen,
    ctx: Context,
    amendments: Mapping[str, Amendment] | None = None,
) -> list[Event]:
    """Open a vote: its kind and purpose, its threshold, its place in the item's consideration and, for
    an amendment vote, its amendments (``amendments``: those of the item's draft, by id)."""
    # Art. 59: secret ballots only on the questions the law lists (the council's ``secret_questions``), and
    # only with the counting commission's key made and enough of its members here to count (secret_votes).
    secret = open_secret(state, council, command) if command.secret else None
    if secret is None and command.question is not None:
        raise DomainError("invalid_command", "only a secret vote names its question")
    kind = command.kind
    if kind is None and command.purpose not in (None, Purpose.AGENDA_ADD):
        kind = VoteKind.PROCEDURAL  # a purpose makes it procedural (agenda_add alone predates kinds)
    procedural = kind is VoteKind.PROCEDURAL or command.purpose is Purpose.AGENDA_ADD
    if kind is VoteKind.AMENDMENT and command.amendments is None:
        raise DomainError("invalid_command", "an amendment vote names its amendments")
    if kind not in (VoteKind.AMENDMENT, VoteKind.CONCLUSION) and command.amendments is not None:
        # A conclusion may propose the draft's amendments to the plenary; no other vote names them.
        raise DomainError("invalid_command", "only an amendment vote or a conclusion names amendments")
    if kind is VoteKind.PROCEDURAL and command.purpose is None:
        raise DomainError("purpose_required", "a procedural vote says what it decides (purpose)")
    if command.purpose is not None and not procedural:
        raise DomainError("invalid_command", f"a {kind} vote has no purpose: only a procedural one does")
    if (command.revote is not None) != (command.purpose is Purpose.REVOTE):
        raise DomainError("invalid_command", "a re-vote decision names the vote to hold again (revote), and only it")
    if (kind is VoteKind.CONCLUSION) != (command.recommendation is not None):
        raise DomainError("invalid_command", "a conclusion vote says what it recommends, and only it does")
    if kind is VoteKind.CONCLUSION and council.committee is None:
        raise DomainError("conclusion_in_committee", "conclusions are a standing committee's, at its sitting")
    rule = _rule(council, command, kind, procedural)
    purpose: str | None = None if command.purpose is None else command.purpose.value
    proposal: dict[str, Any] | None = None
    if command.purpose is Purpose.AGENDA_ADD:
        # Including an item in an open sitting's agenda is the council's procedural decision.
        if command.proposal is None or command.item is not None:
            raise DomainError("invalid_command", "an agenda_add vote names a proposal and no item")
        if state.current_item is not None:
            # The council changes its agenda between items, not in the middle of one.
            item = state.agenda[state.current_item]
            raise DomainError("item_in_progress", f"item {item.number} is in progress: finish it first")
        number_free(state, command.proposal.number)
        if len(state.agenda) >= 200:
            raise DomainError("invalid_command", "an agenda holds at most 200 items")
        item_id = free_item_id(state)
        proposal = command.proposal.model_dump()
    else:
        if command.item is None or command.proposal is not None:
            raise DomainError("invalid_command", "a vote names the item under consideration")
        item_id = item_of(state, command.item).id
        if state.current_item != item_id:
            raise DomainError("item_not_current", f"item {item_id!r} is not the current item")
        consideration = Consideration.of(state, item_id)
        if command.revote is not None:
            consideration.check_revote(command.revote)
        elif kind is not None and kind not in (VoteKind.PROCEDURAL, VoteKind.CONCLUSION):
            consideration.check_opens(kind)
        if command.amendments is not None:
            consideration.check_amendments(command.amendments, amendments, jointly=kind is VoteKind.AMENDMENT)
    if state.open_vote is not None:
        raise DomainError("vote_already_open", f"vote {state.open_vote.id!r} is open")
    # Art. 46: a meeting without quorum is not competent to decide.
    if not quorum(state, council):
        raise DomainError(
            "no_quorum",
            "not enough members are registered for a quorum"
            f" ({quorum_needed(council.composition, at_least_half=council.quorum_at_least_half)} needed)",
        )
    if len(ctx.entropy) < 16:
        raise ValueError("vote.open needs at least 16 bytes of Context.entropy for the nonce seed")
    opened = happened.VoteOpened(
        vote=f"v{len(state.votes) + 1}",
        item=item_id,
        subject=command.subject,
        rule=rule.value,
        seconds=command.seconds,
        closes_at=format_time(ctx.at + timedelta(seconds=command.seconds)),
        # Published only now, so no ballot can be signed before the vote opens (voting.ballot).
        nonce_seed=b64url(ctx.entropy[:16]),
        purpose=purpose,
        proposal=proposal,
        kind=None if kind is None else kind.value,
        revote=command.revote,
        sealed=True if council.results != "live" and secret is None else None,
        amendments=command.amendments,
        recommendation=None if command.recommendation is None else command.recommendation.value,
        secret=None if secret is None else True,
        question=None if secret is None else secret[0],
        key=None if secret is None else secret[1],
    )
    return [opened]


def _rule(council: CouncilState, command: VoteOpen, kind: VoteKind | None, procedural: bool) -> Rule:
    """The vote's threshold: the one named, else the council's for its kind; one of the council's rules."""
    if command.rule is None:
        if kind is None and not procedural:
            raise DomainError("invalid_command", "a vote names its kind or its rule")
        rule = council.rule_for(VoteKind.PROCEDURAL if kind is None else kind)
    else:
        rule = command.rule
    # Art. 59 part 2: the threshold is chosen per vote from the council's list.
    if rule not in council.rules:
        raise DomainError("unknown_rule", f"the council does not vote by {rule.value!r}")
    if procedural and council.procedural_rule is not None and rule != council.procedural_rule:
        raise DomainError(
            "procedural_rule_required", f"the council's rules set {council.procedural_rule.value!r} for it"
        )
    return rule


@dataclass(slots=True)
class Consideration:
    """Where the consideration of an item's draft stands, from its closed votes in order: its last «за
    основу» vote, the vote that decided it, and a closed vote the council decided to hold again."""

    basis: Vote | None = None
    decided: Vote | None = None
    revote: Vote | None = None
    """A vote a procedural re-vote decision was adopted on, not yet held again."""
    adopted_amendments: list[str] = field(default_factory=list)
    """The draft's amendments the council adopted, in the order of their votes."""
    voted_amendments: set[str] = field(default_factory=set)
    """Every amendment put to a closed vote, adopted or not."""

    @classmethod
    def of(cls, state: SessionState, item: str) -> Consideration:
        """The item's consideration as its votes left it (a vote held again replaces the one before)."""
        seen = cls()
        for vote in state.votes.values():
            if vote.item != item or vote.status != "closed" or vote.tally is None:
                continue
            kind = None if vote.kind is None else VoteKind(vote.kind)
            if vote.purpose == Purpose.REVOTE and vote.revote is not None:
                if vote.tally.outcome is Outcome.ADOPTED:
                    seen.revote = state.votes.get(vote.revote)
                continue
            if seen.revote is not None and vote.kind == seen.revote.kind:
                seen.revote = None  # held again: this vote stands instead
            if kind is VoteKind.BASIS:
                seen.basis = vote
            elif kind in DECISIVE:
                seen.decided = vote
            elif kind is VoteKind.AMENDMENT:
                seen.voted_amendments.update(vote.amendments)
                if vote.tally.outcome is Outcome.ADOPTED:
                    seen.adopted_amendments += vote.amendments
        return seen

    @property
    def basis_adopted(self) -> bool:
        return self.basis is not None and self.basis.tally is not None and self.basis.tally.outcome is Outcome.ADOPTED

    def check_opens(self, kind: VoteKind) -> None:
        """Refuse a vote of ``kind`` out of its order: after the decision, a second «за основу», «в цілому»
        before an adopted basis, anything after a failed basis — unless it is the vote the council decided
        to hold again."""
        if self.revote is not None:
            if kind.value != self.revote.kind:
                raise DomainError(
                    "revote_pending",
                    f"the council decided to vote again on {self.revote.id}: a {self.revote.kind} vote",
                )
            return
        if self.decided is not None:
            raise DomainError(
                "item_decided",
                f"the item was decided in {self.decided.id}: a re-vote needs the council's procedural decision first",
            )
        if self.basis is not None and not self.basis_adopted:
            raise DomainError(
                "consideration_ended",
                f"the draft was not adopted as a basis ({self.basis.id}): its consideration ended",
            )
        if kind in (VoteKind.WHOLE, VoteKind.AMENDMENT) and self.basis is None:
            raise DomainError(
                "basis_required",
                f"a draft is voted {'as a whole' if kind is VoteKind.WHOLE else 'on amendments'}"
                " after it is adopted as a basis",
            )
        if kind in (VoteKind.BASIS, VoteKind.BASIS_AND_WHOLE) and self.basis is not None:
            raise DomainError(
                "basis_adopted", f"the draft was adopted as a basis in {self.basis.id}: vote it as a whole"
            )

    def check_amendments(
        self, named: Sequence[str], amendments: Mapping[str, Amendment] | None, *, jointly: bool = True
    ) -> None:
        """Refuse an amendment vote on amendments the draft does not have, withdrawn or voted ones, or ones
        that change the same lines as each other or as an adopted one (only one of them can stand).

        Not ``jointly`` (a committee's conclusion proposing them to the plenary, which votes each), only
        whether the draft has them and they still stand."""
        if amendments is None:
            raise DomainError("no_draft", "the item has no registered draft decision with a text to amend")
        if len(set(named)) != len(named):
            raise DomainError("invalid_command", "an amendment is named twice")
        put: list[Amendment] = []
        for amendment_id in named:
            amendment = amendments.get(amendment_id)
            if amendment is None:
                raise DomainError("unknown_amendment", f"the draft has no amendment {amendment_id!r}")
            if amendment.status == "withdrawn":
                raise DomainError("amendment_withdrawn", f"amendment {amendment.number} was withdrawn")
            if amendment_id in self.voted_amendments or amendment.status in ("adopted", "rejected"):
                raise DomainError("amendment_voted", f"amendment {amendment.number} has been voted on")
            put.append(amendment)
        if not jointly:
            return
        if clash := conflicting(put):
            first, second = clash[0]
            raise DomainError(
                "amendment_conflict",
                f"amendments {first.number} and {second.number} change the same lines: put them one at a time",
            )
        for adopted_id in self.adopted_amendments:
            adopted = amendments.get(adopted_id)
            for amendment in put:
                if adopted is not None and amendment.conflicts_with(adopted):
                    raise DomainError(
                        "amendment_conflict",
                        f"amendment {amendment.number} changes the lines adopted amendment {adopted.number} changed",
                    )

    def check_revote(self, vote_id: str) -> None:
        """Refuse a re-vote decision on anything but the item's last decision vote, or a second one pending."""
        last = self.decided or self.basis
        if last is None or last.id != vote_id:
            raise DomainError(
                "revote_not_allowed", f"{vote_id!r} is not the item's last closed vote on its draft (basis or whole)"
            )
        if self.revote is not None:
            raise DomainError("revote_pending", f"the council already decided to vote again on {self.revote.id}")

    @property
    def outcome(self) -> Vote | None:
        """The vote that settled the draft: the decision, or a failed «за основу»; None while undecided."""
        if self.revote is not None:
            return None
        if self.decided is not None:
            return self.decided
        return self.basis if self.basis is not None and not self.basis_adopted else None


def ballot_cast(
    state: SessionState, council: CouncilState, member: str, command: BallotCast, ctx: Context
) -> list[Event]:
    vote = state.votes.get(command.vote)
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {command.vote!r} in this session")
    if vote.status == "cancelled":
        raise DomainError("vote_not_open", f"vote {vote.id!r} was cancelled")
    if vote.status == "closed" or ctx.at > parse_time(vote.closes_at):
        raise DomainError("vote_closed", f"vote {vote.id!r} is closed")
    if member not in state.registered:
        raise DomainError("not_registered", f"{member!r} is not registered")
    # Art. 59-1: a deputy with a declared conflict does not vote, unless without the conflicted
    # deputies the meeting would lose its quorum; then they vote, having declared it publicly.
    if declared(state, member, vote.item) and has_quorum(
        registered_deputies(state, council, without_conflict_on=vote.item),
        council.composition,
        at_least_half=council.quorum_at_least_half,
    ):
        raise DomainError("conflict_declared", f"{member!r} declared a conflict on {vote.item!r}")
    if vote.has_voted(member) and council.first_ballot_final:
        raise DomainError("ballot_final", "this council does not allow changing a ballot")
    if vote.secret:
        encrypted = encrypted_of(vote, command)
        signed = None
        if council.signed_ballots or command.assertion is not None:
            signed = _signed_ballot(
                state, council, member, vote, command, ctx, {"encrypted": encrypted_digest(encrypted)}
            )
        return [secret_ballot(vote, member, encrypted, vote_context(council.id, state.id, vote.id), signed)]
    if command.choice is None or command.encrypted is not None:
        raise DomainError("invalid_command", "a ballot names its choice (only a secret vote's is encrypted)")
    if vote.sealed:
        return [_sealed_ballot(state, council, member, vote, command, ctx)]
    if council.signed_ballots or command.assertion is not None:
        nonce, sign_count, assertion = _signed_ballot(state, council, member, vote, command, ctx)
        return [
            happened.Ballot(
                vote=vote.id,
                deputy=member,
                choice=command.choice.value,
                nonce=nonce,
                sign_count=sign_count,
                assertion=assertion,
            )
        ]
    return [happened.Ballot(vote=vote.id, deputy=member, choice=command.choice.value)]  # an open, unsigned ballot


def _sealed_ballot(
    state: SessionState, council: CouncilState, member: str, vote: Vote, command: BallotCast, ctx: Context
) -> happened.BallotSealed:
    """A ballot in a sealed vote: checked as any ballot, recorded as its commitment (``voting.sealing``); the
    choice, the salt (from the context's entropy) and the signature wait for the close in ``opening``."""
    assert command.choice is not None
    choice = command.choice.value
    nonce: str | None = None
    sign_count: int | None = None
    assertion: dict[str, Any] | None = None
    if council.signed_ballots or command.assertion is not None:
        nonce, sign_count, assertion = _signed_ballot(state, council, member, vote, command, ctx)
    salt = new_salt(ctx.entropy)
    opening: dict[str, Any] = {"choice": choice, "salt": salt}
    if assertion is not None:
        opening["assertion"] = assertion
    return happened.BallotSealed(
        vote=vote.id,
        deputy=member,
        commitment=commitment(vote=vote.id, deputy=member, choice=choice, salt=salt, assertion=assertion),
        nonce=nonce,
        sign_count=sign_count,
        credential=None if assertion is None else str(assertion["credential"]),
        opening=opening,
    )


def _signed_ballot(
    state: SessionState,
    council: CouncilState,
    member: str,
    vote: Vote,
    command: BallotCast,
    ctx: Context,
    content: Mapping[str, str] | None = None,
) -> tuple[str, int, dict[str, Any]]:
    """Check a WebAuthn-signed ballot; return what `ballot.cast` records so anyone can re-check it:
    the nonce, the authenticator's sign count and the assertion. ``content``: what the ballot says —
    its ``choice``, or a secret one's ``encrypted`` digest."""
    if command.assertion is None or command.nonce is None:
        raise DomainError("signature_required", "this council counts only ballots signed on the deputy's device")
    try:
        assertion = Assertion.from_json(command.assertion)
    except BallotRefused as exc:
        raise DomainError(exc.code, exc.message) from None
    credential = council.credentials.get(assertion.credential)
    if credential is None:
        raise DomainError("unknown_credential", "the ballot is signed with a credential that is not enrolled")
    if credential.deputy != member:
        raise DomainError("credential_not_yours", "the ballot is signed with another deputy's credential")
    if credential.revoked:
        raise DomainError("credential_revoked", "the ballot is signed with a revoked credential")
    index = vote.signed.get(member, 0)
    if command.nonce != nonce_for(vote.nonce_seed, member, index):
        used = any(command.nonce == nonce_for(vote.nonce_seed, member, k) for k in range(index))
        if used:
            raise DomainError("nonce_used", "this ballot's nonce was already used (a replayed ballot?)")
        raise DomainError("nonce_invalid", f"the nonce is not {member!r}'s for vote {vote.id!r}")
    if content is None:
        assert command.choice is not None
        content = {"choice": command.choice.value}
    ballot = {
        "council": council.id,
        "session": state.id,
        "vote": vote.id,
        "item": vote.item,
        "deputy": member,
        **content,
        "nonce": command.nonce,
    }
    try:
        sign_count = ctx.check_assertion(ballot_bytes(**ballot), assertion, credential, council.rp_id, council.origins)
        check_sign_count(sign_count, state.sign_counts.get(credential.id, credential.sign_count))
    except BallotRefused as exc:
        raise DomainError(exc.code, exc.message) from None
    return command.nonce, sign_count, assertion.to_json()


def vote_close(
    state: SessionState,
    council: CouncilState,
    command: VoteClose,
    openings: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[Event]:
    """Close the vote: a sealed one first opens every sealed ballot (from ``openings``, read from where the
    server keeps them, or those the state holds), then the tally and roll call of the last ballots."""
    vote = open_vote_to_finish(state, command.vote)
    if vote.secret:
        return close_secret(state, council, vote)
    opened: list[Event] = []
    ballots = vote.ballots
    if vote.sealed_ballots:
        opened_ballots = _opened(vote, openings or {})
        opened.append(opened_ballots)
        members = {ballot.seq: ballot.member for ballot in vote.sealed_ballots}
        ballots = {members[int(o["seq"])]: Choice(o["choice"]) for o in opened_ballots.openings}
    tally, roll_call = count(
        members=council.deputies.keys(),
        mayor=council.mayor,
        registered=state.registered.keys(),
        ballots=ballots,
        rule=vote.rule,
        composition=council.composition,
        mayor_only_when_taking_part=state.counting >= 2,
    )
    # Art. 59 part 3: roll-call results per deputy are public.
    closed: list[Event] = [
        *opened,
        happened.VoteClosed(
            vote=vote.id, tally=tally.as_dict(), roll_call={m: line.value for m, line in roll_call.items()}
        ),
    ]
    if vote.purpose == "agenda_add" and vote.proposal is not None and tally.outcome is Outcome.ADOPTED:
        # The council decided to include it: the item joins the agenda, last, with the id the vote named.
        closed.append(happened.ItemAdded(item=vote.item, **vote.proposal, position=len(state.agenda) + 1))
    return closed


def _opened(vote: Vote, openings: Mapping[int, Mapping[str, Any]]) -> happened.BallotsOpened:
    """Every sealed ballot of ``vote`` opened, in log order; each opening must open its commitment."""
    listed: list[Mapping[str, Any]] = []
    for ballot in vote.sealed_ballots:
        seq, member, sealed = ballot.seq, ballot.member, ballot.commitment
        opening = ballot.opening if ballot.opening is not None else openings.get(seq)
        if opening is None:
            raise DomainError("sealed_ballot_missing", f"the opening of {member!r}'s sealed ballot #{seq} is missing")
        choice, salt, assertion = str(opening["choice"]), str(opening["salt"]), opening.get("assertion")
        if not opens(sealed, vote=vote.id, deputy=member, choice=choice, salt=salt, assertion=assertion):
            raise DomainError("sealed_ballot_missing", f"what is kept for sealed ballot #{seq} does not open it")
        listed.append(
            {"seq": seq, "choice": choice, "salt": salt, **({} if assertion is None else {"assertion": assertion})}
        )
    return happened.BallotsOpened(vote=vote.id, openings=listed)
