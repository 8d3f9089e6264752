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
