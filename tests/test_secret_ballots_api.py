"""A secret vote through the API with signed ballots (issue 20): the council lists the question, elects a
counting commission of 3 (2 needed) whose tablets make the key; all 34 deputies cast encrypted ballots, each
signed by their enrolled tablet over the ballot's digest; one member leaves and the two others decrypt; the
counts are the choices. Afterwards neither the database nor the server's log holds any deputy's choice."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Demo, eventually
from ledger_support import leaves, reseal
from signed_support import Chamber, signed_chamber, user

from session_server import demo
from session_server.cli import main
from session_server.domain.audit import Discrepancy, audit
from session_server.domain.commission import commission_context, vote_context
from session_server.domain.secret_votes import encrypted_digest
from voting import commission as cm
from voting import group as g
from voting import secret as sb
from voting.ballot import b64url, ballot_bytes, from_b64url, nonce_for

QUESTIONS = [{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26"}]
VOTERS = [f"d{n:02d}" for n in range(1, 35)]  # every deputy of the demo council
MEMBERS = ["d01", "d02", "d03"]


async def _ok(chamber: Chamber, member: str, type_: str, **fields: Any) -> dict[str, Any]:
    response = await chamber.demo.command(user(member), type_, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _make_key(chamber: Chamber) -> dict[str, cm.MemberSecret]:
    """The three members' tablets make the key, each step through the API (voting.commission plays them)."""
    state = (await chamber.demo.state())["state"]
    context = commission_context(demo.COUNCIL_ID, demo.SESSION_ID, state["commission"]["attempt"])
    secrets, published = {}, {}
    for index, member in enumerate(MEMBERS, start=1):
        secrets[member], published[member] = cm.commit(context, index, 2)
        await _ok(chamber, member, "commission.commit", published=published[member])
    commitments = [cm.check_commitment(context, published[m], 2) for m in MEMBERS]
    deals = {}
    for member in MEMBERS:
        deals[secrets[member].index] = cm.deal(context, secrets[member], commitments)
        await _ok(chamber, member, "commission.deal", published=deals[secrets[member].index])
    for member in MEMBERS:
        assert cm.receive(context, secrets[member], commitments, deals) == []
        await _ok(chamber, member, "commission.ready", published=cm.ready(context, secrets[member]))
    return secrets


async def _cast(chamber: Chamber, vote: dict[str, Any], member: str, choice: str) -> Any:
    context = vote_context(demo.COUNCIL_ID, demo.SESSION_ID, vote["id"])
    encrypted = sb.encrypt_ballot(from_b64url(vote["key"]), choice, context, member)
    nonce = nonce_for(vote["nonce_seed"], member, 0)
    data = ballot_bytes(
        council=demo.COUNCIL_ID,
        session=demo.SESSION_ID,
        vote=vote["id"],
        item=vote["item"],
        deputy=member,
        encrypted=encrypted_digest(encrypted),
        nonce=nonce,
    )
    assertion = chamber.tablets[member].sign(data)
    return await chamber.demo.command(
        user(member), "ballot.cast", vote=vote["id"], encrypted=encrypted, nonce=nonce, assertion=assertion
    )


