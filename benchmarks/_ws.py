"""The WebSocket plumbing of the load clients: ``websockets``' sans-I/O protocol driven from an
``asyncio.Protocol``, so a message is stamped the moment its bytes arrive and thousands of sockets
cost little. What a client does with its messages stays with the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import OPEN
from websockets.uri import parse_uri

MAX_MESSAGE = 64 * 1024


def client(uri: str, extensions: Any = None) -> ClientProtocol:
    """A client protocol for ``uri`` that accepts messages up to the server's limit."""
    return ClientProtocol(parse_uri(uri), extensions=extensions, max_size=MAX_MESSAGE)


def start(ws: ClientProtocol, transport: asyncio.Transport) -> None:
    """Send the opening handshake on a fresh connection."""
    ws.send_request(ws.connect())
    flush(ws, transport)


def received(ws: ClientProtocol, data: bytes) -> Iterator[tuple[str, bytes]]:
    """What ``data`` brought: ``("open", b"")``, ``("text", message)``, or ``("failed", reason)``."""
    ws.receive_data(data)
    for event in ws.events_received():
        if isinstance(event, Frame):
            if event.opcode is Opcode.TEXT:
                yield "text", bytes(event.data)
            elif event.opcode is Opcode.CLOSE:
                yield "failed", f"closed by the server with {ws.close_code}".encode()
        elif isinstance(event, Response):
            if ws.state is OPEN:
                yield "open", b""
            else:
                yield "failed", f"handshake refused: {ws.handshake_exc}".encode()
                return


def flush(ws: ClientProtocol, transport: asyncio.Transport | None) -> None:
    """Write what the protocol has to send; close the transport when it asks to."""
    if transport is None:
        return
    for chunk in ws.data_to_send():
        if chunk:
            transport.write(chunk)
        else:
            transport.close()


def say_goodbye(ws: ClientProtocol, transport: asyncio.Transport | None) -> None:
    """A clean close (1000) if the socket is open."""
    if ws.state is OPEN:
        ws.send_close(1000)
        flush(ws, transport)


def whole_text_frames(data: bytes) -> list[bytes] | None:
    """The payloads if ``data`` is exactly whole, final, unmasked, uncompressed text frames under 64 KiB.

    A server's event frames are just that (one read may hold several: Kvorum writes a batch of
    events at once), and the same few bytes for every subscriber: reading their two- or four-byte
    headers here costs a fraction of feeding ``websockets``' parser, which still gets everything
    else (handshake, control frames, a frame split across reads). It keeps a load client from being
    what a benchmark measures; every server's subscribers use it alike.
    """
    payloads = []
    at, end = 0, len(data)
    while at < end:
        if end - at < 2 or data[at] != 0x81:
            return None
        size = data[at + 1]
        if size < 126:
            start = at + 2
        elif size == 126 and end - at >= 4:
            size, start = int.from_bytes(data[at + 2 : at + 4], "big"), at + 4
        else:
            return None
        if start + size > end:
            return None
        payloads.append(data[start : start + size])
        at = start + size
    return payloads
