"""Secret ballots' cryptography (issue 20), by the Python side alone: the counting commission makes its key
(2 of 3), 34 deputies vote, one member is absent at the count and the two others decrypt it — the counts are
exactly the choices; every tampering is refused with its own code (a changed ciphertext, a bad proof, a
ballot replayed in another deputy's name or another vote, a ballot for two options, a wrong partial
decryption, a forged count); a dealer's bad share is named by a complaint anyone can check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting import commission as cm
from voting import group as g
from voting import secret as s
from voting.ballot import b64url, from_b64url

CONTEXT = "voznesensk/c8-s45/commission"
VOTE = "voznesensk/c8-s45/v3"


class Commission:
    """A commission of ``n`` members, ``k`` needed, whose key was made by the protocol."""

    def __init__(self, n: int = 3, k: int = 2) -> None:
        made = [cm.commit(CONTEXT, i, k) for i in range(1, n + 1)]
        self.secrets = [secret for secret, _ in made]
        self.commitments = [cm.check_commitment(CONTEXT, published, k) for _, published in made]
        self.deals = {secret.index: cm.deal(CONTEXT, secret, self.commitments) for secret in self.secrets}
        for secret in self.secrets:
            assert cm.receive(CONTEXT, secret, self.commitments, self.deals) == []
            assert cm.check_ready(CONTEXT, self.commitments, cm.ready(CONTEXT, secret)) == secret.index
        self.key = cm.election_key(self.commitments)

    def decrypt(self, product: list[s.Ciphertext], members: list[int]) -> dict[int, list[bytes]]:
        out = {}
        for secret in self.secrets:
            if secret.index in members:
                assert secret.share is not None
                shared = s.partial(secret.share, secret.index, product, VOTE)
                public = cm.public_share(self.commitments, secret.index)
                out[secret.index] = s.check_partial(public, secret.index, product, shared, VOTE)
        return out


@pytest.fixture(scope="module")
def commission() -> Commission:
    return Commission()


def _refused(code: str, call: Any, *args: Any) -> None:
    with pytest.raises(s.SecretBallotError) as caught:
        call(*args)
    assert caught.value.code == code


@settings(max_examples=5, deadline=None)
@given(st.lists(st.sampled_from(s.OPTIONS), min_size=34, max_size=34), st.sampled_from([1, 2, 3]))
def test_34_deputies_vote_and_any_two_of_three_members_count_them_exactly(
    commission: Commission, choices: list[str], absent: int
) -> None:
    ballots = [s.encrypt_ballot(commission.key, c, VOTE, f"d{n:02d}") for n, c in enumerate(choices, 1)]
    cts = [s.check_ballot(commission.key, b, VOTE, f"d{n:02d}") for n, b in enumerate(ballots, 1)]
    product = s.multiply(cts)
    present = [i for i in (1, 2, 3) if i != absent]
    counts = s.combine(product, commission.decrypt(product, present), len(ballots))
    assert counts == [choices.count(o) for o in s.OPTIONS]


def test_one_member_alone_cannot_count_and_a_forged_count_is_not_found(commission: Commission) -> None:
    ballots = [s.encrypt_ballot(commission.key, "for", VOTE, f"d{n:02d}") for n in range(1, 6)]
    product = s.multiply([s.check_ballot(commission.key, b, VOTE, f"d{n:02d}") for n, b in enumerate(ballots, 1)])
    _refused("count_not_found", s.combine, product, commission.decrypt(product, [1]), 5)
    # a forged partial decryption: the right member's index, another value — its proof does not check
    assert commission.secrets[0].share is not None
    forged = s.partial(g.s_add(commission.secrets[0].share, g.scalar_of(1)), 1, product, VOTE)
    _refused(
        "invalid_decryption", s.check_partial, cm.public_share(commission.commitments, 1), 1, product, forged, VOTE
    )
    # a decryption made for another vote does not check in this one
    other = s.partial(commission.secrets[0].share, 1, product, "voznesensk/c8-s45/v4")
    _refused("invalid_decryption", s.check_partial, cm.public_share(commission.commitments, 1), 1, product, other, VOTE)


def test_every_tampered_ballot_is_refused(commission: Commission) -> None:
    key = commission.key
    ballot = s.encrypt_ballot(key, "against", VOTE, "d07")
    assert len(s.check_ballot(key, ballot, VOTE, "d07")) == 3
    # replayed: another deputy's name, another vote
    _refused("secret_ballot_proof", s.check_ballot, key, ballot, VOTE, "d08")
    _refused("secret_ballot_proof", s.check_ballot, key, ballot, "voznesensk/c8-s45/v4", "d07")
    # a changed ciphertext: B + G turns a 0 into a 1 (or a 1 into a 2)
    changed = copy.deepcopy(ballot)
    b = from_b64url(changed["options"][0]["b"])
    changed["options"][0]["b"] = b64url(g.add(b, g.BASE))
    _refused("secret_ballot_proof", s.check_ballot, key, changed, VOTE, "d07")
    # options swapped: each option's proof names its place
    swapped = copy.deepcopy(ballot)
    swapped["options"][0], swapped["options"][1] = swapped["options"][1], swapped["options"][0]
    _refused("secret_ballot_proof", s.check_ballot, key, swapped, VOTE, "d07")
    # a bad proof scalar
    bad = copy.deepcopy(ballot)
    bad["options"][2]["proof"][3] = b64url(g.scalar_of(12345))
    _refused("secret_ballot_proof", s.check_ballot, key, bad, VOTE, "d07")
    # malformed: not a point, not a scalar, missing options
    broken = copy.deepcopy(ballot)
    broken["options"][1]["a"] = b64url(b"\x00" * 32)
    _refused("invalid_secret_ballot", s.check_ballot, key, broken, VOTE, "d07")
    broken = copy.deepcopy(ballot)
    broken["sum_proof"][0] = b64url(b"\xff" * 32)
    _refused("invalid_secret_ballot", s.check_ballot, key, broken, VOTE, "d07")
    _refused("invalid_secret_ballot", s.check_ballot, key, {"v": 1, "options": ballot["options"][:2]}, VOTE, "d07")


def _two_options(key: bytes, deputy: str) -> dict[str, Any]:
    """A ballot for two options, each option proved 0-or-1 honestly: only the sum proof can catch it."""
    honest = [s.encrypt_ballot(key, o, VOTE, deputy) for o in ("for", "against")]
    two = copy.deepcopy(honest[0])
    two["options"][1] = honest[1]["options"][1]  # "against" = 1 from the second ballot
    return two


def test_a_ballot_for_two_options_is_refused_by_its_sum_proof(commission: Commission) -> None:
    two = _two_options(commission.key, "d09")
    with pytest.raises(s.SecretBallotError) as caught:
        s.check_ballot(commission.key, two, VOTE, "d09")
    assert caught.value.code == "secret_ballot_proof" and "exactly one" in str(caught.value)


def test_a_dealer_s_bad_share_is_named_by_a_complaint_anyone_can_check() -> None:
    made = [cm.commit(CONTEXT, i, 2) for i in (1, 2, 3)]
    commitments = [cm.check_commitment(CONTEXT, published, 2) for _, published in made]
    deals = {secret.index: cm.deal(CONTEXT, secret, commitments) for secret, _ in made}
    cheat = deals[1]["shares"][0]  # member 1's share for member 2, one bit changed
    assert cheat["to"] == 2
    sealed = bytearray(from_b64url(cheat["sealed"]))
    sealed[0] ^= 1
    cheat["sealed"] = b64url(bytes(sealed))
    victim = made[1][0]
    assert cm.receive(CONTEXT, victim, commitments, deals) == [1]
    assert victim.share is None  # no share is kept from a key that cannot be made
    by_index = {c.index: c for c in commitments}
    complaint = cm.complain(CONTEXT, victim, 1, deals)
    assert cm.check_complaint(CONTEXT, by_index, deals, complaint) is True  # member 1 cheated
    false = cm.complain(CONTEXT, victim, 3, deals)
    assert cm.check_complaint(CONTEXT, by_index, deals, false) is False  # member 3 did not
    lie = dict(complaint, shared=b64url(g.base(g.random_scalar())))
    with pytest.raises(s.SecretBallotError) as caught:
        cm.check_complaint(CONTEXT, by_index, deals, lie)  # a made-up point is not proved
    assert caught.value.code == "invalid_commission_key"


def test_a_commitment_without_its_proofs_is_refused() -> None:
    _, published = cm.commit(CONTEXT, 1, 2)
    forged = copy.deepcopy(published)
    forged["commitments"][0] = b64url(g.base(g.random_scalar()))  # a key the member does not know
    _refused("invalid_commission_key", cm.check_commitment, CONTEXT, forged, 2)
    _refused("invalid_commission_key", cm.check_commitment, CONTEXT, published, 3)  # too few coefficients
    _refused("invalid_commission_key", cm.check_commitment, "another/sitting/commission", published, 2)


def test_the_group_refuses_what_is_not_one_of_its_elements() -> None:
    with pytest.raises(g.GroupError):
        g.point(g.IDENTITY)
    with pytest.raises(g.GroupError):
        g.point(b"\x01" * 31)
    with pytest.raises(g.GroupError):
        g.scalar(g.ORDER.to_bytes(32, "little"))
    assert g.mul(g.ZERO, g.BASE) == g.IDENTITY and g.sub(g.BASE, g.BASE) == g.IDENTITY


def test_every_published_value_has_exactly_its_format_and_true_is_no_member_number() -> None:
    """Found by an attack run: JSON ``true`` taken for member 1 (Python's ``True == 1``) stalled the key on the
    tablets; extra fields rode into the public log beside the ciphertexts (a plaintext choice, say)."""
    secret, published = cm.commit(CONTEXT, 1, 2)
    _refused("invalid_commission_key", cm.check_commitment, CONTEXT, {**published, "member": True}, 2)
    _refused("invalid_commission_key", cm.check_commitment, CONTEXT, {**published, "note": "x"}, 2)
    others = [cm.commit(CONTEXT, i, 2) for i in (2, 3)]
    commitments = [cm.check_commitment(CONTEXT, p, 2) for p in (published, *(p for _, p in others))]
    deal = cm.deal(CONTEXT, secret, commitments)
    cm.check_deal(deal, 1, [2, 3])
    for bad in (
        {**deal, "shares": 5},
        {**deal, "shares": [dict(deal["shares"][0], to=True), deal["shares"][1]]},
        {**deal, "shares": [deal["shares"][0], deal["shares"][0]]},  # two for member 2, none for member 3
        {**deal, "extra": 1},
    ):
        _refused("invalid_commission_key", cm.check_deal, bad, 1, [2, 3])
    ballot = s.encrypt_ballot(commitments[0].commitments[0], "for", VOTE, "d01")
    _refused(
        "invalid_secret_ballot", s.check_ballot, commitments[0].commitments[0], {**ballot, "choice": "for"}, VOTE, "d01"
    )
    leaky = copy.deepcopy(ballot)
    leaky["options"][0]["choice"] = "for"
    _refused("invalid_secret_ballot", s.check_ballot, commitments[0].commitments[0], leaky, VOTE, "d01")


def test_a_decryption_names_its_own_member_and_an_unmasked_option_is_counted_as_it_is(commission: Commission) -> None:
    ballots = [s.encrypt_ballot(commission.key, "for", VOTE, f"d{n:02d}") for n in range(1, 4)]
    product = s.multiply([s.check_ballot(commission.key, b, VOTE, f"d{n:02d}") for n, b in enumerate(ballots, 1)])
    secret = commission.secrets[0]
    assert secret.share is not None
    shared = s.partial(secret.share, 1, product, VOTE)
    public = cm.public_share(commission.commitments, 1)
    _refused("invalid_decryption", s.check_partial, public, 1, product, {**shared, "member": True}, VOTE)
    _refused("invalid_decryption", s.check_partial, public, 1, product, {**shared, "member": 2}, VOTE)
    # colluding voters whose randomness cancels out leave an option's ΣA the identity: nothing to decrypt there,
    # its ΣB counted as it is, so the vote can still be counted
    unmasked = [s.Ciphertext(g.IDENTITY, g.add(g.BASE, g.BASE)), *product[1:]]
    decryptions = commission.decrypt(unmasked, [1, 3])
    assert s.combine(unmasked, decryptions, 3) == [2, 0, 0]
