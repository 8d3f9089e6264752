"""uvicorn's protocols plus one thing ASGI lacks: writing ready bytes to a subscriber's socket at once.

ASGI gives an application only an awaitable ``send``. Fanning an event out that way costs, for
every subscriber, a task wake-up, a Future and a trip through the server's framing: at thousands
of subscribers that was most of the node's CPU and all of its latency (``benchmarks.fanout``).
Yet what goes on the wire for an event is the same bytes for every subscriber (a server's
WebSocket frames are not masked; an SSE event is one HTTP chunk), so the hub builds them once and,
for a subscriber in sync whose socket keeps up, hands them to the transport directly, as the
``websockets`` library's ``broadcast()`` does.

Both protocols put a :class:`Direct` under an ASGI scope extension: :data:`FRAME_WRITER` on a
WebSocket (takes whole frames, see :func:`text_frame`), :data:`CHUNK_WRITER` on an HTTP response
with chunked encoding (takes whole chunks, see :func:`chunk`). Its ``ready()`` tells whether bytes
may be written now: not when the response or socket is not open, is closing, or its peer reads too
slowly and the write buffer is full. Then the caller queues the message for the ordinary ``send``,
which waits. Writes are whole frames or chunks, so they never interleave with what ``send`` writes.
Everything else is uvicorn's own.

The protocols replace and read private attributes of uvicorn, so ``pyproject.toml`` pins uvicorn to the
releases they are tested with, and :func:`missing_internals` checks at start-up that every name they rely
on is still there; where one is not, ``kvorum serve`` runs uvicorn's plain protocols and says so loudly
(events then go through ASGI ``send``: correct, slower with thousands of subscribers).

The hub first asks every subscriber's connection whether it is ready, then writes the same bytes
to all that are, with :func:`write_all`: straight to the socket (``os.write``) when the transport
has nothing buffered and carries no TLS, through the transport otherwise. Nothing else runs in
between, so what ``ready()`` said still holds. Kept apart, the loop that writes touches little
besides the sockets: at 5,000 subscribers an event left in ~53 ms instead of 57–61 ms.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from types import CodeType
from typing import Any, Generic, Protocol, TypeVar

import uvicorn
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

T = TypeVar("T")

log = logging.getLogger(__name__)

FRAME_WRITER = "kvorum.frame_writer"
"""The WebSocket scope extension: a :class:`Direct` that takes whole text frames."""

CHUNK_WRITER = "kvorum.chunk_writer"
"""The HTTP scope extension: a :class:`Direct` that takes whole chunks of a chunked response body."""


class Direct(Protocol):
    """A connection that ready bytes may be written to at once, bypassing ASGI's ``send``."""

    fd: int
    """The socket's file descriptor if bytes may go to it with ``os.write`` (no TLS), else -1."""

    transport: asyncio.Transport

    def ready(self) -> bool:
        """Whether a whole frame or chunk may be written now."""
        ...


def write_all(targets: Iterable[Direct], data: bytes) -> None:
    """Write ``data`` to every target, each found :meth:`Direct.ready` with nothing run since.

    A socket takes what it can; the rest, like everything for a transport that still holds bytes
    (order) or carries TLS, goes through the transport, which buffers it and pauses its protocol
    when full. A socket that fails is left to its transport, which meets the same error and closes.
    """
    size = len(data)
    for target in targets:
        fd, transport = target.fd, target.transport
        if fd < 0 or transport.get_write_buffer_size():
            transport.write(data)
            continue
        try:
            written = os.write(fd, data)
        except OSError:  # full (EAGAIN), interrupted, or the peer is gone
            written = 0
        if written != size:
            transport.write(data[written:])


DROP_SECONDS = 5.0
"""How long a subscriber the server dropped may keep its connection: the resync and the close (or the
end of the stream) go out if the client still reads; otherwise the connection is cut then."""


