"""``session_server.realtime.direct.write_all`` on real sockets: whatever a socket cannot take yet goes through its
transport, so every byte arrives, in order, whether the socket keeps up or not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from pathlib import Path

import pytest
from deploy_support import write_self_signed
from uvicorn.protocols.http.flow_control import FlowControl

from session_server.realtime import direct
from session_server.realtime.direct import Flag, Inbox, missing_internals, socket_fd, write_all


class Connection:
    """The two things ``write_all`` uses of a subscriber's connection (ready is the caller's business)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.fd = socket_fd(transport)

    def ready(self) -> bool:
        return not self.transport.is_closing()


async def _connected() -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, ours)
    return Connection(transport), theirs


async def _read_all(sock: socket.socket, size: int) -> bytes:
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    got = bytearray()
    async with asyncio.timeout(10):
        while len(got) < size:
            got += await loop.sock_recv(sock, 1 << 16)
    return bytes(got)


async def test_every_byte_arrives_in_order_when_the_sockets_fill_up_and_drain() -> None:
    connections = [await _connected() for _ in range(3)]
    received = [bytearray() for _ in connections]
    messages = [bytes([65 + n % 26]) * 3000 + b"%d;" % n for n in range(40)]  # far more than the buffers hold
    for n, message in enumerate(messages):
        write_all([c for c, _ in connections], message)
        if n == 3:  # the peers read what their sockets hold while the transports hold the rest (the loop has not run)
            assert all(c.transport.get_write_buffer_size() > 0 for c, _ in connections)
            for (_, theirs), got in zip(connections, received, strict=True):
                got += theirs.recv(1 << 16)
    expected = b"".join(messages)
    for (connection, theirs), got in zip(connections, received, strict=True):
        got += await _read_all(theirs, len(expected) - len(got))
        assert bytes(got) == expected
        connection.transport.close()
        theirs.close()


async def test_a_socket_that_is_gone_is_left_to_its_transport_which_closes() -> None:
    connection, theirs = await _connected()
    theirs.close()
    for _ in range(3):
        write_all([connection], b"x" * 100)
        await asyncio.sleep(0.01)
    assert connection.transport.is_closing()


async def _server_transport(tmp_path: Path, tls: bool) -> asyncio.BaseTransport:
    """The server's end of a real connection, plain or TLS."""
    server_ssl = client_ssl = None
    if tls:
        write_self_signed(tmp_path)
        server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ssl.load_cert_chain(tmp_path / "fullchain.pem", tmp_path / "privkey.pem")
        client_ssl = ssl.create_default_context(cafile=tmp_path / "fullchain.pem")
    loop = asyncio.get_running_loop()
    made: asyncio.Future[asyncio.BaseTransport] = loop.create_future()

    class Accepting(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            made.set_result(transport)

    server = await loop.create_server(Accepting, "127.0.0.1", 0, ssl=server_ssl)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ssl)
    async with asyncio.timeout(10):
        transport = await made
    writer.close()
    server.close()
    return transport


async def test_a_plain_socket_is_written_directly_and_a_tls_one_never(tmp_path: Path) -> None:
    plain = await _server_transport(tmp_path, tls=False)
    assert socket_fd(plain) == plain.get_extra_info("socket").fileno() >= 0
    assert socket_fd(await _server_transport(tmp_path, tls=True)) == -1


async def test_the_inbox_hands_messages_over_in_order_and_wakes_its_receiver() -> None:
    inbox: Inbox[int] = Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert not inbox.empty()
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    assert inbox.empty()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(waiting, 1) == 3


async def test_a_cancelled_receive_loses_no_message() -> None:
    inbox: Inbox[str] = Inbox()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    waiting.cancel()
    inbox.put_nowait("kept")  # arrives while the cancelled receiver unwinds
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert await asyncio.wait_for(inbox.get(), 1) == "kept"


async def test_the_flag_blocks_writers_while_cleared_and_frees_every_one_when_set() -> None:
    flag = Flag()
    flag.set()
    assert flag.is_set() and await asyncio.wait_for(flag.wait(), 1)
    flag.clear()
    writers = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in writers)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*writers), 1) == [True, True, True]


def test_this_uvicorn_has_every_attribute_the_direct_protocols_replace_or_read() -> None:
    assert missing_internals() == []
    assert direct.protocols()["ws"].endswith(":DirectWebSocketProtocol")


def test_an_attribute_a_uvicorn_release_renamed_is_named_and_the_plain_protocols_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert missing_internals({FlowControl: ("_is_writable_event", "_writable_v2")}) == ["FlowControl._writable_v2"]
    monkeypatch.setattr(direct, "missing_internals", lambda: ["FlowControl._writable_v2"])
    direct.protocols.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="session_server.realtime.direct"):
            assert direct.protocols() == {"ws": "websockets-sansio", "http": "httptools"}
    finally:
        direct.protocols.cache_clear()
    assert "direct socket writes are OFF" in caplog.text and "FlowControl._writable_v2" in caplog.text
