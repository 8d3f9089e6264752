"""A minimal HTTP/1.1 keep-alive client for benchmarks: one connection, one request in flight.

httpx spends far more CPU per request than the server under test, which on a small machine would
measure the client. This one is an ``asyncio.Protocol``: requests are pre-built bytes, the answer
is parsed in ``data_received`` and stamped there, so an acknowledgement's time is when its last
byte reached the process, not when some task got round to reading it. Only what Kvorum answers is
understood: a status line, headers and a ``Content-Length`` body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

__all__ = ["HttpConnection", "HttpError", "Response", "connect", "request_bytes"]


class HttpError(Exception):
    """The server answered something this client does not understand, or the connection broke."""


@dataclass(frozen=True, slots=True)
class Response:
    """One answer: status, body and ``perf_counter()`` when its last byte was read."""

    status: int
    body: bytes
    at: float


def request_bytes(
    method: str, path: str, host: str, *, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one keep-alive request (``Content-Length`` is added when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection. Use ``request`` for one-off calls, or ``send`` with ``on_response``
    (and ``on_error``) to drive it from the event loop's callbacks; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.on_response: Callable[[Response], None] | None = None
        self.on_error: Callable[[BaseException], None] | None = None
        self.sent_at = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._lost: BaseException | None = None

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but quacks alike

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        self._buffer += data
        while True:
            try:
                response = self._parse(at)
            except HttpError as exc:
                self._fail(exc)
                return
            if response is None:
                return
            self._deliver(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or HttpError("the server closed the connection")
        self._fail(self._lost)

    # ---- use -------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether requests can still be sent."""
        return self.transport is not None and not self.transport.is_closing() and self._lost is None

    def send(self, data: bytes) -> float:
        """Write a pre-built request now; return (and remember) the ``perf_counter()`` right after."""
        if self.transport is None or self._lost is not None:
            raise HttpError("the connection is closed")
        self.transport.write(data)
        self.sent_at = time.perf_counter()
        return self.sent_at

    def expect(self) -> asyncio.Future[Response]:
        """A future for the next response (call before ``send`` when not using ``on_response``)."""
        waiter: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        if self._lost is not None:
            waiter.set_exception(self._lost)
        self._waiter = waiter
        return waiter

    async def request(self, data: bytes) -> Response:
        """Send one request and wait for its response (callers bound the wait)."""
        waiter = self.expect()
        self.send(data)
        return await waiter

    def close(self) -> None:
        """Close the connection (pending waiters fail)."""
        if self.transport is not None:
            self.transport.close()

    # ---- internals -------------------------------------------------------------------------

    def _parse(self, at: float) -> Response | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self._buffer[:end]).split(b"\r\n")
        parts = head[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP/1.x status line: {head[0][:80]!r}")
        length: int | None = None
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise HttpError("chunked responses are not supported by this client")
        if length is None:
            raise HttpError("a response without Content-Length")
        total = end + 4 + length
        if len(self._buffer) < total:
            return None
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        return Response(int(parts[1]), body, at)

    def _deliver(self, response: Response) -> None:
        if self.on_response is not None:
            self.on_response(response)
            return
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        elif self.on_error is not None:
            self.on_error(exc)
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int) -> HttpConnection:
    """Open one connection (asyncio turns Nagle off on TCP, so a request leaves at once)."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(HttpConnection, host, port)
    return protocol
