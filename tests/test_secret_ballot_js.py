"""The tablet's secret-ballot code (web/secret-ballot.js, under node) and the server's (voting/) speak the
same formats (issue 20): a commission of two tablets and one Python member makes one key together, each side
checking the other's commitments, shares and proofs; ballots the tablet encrypts check on the server and
count exactly, with a tablet member's partial decryption and a Python member's."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

from voting import commission as cm
from voting import secret as s
from voting.ballot import b64url

DRIVER = Path(__file__).resolve().parent / "secret_ballot_driver.mjs"
CONTEXT = "voznesensk/c8-s45/commission/1"
VOTE = "voznesensk/c8-s45/v2"


def _js(step: str, data: dict[str, Any]) -> Any:
    done = subprocess.run(
        ["node", str(DRIVER), step], input=json.dumps(data).encode(), capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def test_tablets_and_the_server_make_one_key_and_count_the_tablets_ballots() -> None:
    # 1. commitments: members 1 and 2 on tablets, member 3 here; each side checks the others'
    tablets = _js("commit", {"context": CONTEXT, "members": [1, 2], "threshold": 2})
    python_secret, python_published = cm.commit(CONTEXT, 3, 2)
    published = [t["published"] for t in tablets] + [python_published]
    commitments = [cm.check_commitment(CONTEXT, p, 2) for p in published]

    # 2. shares: the tablets deal theirs (checking member 3's commitment), member 3 deals its own
    tablet_deals = _js(
        "deal", {"context": CONTEXT, "saved": [t["saved"] for t in tablets], "published": published, "threshold": 2}
    )
    deals = {d["member"]: d for d in tablet_deals} | {3: cm.deal(CONTEXT, python_secret, commitments)}
    assert cm.receive(CONTEXT, python_secret, commitments, deals) == []  # the tablets' shares check here

    # 3. each tablet opens and checks what was dealt to it, the server's share included, and proves its share
    received = _js(
        "receive",
        {
            "context": CONTEXT,
            "saved": [t["saved"] for t in tablets],
            "published": published,
            "threshold": 2,
            "deals": {str(k): v for k, v in deals.items()},
        },
    )
    assert [r["bad"] for r in received] == [[], []]
    assert [cm.check_ready(CONTEXT, commitments, r["ready"]) for r in received] == [1, 2]
    own_ready = cm.ready(CONTEXT, python_secret)
    assert _js("checkReady", {"context": CONTEXT, "published": published, "threshold": 2, "ready": [own_ready]}) == [
        True
    ]
    key = cm.election_key(commitments)
    assert {r["key"] for r in received} == {b64url(key)}  # one key on every side

    # 4. the tablets encrypt; the server checks each ballot, multiplies, and the count comes out exact
    choices = [{"deputy": f"d{n:02d}", "choice": random.choice(s.OPTIONS)} for n in range(1, 13)]
    ballots = _js("encrypt", {"key": b64url(key), "context": VOTE, "ballots": choices})
    cts = [s.check_ballot(key, b, VOTE, c["deputy"]) for b, c in zip(ballots, choices, strict=True)]
    product = s.multiply(cts)
    product_json = [{"a": b64url(ct.a), "b": b64url(ct.b)} for ct in product]
    tablet_partial = _js("partial", {"saved": received[0]["saved"], "product": product_json, "context": VOTE})
    assert python_secret.share is not None
    decryptions = {
        1: s.check_partial(cm.public_share(commitments, 1), 1, product, tablet_partial, VOTE),
        3: s.check_partial(
            cm.public_share(commitments, 3), 3, product, s.partial(python_secret.share, 3, product, VOTE), VOTE
        ),
    }
    counts = s.combine(product, decryptions, len(ballots))
    assert counts == [sum(c["choice"] == o for c in choices) for o in s.OPTIONS]
    # a tablet's ballot in another deputy's name does not check
    try:
        s.check_ballot(key, ballots[0], VOTE, "d99")
    except s.SecretBallotError as refused:
        assert refused.code == "secret_ballot_proof"
    else:
        raise AssertionError("a ballot checked in another deputy's name")


def test_a_member_s_tablet_decrypts_only_the_sum_of_the_logged_ballots_under_the_logged_key() -> None:
    """A server that shows the commission one deputy's ballot as the vote's sum (to learn that choice), or a
    key of its own, is refused by the member's tablet before it decrypts anything (web/secret-log.js)."""
    made = [cm.commit(CONTEXT, i, 2) for i in (1, 2, 3)]
    commitments = [cm.check_commitment(CONTEXT, published, 2) for _, published in made]
    key = cm.election_key(commitments)
    ballots = [
        sb_ballot(key, choice, deputy) for deputy, choice in (("d01", "for"), ("d02", "against"), ("d03", "for"))
    ]
    elected = {
        "seq": 1,
        "type": "commission.elected",
        "payload": {"members": ["d01", "d02", "d03"], "threshold": 2, "attempt": 1},
    }
    committed = [
        {"seq": 1 + i, "type": "commission.committed", "payload": {"index": i, "published": published}}
        for i, (_, published) in enumerate(made, start=1)
    ]
    cast = [
        {"seq": 5 + n, "type": "ballot.encrypted", "payload": {"vote": "v2", "deputy": d, "encrypted": b}}
        for n, (d, b) in enumerate(ballots)
    ]
    events = [elected, *committed, *cast]
    honest = [{"a": b64url(ct.a), "b": b64url(ct.b)} for ct in s.multiply([s.ciphertexts(b) for _, b in ballots])]
    assert _js("product", {"ballots": [b for _, b in ballots]}) == honest  # the tablet sums as the server does
    vote = {"id": "v2", "key": b64url(key), "product": honest}
    guard = {"council": "voznesensk", "session": "c8-s45", "events": events}
    assert _js("guard", {**guard, "vote": vote}) is None
    one = [{"a": b64url(ct.a), "b": b64url(ct.b)} for ct in s.ciphertexts(ballots[1][1])]  # d02's ballot alone
    assert _js("guard", {**guard, "vote": {**vote, "product": one}}) == "secret_product_mismatch"
    other = b64url(cm.election_key([cm.check_commitment(CONTEXT, cm.commit(CONTEXT, 1, 2)[1], 2)]))
    assert _js("guard", {**guard, "vote": {**vote, "key": other}}) == "secret_key_mismatch"


def sb_ballot(key: bytes, choice: str, deputy: str) -> tuple[str, dict[str, Any]]:
    return deputy, s.encrypt_ballot(key, choice, "voznesensk/c8-s45/v2", deputy)
