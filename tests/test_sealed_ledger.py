"""Results sealed until the close, through the real server (issue 17, docs/ledger.md "Sealed results"):
while a signed vote is sealed, a subscriber to every public channel learns who voted and never how —
the bytes it receives are the same with every choice flipped — and after the close the ledger verifies
offline, every sealed ballot opened and checked, and a choice turned around afterwards is caught."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from conftest import Demo
from ledger_support import leaves, reseal
from realtime_support import connect, recv, ws_url
from signed_support import PRESENT, Chamber, signed_chamber

from session_server.application import SYSTEM, core_application
from session_server.cli import main
from session_server.domain.audit import Discrepancy, audit
from session_server.domain.commands import SESSION_COMMAND_ADAPTER

SESSION = "c8-s45"
CHOICES = ("for", "against", "abstain", "for")
FLIPPED = {"for": "against", "against": "abstain", "abstain": "for"}


def normalised(raw: str) -> str:
    """What may differ between two votes whatever their choices: times, sequence numbers, the vote's id,
    hashes and commitments (64 hex digits), nonces (43 base64url characters) and sign counts."""
    raw = re.sub(r'"(at|closes_at|opened_at)":"[^"]*"', r'"\1":"T"', raw)
    raw = re.sub(r'"(seq|sign_count|last_seq)":\d+', r'"\1":0', raw)
    raw = re.sub(r"^id: \d+$", "id: 0", raw, flags=re.M)
    raw = re.sub(r'"v\d+"', '"vX"', raw)
    raw = re.sub(r"\b[0-9a-f]{64}\b", "H", raw)
    return re.sub(r'"nonce":"[A-Za-z0-9_-]{43}"', '"nonce":"N"', raw)


class Listener:
    """Everything a resident's event stream and the secretary's WebSocket receive, as bytes."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.sse: list[str] = []
        self.ws: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, since: int) -> None:
        ready = asyncio.Event()

        async def sse() -> None:
            async with httpx.AsyncClient(base_url=self.demo.server.url, timeout=None) as client:
                url = f"/api/v1/sessions/{SESSION}/stream?since={since}"
                async with client.stream("GET", url) as response:
                    ready.set()
                    async for chunk in response.aiter_text():
                        self.sse.append(chunk)

        async def ws() -> None:
            async with websockets.connect(ws_url(self.demo.server)) as socket:
                await socket.send(json.dumps({"type": "auth", "token": await self.demo.token("secretary")}))
                await socket.send(json.dumps({"type": "sync", "since": since}))
                async for message in socket:
                    self.ws.append(str(message))

        self._tasks = [asyncio.create_task(sse()), asyncio.create_task(ws())]
        await asyncio.wait_for(ready.wait(), 10)

    async def stop(self) -> tuple[str, str]:
        await asyncio.sleep(0.3)  # what is in flight arrives
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return "".join(self.sse), "\n".join(m for m in self.ws if '"type":"ping"' not in m)


async def _sealed_vote(
    chamber: Chamber, choices: tuple[str, ...], *, close_elsewhere: bool = False
) -> tuple[str, str, dict[str, Any]]:
    """Open a sealed vote, cast the four tablets' ballots while listening, then close it (on another node,
    with nothing of the ballots in memory, if ``close_elsewhere``); what was heard while it was open, and
    the ledger export taken while it was open."""
    demo = chamber.demo
    vote = await chamber.open_vote()
    head = (await demo.state())["seq"]
    listener = Listener(demo)
    await listener.start(head)
    for member, choice in zip(PRESENT[:4], choices, strict=True):
        assert (await chamber.cast(member, choice)).status_code == 200
    heard = await listener.stop()
    export = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/ledger/export")).json()
    if close_elsewhere:  # a second node's application: its openings come from where the server keeps them
        other = core_application(demo.server.kvorum.store)
        close = SESSION_COMMAND_ADAPTER.validate_python(
            {"id": "close-elsewhere", "type": "vote.close", "vote": vote["id"]}
        )
        await other.execute(f"session:{SESSION}", close, SYSTEM)
        await other.close()
    else:
        await demo.ok("chair", "vote.close", vote=vote["id"])
    return (*heard, export)


