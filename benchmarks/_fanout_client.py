"""The subscribers of ``benchmarks.fanout``: processes of many WebSocket or SSE subscribers, driven over stdin.

``python -m benchmarks._fanout_client --kind ws|sse --port P --path PATH --since S [--token T]``

The parent (through ``benchmarks._fanout_subscribers.Subscribers``) writes one JSON command per line
and reads one JSON reply per line:

- ``{"op": "connect", "count", "concurrency"}``: open ``count`` more subscribers (at most
  ``concurrency`` handshakes at a time, each retried a few times) and wait until each has received
  the event ``since + 1``, its sign of being in sync; reply how many are, how many failed, and why;
- ``{"op": "mark"}``: start counting CPU (``time.process_time``) for the stream;
- ``{"op": "collect", "last", "timeout"}``: wait (boundedly) until every subscriber has ``last``;
  reply the latency histogram, the events each subscriber received, gaps, closes and CPU;
- ``{"op": "close"}``: close every subscriber and exit.

Subscribers are ``asyncio.Protocol``s, not tasks: a WebSocket is the ``websockets`` library's own
sans-I/O ``ClientProtocol`` (handshake, framing, permessage-deflate, pongs) fed from
``data_received``, an SSE stream a small HTTP/1.1 chunked reader. Receipt is stamped in
``data_received``, when the bytes reached this process, as ``benchmarks._http`` does, not when a
per-connection task got round to them, so a busy client shows in its CPU figure rather than in the
latencies. (The ``websockets`` asyncio client, one task per connection, also costs more: 15 µs of
CPU per message against 12.5 µs here, 1,000 connections with permessage-deflate.)

Latency = receipt ``time.time()`` − the event's ``at`` (RFC 3339, truncated to the millisecond),
in a histogram of 0.1 ms buckets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from benchmarks._harness import HOST, raise_file_limit
from benchmarks._ws import client as ws_client
from benchmarks._ws import flush, received, say_goodbye, whole_text_frames
from benchmarks._ws import start as ws_start

BUCKET = 10_000  # histogram buckets per second: 0.1 ms
CONNECT_SECONDS = 10.0
SYNC_SECONDS = 30.0
ATTEMPTS = 5
DECODED_CACHE = 4096


class Tally:
    """What all subscribers of this process received, and a cache of decoded messages.

    Every subscriber receives the same bytes for an event, so each distinct message is parsed once.
    """

    def __init__(self) -> None:
        self.histogram: Counter[int] = Counter()
        self.messages = 0  # live events, over all subscribers
        self.payload_bytes = 0
        self.others: Counter[str] = Counter()
        self._decoded: dict[bytes, tuple[int, float] | str] = {}

    def decode(self, data: bytes, wrapped: bool) -> tuple[int, float] | str:
        """``(seq, at as epoch seconds)`` of an event, or the type of any other message."""
        known = self._decoded.get(data)
        if known is not None:
            return known
        try:
            message = orjson.loads(data)
            if wrapped:  # a WebSocket message: {"type": "event", "event": {...}} or something else
                kind = message.get("type")
                if kind != "event":
                    return str(kind)
                message = message["event"]
            decoded: tuple[int, float] | str = (int(message["seq"]), datetime.fromisoformat(message["at"]).timestamp())
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return "undecodable"
        if len(self._decoded) >= DECODED_CACHE:
            self._decoded.clear()
        self._decoded[data] = decoded
        return decoded


def whole_sse_chunk(data: bytes) -> bytes | None:
    """The ``data:`` of an event if ``data`` is exactly one HTTP chunk holding one SSE event with an ``id:``.

    Both servers write an event as just that; anything else (keep-alives, a resync, split or
    coalesced reads) goes through the general reader, as ``whole_text_frames`` does for WebSocket.
    """
    line_end = data.find(b"\r\n", 0, 10)
    if line_end <= 0 or data[line_end + 2 : line_end + 6] != b"id: " or not data.endswith(b"\n\n\r\n"):
        return None
    try:
        size = int(data[:line_end], 16)
    except ValueError:
        return None
    if len(data) != line_end + 2 + size + 2:
        return None
    start = data.find(b"\ndata: ", line_end) + 7
    end = len(data) - 4
    if start < 7 or data.find(b"\n", start, end) >= 0:
        return None
    return data[start:end]


class Subscriber(asyncio.Protocol):
    """One subscriber: follows ``seq`` from ``since``, records each live event's latency."""

    def __init__(self, tally: Tally, since: int) -> None:
        self.tally = tally
        self.since = since
        self.last = since
        self.received = 0  # live events, after the one that confirmed sync
        self.gaps = 0  # events that did not follow the one before
        self.closed: str | None = None
        self.transport: asyncio.Transport | None = None
        self.synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def message(self, data: bytes, at: float, wrapped: bool) -> None:
        tally = self.tally
        decoded = tally.decode(data, wrapped)
        if isinstance(decoded, str):
            tally.others[decoded] += 1
            if decoded == "resync":
                self.fail("resync")
            return
        seq, stamped = decoded
        if seq != self.last + 1:
            self.gaps += 1
        self.last = max(self.last, seq)
        if seq <= self.since + 1:  # the event that confirms sync: old, not measured
            if not self.synced.done():
                self.synced.set_result(None)
            return
        self.received += 1
        tally.messages += 1
        tally.payload_bytes += len(data)
        tally.histogram[max(0, int((at - stamped) * BUCKET))] += 1

    def fail(self, why: str) -> None:
        if self.closed is None:
            self.closed = why
        if not self.synced.done():
            self.synced.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(f"connection lost: {exc}" if exc else "connection closed by the server")

    def close(self) -> None:
        self.closed = self.closed or "closed by the client"
        if self.transport is not None:
            self.transport.close()


