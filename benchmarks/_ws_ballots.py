"""``benchmarks.ballots --transport ws``: every deputy casts ballots over its own ``/ws/sessions/{id}`` socket.

Each deputy is an ``asyncio.Protocol`` around the ``websockets`` library's sans-I/O
``ClientProtocol`` (as in ``benchmarks._fanout_client``; no permessage-deflate, which the server
turns off): ``{"type": "auth"}``, ``{"type": "sync", "since": <head>}``, then ballots as
``{"type": "command", "command": {...}}``; the ack is ``{"type": "ack", "id", "seq"}``, stamped in
``data_received``. Every socket also receives every event of the session (each ballot goes to all
of them), and each is read: its ``seq`` is followed per socket, so a burst ends only when every
socket has every event up to the last ack. Readiness: a second ``sync`` is answered
``already_synced`` after the first sync's catch-up, so its arrival shows the socket is subscribed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import orjson

from benchmarks._ws import client as ws_client
from benchmarks._ws import flush, received, say_goodbye, whole_text_frames
from benchmarks._ws import start as ws_start

EVENT_PREFIX = b'{"type":"event","event":'
DECODED_CACHE = 4096
CHOICES = ("for", "against", "abstain")


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one command: an ack (``seq``) or an error, and ``perf_counter()`` at receipt."""

    command_id: str
    seq: int | None
    at: float
    text: str


@dataclass(slots=True)
class Fleet:
    """What every socket shares: a cache of decoded events and the count of sockets holding ``target``."""

    size: int
    target: int = 0
    reached: int = 0
    deliveries: int = 0  # event messages received, over every socket
    gaps: int = 0
    others: list[str] = field(default_factory=list)  # unexpected messages
    all_there: asyncio.Future[float] | None = None  # resolved with the time the last socket got ``target``
    _seqs: dict[bytes, int] = field(default_factory=dict)

    def seq_of(self, data: bytes) -> int:
        seq = self._seqs.get(data)
        if seq is None:
            seq = int(orjson.loads(data)["event"]["seq"])
            if len(self._seqs) >= DECODED_CACHE:
                self._seqs.clear()
            self._seqs[data] = seq
        return seq

    def expect(self, target: int, deputies: Sequence[WsDeputy]) -> asyncio.Future[float]:
        """A future resolved (with the receipt time) once every socket has received event ``target``."""
        self.target = target
        self.reached = sum(1 for d in deputies if d.last >= target)
        self.all_there = asyncio.get_running_loop().create_future()
        if self.reached >= self.size:
            self.all_there.set_result(max((d.last_at for d in deputies), default=time.perf_counter()))
        return self.all_there


class WsDeputy(asyncio.Protocol):
    """One deputy's WebSocket: commands out, acks and every event in."""

    def __init__(self, fleet: Fleet, member: str, uri: str, token: str, since: int) -> None:
        self.fleet, self.member = fleet, member
        self.ws = ws_client(uri)
        self.hello = [{"type": "auth", "token": token}, {"type": "sync", "since": since}, {"type": "sync", "since": 0}]
        self.plain = False  # open with no extension negotiated: whole text frames may skip the parser
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters: dict[str, asyncio.Future[Reply]] = {}
        self.on_reply: Callable[[Reply], None] | None = None  # for the closed loop
        self.last = since  # the last event seq received
        self.last_at = 0.0
        self.events = 0
        self.sent_at = 0.0
        self.lost: str | None = None

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but quacks alike
        ws_start(self.ws, self.transport)

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        if self.plain and not self.ws.reader.buffer:  # between frames: most reads are whole events
            payloads = whole_text_frames(data)
            if payloads is not None:
                for payload in payloads:
                    self._message(payload, at)
                return
        for kind, value in received(self.ws, data):
            if kind == "text":
                self._message(value, at)
            elif kind == "open":
                self.plain = not self.ws.extensions
                for message in self.hello:
                    self.ws.send_text(orjson.dumps(message))
            else:
                self._fail(value.decode())
        flush(self.ws, self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc}" if exc else "connection closed by the server")

    # ---- messages --------------------------------------------------------------------------

    def _message(self, data: bytes, at: float) -> None:
        fleet = self.fleet
        if data.startswith(EVENT_PREFIX):
            seq = fleet.seq_of(data)
            fleet.deliveries += 1
            self.events += 1
            if seq != self.last + 1:
                fleet.gaps += 1
            if self.last < fleet.target <= seq:
                fleet.reached += 1
                if fleet.reached >= fleet.size and fleet.all_there is not None and not fleet.all_there.done():
                    fleet.all_there.set_result(at)
            self.last, self.last_at = max(self.last, seq), at
            return
        message = orjson.loads(data)
        kind, command_id = message.get("type"), message.get("id")
        if kind == "error" and message.get("error") == "already_synced" and not self.ready.done():
            self.ready.set_result(None)
        elif kind in ("ack", "error") and isinstance(command_id, str):
            acked = message.get("seq") if kind == "ack" else None
            reply = Reply(
                command_id, acked if isinstance(acked, int) else None, at, data[:200].decode(errors="replace")
            )
            waiter = self.waiters.pop(command_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(reply)
            elif self.on_reply is not None:
                self.on_reply(reply)
        else:
            fleet.others.append(data[:200].decode(errors="replace"))

    def _fail(self, why: str) -> None:
        self.lost = self.lost or why
        error = ConnectionError(why)
        if not self.ready.done():
            self.ready.set_exception(error)
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(error)
        self.waiters.clear()
        if self.on_reply is not None:
            self.on_reply(Reply("", None, time.perf_counter(), why))
        if self.transport is not None:
            self.transport.close()

    # ---- use -------------------------------------------------------------------------------

    def itself(self) -> WsDeputy:
        """The protocol factory for ``create_connection``."""
        return self

    def ballot(self, vote: str, command_id: str, choice: str) -> float:
        """Send one ``ballot.cast``; the time it was written."""
        command = {"id": command_id, "type": "ballot.cast", "vote": vote, "choice": choice}
        self.ws.send_text(orjson.dumps({"type": "command", "command": command}))
        flush(self.ws, self.transport)
        self.sent_at = time.perf_counter()
        return self.sent_at

    def expect(self, command_id: str) -> asyncio.Future[Reply]:
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        if self.lost:
            waiter.set_exception(ConnectionError(self.lost))
        else:
            self.waiters[command_id] = waiter
        return waiter

    def close(self) -> None:
        say_goodbye(self.ws, self.transport)
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, path: str, tokens: Sequence[tuple[str, str]], since: int) -> list[WsDeputy]:
    """One socket per ``(member, token)``, each authenticated, synced from ``since`` and subscribed."""
    loop = asyncio.get_running_loop()
    fleet = Fleet(len(tokens))
    deputies = [WsDeputy(fleet, member, f"ws://{host}:{port}{path}", token, since) for member, token in tokens]
    await asyncio.gather(*(loop.create_connection(d.itself, host, port) for d in deputies))
    async with asyncio.timeout(60):
        await asyncio.gather(*(d.ready for d in deputies))
    return deputies


