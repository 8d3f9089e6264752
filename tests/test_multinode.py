"""Three `kvorum serve` processes on one PostgreSQL and one Redis, as a council would run them."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from cluster_support import Node
from cluster_support import cluster as three_nodes
from websockets.exceptions import ConnectionClosed

from session_server import demo
from session_server.config import Settings
from voting.canonical import GENESIS, event_hash

SESSION = demo.SESSION_ID


Cluster = tuple[list[Node], dict[str, str]]


@pytest.fixture
async def cluster(
    settings: Settings, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[list[Node], dict[str, str]]]:
    async with three_nodes(settings, redis_url, tmp_path, 3) as running:
        yield running.nodes, running.tokens


@dataclass
class Tablet:
    """A WebSocket client that checks order and the hash chain, and moves to another node when its own dies."""

    name: str
    token: str
    nodes: list[Node]
    home: int
    seen: list[tuple[int, str]] = field(default_factory=list)
    reconnects: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    advanced: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        index = self.home
        while True:
            node = self.nodes[index % len(self.nodes)]
            try:
                async with websockets.connect(node.ws) as ws:
                    await ws.send(json.dumps({"type": "auth", "token": self.token}))
                    await ws.send(json.dumps({"type": "sync", "since": self.last_seq}))
                    async for raw in ws:
                        self._take(json.loads(raw))
            except (ConnectionClosed, OSError):
                pass
            self.reconnects += 1
            index += 1  # try the next node
            await asyncio.sleep(0.05)

    def _take(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            assert self.last_seq == 0, f"{self.name} got a snapshot while resuming"
            self.last_seq, self.last_hash = message["seq"], bytes.fromhex(message["hash"])
            self.synced.set()
        elif message["type"] == "event":
            event = message["event"]
            assert event["seq"] == self.last_seq + 1, f"{self.name}: {event['seq']} after {self.last_seq}"
            assert event["hash"] == event_hash(self.last_hash, event), f"{self.name}: seq {event['seq']} does not chain"
            self.seen.append((event["seq"], event["hash"]))
            self.last_seq, self.last_hash = event["seq"], bytes.fromhex(event["hash"])
            self.advanced.set()


async def _command(client: httpx.AsyncClient, node: Node, token: str, body: dict[str, Any]) -> None:
    response = await client.post(
        f"{node.http}/api/v1/sessions/{SESSION}/commands", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


async def _until(tablets: list[Tablet], seq: int, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        for tablet in tablets:
            while tablet.last_seq < seq:
                tablet.advanced.clear()
                await tablet.advanced.wait()


async def test_every_client_on_every_node_sees_one_sequence_even_when_a_node_is_killed(
    cluster: Cluster,
) -> None:
    nodes, tokens = cluster
    rng = random.Random(45)
    tablets = [Tablet(f"tablet{i}", tokens[f"deputy{i + 1:02d}"], nodes, home=i % 3) for i in range(9)]
    runners = [asyncio.create_task(t.run()) for t in tablets]
    try:
        async with asyncio.timeout(10):
            for tablet in tablets:
                await tablet.synced.wait()
        async with httpx.AsyncClient(timeout=10) as client:
            await _command(client, rng.choice(nodes), tokens["chair"], {"id": "open", "type": "session.open"})
            await _command(client, rng.choice(nodes), tokens["secretary"], {"id": "reg", "type": "registration.open"})
            await asyncio.gather(
                *(
                    _command(
                        client,
                        rng.choice(nodes),
                        tokens[f"deputy{i:02d}"],
                        {"id": f"p{i}", "type": "presence.register"},
                    )
                    for i in range(1, 35)
                )
            )
            await _command(client, rng.choice(nodes), tokens["chair"], {"id": "i1", "type": "item.start", "item": "i1"})
            vote = {
                "id": "v",
                "type": "vote.open",
                "item": "i1",
                "subject": "в цілому",
                "rule": "majority_of_composition",
            }
            await _command(client, rng.choice(nodes), tokens["chair"], {**vote, "seconds": 300})
            head = 1 + 2 + 34 + 2
            await _until(tablets, head)

            # ballots keep flowing to the two surviving nodes while the third is killed mid-stream
            victim, survivors = nodes[2], nodes[:2]

            async def ballots(first: int, last: int) -> None:
                for i in range(first, last + 1):
                    body = {
                        "id": f"b{i}",
                        "type": "ballot.cast",
                        "vote": "v1",
                        "choice": rng.choice(["for", "against"]),
                    }
                    await _command(client, rng.choice(survivors), tokens[f"deputy{i:02d}"], body)

            flowing = asyncio.create_task(ballots(1, 34))
            await _until(tablets, head + 5)
            victim.proc.send_signal(signal.SIGKILL)
            await flowing
            head += 34
            await _until(tablets, head)
    finally:
        for runner in runners:
            runner.cancel()
        outcomes = await asyncio.gather(*runners, return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, asyncio.CancelledError)]
        if failures:
            raise failures[0]  # a tablet saw a gap, a duplicate or a broken chain

    reference = tablets[0].seen
    assert [seq for seq, _ in reference] == list(range(2, head + 1))
    for tablet in tablets:
        assert tablet.seen == reference, f"{tablet.name} saw a different sequence"
    moved = [t for t in tablets if t.home == 2]
    assert all(t.reconnects >= 1 for t in moved), "the killed node's clients never had to move"


async def test_a_vote_closes_on_time_when_the_node_that_opened_it_is_killed(cluster: Cluster) -> None:
    nodes, tokens = cluster
    opener, survivor = nodes[0], nodes[1]
    async with httpx.AsyncClient(timeout=10) as client:
        await _command(client, opener, tokens["chair"], {"id": "open", "type": "session.open"})
        await _command(client, opener, tokens["secretary"], {"id": "reg", "type": "registration.open"})
        for i in range(1, 21):
            await _command(client, opener, tokens[f"deputy{i:02d}"], {"id": f"p{i}", "type": "presence.register"})
        await _command(client, opener, tokens["chair"], {"id": "i1", "type": "item.start", "item": "i1"})
        vote = {"id": "v", "type": "vote.open", "item": "i1", "subject": "в цілому", "rule": "majority_of_composition"}
        await _command(client, opener, tokens["chair"], {**vote, "seconds": 5})
        opener.proc.send_signal(signal.SIGKILL)  # its timer dies with it
        await opener.proc.wait()
        state = (await client.get(f"{survivor.http}/api/v1/sessions/{SESSION}")).json()["state"]
        closes_at = datetime.fromisoformat(state["votes"][0]["closes_at"])
        async with asyncio.timeout(15):
            while state["votes"][0]["status"] == "open":
                await asyncio.sleep(0.1)
                state = (await client.get(f"{survivor.http}/api/v1/sessions/{SESSION}")).json()["state"]
        events = (await client.get(f"{survivor.http}/api/v1/sessions/{SESSION}/events")).json()["events"]
        closed = [e for e in events if e["type"] == "vote.closed"]
        assert len(closed) == 1 and closed[0]["actor"] == "system"  # once, whichever survivor got there first
        late = datetime.fromisoformat(closed[0]["at"]) - closes_at
        assert timedelta(0) < late < timedelta(seconds=2), late
        # and the sitting goes on: the next vote opens
        await _command(client, survivor, tokens["chair"], {**vote, "id": "v2", "seconds": 60})


async def test_on_sigterm_a_node_lets_its_subscribers_go_at_once_and_exits(cluster: Cluster) -> None:
    nodes, tokens = cluster
    node = nodes[2]
    loop = asyncio.get_running_loop()
    async with websockets.connect(node.ws) as ws, httpx.AsyncClient(timeout=10) as client:
        await ws.send(json.dumps({"type": "auth", "token": tokens["deputy01"]}))
        await ws.send(json.dumps({"type": "sync", "since": 0}))
        assert json.loads(await ws.recv())["type"] == "snapshot"
        async with client.stream("GET", f"{node.http}/api/v1/sessions/{SESSION}/stream") as feed:
            lines = feed.aiter_lines()
            assert await anext(lines) == "retry: 2000"
            stopped = loop.time()
            node.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # "restarting: reconnect"
            tablet_released = loop.time() - stopped
            rest = [line async for line in lines]  # the response ends instead of hanging
            assert "event: resync" not in rest
            feed_released = loop.time() - stopped
        code = await asyncio.wait_for(node.proc.wait(), 10)
        exited = loop.time() - stopped
    assert code == 0
    # uvicorn alone kept both for its whole graceful timeout (10 s); a client now reconnects at once
    assert tablet_released < 2 and feed_released < 2 and exited < 5, (tablet_released, feed_released, exited)


async def test_disabling_an_account_on_one_node_ends_its_tokens_on_every_node_within_2_s(cluster: Cluster) -> None:
    nodes, tokens = cluster
    loop = asyncio.get_running_loop()
    deputy = {"Authorization": f"Bearer {tokens['deputy05']}"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    async with httpx.AsyncClient(timeout=10) as client:
        for node in nodes:
            assert (await client.get(f"{node.http}/api/v1/me", headers=deputy)).status_code == 200
        disabled = await client.post(f"{nodes[0].http}/api/v1/users/deputy05", json={"disabled": True}, headers=admin)
        assert disabled.status_code == 200, disabled.text
        at = loop.time()
        took = {}
        for node in nodes[1:]:
            for _ in range(100):
                answer = await client.get(f"{node.http}/api/v1/me", headers=deputy)
                if answer.status_code == 401:
                    assert answer.json()["error"] == "token_revoked"
                    took[node.port] = loop.time() - at
                    break
                await asyncio.sleep(0.05)
        assert len(took) == 2 and max(took.values()) < 2, took
