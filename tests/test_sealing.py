"""The commitment of a sealed ballot (docs/ledger.md, "Sealed results"): pinned to its bytes so that
anyone's own code can check it, opened only by its own choice, salt and signature."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting.ballot import b64url
from voting.sealing import commitment, new_salt, opens

SALT = b64url(bytes(range(16)))
CHOICES = st.sampled_from(["for", "against", "abstain"])
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


def test_the_commitment_is_sha256_of_the_domain_and_the_canonical_opening() -> None:
    # written out by hand, keys in RFC 8785 order: what a third party's verifier computes
    opening = '{"choice":"for","deputy":"d07","salt":"AAECAwQFBgcICQoLDA0ODw","vote":"v1"}'
    expected = hashlib.sha256(b"kvorum-sealed-ballot-v1\x00" + opening.encode()).hexdigest()
    assert commitment(vote="v1", deputy="d07", choice="for", salt=SALT) == expected
    signed = '{"assertion":{"credential":"Y3I","signature":"c2ln"},"choice":"against","deputy":"d07",'
    signed += '"salt":"AAECAwQFBgcICQoLDA0ODw","vote":"v1"}'
    assertion = {"signature": "c2ln", "credential": "Y3I"}
    assert commitment(vote="v1", deputy="d07", choice="against", salt=SALT, assertion=assertion) == (
        hashlib.sha256(b"kvorum-sealed-ballot-v1\x00" + signed.encode()).hexdigest()
    )


@given(IDS, IDS, CHOICES, st.binary(min_size=16, max_size=16))
def test_only_its_own_choice_and_salt_open_a_commitment_and_every_one_looks_alike(
    vote: str, deputy: str, choice: str, entropy: bytes
) -> None:
    salt = new_salt(entropy)
    sealed = commitment(vote=vote, deputy=deputy, choice=choice, salt=salt)
    assert len(sealed) == 64 and opens(sealed, vote=vote, deputy=deputy, choice=choice, salt=salt)
    for other in {"for", "against", "abstain"} - {choice}:
        assert not opens(sealed, vote=vote, deputy=deputy, choice=other, salt=salt)
    assert not opens(sealed, vote=vote, deputy=deputy + "x", choice=choice, salt=salt)
    assert not opens(sealed, vote=vote + "x", deputy=deputy, choice=choice, salt=salt)
    assert not opens(
        sealed, vote=vote, deputy=deputy, choice=choice, salt=new_salt(bytes(16)) if entropy != bytes(16) else SALT
    )
    assert not opens(sealed, vote=vote, deputy=deputy, choice=choice, salt=salt, assertion={"signature": "x"})


def test_a_commitment_is_refused_to_anything_but_the_three_choices_and_a_full_salt() -> None:
    with pytest.raises(ValueError):
        commitment(vote="v1", deputy="d07", choice="maybe", salt=SALT)
    with pytest.raises(ValueError):
        commitment(vote="v1", deputy="d07", choice="for", salt=b64url(bytes(8)))
    with pytest.raises(ValueError):
        new_salt(bytes(15))
    assert not opens("00" * 32, vote="v1", deputy="d07", choice="maybe", salt=SALT)
