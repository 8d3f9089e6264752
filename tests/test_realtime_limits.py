"""Real-time limits: connections per address, and subscribers (tablets and residents) that fall behind."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from conftest import Demo
from realtime_support import SESSION, _sse_lines, connect, events_until, recv, ws_url
from websockets.exceptions import ConnectionClosed

from session_server.config import Settings

ROUNDS = 6  # of 20 agenda edits: 120 events of ~2 KiB, three times what the congested link holds


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
        if not demo.server.state.admission.open:
            break
        await asyncio.sleep(0.05)
    async with await connect(demo, "deputy01", 0) as ws:
        assert (await recv(ws))["type"] == "snapshot"


def stalled_socket(demo: Demo) -> socket.socket:
    """A connection to the server over a congested link: both ends' socket buffers as small as can be.

    Loopback buffers grow to megabytes; shrinking them (the server's end through the running server's
    connection) makes a tablet that stopped reading back the server up after a few events.
    """
    address = urlsplit(demo.server.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((address.hostname, address.port))
    sock.setblocking(False)
    return sock


def congest_server_end(demo: Demo, sock: socket.socket) -> None:
    """Shrink the send buffer of the server's end of ``sock``'s connection."""
    for connection in demo.server.uvicorn.server_state.connections:
        if connection.client == sock.getsockname():
            server_end = connection.transport.get_extra_info("socket")
            server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            return
    raise AssertionError("the server does not hold this connection")


async def edit_the_agenda(demo: Demo) -> int:
    """Many big events (agenda edits of ~2 KiB) before the session opens; the new head ``seq``."""
    titles = ["Про бюджет громади " + "і" * 900, "Про бюджет громади " + "ї" * 900]
    for round_ in range(ROUNDS):
        await asyncio.gather(
            *(demo.ok("secretary", "item.update", item="i1", title=titles[(round_ + n) % 2]) for n in range(20))
        )
    seq: int = (await demo.state())["seq"]
    return seq


async def test_a_subscriber_that_falls_behind_is_told_to_resync_and_loses_nothing(demo_council: Demo) -> None:
    demo = demo_council
    head = (await demo.state())["seq"]
    # The tablet reads nothing while the agenda is edited: its socket's buffers fill, the server
    # stops writing to it and queues, and the queue (16 here) overflows.
    sock = stalled_socket(demo)
    ws = await connect(demo, "deputy01", head, sock=sock, max_queue=1)
    congest_server_end(demo, sock)
    await asyncio.sleep(0.2)  # subscribed and in sync
    seq = await edit_the_agenda(demo)
    seen: list[int] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = await recv(ws)
            if message["type"] == "event":
                seen.append(message["event"]["seq"])
            else:
                assert message == {"type": "resync"}
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    assert seen == list(range(head + 1, head + 1 + len(seen)))  # what it got before the resync is in order
    last = seen[-1] if seen else head
    async with await connect(demo, "deputy01", last) as again:
        rest = await events_until(again, seq)
    assert seen + [e["seq"] for e in rest] == list(range(head + 1, seq + 1))


async def test_a_resident_whose_feed_falls_behind_is_told_to_resync_and_loses_nothing(demo_council: Demo) -> None:
    demo = demo_council
    head = (await demo.state())["seq"]
    sock = stalled_socket(demo)
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)  # stops reading past 2 KiB
    writer.write(f"GET /api/v1/sessions/{SESSION}/stream?since={head} HTTP/1.1\r\nHost: kvorum\r\n\r\n".encode())
    got = await asyncio.wait_for(reader.readuntil(b"retry: 2000\n\n"), 5)  # subscribed
    congest_server_end(demo, sock)
    seq = await edit_the_agenda(demo)
    while b"event: resync" not in got or not got.endswith(b"0\r\n\r\n"):  # the resync, then the response ends
        data = await asyncio.wait_for(reader.read(65536), 5)
        assert data, "the server closed the feed without a resync"
        got += data
    writer.close()
    seen = [int(n) for n in re.findall(rb"^id: (\d+)$", got, re.MULTILINE)]
    assert seen == list(range(head + 1, head + 1 + len(seen)))  # in order, none twice
    assert len(seen) < seq - head  # it did fall behind
    last = seen[-1] if seen else head
    async with httpx.AsyncClient(base_url=demo.server.url, timeout=10) as client:
        rest = await asyncio.wait_for(_sse_lines(client, {"Last-Event-ID": str(last)}, seq - last), 10)
    assert seen + [int(f["id"]) for f in rest] == list(range(head + 1, seq + 1))


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


def _held(demo: Demo, sock: socket.socket) -> bool:
    """Whether the server still holds the connection of ``sock``."""
    return any(c.client == sock.getsockname() for c in demo.server.uvicorn.server_state.connections)


async def _until_released(demo: Demo, sock: socket.socket) -> float:
    """Seconds until the server lets go of ``sock``'s connection (it must, well within 10 s)."""
    started = asyncio.get_running_loop().time()
    for _ in range(200):
        if not _held(demo, sock):
            return asyncio.get_running_loop().time() - started
        await asyncio.sleep(0.05)
    raise AssertionError("the server still holds the connection of a client it dropped")


