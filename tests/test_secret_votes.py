"""A secret vote by the sitting's rules (issue 20), through the pure domain: the council elects a counting
commission of 3 (2 needed), their tablets make the key (here voting.commission plays the tablets), 34
deputies vote encrypted ballots, one member is absent at the count and two decrypt: the counts are the
choices, the roll call says who voted and never how. Refused, each in its own words: a question the
council's rules do not list, a vote before the key or without enough of the commission, a plaintext choice,
a ballot for two options or replayed from another deputy, a wrong partial decryption, a second one."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from pydantic import ValidationError
from session_support import Chamber, make_council

from session_server.domain.commission import commission_context, vote_context
from voting import commission as cm
from voting import secret as sb
from voting.ballot import from_b64url

DEPUTIES = [f"d{n:02d}" for n in range(1, 35)]
QUESTIONS = [{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26, ч. 2 ст. 59"}]
AGENDA = [{"id": "i1", "number": "1", "title": "Про обрання секретаря ради"}]


class Sitting:
    """A plenary sitting of 34 deputies with a counting commission whose key its tablets made."""

    def __init__(self, *, commission: tuple[str, ...] = ("d01", "d02", "d03"), threshold: int = 2) -> None:
        council = make_council(
            composition=34,
            deputies=DEPUTIES,
            then=[{"type": "council.configure", "secret_questions": QUESTIONS}],
        )
        self.chamber = chamber = Chamber(council)
        chamber.do(
            "secretary", "session.schedule", number=3, convocation=8, date="2026-12-10", title="3 сесія", agenda=AGENDA
        )
        chamber.do("chair", "session.open")
        chamber.do("chair", "registration.open")
        for deputy in DEPUTIES:
            chamber.do(deputy, "presence.register")
        chamber.do("chair", "item.start", item="i1")
        self.members = commission
        self.threshold = threshold
        self.secrets: dict[str, cm.MemberSecret] = {}

    @property
    def context(self) -> str:
        state = self.chamber.s
        assert state.commission is not None
        return commission_context("vz", state.id, state.commission.attempt)

    def elect(self) -> None:
        self.chamber.do("chair", "commission.elect", members=list(self.members), threshold=self.threshold)

    def make_key(self) -> None:
        """Each member's tablet: commit, deal, receive and prove (voting.commission)."""
        published = {}
        for index, member in enumerate(self.members, start=1):
            secret, published[member] = cm.commit(self.context, index, self.threshold)
            self.secrets[member] = secret
            self.chamber.do(member, "commission.commit", published=published[member])
        commitments = [cm.check_commitment(self.context, published[m], self.threshold) for m in self.members]
        deals = {}
        for member in self.members:
            deals[self.secrets[member].index] = cm.deal(self.context, self.secrets[member], commitments)
            self.chamber.do(member, "commission.deal", published=deals[self.secrets[member].index])
        for member in self.members:
            assert cm.receive(self.context, self.secrets[member], commitments, deals) == []
            self.chamber.do(member, "commission.ready", published=cm.ready(self.context, self.secrets[member]))

    def open_vote(self, **fields: Any) -> None:
        fields = {"item": "i1", "subject": "Обрання секретаря ради", "kind": "basis_and_whole", "seconds": 600} | fields
        self.chamber.do("chair", "vote.open", secret=True, question="secretary", **fields)

    def ballot(self, deputy: str, choice: str, vote: str = "v1") -> dict[str, Any]:
        key = from_b64url(str(self.chamber.vote(vote)["key"]))
        return sb.encrypt_ballot(key, choice, vote_context("vz", self.chamber.s.id, vote), deputy)

    def decryption(self, member: str, vote: str = "v1") -> dict[str, Any]:
        public = self.chamber.vote(vote)
        product = [sb.Ciphertext(from_b64url(p["a"]), from_b64url(p["b"])) for p in public["product"]]
        secret = self.secrets[member]
        assert secret.share is not None
        return sb.partial(secret.share, secret.index, product, vote_context("vz", self.chamber.s.id, vote))


