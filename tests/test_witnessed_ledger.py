"""The council's server collects its witnesses' cosignatures (issue 18): three witnesses in processes of
their own, one of them down; a rewritten history (a ballot dropped, recounted, re-signed with the
council's key) is refused by every witness that saw the real one, before and after a restart, and
``kvorum verify`` with the witnesses' keys, a saved checkpoint or a deputy's receipt names it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import eventually
from ledger_support import leaves, reseal
from signed_support import Chamber
from witness_support import WitnessProcess

from session_server.cli import main
from session_server.config import Settings
from session_server.ledger.witnessing import TIMEOUT
from voting.checkpoint import Checkpoint
from voting.cosignature import CosignatureVerifier, cosignatures
from voting.merkle import MerkleTree

COUNCIL_ORIGIN = "kvorum.localhost/voznesensk"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0, witness_retry_seconds=1)


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[list[WitnessProcess]]:
    made = [WitnessProcess(tmp_path / f"w{n}", name=f"witness{n}.example") for n in (1, 2, 3)]
    yield made
    for witness in made:
        witness.stop()


async def _listed(chamber: Chamber, witnesses: list[WitnessProcess], needed: int, running: int = 2) -> None:
    """Each witness follows the council; the council lists them all and needs ``needed``; the first
    ``running`` run."""
    council_key = chamber.demo.server.kvorum.ledger.signer.vkey
    for witness in witnesses:
        witness.follow(COUNCIL_ORIGIN, council_key)
    for witness in witnesses[:running]:
        witness.start()
    listed = [
        {"name": w.folder.name.replace("w", "witness") + ".example", "url": w.url, "key": w.vkey} for w in witnesses
    ]
    response = await chamber.council_command("admin", "council.configure", witnesses=listed, witnesses_needed=needed)
    assert response.status_code == 200, response.text


async def _vote(chamber: Chamber, choices: dict[str, str]) -> list[int]:
    """A vote with these signed ballots, closed; the seq of each ballot."""
    vote = await chamber.open_vote()
    seqs = []
    for member, choice in choices.items():
        cast = await chamber.cast(member, choice)
        assert cast.status_code == 200, cast.text
        seqs.append(int(cast.json()["seq"]))
    await chamber.demo.ok("chair", "vote.close", vote=vote["id"])
    return seqs


async def _witnessed(client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    async def latest() -> dict[str, Any] | None:
        status = (await client.get("/api/v1/sessions/c8-s45/ledger/witnesses")).json()
        head = (await client.get("/api/v1/sessions/c8-s45")).json()["seq"]
        latest = status["latest"]
        if latest and latest["size"] == head and len(latest["cosigned_by"]) >= count:
            return dict(status)
        return None

    found: dict[str, Any] = await eventually(latest, f"the sitting's last checkpoint cosigned by {count} witnesses")
    return found


def _add_checkpoint(witness: WitnessProcess, old: int, proof: list[bytes], note: str) -> httpx.Response:
    body = "".join([f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n", note])
    return httpx.post(witness.url + "/add-checkpoint", content=body.encode(), timeout=10)


async def test_the_council_collects_k_of_n_cosignatures_and_a_rewritten_history_is_refused_and_named(
    chamber: Chamber, witnesses: list[WitnessProcess], tmp_path: Path, capsys: Any
) -> None:
    client = chamber.client
    await _listed(chamber, witnesses, needed=2)
    seqs = await _vote(chamber, {"d01": "for", "d02": "for", "d03": "against", "d04": "abstain"})

    status = await _witnessed(client, 2)
    assert status["needed"] == 2 and status["latest"]["witnessed"] is True
    assert sorted(status["latest"]["cosigned_by"]) == ["witness1.example", "witness2.example"]
    note = (await client.get("/api/v1/sessions/c8-s45/ledger/checkpoint")).text
    verifiers = [CosignatureVerifier.from_vkey(w.vkey) for w in witnesses]
    assert sorted(c.witness for c in cosignatures(note, verifiers)) == ["witness1.example", "witness2.example"]

    # the portal says who witnessed the sitting's ledger and how to check it with their keys
    page = (await client.get("/sessions/c8-s45")).text
    assert "засвідчили незалежні свідки: witness1.example, witness2.example" in page
    assert "(потрібно: 2)" in page and f"--witness {witnesses[2].vkey}" in page and 'href="/receipt"' in page

    # the admin sees who cosigned what, and that the third witness does not answer
    health = (await client.get("/api/v1/witnesses", headers=await chamber.demo.headers("admin"))).json()
    by_name = {w["name"]: w for w in health["witnesses"]}
    assert by_name["witness1.example"]["cosigned"] >= 1 and by_name["witness1.example"]["answered_at"]
    assert by_name["witness3.example"]["failure"].startswith("no answer")
    assert any(b["stream"] == "session:c8-s45" for b in by_name["witness3.example"]["behind"])
    refused = await client.get("/api/v1/witnesses", headers=await chamber.demo.headers("deputy01"))
    assert refused.status_code == 403

    export = (await client.get("/api/v1/sessions/c8-s45/ledger/export")).json()
    path = tmp_path / "ledger.json"
    path.write_bytes(orjson.dumps(export))
    keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
    assert await asyncio.to_thread(main, ["verify", str(path), *keys, "--witnesses-needed", "2"]) == 0
    out = capsys.readouterr().out
    assert "the session ledger's last checkpoint is cosigned by 2 witnesses" in out
    assert await asyncio.to_thread(main, ["verify", str(path), *keys, "--witnesses-needed", "3"]) == 1
    assert "missing: witness3.example" in capsys.readouterr().err

    # the witness that was down comes back and is asked again: it cosigns too
    witnesses[2].start()
    await _witnessed(client, 3)

    # a deputy's receipt of the first ballot, as the tablet keeps it
    receipt = (await client.get(f"/api/v1/sessions/c8-s45/ledger/receipt?seq={seqs[0]}")).json()
    assert receipt["format"] == "kvorum-receipt-v1" and receipt["session"] == "c8-s45"
    receipt_path = tmp_path / "receipt.json"
    receipt_path.write_bytes(orjson.dumps(receipt))

    # the server, holding the council's key, drops d01's ballot, recounts and re-signs every checkpoint
    events = [e for e in leaves(export) if e["seq"] != seqs[0]]
    for event in events:
        if event["type"] == "vote.closed":
            tally = dict(event["payload"]["tally"])
            tally["for"], tally["not_voted"] = tally["for"] - 1, tally["not_voted"] + 1
            roll_call = {**event["payload"]["roll_call"], "d01": "not_voted"}
            event["payload"] = {**event["payload"], "tally": tally, "roll_call": roll_call}
    signer = chamber.demo.server.kvorum.ledger.signer
    forged = reseal(export, events, signer)
    # to be sent to the witnesses it must grow past what they hold: two more events
    grown = reseal(export, [*events, dict(events[-1]), dict(events[-1])], signer)
    forged_notes = grown["session_ledger"]["checkpoints"]
    forged_tree = MerkleTree([base64.b64decode(leaf) for leaf in grown["session_ledger"]["leaves"]])
    size = Checkpoint.parse(forged_notes[-1].split("\n\n")[0].encode() + b"\n").size
    held = status["latest"]["size"]
    for witness in witnesses:
        answers = [
            _add_checkpoint(witness, held, forged_tree.consistency_proof(held, size), forged_notes[-1]).status_code,
            _add_checkpoint(witness, 0, [], forged_notes[-1]).status_code,
        ]
        assert 200 not in answers and answers[1] == 409, answers
    witnesses[0].stop()  # a witness restarted from its folder still refuses the fork
    witnesses[0].start()
    assert _add_checkpoint(
        witnesses[0], held, forged_tree.consistency_proof(held, size), forged_notes[-1]
    ).status_code in (
        409,
        422,
    )

    # a second history of the same sitting under an origin below it: no witness follows it, and it is not
    # this sitting's ledger whoever would sign it
    shadow_export = {
        **export,
        "session_ledger": {**export["session_ledger"], "origin": export["session_ledger"]["origin"] + "/shadow"},
    }
    shadow = reseal(shadow_export, leaves(export), signer)
    shadow_note = shadow["session_ledger"]["checkpoints"][-1]
    assert _add_checkpoint(witnesses[1], 0, [], shadow_note).status_code == 404
    shadow_path = tmp_path / "shadow.json"
    shadow_path.write_bytes(orjson.dumps(shadow))
    assert await asyncio.to_thread(main, ["verify", str(shadow_path)]) == 1
    assert "is not sitting 'c8-s45''s" in capsys.readouterr().err

    forged_path = tmp_path / "forged.json"
    forged_path.write_bytes(orjson.dumps(forged))
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify", str(forged_path)]) == 0  # the council's key alone is fooled
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify", str(forged_path), *keys, "--witnesses-needed", "2"]) == 1
    assert "cosigned by 0 of the 2 witnesses needed" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["verify", str(forged_path), "--receipt", str(receipt_path)]) == 1
    assert "not the ballot the deputy's device kept" in capsys.readouterr().err
    saved = tmp_path / "checkpoint.txt"  # the cosigned checkpoint someone kept from the portal
    saved.write_text(note)
    assert await asyncio.to_thread(main, ["verify", str(forged_path), "--checkpoint", str(saved)]) == 1
    assert "the file is cut short" in capsys.readouterr().err  # one ballot fewer than the saved checkpoint
    grown_path = tmp_path / "grown.json"
    grown_path.write_bytes(orjson.dumps(grown))
    assert await asyncio.to_thread(main, ["verify", str(grown_path), "--checkpoint", str(saved)]) == 1
    assert "this is not the history the council published" in capsys.readouterr().err
    # the real ledger agrees with the receipt
    needed = ["--witnesses-needed", "2"]
    assert await asyncio.to_thread(main, ["verify", str(path), "--receipt", str(receipt_path), *keys, *needed]) == 0
    assert (
        f"receipt: the ballot of d01 in vote v1, event {seqs[0]}, is in the ledger as kept" in capsys.readouterr().out
    )


async def test_the_portal_says_a_checkpoint_waits_for_its_witnesses_while_too_few_have_cosigned(
    chamber: Chamber, witnesses: list[WitnessProcess]
) -> None:
    await _listed(chamber, witnesses[2:], needed=1, running=0)  # only the third is listed, and it is down
    [seq] = await _vote(chamber, {"d01": "for"})

    async def signed() -> bool:  # the close's checkpoint is signed right after its commit
        latest = (await chamber.client.get("/api/v1/sessions/c8-s45/ledger/witnesses")).json()["latest"]
        return latest is not None and latest["size"] > seq

    await eventually(signed, "the vote close's checkpoint")
    page = (await chamber.client.get("/sessions/c8-s45")).text
    assert "очікує підписів свідків: є 0, потрібно: 1" in page
    status = (await chamber.client.get("/api/v1/sessions/c8-s45/ledger/witnesses")).json()
    assert status["latest"] == {"size": status["latest"]["size"], "cosigned_by": [], "witnessed": False}


async def test_a_file_ending_before_a_receipt_or_a_saved_checkpoint_is_reported_as_cut_short(
    chamber: Chamber, witnesses: list[WitnessProcess], tmp_path: Path, capsys: Any
) -> None:
    client = chamber.client
    await _listed(chamber, witnesses, needed=2)
    await _vote(chamber, {"d01": "for"})
    earlier = tmp_path / "earlier.json"
    earlier.write_bytes((await client.get("/api/v1/sessions/c8-s45/ledger/export")).content)
    [seq] = await _vote(chamber, {"d02": "against"})
    await _witnessed(client, 2)
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes((await client.get(f"/api/v1/sessions/c8-s45/ledger/receipt?seq={seq}")).content)
    assert await asyncio.to_thread(main, ["verify", str(earlier), "--receipt", str(receipt)]) == 1
    assert "the file is cut short or the ballot was dropped" in capsys.readouterr().err
    # a receipt whose checkpoint a witness cosignature was forged on is named
    data = orjson.loads(receipt.read_bytes())
    body, _, lines = data["checkpoint"].partition("\n\n")
    council_line, witness_line = lines.splitlines()[0], lines.splitlines()[1]
    name, signature = witness_line.removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 1
    data["checkpoint"] = f"{body}\n\n{council_line}\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    receipt.write_bytes(orjson.dumps(data))
    current = tmp_path / "current.json"
    current.write_bytes((await client.get("/api/v1/sessions/c8-s45/ledger/export")).content)
    keys = [arg for w in witnesses for arg in ("--witness", w.vkey)]
    capsys.readouterr()
    assert (
        await asyncio.to_thread(
            main, ["verify", str(current), "--receipt", str(receipt), *keys, "--witnesses-needed", "2"]
        )
        == 1
    )
    assert "does not verify" in capsys.readouterr().err


async def test_a_witness_that_never_answers_delays_no_other(chamber: Chamber, witnesses: list[WitnessProcess]) -> None:
    hung: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)  # reads nothing, answers nothing: a host behind a firewall that drops packets

    server = await asyncio.start_server(silent, "127.0.0.1", witnesses[2].port)
    try:
        await _listed(chamber, witnesses, needed=2)
        await _vote(chamber, {"d01": "for"})
        await _vote(chamber, {"d02": "against"})  # its checkpoint is signed while the third still hangs
        began = asyncio.get_running_loop().time()
        status = await _witnessed(chamber.client, 2)
        waited = asyncio.get_running_loop().time() - began
        assert sorted(status["latest"]["cosigned_by"]) == ["witness1.example", "witness2.example"]
        assert waited < TIMEOUT / 2, f"the answering witnesses waited {waited:.1f} s for the silent one"
    finally:
        for writer in hung:
            writer.close()
        server.close()


async def test_a_witness_answering_without_end_is_given_up_on_and_delays_no_other(
    chamber: Chamber, witnesses: list[WitnessProcess]
) -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            chunk = b"\xe2\x80\x94 x " * 2048
            while True:  # a hostile witness: "cosignature lines" without end
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()

    server = await asyncio.start_server(endless, "127.0.0.1", witnesses[2].port)
    try:
        await _listed(chamber, witnesses, needed=2)
        await _vote(chamber, {"d01": "for"})
        await _witnessed(chamber.client, 2)

        async def refused() -> str | None:
            health = (await chamber.client.get("/api/v1/witnesses", headers=await chamber.demo.headers("admin"))).json()
            failure = {w["name"]: w["failure"] for w in health["witnesses"]}["witness3.example"]
            return failure if failure else None

        assert "answered more than 16384 bytes" in await eventually(refused, "the endless witness refused")
    finally:
        server.close()