class WsSubscriber(Subscriber):
    """``{"type": "auth"}`` and ``{"type": "sync", "since"}``, then every event message."""

    def __init__(self, tally: Tally, since: int, uri: str, token: str, deflate: bool) -> None:
        super().__init__(tally, since)
        extensions = [ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})] if deflate else None
        self.ws = ws_client(uri, extensions)
        self.hello = [orjson.dumps({"type": "auth", "token": token}), orjson.dumps({"type": "sync", "since": since})]
        self.plain = False  # open with no extension negotiated: whole text frames may skip the parser

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but quacks alike
        ws_start(self.ws, self.transport)

    def data_received(self, data: bytes) -> None:
        at = time.time()
        if self.plain and not self.ws.reader.buffer:  # between frames: most reads are whole events
            payloads = whole_text_frames(data)
            if payloads is not None:
                for payload in payloads:
                    self.message(payload, at, wrapped=True)
                return
        for kind, value in received(self.ws, data):
            if kind == "text":
                self.message(value, at, wrapped=True)
            elif kind == "open":
                self.plain = not self.ws.extensions
                for text in self.hello:
                    self.ws.send_text(text)
            else:
                self.fail(value.decode())
        flush(self.ws, self.transport)

    def close(self) -> None:
        say_goodbye(self.ws, self.transport)
        super().close()


class SseSubscriber(Subscriber):
    """``GET …/stream?since=`` over HTTP/1.1; the response is chunked, each frame's ``data:`` an event."""

    def __init__(self, tally: Tally, since: int, path: str, port: int) -> None:
        super().__init__(tally, since)
        target = f"{path}?since={since}"
        self.request = f"GET {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        self.raw = bytearray()
        self.frames = bytearray()
        self.head_done = False
        self.chunked = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        at = time.time()
        if self.chunked and not self.raw and not self.frames:  # between chunks: most reads are one event
            payload = whole_sse_chunk(data)
            if payload is not None:
                self.message(payload, at, wrapped=False)
                return
        self.raw += data
        if not self.head_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.raw[:end]).lower()
            del self.raw[: end + 4]
            if not head.startswith((b"http/1.1 200", b"http/1.0 200")):
                self.fail(f"refused: {head.splitlines()[0].decode(errors='replace')}")
                return
            self.head_done = True
            self.chunked = b"transfer-encoding: chunked" in head
        if not self.chunked:
            self.frames += self.raw
            self.raw.clear()
        elif not self._dechunk():
            self.fail("the stream ended")
            return
        while (end := self.frames.find(b"\n\n")) >= 0:
            frame = bytes(self.frames[:end])
            del self.frames[: end + 2]
            for line in frame.split(b"\n"):
                if line.startswith(b"data:"):
                    self.message(line[5:].lstrip(), at, wrapped=False)
                elif line == b"event: resync":
                    self.tally.others["resync"] += 1
                    self.fail("resync")
                    return

    def _dechunk(self) -> bool:
        """Move whole chunks from ``raw`` to ``frames``; False once the last (empty) chunk arrived."""
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return True
            size = int(bytes(self.raw[:line_end]).split(b";")[0], 16)
            if size == 0:
                return False
            if len(self.raw) < line_end + 2 + size + 2:
                return True
            self.frames += self.raw[line_end + 2 : line_end + 2 + size]
            del self.raw[: line_end + 2 + size + 2]


