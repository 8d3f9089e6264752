"""Real-time limits: connections per address, and a subscriber that falls behind."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
import websockets
from conftest import Demo
from test_realtime import connect, events_until, recv, ws_url
from websockets.exceptions import ConnectionClosed

from session_server.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ws_per_address=3, subscriber_queue=16)


async def test_connections_per_address_are_capped(demo_council: Demo) -> None:
    demo = demo_council
    kept = [await connect(demo, "deputy01", 0) for _ in range(3)]
    try:
        for ws in kept:
            assert (await recv(ws))["type"] == "snapshot"
        async with websockets.connect(ws_url(demo.server)) as extra:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(extra.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        for ws in kept:
            await ws.close()
    for _ in range(50):  # the places are given back
        if not demo.server.app.state.admission.open:
            break
        await asyncio.sleep(0.05)
    async with await connect(demo, "deputy01", 0) as ws:
        assert (await recv(ws))["type"] == "snapshot"


async def test_a_subscriber_that_falls_behind_is_told_to_resync_and_loses_nothing(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    ws = await connect(demo, "deputy01", 3)
    await asyncio.sleep(0.2)  # subscribed; now 30 events in one batch overflow its queue of 16 at once
    await asyncio.gather(*(demo.ok(f"deputy{i:02d}", "presence.register") for i in range(1, 31)))
    seen: list[int] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = await recv(ws)
            if message["type"] == "event":
                seen.append(message["event"]["seq"])
            else:
                assert message == {"type": "resync"}
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    last = seen[-1] if seen else 3
    async with await connect(demo, "deputy01", last) as again:
        rest = await events_until(again, 33)
    assert seen + [e["seq"] for e in rest] == list(range(4, 34))


async def test_a_client_that_never_syncs_is_not_buffered_forever(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    ws = await websockets.connect(ws_url(demo.server))
    await ws.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
    await asyncio.sleep(0.2)  # authenticated and subscribed; it never says where it is
    for i in range(1, 31):  # one at a time: each fits the queue, only their sum does not
        await demo.ok(f"deputy{i:02d}", "presence.register")
    assert await recv(ws) == {"type": "resync"}
    with pytest.raises(ConnectionClosed) as closed:
        await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