async def _until_unsubscribed(demo: Demo) -> None:
    """The hub lets go of the subscriber too, once its connection's task has seen the cut."""
    for _ in range(100):
        if demo.server.kvorum.hub.subscribers == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the hub still holds the subscriber of a connection that was cut")


async def test_a_tablet_that_never_reads_again_is_cut_off_after_it_is_dropped(demo_council: Demo) -> None:
    demo = demo_council
    head = (await demo.state())["seq"]
    sock = stalled_socket(demo)
    ws = await connect(demo, "deputy01", head, sock=sock, max_queue=1)  # it takes one message, then nothing
    congest_server_end(demo, sock)
    await asyncio.sleep(0.2)  # subscribed and in sync
    await edit_the_agenda(demo)  # the queue overflows: the server drops it, and the resync cannot get out
    await _until_released(demo, sock)
    await _until_unsubscribed(demo)
    ws.transport.abort()


async def test_a_feed_reader_that_stopped_reading_is_cut_off_after_it_is_dropped(demo_council: Demo) -> None:
    demo = demo_council
    head = (await demo.state())["seq"]
    sock = stalled_socket(demo)
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    writer.write(f"GET /api/v1/sessions/{SESSION}/stream?since={head} HTTP/1.1\r\nHost: kvorum\r\n\r\n".encode())
    await asyncio.wait_for(reader.readuntil(b"retry: 2000\n\n"), 5)  # subscribed; it reads nothing more
    congest_server_end(demo, sock)
    await edit_the_agenda(demo)
    await _until_released(demo, sock)
    await _until_unsubscribed(demo)
    writer.transport.abort()


async def test_event_streams_per_address_are_capped_too(demo_council: Demo) -> None:
    demo = demo_council
    url = f"{demo.server.url}/api/v1/sessions/{SESSION}/stream"
    async with httpx.AsyncClient(timeout=10) as client:
        streams = [client.stream("GET", url) for _ in range(3)]
        opened = [await s.__aenter__() for s in streams]
        try:
            assert all(r.status_code == 200 for r in opened)
            extra = await client.get(url)
            assert extra.status_code == 429 and extra.json()["error"] == "too_many_connections"
            assert extra.headers["retry-after"] == "10"
        finally:
            for s in streams:
                await s.__aexit__(None, None, None)
        for _ in range(100):  # the places come free as the streams end
            if not demo.server.state.feed_admission.open:
                break
            await asyncio.sleep(0.05)
        async with client.stream("GET", url) as again:
            assert again.status_code == 200


async def test_a_forwarded_address_is_not_taken_from_a_peer_that_is_no_trusted_proxy(demo_council: Demo) -> None:
    demo = demo_council
    kept = [await connect(demo, "deputy01", 0) for _ in range(3)]
    try:
        for ws in kept:
            assert (await recv(ws))["type"] == "snapshot"
        # a client claiming to be someone else is still counted as itself
        async with websockets.connect(ws_url(demo.server), additional_headers={"X-Forwarded-For": "203.0.113.7"}) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        for ws in kept:
            await ws.close()


async def test_a_request_head_over_16_kib_is_refused_with_431(demo_council: Demo) -> None:
    address = urlsplit(demo_council.server.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: kvorum\r\nX-Padding: " + b"a" * 20_000 + b"\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)  # and the connection is closed
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert b'"error":"headers_too_large"' in answer
    async with httpx.AsyncClient(base_url=demo_council.server.url) as client:
        fine = await client.get("/healthz", headers={"X-Padding": "a" * 8_000})
        assert fine.status_code == 200