class Swarm:
    """This process's subscribers."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tally = Tally()
        self.subscribers: list[Subscriber] = []
        self.cpu_mark = time.process_time()
        self.wall_mark = time.perf_counter()

    def _new(self) -> Subscriber:
        a = self.args
        if a.kind == "ws":
            return WsSubscriber(self.tally, a.since, f"ws://{HOST}:{a.port}{a.path}", a.token, not a.no_deflate)
        return SseSubscriber(self.tally, a.since, a.path, a.port)

    async def _one(self, gate: asyncio.Semaphore, failures: Counter[str]) -> bool:
        why = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(0.2 * 2**attempt)
            async with gate:
                subscriber = self._new()
                try:
                    await self._open(subscriber)
                except (OSError, TimeoutError) as exc:
                    why = f"{type(exc).__name__}: {exc}"
                    subscriber.close()
                    continue
            self.subscribers.append(subscriber)
            return True
        failures[why[:160]] += 1
        return False

    async def _open(self, subscriber: Subscriber) -> None:
        """Connect ``subscriber`` and wait for its sync event (a refusal raises ConnectionError)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(CONNECT_SECONDS):
            await loop.create_connection(lambda: subscriber, HOST, self.args.port)
        async with asyncio.timeout(SYNC_SECONDS):
            await subscriber.synced

    async def connect(self, count: int, concurrency: int) -> dict[str, Any]:
        began = time.perf_counter()
        gate = asyncio.Semaphore(concurrency)
        failures: Counter[str] = Counter()
        done = await asyncio.gather(*(self._one(gate, failures) for _ in range(count)))
        return {
            "op": "connected",
            "synced": sum(done),
            "failed": count - sum(done),
            "failures": dict(failures.most_common(3)),
            "seconds": time.perf_counter() - began,
        }

    def mark(self) -> dict[str, Any]:
        self.cpu_mark, self.wall_mark = time.process_time(), time.perf_counter()
        return {"op": "marked"}

    async def collect(self, last: int, within: float) -> dict[str, Any]:
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            if all(s.last >= last or s.closed for s in self.subscribers):
                break
            await asyncio.sleep(0.05)
        cpu, wall = time.process_time() - self.cpu_mark, time.perf_counter() - self.wall_mark
        expected = last - self.args.since - 1
        received = [s.received for s in self.subscribers]
        t = self.tally
        return {
            "op": "collected",
            "subscribers": len(self.subscribers),
            "complete": sum(1 for s in self.subscribers if s.received == expected and not s.gaps and not s.closed),
            "min_received": min(received, default=0),
            "max_received": max(received, default=0),
            "gapped": sum(1 for s in self.subscribers if s.gaps),
            "closed": dict(Counter(s.closed for s in self.subscribers if s.closed).most_common(3)),
            "others": dict(t.others),
            "histogram": dict(t.histogram),
            "messages": t.messages,
            "payload_bytes": t.payload_bytes,
            "cpu": cpu,
            "wall": wall,
        }

    async def close(self) -> dict[str, Any]:
        for subscriber in self.subscribers:
            subscriber.close()
        await asyncio.sleep(0.2)  # let the close frames and FINs go out
        return {"op": "closed"}


# ---- the child's side --------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    swarm = Swarm(args)
    while line := await reader.readline():
        command = orjson.loads(line)
        op = command["op"]
        if op == "connect":
            reply = await swarm.connect(int(command["count"]), int(command["concurrency"]))
        elif op == "mark":
            reply = swarm.mark()
        elif op == "collect":
            reply = await swarm.collect(int(command["last"]), float(command["timeout"]))
        elif op == "close":
            reply = await swarm.close()
        else:
            reply = {"op": "error", "message": f"unknown op {op!r}"}
        sys.stdout.buffer.write(orjson.dumps(reply, option=orjson.OPT_NON_STR_KEYS) + b"\n")
        sys.stdout.flush()
        if op == "close":
            return
    with contextlib.suppress(Exception):  # stdin closed: the parent is gone
        await swarm.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._fanout_client")
    parser.add_argument("--kind", choices=("ws", "sse"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--since", type=int, required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    args = parser.parse_args(argv)
    raise_file_limit()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
