"""uvicorn's protocols plus one thing ASGI lacks: writing ready bytes to a subscriber's socket at once.

ASGI gives an application only an awaitable ``send``. Fanning an event out that way costs, for
every subscriber, a task wake-up, a Future and a trip through the server's framing: at thousands
of subscribers that was most of the node's CPU and all of its latency (``benchmarks.fanout``).
Yet what goes on the wire for an event is the same bytes for every subscriber (a server's
WebSocket frames are not masked; an SSE event is one HTTP chunk), so the hub builds them once and,
for a subscriber in sync whose socket keeps up, hands them to the transport directly, as the
``websockets`` library's ``broadcast()`` does.

Both protocols put a :data:`Writer` under an ASGI scope extension: :data:`FRAME_WRITER` on a
WebSocket (takes a whole frame, see :func:`text_frame`), :data:`CHUNK_WRITER` on an HTTP response
with chunked encoding (takes a whole chunk, see :func:`chunk`). It returns True when the bytes were
written, or False when they cannot be now: the response or socket is not open, is closing, or its
peer reads too slowly and the write buffer is full. Then the caller queues the message for the
ordinary ``send``, which waits. Writes are whole frames or chunks, so they never interleave with
what ``send`` writes. Everything else is uvicorn's own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

FRAME_WRITER = "kvorum.frame_writer"
"""The WebSocket scope extension: a :data:`Writer` of whole text frames."""

CHUNK_WRITER = "kvorum.chunk_writer"
"""The HTTP scope extension: a :data:`Writer` of whole chunks of a chunked response body."""

Writer = Callable[[bytes], bool]


def text_frame(text: str) -> bytes:
    """A whole, unfragmented, unmasked, uncompressed WebSocket text frame carrying ``text``."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def chunk(body: bytes) -> bytes:
    """``body`` as one chunk of an HTTP/1.1 chunked response (RFC 9112, section 7.1)."""
    return b"%x\r\n%s\r\n" % (len(body), body)


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O ``websockets`` protocol, offering :data:`FRAME_WRITER` to the app.

    A ready frame cannot be compressed per connection, so with ``ws_per_message_deflate`` on the
    extension is not offered.
    """

    paused = False
    """Whether the transport asked us to stop writing (its buffer is full); a plain attribute, read per event."""

    def pause_writing(self) -> None:
        self.paused = True
        super().pause_writing()

    def resume_writing(self) -> None:
        self.paused = False
        super().resume_writing()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and self.request is not None:
            # The handshake's request and response are no longer needed; an idle connection
            # would otherwise hold both, headers and all (~3 KiB), for the whole session.
            self.request = self.response = None  # type: ignore[assignment]

    async def run_asgi(self) -> None:
        if not self.config.ws_per_message_deflate:
            _extensions(self.scope)[FRAME_WRITER] = self.write_frame
        await super().run_asgi()

    def write_frame(self, frame: bytes) -> bool:
        """Write ``frame`` now if the connection is open and its write buffer is not full."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.paused
            or self.initial_response is not None
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True


class DirectHttpProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol, offering :data:`CHUNK_WRITER` to the app for each request."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not for a WebSocket upgrade
            _extensions(self.scope)[CHUNK_WRITER] = partial(_write_chunk, cycle)


def _extensions(scope: Any) -> dict[str, object]:
    """The scope's ``extensions`` (ASGI types them as a dict of dicts; ours hold callables)."""
    extensions: dict[str, object] = scope.setdefault("extensions", {})
    return extensions


def _write_chunk(cycle: RequestResponseCycle, data: bytes) -> bool:
    """Write ``data`` (a whole chunk) now if the response is streaming chunked and the socket keeps up."""
    if (
        not cycle.response_started
        or cycle.response_complete
        or cycle.disconnected
        or not cycle.chunked_encoding
        or cycle.flow.write_paused
        or cycle.transport.is_closing()
    ):
        return False
    cycle.transport.write(data)
    return True