@pytest.fixture
async def sealed(demo_council: Demo) -> Chamber:
    chamber = await signed_chamber(demo_council)
    configured = await chamber.council_command("admin", "council.configure", results="hidden")
    assert configured.status_code == 200, configured.text
    return chamber


async def test_no_public_channel_tells_a_choice_while_the_vote_is_sealed(sealed: Chamber) -> None:
    sse_a, ws_a, export = await _sealed_vote(sealed, CHOICES)
    sse_b, ws_b, _ = await _sealed_vote(sealed, tuple(FLIPPED[c] for c in CHOICES))
    assert sse_a.count("event: ballot.sealed") == 4 and "ballot.cast" not in sse_a + ws_a
    assert normalised(sse_a) == normalised(sse_b)
    assert normalised(ws_a) == normalised(ws_b)
    for word in ('"choice"', '"for"', '"against"', '"abstain"', "assertion"):
        assert word not in sse_a + ws_a, word
    sealed_leaves = [e for e in leaves(export) if e["type"] == "ballot.sealed"]
    assert len(sealed_leaves) == 4
    assert all(
        set(e["payload"]) == {"vote", "deputy", "commitment", "nonce", "sign_count", "credential"}
        for e in sealed_leaves
    )
    # the roll call appears at once at the close, on the same channels
    state = (await sealed.demo.state())["state"]
    assert [state["votes"][0]["roll_call"][m] for m in PRESENT[:4]] == list(CHOICES)


async def test_a_sealed_vote_verifies_offline_and_a_choice_turned_around_afterwards_is_caught(
    sealed: Chamber, tmp_path: Path, capsys: Any
) -> None:
    _, _, export_while_open = await _sealed_vote(sealed, CHOICES, close_elsewhere=True)
    export = (await sealed.client.get(f"/api/v1/sessions/{SESSION}/ledger/export")).json()
    report = audit(export)
    assert report.ballots == report.signed_ballots == 4 and report.votes[0].tally["for"] == 2
    path = tmp_path / "ledger.json"
    path.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 WebAuthn signatures verified" in out
    assert "4 sealed ballots opened at their close, each matching its commitment" in out
    assert audit(export_while_open).unopened == 4  # a file made while the vote was open

    # a server holding the key turns the first opened ballot around and re-signs the whole history
    events = leaves(export)
    opened = next(i for i, e in enumerate(events) if e["type"] == "ballots.opened")
    openings = [dict(o) for o in events[opened]["payload"]["openings"]]
    openings[0]["choice"] = FLIPPED[openings[0]["choice"]]
    cooked = [dict(e) for e in events]
    cooked[opened] = dict(events[opened], payload={**events[opened]["payload"], "openings": openings})
    forged = reseal(export, cooked, sealed.demo.server.kvorum.ledger.signer)
    with pytest.raises(Discrepancy) as caught:
        audit(forged)
    first_sealed = next(i for i, e in enumerate(events) if e["type"] == "ballot.sealed")
    assert caught.value.index == first_sealed and "ballot.sealed" in caught.value.message


async def test_a_deputys_own_sealed_choice_is_in_the_snapshot_even_after_the_node_forgot_the_sitting(
    sealed: Chamber,
) -> None:
    demo = sealed.demo
    await sealed.open_vote()
    assert (await sealed.cast("d02", "abstain")).status_code == 200
    demo.server.kvorum.application.forget(f"session:{SESSION}")  # as a restarted node: nothing in memory
    mine = await connect(demo, "deputy02", since=0)
    other = await connect(demo, "deputy03", since=0)
    try:
        own = (await recv(mine))["state"]["own"]
        assert own["member"] == "d02" and own["ballots"] == {"v1": "abstain"}
        theirs = await recv(other)
        assert theirs["state"]["own"]["ballots"] == {} and "abstain" not in json.dumps(theirs)
    finally:
        await mine.close()
        await other.close()