@pytest.mark.timeout(120)
async def test_a_signed_secret_vote_is_counted_by_two_of_three_and_no_choice_is_kept_anywhere(
    demo_council: Demo, caplog: pytest.LogCaptureFixture, tmp_path: Path, capsys: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    chamber = await signed_chamber(demo_council)
    configured = await chamber.council_command("admin", "council.configure", secret_questions=QUESTIONS)
    assert configured.status_code == 200, configured.text
    for member in VOTERS[4:]:
        assert (await chamber.enroll(member)).status_code == 201
    await asyncio.gather(*(demo_council.ok(user(m), "presence.register") for m in VOTERS[20:]))  # all 34 here
    await demo_council.ok("chair", "commission.elect", members=MEMBERS, threshold=2)
    secrets = await _make_key(chamber)
    await demo_council.ok(
        "chair",
        "vote.open",
        item="i1",
        subject="Обрання секретаря ради",
        kind="basis_and_whole",
        seconds=120,
        secret=True,
        question="secretary",
    )
    vote = await chamber.vote()
    assert vote["secret"] and vote["key"] == (await demo_council.state())["state"]["commission"]["key"]

    # a plaintext choice, even signed, is refused; an encrypted ballot signed over another digest too
    plain = await chamber.cast("d01", "for")
    assert (plain.status_code, plain.json()["error"]) == (400, "plaintext_in_secret_ballot")
    choices = {m: random.choice(sb.OPTIONS) for m in VOTERS}
    for member, choice in choices.items():
        response = await _cast(chamber, vote, member, choice)
        assert response.status_code == 200, response.text
    assert (await chamber.vote())["voted"] == len(VOTERS)

    await demo_council.ok("chair", "vote.close", vote=vote["id"])
    tallying = await chamber.vote()
    assert tallying["status"] == "open" and tallying["product"] is not None
    await _ok(chamber, "d02", "presence.leave")  # one member is gone: two of three still count
    for member in ("d01", "d03"):
        secret = secrets[member]
        assert secret.share is not None
        product = [sb.Ciphertext(from_b64url(p["a"]), from_b64url(p["b"])) for p in tallying["product"]]
        context = vote_context(demo.COUNCIL_ID, demo.SESSION_ID, vote["id"])
        await _ok(
            chamber,
            member,
            "decryption.share",
            vote=vote["id"],
            decryption=sb.partial(secret.share, secret.index, product, context),
        )
    closed = await chamber.vote()
    assert closed["status"] == "closed"
    tally = closed["tally"]
    assert [tally["for"], tally["against"], tally["abstain"]] == [
        sum(c == o for c in choices.values()) for o in sb.OPTIONS
    ]
    assert {closed["roll_call"][m] for m in VOTERS} == {"voted"}

    # the minutes and the open data say who voted and that it was secret, never how
    minutes = (await demo_council.client.get(f"/sessions/{demo.SESSION_ID}/minutes")).text
    assert "Голосування таємне (п. 4 ч. 1 ст. 26): бюлетені зашифровано на планшетах депутатів" in minutes
    assert "для підрахунку потрібно 2); голоси підрахували" in minutes
    assert "голосував(-ла) таємно" in minutes or "голосував таємно" in minutes or "голосувала таємно" in minutes

    page = (await demo_council.client.get(f"/sessions/{demo.SESSION_ID}")).text
    assert "таємно" in page and ">за<" not in page  # the portal's roll call: who voted, never how

    async def published() -> str | None:
        text = (await demo_council.client.get("/opendata/ua835/votings.csv")).text
        return text if "Голосував таємно" in text else None

    votings = await eventually(published, "the secret roll call in the open data")
    assert all(word not in votings for word in (",За,", ",Проти,", ",Утримався,"))

    # nowhere a choice: every table of the database and every line the server logged
    pool = demo_council.server.kvorum.pool
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    dump = []
    for row in tables:
        rows = await pool.fetch(f'SELECT * FROM "{row["table_name"]}"')
        dump += [str(dict(r)) for r in rows]
    stored = "\n".join(dump) + "\n".join(record.getMessage() for record in caplog.records)
    assert "ballot.encrypted" in stored  # the ballots are there, encrypted
    assert '"choice"' not in stored and "'choice'" not in stored  # no ballot anywhere says how anyone voted

    # and the ledger verifies offline: every ballot's proofs and signature, the product, each decryption
    export = tmp_path / "secret.json"
    export.write_bytes((await demo_council.client.get(f"/api/v1/sessions/{demo.SESSION_ID}/ledger/export")).content)
    assert await asyncio.to_thread(main, ["verify", str(export)]) == 0, capsys.readouterr().out
    assert "34 secret ballots, each proved one of the options" in capsys.readouterr().out

    # a server holding the council's key rewrites the log and signs it again: each lie is named
    exported = orjson.loads(export.read_bytes())
    signer = demo_council.server.kvorum.ledger.signer
    events = leaves(exported)

    def forged(type_: str, change: Any, nth: int = 0) -> Discrepancy:
        index = [i for i, e in enumerate(events) if e["type"] == type_][nth]
        rewritten = [dict(e) for e in events]
        rewritten[index] = dict(events[index], payload=change(copy.deepcopy(dict(events[index]["payload"]))))
        with pytest.raises(Discrepancy) as info:
            audit(reseal(exported, rewritten, signer))
        assert info.value.index == index, info.value
        return info.value

    def more_for(p: dict[str, Any]) -> dict[str, Any]:
        p["tally"]["for"] += 1
        p["tally"]["against" if p["tally"]["against"] else "abstain"] -= 1
        return p

    assert "vote.closed must follow the vote" in forged("vote.closed", more_for).message  # a forged count
    # another deputy's ballot in d01's name, a changed ciphertext: the signature over its digest fails first
    other = next(e for e in events if e["type"] == "ballot.encrypted" and e["payload"]["deputy"] == "d02")
    replayed = forged("ballot.encrypted", lambda p: {**p, "encrypted": other["payload"]["encrypted"]})
    assert "challenge_mismatch" in replayed.message
    assert "challenge_mismatch" in forged("ballot.encrypted", _shifted).message
    bad = forged("decryption.shared", _bad_decryption)
    assert "invalid_decryption" in bad.message  # a wrong partial decryption
    assert "differs" in forged("vote.tallying", lambda p: {**p, "ballots": p["ballots"] - 1}).message


def _shifted(payload: dict[str, Any]) -> dict[str, Any]:
    """B + G in the first option: a 0 made a 1 (or a 1 a 2)."""
    option = payload["encrypted"]["options"][0]
    option["b"] = b64url(g.add(from_b64url(option["b"]), g.BASE))
    return payload


def _bad_decryption(payload: dict[str, Any]) -> dict[str, Any]:
    option = payload["decryption"]["options"][0]
    option["d"] = b64url(g.add(from_b64url(option["d"]), g.BASE))
    return payload
