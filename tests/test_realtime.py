"""WebSocket and SSE as clients meet them: auth, resume, order, acks, limits, the public feed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from conftest import Demo, eventually, outlive
from realtime_support import SESSION, _sse_lines, connect, events_until, recv, ws_url
from websockets.exceptions import ConnectionClosed, InvalidStatus

from session_server.http import sockets
from voting.canonical import event_hash


def assert_chain(first_prev: str, events: list[dict[str, Any]]) -> None:
    prev = bytes.fromhex(first_prev)
    for event in events:
        assert event["hash"] == event_hash(prev, event), f"seq {event['seq']} does not chain"
        prev = bytes.fromhex(event["hash"])


async def test_a_fresh_client_gets_a_snapshot_then_every_event_in_order(demo_council: Demo) -> None:
    demo = demo_council
    async with await connect(demo, "deputy01", 0) as ws:
        snapshot = await recv(ws)
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
        assert snapshot["state"]["status"] == "scheduled" and len(snapshot["state"]["agenda"]) == 5
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await asyncio.gather(*(demo.ok(f"deputy{i:02d}", "presence.register") for i in range(1, 21)))
        head = await demo.head()
        events = await events_until(ws, head)
    assert [e["seq"] for e in events] == list(range(2, head + 1))
    assert_chain(snapshot["hash"], events)


async def test_a_client_resumes_after_its_last_seq_without_gap_or_duplicate(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    async with await connect(demo, "deputy02", 2) as ws:
        await demo.ok("deputy02", "presence.register")
        await demo.ok("deputy03", "presence.register")
        first = await events_until(ws, 5)
    assert [e["seq"] for e in first] == [3, 4, 5]
    await demo.ok("deputy04", "presence.register")  # happens while the tablet is offline
    async with await connect(demo, "deputy02", 4) as ws:
        await demo.ok("deputy05", "presence.register")
        second = await events_until(ws, 7)
    assert [e["seq"] for e in second] == [5, 6, 7]
    assert second[0]["hash"] == first[-1]["hash"]


async def test_commands_over_the_socket_are_acknowledged_after_commit_and_never_act_twice(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    async with await connect(demo, "secretary", 2) as ws:
        command = {"id": "open-reg", "type": "registration.open"}
        await ws.send(json.dumps({"type": "command", "command": command}))
        messages = [await recv(ws), await recv(ws)]
        ack = next(m for m in messages if m["type"] == "ack")
        assert ack == {"type": "ack", "id": "open-reg", "seq": 3}
        assert (await demo.state())["state"]["registration_open"] is True
        await ws.send(json.dumps({"type": "command", "command": command}))  # resent after a "lost" ack
        assert await recv(ws) == {"type": "ack", "id": "open-reg", "seq": 3}
        await ws.send(json.dumps({"type": "command", "command": {"id": "x", "type": "vote.open"}}))
        refused = await recv(ws)
        assert refused["type"] == "error" and refused["id"] == "x" and refused["error"] == "invalid_request"
        await ws.send(json.dumps({"type": "command", "command": {"id": "y", "type": "registration.open"}}))
        assert (await recv(ws))["error"] == "registration_open"
    assert await demo.head() == 3


async def test_authentication_comes_first_and_on_time(demo_council: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = demo_council
    monkeypatch.setattr(sockets, "AUTH_SECONDS", 0.5)
    async with websockets.connect(ws_url(demo.server)) as ws:  # says nothing
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with websockets.connect(ws_url(demo.server)) as ws:
        await ws.send(json.dumps({"type": "sync", "since": 0}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with websockets.connect(ws_url(demo.server)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "forged"}))
        assert (await recv(ws))["error"] == "invalid_token"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_unknown_session_and_oversized_messages_close_the_socket(demo_council: Demo) -> None:
    demo = demo_council
    async with websockets.connect(ws_url(demo.server, "nope")) as ws:
        await ws.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
        assert (await recv(ws))["error"] == "session_not_found"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    async with await connect(demo, "deputy01", 0) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "command", "command": {"id": "big", "x": "y" * 70_000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await demo.head() == 1


async def test_the_handshake_checks_the_origin(demo_council: Demo) -> None:
    demo = demo_council
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url(demo.server), origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    same = demo.server.url  # a page served by this very server
    async with websockets.connect(ws_url(demo.server), origin=same) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
        await ws.send(json.dumps({"type": "sync", "since": 0}))
        assert (await recv(ws))["type"] == "snapshot"


def test_allowed_origins_are_exact() -> None:
    allowed = ("https://rada.example.ua",)
    assert sockets.origin_allowed("https://rada.example.ua/", "node1:8000", allowed)
    assert not sockets.origin_allowed("https://rada.example.ua.evil.com", "node1:8000", allowed)
    assert not sockets.origin_allowed("http://node1:8000", "node1:8000", allowed)  # a list, when set, is the law
    assert sockets.origin_allowed("http://node1:8000", "node1:8000", ())
    assert sockets.origin_allowed(None, "node1:8000", allowed)  # not a browser


async def test_the_public_feed_resumes_from_last_event_id(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    async with httpx.AsyncClient(base_url=demo.server.url, timeout=10) as client:
        reader = asyncio.create_task(_sse_lines(client, {"Last-Event-ID": "1"}, 4))
        await asyncio.sleep(0.2)
        await demo.ok("deputy07", "presence.register")
        await demo.ok("deputy08", "presence.register")
        frames = await asyncio.wait_for(reader, 10)
    assert [int(f["id"]) for f in frames] == [2, 3, 4, 5]
    assert [f["event"] for f in frames] == ["session.opened", "registration.opened", "presence.registered"] * 1 + [
        "presence.registered"
    ]
    data = json.loads(frames[2]["data"])
    assert data["payload"] == {"deputy": "d07"} and data["seq"] == 4
    assert "actor" not in data  # residents see what happened, not whose account did it


async def test_the_public_feed_sends_keep_alives_and_refuses_bad_input(
    demo_council: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = demo_council
    monkeypatch.setattr(sockets, "SSE_KEEPALIVE_SECONDS", 0.2)
    async with httpx.AsyncClient(base_url=demo.server.url, timeout=10) as client:
        async with client.stream("GET", f"/api/v1/sessions/{SESSION}/stream?since=1") as response:
            lines = []
            async for line in response.aiter_lines():
                lines.append(line)
                if line == ": keep-alive":
                    break
        assert ": keep-alive" in lines
        missing = await client.get("/api/v1/sessions/nope/stream")
        assert missing.status_code == 404 and missing.json()["error"] == "session_not_found"
        bad = await client.get(f"/api/v1/sessions/{SESSION}/stream", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_parameter"


async def test_a_screen_may_ask_for_heartbeats_it_can_see_to_know_its_link_is_alive(demo_council: Demo) -> None:
    demo = demo_council
    async with httpx.AsyncClient(base_url=demo.server.url, timeout=10) as client:
        for wrong in ("1", "61", "x"):
            refused = await client.get(f"/api/v1/sessions/{SESSION}/stream?heartbeat={wrong}")
            assert refused.status_code == 400 and refused.json()["error"] == "invalid_parameter"
        started = asyncio.get_running_loop().time()
        async with client.stream("GET", f"/api/v1/sessions/{SESSION}/stream?since=1&heartbeat=2") as response:
            lines = []
            async for line in response.aiter_lines():
                lines.append(line)
                if line == "event: heartbeat":
                    break
        assert 1.5 < asyncio.get_running_loop().time() - started < 6  # after two silent seconds, not at once
        assert ": keep-alive" not in lines


async def test_no_subscriptions_are_left_behind(demo_council: Demo) -> None:
    demo = demo_council
    hub = demo.server.kvorum.hub
    async with await connect(demo, "deputy01", 0) as ws:
        await recv(ws)
        assert hub.subscribers == 1
    for _ in range(50):
        if hub.subscribers == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.subscribers == 0


@pytest.mark.parametrize("signed_in", [False, True])
async def test_a_binary_frame_closes_the_socket_with_1003(demo_council: Demo, signed_in: bool) -> None:
    demo = demo_council
    async with websockets.connect(ws_url(demo.server)) as ws:
        if signed_in:
            await ws.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
            await ws.send(json.dumps({"type": "sync", "since": 99999999999999999999}))  # no column holds it
            assert (await recv(ws))["error"] == "invalid_request"
            await ws.send(json.dumps({"type": "sync", "since": 0}))
            assert (await recv(ws))["type"] == "snapshot"
        await ws.send(b"\x00\x01 not text")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_an_expired_token_stops_commands_until_a_fresh_one_arrives(demo_council: Demo) -> None:
    demo = demo_council
    short = await demo.short_token("chair")
    async with websockets.connect(ws_url(demo.server)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": short}))
        await ws.send(json.dumps({"type": "sync", "since": 0}))
        assert (await recv(ws))["type"] == "snapshot"
        await outlive(short)
        await ws.send(json.dumps({"type": "command", "command": {"id": "o1", "type": "session.open"}}))
        assert (await recv(ws))["error"] == "token_expired"
        await ws.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
        assert (await recv(ws))["error"] == "forbidden"  # not the user who opened the socket
        await ws.send(json.dumps({"type": "auth", "token": await demo.token("chair")}))
        await ws.send(json.dumps({"type": "command", "command": {"id": "o1", "type": "session.open"}}))
        replies = [await recv(ws), await recv(ws), await recv(ws)]
        assert {"type": "ack", "id": "o1", "seq": 2} in replies
        [authenticated] = [r for r in replies if r["type"] == "authenticated"]
        assert 0 < authenticated["expires_in"] <= demo.server.kvorum.settings.access_token_seconds


async def test_a_ping_is_answered_in_order_so_the_client_knows_its_link_is_alive(demo_council: Demo) -> None:
    demo = demo_council
    async with await connect(demo, "deputy01", 0) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}
        await demo.ok("chair", "session.open")
        await ws.send(json.dumps({"type": "ping"}))
        # the event committed before the ping was read comes first: a pong means "you have everything"
        assert (await recv(ws))["type"] == "event"
        assert await recv(ws) == {"type": "pong"}


async def test_an_in_sync_subscriber_is_written_to_directly_not_through_asgi_send(demo_council: Demo) -> None:
    demo = demo_council
    hub = demo.server.kvorum.hub
    async with await connect(demo, "deputy01", 0) as ws, httpx.AsyncClient(base_url=demo.server.url) as client:
        async with client.stream("GET", f"/api/v1/sessions/{SESSION}/stream?since=1") as feed:
            lines = feed.aiter_lines()
            assert (await recv(ws))["type"] == "snapshot"
            stream = f"session:{SESSION}"
            await eventually(lambda: hub.written_directly_now(stream) == 2, "both subscribers caught up")
            before = hub.written_directly
            await demo.ok("chair", "session.open")
            event = await recv(ws)
            async with asyncio.timeout(5):
                while not (line := await anext(lines)).startswith("data:"):
                    pass
    assert event["type"] == "event" and event["event"]["type"] == "session.opened"
    assert json.loads(line.removeprefix("data:"))["type"] == "session.opened"
    assert hub.written_directly - before == 2  # the socket and the event stream, both by the fast path