def test_34_deputies_vote_secretly_and_two_of_three_members_count_with_one_absent() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    sitting.elect()
    sitting.make_key()
    commission = chamber.public()["commission"]
    assert (commission["stage"], commission["threshold"], commission["members"]) == ("keyed", 2, ["d01", "d02", "d03"])
    sitting.open_vote()
    opened = chamber.vote()
    assert (opened["secret"], opened["question"], opened["key"]) == (True, "secretary", commission["key"])
    choices = {d: random.choice(sb.OPTIONS) for d in DEPUTIES[:30]}  # four deputies do not vote
    for deputy, choice in choices.items():
        chamber.do(deputy, "ballot.cast", vote="v1", encrypted=sitting.ballot(deputy, choice))
    changed = "against" if choices["d05"] != "against" else "for"  # a deputy changes a ballot: the last counts
    chamber.do("d05", "ballot.cast", vote="v1", encrypted=sitting.ballot("d05", changed))
    choices["d05"] = changed
    assert chamber.vote()["voted"] == 30 and chamber.vote()["tally"] is None
    chamber.do("chair", "vote.close", vote="v1")
    assert chamber.vote()["status"] == "open" and len(chamber.vote()["product"]) == 3  # waiting for the count
    assert chamber.refuse("d31", "ballot.cast", vote="v1", encrypted=sitting.ballot("d31", "for")) == "vote_closed"
    assert chamber.refuse("chair", "vote.close", vote="v1") == "vote_tallying"
    chamber.do("d02", "presence.leave")  # a member leaves: two others still count
    chamber.do("d01", "decryption.share", vote="v1", decryption=sitting.decryption("d01"))
    assert chamber.vote()["status"] == "open" and chamber.vote()["decrypted_by"] == [1]
    assert (
        chamber.refuse("d01", "decryption.share", vote="v1", decryption=sitting.decryption("d01"))
        == "decryption_shared"
    )
    chamber.do("d03", "decryption.share", vote="v1", decryption=sitting.decryption("d03"))
    closed = chamber.vote()
    assert closed["status"] == "closed"
    tally = closed["tally"]
    expected = [sum(c == o for c in choices.values()) for o in sb.OPTIONS]
    assert [tally["for"], tally["against"], tally["abstain"]] == expected
    assert tally["not_voted"] == 4 and tally["absent"] == 0  # d31–d34 did not vote (d02 left after voting)
    assert tally["outcome"] == ("adopted" if expected[0] >= 18 else "rejected")
    assert {line for m, line in closed["roll_call"].items() if m in choices} == {"voted"}  # who, never how


def test_a_secret_vote_opens_only_on_a_listed_question_with_the_key_and_enough_of_the_commission() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    fields = {"item": "i1", "subject": "Обрання", "kind": "basis_and_whole", "seconds": 60}
    assert chamber.refuse("chair", "vote.open", secret=True, question="secretary", **fields) == "commission_not_ready"
    sitting.elect()
    assert chamber.refuse("chair", "vote.open", secret=True, question="secretary", **fields) == "commission_not_ready"
    sitting.make_key()
    assert chamber.refuse("chair", "vote.open", secret=True, question="budget", **fields) == "secret_ballot_not_allowed"
    assert chamber.refuse("chair", "vote.open", secret=True, **fields) == "secret_ballot_not_allowed"
    assert chamber.refuse("chair", "vote.open", question="secretary", **fields) == "invalid_command"
    chamber.do("d01", "presence.leave")
    chamber.do("d02", "presence.leave")  # one of three is here; two are needed: said before the vote opens
    assert chamber.refuse("chair", "vote.open", secret=True, question="secretary", **fields) == "commission_too_few"


def test_a_plaintext_a_forged_or_a_replayed_ballot_and_a_wrong_decryption_are_refused() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    sitting.elect()
    sitting.make_key()
    sitting.open_vote()
    assert chamber.refuse("d10", "ballot.cast", vote="v1", choice="for") == "plaintext_in_secret_ballot"
    ballot = sitting.ballot("d10", "for")
    both = {**ballot, "options": ballot["options"]}
    assert chamber.refuse("d10", "ballot.cast", vote="v1", choice="for", encrypted=both) == "plaintext_in_secret_ballot"
    assert chamber.refuse("d11", "ballot.cast", vote="v1", encrypted=ballot) == "secret_ballot_proof"  # d10's ballot
    two = copy.deepcopy(ballot)
    two["options"][1] = sitting.ballot("d10", "against")["options"][1]
    assert chamber.refuse("d10", "ballot.cast", vote="v1", encrypted=two) == "secret_ballot_proof"
    _malformed(chamber, "d10", "ballot.cast", vote="v1", encrypted={"v": 1})  # 400 at the API
    chamber.do("d10", "ballot.cast", vote="v1", encrypted=ballot)
    chamber.do("chair", "vote.close", vote="v1")
    wrong = sitting.decryption("d01")
    wrong["member"] = 2
    assert chamber.refuse("d02", "decryption.share", vote="v1", decryption=wrong) == "invalid_decryption"
    assert chamber.refuse("d20", "decryption.share", vote="v1", decryption=wrong) == "not_in_commission"
    chamber.do("d01", "decryption.share", vote="v1", decryption=sitting.decryption("d01"))
    chamber.do("d02", "decryption.share", vote="v1", decryption=sitting.decryption("d02"))
    assert chamber.vote()["tally"]["for"] == 1