@dataclass(slots=True)
class WsBurst:
    latencies: list[float]
    last_to_ack: float
    spread: float
    span: float
    errors: list[str]
    deliveries: int
    everywhere: float  # first send → every socket holds every event up to the last ack


async def burst(deputies: Sequence[WsDeputy], vote: str, number: int, within: float) -> WsBurst:
    """Every deputy's ballot written in one loop; then wait for every ack and every socket to hold every event."""
    fleet = deputies[0].fleet
    before = fleet.deliveries
    waiters, sent = [], []
    for i, d in enumerate(deputies):
        command_id = f"b{number}-{d.member}"
        waiters.append(d.expect(command_id))
        sent.append(d.ballot(vote, command_id, CHOICES[(i + number) % 3]))
    async with asyncio.timeout(within):
        results = await asyncio.gather(*waiters, return_exceptions=True)
    latencies: list[float] = []
    errors: list[str] = []
    last_ack, head = sent[-1], 0
    for at, result in zip(sent, results, strict=True):
        if isinstance(result, BaseException):
            errors.append(repr(result))
        elif result.seq is None:
            errors.append(result.text)
        else:
            latencies.append(result.at - at)
            last_ack, head = max(last_ack, result.at), max(head, result.seq)
    final = results[-1]
    last_to_ack = final.at - sent[-1] if isinstance(final, Reply) else float("nan")
    everywhere = float("nan")
    if head and not any(d.lost for d in deputies):
        async with asyncio.timeout(within):
            everywhere = await fleet.expect(head, deputies) - sent[0]
    return WsBurst(
        latencies, last_to_ack, sent[-1] - sent[0], last_ack - sent[0], errors, fleet.deliveries - before, everywhere
    )


@dataclass(slots=True)
class WsLoop:
    end: float
    latencies: list[float] = field(default_factory=list)  # acks that arrived by ``end``
    total: int = 0  # every ack, including those of ballots in flight at ``end``
    errors: list[str] = field(default_factory=list)
    deliveries: int = 0


class _Voter:
    """One deputy in the closed loop: on each ack, the next ballot goes out from the callback."""

    def __init__(self, deputy: WsDeputy, index: int, vote: str, stats: WsLoop) -> None:
        self.deputy, self.index, self.vote, self.stats = deputy, index, vote, stats
        self.sent = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deputy.on_reply = self.answered

    def send(self) -> None:
        self.sent += 1
        choice = CHOICES[(self.index + self.sent) % 3]
        self.deputy.ballot(self.vote, f"s-{self.deputy.member}-{self.sent}", choice)

    def answered(self, reply: Reply) -> None:
        if reply.seq is None:
            if not self.done.done():
                self.stats.errors.append(reply.text)
            self.finish()
            return
        self.stats.total += 1
        if reply.at <= self.stats.end:
            self.stats.latencies.append(reply.at - self.deputy.sent_at)
            self.send()
        else:
            self.finish()

    def finish(self) -> None:
        self.deputy.on_reply = None
        if not self.done.done():
            self.done.set_result(None)


async def sustained(deputies: Sequence[WsDeputy], vote: str, seconds: float, within: float) -> WsLoop:
    fleet = deputies[0].fleet
    before = fleet.deliveries
    stats = WsLoop(end=time.perf_counter() + seconds)
    voters = [_Voter(d, i, vote, stats) for i, d in enumerate(deputies)]
    for voter in voters:
        voter.send()
    try:
        await asyncio.wait_for(asyncio.gather(*(v.done for v in voters)), seconds + within)
    finally:
        for voter in voters:
            voter.finish()
    stats.deliveries = fleet.deliveries - before
    return stats