def abort_later(direct: Direct | None, *, only_if_stuck: bool = False) -> None:
    """Abort ``direct``'s transport after ``DROP_SECONDS``: a client that does not read would otherwise
    keep it, with everything queued for it, for as long as it keeps the TCP connection open.

    ``only_if_stuck``: only if bytes are still waiting for the client then (an event stream's
    connection that carried the whole end of the response may already carry the client's next request).
    """
    if direct is None:
        return
    transport = direct.transport

    def abort() -> None:
        if not only_if_stuck or transport.get_write_buffer_size() > 0:
            transport.abort()

    asyncio.get_running_loop().call_later(DROP_SECONDS, abort)


def socket_fd(transport: asyncio.BaseTransport) -> int:
    """The file descriptor of ``transport``'s socket when it carries plain TCP, else -1."""
    if transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    return sock.fileno() if sock is not None else -1


def text_frame(text: str) -> bytes:
    """A whole, unfragmented, unmasked, uncompressed WebSocket text frame carrying ``text``."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def chunk(body: bytes) -> bytes:
    """``body`` as one chunk of an HTTP/1.1 chunked response (RFC 9112, section 7.1)."""
    return b"%x\r\n%s\r\n" % (len(body), body)


class Inbox(Generic[T]):
    """The part of ``asyncio.Queue`` uvicorn's WebSocket protocol uses for received messages, for one receiver.

    An ``asyncio.Queue`` holds four deques (~3 KiB) from birth; an idle subscriber's socket receives
    nothing for hours, so this one holds none until a message arrives, and lets it go once empty.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: T) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> T:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("Inbox.get: another task is already waiting")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def empty(self) -> bool:
        return not self._items


class Flag:
    """``asyncio.Event``'s ``set``, ``clear``, ``is_set`` and ``wait``, holding no deque of waiters until one waits."""

    __slots__ = ("_on", "_waiters")

    def __init__(self) -> None:
        self._on = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._on

    def set(self) -> None:
        if self._on:
            return
        self._on = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._on = False

    async def wait(self) -> bool:
        if self._on:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O ``websockets`` protocol, itself the :class:`Direct` under :data:`FRAME_WRITER`.

    A ready frame cannot be compressed per connection, so with ``ws_per_message_deflate`` on the
    extension is not offered.
    """

    paused = False
    """Whether the transport asked us to stop writing (its buffer is full); a plain attribute, read per event."""

    fd = -1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The same use as uvicorn's asyncio.Queue and asyncio.Event, without their empty deques (~4 KiB).
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.fd = socket_fd(transport)

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
            _extensions(self.scope)[FRAME_WRITER] = self
        await super().run_asgi()

    def ready(self) -> bool:
        """Whether the connection is open and its write buffer is not full."""
        return not (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.paused
            or self.initial_response is not None
            or self.transport.is_closing()
        )


MAX_HEAD_BYTES = 16 * 1024
"""The largest request head (request line and headers) a node reads: more is answered 431 and the
connection closed (nginx, in front, refuses heads over 4 × 8 KiB buffers too; a browser's is ~2 KiB)."""

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
)


class DirectHttpProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol, offering each request's :class:`DirectChunks` under :data:`CHUNK_WRITER`,
    and refusing a request head over :data:`MAX_HEAD_BYTES` (httptools reads any size)."""

    head_bytes = 0
    head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The same use as uvicorn's asyncio.Event, without its empty deque (an idle SSE stream keeps it).
        self.flow._is_writable_event = Flag()  # type: ignore[assignment]
        self.flow._is_writable_event.set()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEAD_BYTES:
            self.head_too_large = True
            raise ValueError("request head too large")  # the parser stops; uvicorn answers through send_400_response

    def send_400_response(self, msg: str) -> None:
        if not self.head_too_large:
            super().send_400_response(msg)
            return
        body = b'{"error":"headers_too_large","message":"the request head is over %d bytes"}' % MAX_HEAD_BYTES
        self.transport.write(_HEAD_TOO_LARGE % (len(body), body))
        self.transport.close()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not for a WebSocket upgrade
            cycle.message_event = Flag()  # type: ignore[assignment]  # as above; nothing has waited on it yet
            _extensions(self.scope)[CHUNK_WRITER] = DirectChunks(cycle)


class DirectChunks:
    """The :class:`Direct` of one HTTP response: whole chunks of its chunked body."""

    __slots__ = ("cycle", "fd", "transport")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self.cycle = cycle
        self.transport = cycle.transport
        self.fd = socket_fd(cycle.transport)

    def ready(self) -> bool:
        """Whether the response is streaming chunked and the socket keeps up."""
        cycle = self.cycle
        return not (
            not cycle.response_started
            or cycle.response_complete
            or cycle.disconnected
            or not cycle.chunked_encoding
            or cycle.flow.write_paused
            or self.transport.is_closing()
        )


def _extensions(scope: Any) -> dict[str, object]:
    """The scope's ``extensions`` (ASGI types them as a dict of dicts; ours hold objects)."""
    extensions: dict[str, object] = scope.setdefault("extensions", {})
    return extensions


# ---- what the fast path relies on ------------------------------------------------------------

UVICORN_INTERNALS: dict[type, tuple[str, ...]] = {
    # replaced in __init__ (queue, writable) or read by ``ready`` and ``send``
    WebSocketsSansIOProtocol: (
        "queue",
        "writable",
        "handshake_complete",
        "close_sent",
        "disconnected",
        "initial_response",
        "request",
        "response",
        "transport",
        "config",
        "scope",
        "run_asgi",
        "send",
        "pause_writing",
        "resume_writing",
        "connection_made",
    ),
    # replaced in connection_made (flow's event) and on_headers_complete (cycle's event); overridden parser callbacks
    HttpToolsProtocol: (
        "flow",
        "cycle",
        "scope",
        "transport",
        "on_message_begin",
        "on_url",
        "on_header",
        "on_headers_complete",
        "send_400_response",
        "connection_made",
    ),
    FlowControl: ("_is_writable_event", "write_paused"),
    RequestResponseCycle: (
        "message_event",
        "response_started",
        "response_complete",
        "disconnected",
        "chunked_encoding",
        "flow",
        "transport",
        "scope",
    ),
}
"""The private attributes and methods of uvicorn that the direct protocols replace, override or read.

Assigning a renamed attribute would silently create an unused one; so each name must occur in the
class's own code (or be one of its methods), checked at start-up by :func:`missing_internals`."""


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names(const)


def _known_names(cls: type) -> set[str]:
    """The attribute names the code of ``cls`` (and of its bases in the same library) uses or defines."""
    library = cls.__module__.partition(".")[0]
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.partition(".")[0] != library:
            continue
        for name, value in vars(klass).items():
            names.add(name)
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            if isinstance(code, CodeType):
                names.update(_names(code))
    return names


def missing_internals(required: Mapping[type, Iterable[str]] = UVICORN_INTERNALS) -> list[str]:
    """``Class.name`` for every name in ``required`` that its class's code does not know (empty: all there)."""
    missing: list[str] = []
    for cls, wanted in required.items():
        known = _known_names(cls)
        missing += [f"{cls.__name__}.{name}" for name in wanted if name not in known]
    return missing


@functools.cache
def protocols() -> dict[str, str]:
    """uvicorn's ``ws`` and ``http`` settings: the direct protocols, or uvicorn's plain ones when this
    uvicorn lacks what the direct ones rely on (logged once, as a warning naming what is missing)."""
    missing = missing_internals()
    if missing:
        log.warning(
            "direct socket writes are OFF: uvicorn %s lacks %s; events go through ASGI send, which is correct "
            "but slower with thousands of subscribers (install the uvicorn release pyproject.toml names)",
            uvicorn.__version__,
            ", ".join(missing),
        )
        return {"ws": "websockets-sansio", "http": "httptools"}
    return {"ws": f"{__name__}:DirectWebSocketProtocol", "http": f"{__name__}:DirectHttpProtocol"}