def test_a_dealer_s_bad_share_fails_the_commission_and_the_council_elects_it_again() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    sitting.elect()
    published = {}
    for index, member in enumerate(sitting.members, start=1):
        sitting.secrets[member], published[member] = cm.commit(sitting.context, index, 2)
        chamber.do(member, "commission.commit", published=published[member])
    commitments = [cm.check_commitment(sitting.context, published[m], 2) for m in sitting.members]
    deals = {i: cm.deal(sitting.context, sitting.secrets[m], commitments) for i, m in enumerate(sitting.members, 1)}
    deals[1]["shares"][0]["sealed"] = deals[1]["shares"][1]["sealed"]  # member 1 deals member 2 a wrong share
    for index, member in enumerate(sitting.members, start=1):
        chamber.do(member, "commission.deal", published=deals[index])
    victim = sitting.secrets["d02"]
    assert cm.receive(sitting.context, victim, commitments, deals) == [1]
    honest = cm.complain(sitting.context, victim, 3, deals)
    assert chamber.refuse("d02", "commission.complain", published=honest) == "invalid_complaint"
    chamber.do("d02", "commission.complain", published=cm.complain(sitting.context, victim, 1, deals))
    assert chamber.public()["commission"]["failed"] == {"member": "d02", "against": "d01"}
    ready = {"member": 3, "proof": ["A" * 43, "A" * 43]}
    assert chamber.refuse("d03", "commission.ready", published=ready) == "commission_failed"
    sitting.members = ("d02", "d03", "d04")  # the council elects it again, without the dealer who cheated
    sitting.elect()
    assert chamber.public()["commission"]["attempt"] == 2
    sitting.make_key()
    assert chamber.public()["commission"]["stage"] == "keyed"


def test_a_commission_of_absent_deputies_or_needing_more_than_it_has_is_refused() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    chamber.do("d04", "presence.leave")
    assert chamber.refuse("chair", "commission.elect", members=["d01", "d04"], threshold=2) == "invalid_commission"
    assert chamber.refuse("chair", "commission.elect", members=["d01", "d02"], threshold=3) == "invalid_commission"
    assert chamber.refuse("chair", "commission.elect", members=["d01", "d01"], threshold=2) == "invalid_commission"
    assert chamber.refuse("d01", "commission.elect", members=["d01", "d02"], threshold=2) == "forbidden"


def test_a_malformed_deal_is_refused_as_a_bad_request_or_in_words_never_with_a_crash() -> None:
    sitting = Sitting()
    chamber = sitting.chamber
    sitting.elect()
    for index, member in enumerate(sitting.members, start=1):
        sitting.secrets[member], published = cm.commit(sitting.context, index, 2)
        chamber.do(member, "commission.commit", published=published)
    point = "A" * 43
    for shares in (5, True, 2.5, None, [{"to": True, "ephemeral": point, "sealed": point}]):
        _malformed(chamber, "d01", "commission.deal", published={"member": 1, "shares": shares})
    _malformed(chamber, "d01", "commission.commit", published={"member": True})
    # well formed, but not a deal of this commission: one share twice, none for member 3
    twice = [{"to": 2, "ephemeral": point, "sealed": point}] * 2
    assert (
        chamber.refuse("d01", "commission.deal", published={"member": 1, "shares": twice}) == "invalid_commission_key"
    )


def _malformed(chamber: Chamber, who: str, type_: str, **fields: Any) -> None:
    """A command whose shape is wrong never reaches the rules: refused as the API's 400 invalid_request."""
    with pytest.raises(ValidationError):
        chamber.command(type_, fields)
