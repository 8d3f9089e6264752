"""N subscribers follow one session live: time from an event's commit to its receipt, Kvorum vs bare ``websockets``.

``python -m benchmarks.fanout [--sizes 500,2000,5000,10000] [--seconds 10] [--rate 2]
[--client-processes 4] [--database-url URL] [--skip-sse] [--no-deflate] [--pin] [--py-spy FILE]``

A fresh database ``kvorum_bench_<random>`` is created as in ``benchmarks.ballots`` and dropped at
the end; the demo council (``session_server.demo.seed``) is seeded in-process and its tokens are
minted with the server's signing key. Through the API the chair opens the session and
registration. Then, for every N, three phases, each on a freshly started server:

- Kvorum WebSocket: ``python -m session_server serve`` (``KVORUM_WS_PER_ADDRESS=20000``, memory
  broker), warmed up by a few commands; N subscribers send ``auth`` and ``sync`` from the head minus
  one, so the head event confirms each is in sync;
- Kvorum SSE: the same N on ``GET /api/v1/sessions/{id}/stream?since=``;
- the baseline, bare WebSocket: ``benchmarks._bare_server``, a minimal server on the ``websockets``
  library that feeds the same subscribers with ``broadcast()``.

The subscribers live in ``--client-processes`` processes (``benchmarks._fanout_client``),
connected with bounded concurrency and retried politely. Once all are in sync and idle, the
server's RSS growth over the connections gives the memory per idle connection. Then a steady
stream, ``--rate`` events a second for ``--seconds``: for Kvorum the demo deputies take turns at
``presence.register`` / ``presence.leave`` over HTTP (one command, one event); for the baseline
the bare server broadcasts events of the same shape and size. An event's latency at a subscriber
is its receipt time − its ``at``; Kvorum stamps ``at`` when it decides, just before the
transaction, so the latency includes the commit. Every subscriber must receive every event, in
``seq`` order. The subscriber processes report their own CPU; the server's and its PostgreSQL
backends' is read from /proc (10 ms ticks). "µs per delivery" is the server's CPU over the stream
divided by the events delivered, so at small N it is mostly the cost of the commands themselves.
The last line is a one-line summary with the issue's targets met or not.

The rate is low on purpose: at 10,000 subscribers one event is 10,000 deliveries, and at 2 a
second Kvorum's single process is already busy; 20 a second would be 200,000 deliveries a second,
more than the subscriber processes (about 12 µs of CPU each) and the bare baseline could take on
2 cores together.

Offering permessage-deflate is the default because browsers always do; ``--no-deflate`` shows what
it costs. ``--pin`` puts the server on the first core and the subscribers on the others.
``--py-spy FILE`` profiles the Kvorum server while it streams at the largest N (``.txt`` raw
collapsed stacks, ``.json`` speedscope, else SVG; ``-ws`` / ``-sse`` added to the name).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from benchmarks._bare_server import BareServer
from benchmarks._fanout_drive import Caller, Tokens, drive, seed, session_path, steer
from benchmarks._fanout_subscribers import Collected, Subscribers
from benchmarks._harness import (
    HOST,
    ServerProcess,
    backend_cpu,
    bounded,
    free_port,
    fresh_database,
    postgres_server,
    process_cpu,
    raise_file_limit,
    redacted,
    rss_kib,
    run_on_fastest_loop,
    say,
    start_profiler,
)

# The targets for this 2-core machine.
TARGET_RATIO = 1.5
TARGET_P99_MS = {5000: 100.0, 10000: 250.0}
TARGET_KIB = 32.0
WS_PER_ADDRESS = 20000
CONNECT_CONCURRENCY = 256  # handshakes in flight over all subscriber processes
WARM = 50  # subscribers connected before the "idle before" RSS, so first-use allocations are not counted
WARM_COMMANDS = 40  # before any subscriber: every pooled connection prepares its statements
SETTLE_SECONDS = 2.0
COLLECT_SECONDS = 30.0  # how long after the last event a subscriber may take to receive it
STEP_SECONDS = 60.0
BUSY_CLIENT = 0.7  # a subscriber process busier than this (share of one core) may delay what it stamps


# ---- what a phase measures ---------------------------------------------------------------------


class Target(Protocol):
    """A server under measurement: Kvorum or the bare baseline."""

    @property
    def pid(self) -> int: ...

    @property
    def port(self) -> int: ...

    async def stream(self, rate: float, count: int, phase: Phase) -> int:
        """Emit ``count`` events at ``rate`` a second; the last ``seq``."""
        ...

    async def stop(self) -> None: ...


class KvorumTarget:
    """``python -m session_server serve`` driven by the demo deputies."""

    def __init__(self, env: dict[str, str], log: Path, tokens: Tokens, registered: set[int], tag: str) -> None:
        self.server = ServerProcess(env | {"KVORUM_PORT": str(free_port())}, log)
        self.callers = [Caller(token, self.server.port) for _, token in tokens.deputies]
        self.members = [member for member, _ in tokens.deputies]
        self.registered, self.tag = registered, tag

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def port(self) -> int:
        return self.server.port

    async def ready(self) -> int:
        """Wait for the server and warm it up (before any subscriber connects); the session's head."""
        await self.server.ready()
        state = await self.callers[0].ok("GET", session_path())
        self.registered.clear()
        self.registered.update(self.members.index(m) for m in state["state"]["registered"] if m in self.members)
        warm = await drive(self.callers, self.registered, f"{self.tag}-warm", 100.0, WARM_COMMANDS)
        if warm.errors:
            raise RuntimeError(f"warming up the server failed: {warm.errors[0]}")
        return warm.last

    async def stream(self, rate: float, count: int, phase: Phase) -> int:
        driven = await drive(self.callers, self.registered, self.tag, rate, count)
        phase.errors += driven.errors
        phase.stream_seconds = driven.seconds
        phase.ack_p50 = sorted(driven.acks)[len(driven.acks) // 2] if driven.acks else math.nan
        return driven.last

    async def stop(self) -> None:
        for c in self.callers:
            c.close()
        await asyncio.to_thread(self.server.stop)


class BareTarget:
    """The baseline: ``benchmarks._bare_server``."""

    def __init__(self, server: BareServer) -> None:
        self.server = server

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def port(self) -> int:
        return self.server.port

    async def stream(self, rate: float, count: int, phase: Phase) -> int:
        began = time.perf_counter()
        last = await self.server.stream(rate, count)
        phase.stream_seconds = time.perf_counter() - began
        return last

    async def stop(self) -> None:
        await self.server.stop()


@dataclass(slots=True)
class Phase:
    name: str
    n: int
    got: Collected = field(default_factory=Collected)
    expected: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    kib_idle: float = math.nan
    connect_seconds: float = 0.0
    server_seconds: float = 0.0
    wall: float = math.nan
    postgres_seconds: float = 0.0
    driver_seconds: float = 0.0
    ack_p50: float = math.nan
    stream_seconds: float = 0.0  # first event sent → last one acknowledged (Kvorum) or broadcast (bare)
    errors: list[str] = field(default_factory=list)

    def p(self, q: float) -> float:
        return self.got.percentile(q)

    @property
    def lossless(self) -> bool:
        got = self.got
        return self.expected > 0 and got.subscribers == self.n and got.complete == self.n

    @property
    def per_delivery(self) -> float:
        """Server CPU seconds per event delivered to one subscriber."""
        return self.server_seconds / self.got.messages if self.got.messages else math.nan


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str  # "ws" | "sse"
    path: str
    since: int
    token: str


async def measure(target: Target, plan: Plan, phase: Phase, args: argparse.Namespace, database: str) -> None:
    """Connect ``phase.n`` subscribers, weigh them idle, stream, collect, disconnect."""
    subscribers = await Subscribers.start(
        args.client_processes,
        kind=plan.kind,
        port=target.port,
        path=plan.path,
        since=plan.since,
        token=plan.token,
        deflate=not args.no_deflate,
    )
    try:
        if args.pin:
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(target.pid, cores[:1])
            for pid in subscribers.pids:
                os.sched_setaffinity(pid, cores[1:])
        warm = await subscribers.connect(min(WARM, phase.n // 10), CONNECT_CONCURRENCY, first_only=True)
        await asyncio.sleep(SETTLE_SECONDS)
        before, began = rss_kib(target.pid), time.perf_counter()
        rest = await subscribers.connect(phase.n - warm.synced, CONNECT_CONCURRENCY)
        phase.connect_seconds = time.perf_counter() - began
        await asyncio.sleep(SETTLE_SECONDS)
        if rest.synced:
            phase.kib_idle = (rss_kib(target.pid) - before) / rest.synced
        phase.failures = dict((warm.failures + rest.failures).most_common(3))

        await subscribers.mark()
        wall, server, driver = time.perf_counter(), process_cpu(target.pid), time.process_time()
        postgres = backend_cpu(database)
        profiled = args.py_spy if phase.n == max(args.sizes) and isinstance(target, KvorumTarget) else None
        profiler = start_profiler(
            profiled and profiled.with_stem(f"{profiled.stem}-{plan.kind}"), target.pid, args.seconds
        )
        last = await target.stream(args.rate, max(1, round(args.rate * args.seconds)), phase)
        phase.expected = last - plan.since - 1
        phase.got = await subscribers.collect(last, COLLECT_SECONDS)
        phase.wall = time.perf_counter() - wall
        phase.server_seconds = process_cpu(target.pid) - server
        phase.driver_seconds = time.process_time() - driver
        phase.postgres_seconds = sum(used - postgres.get(pid, 0.0) for pid, used in backend_cpu(database).items())
        if profiler is not None:
            code = await asyncio.to_thread(profiler.wait, STEP_SECONDS)
            say(f"  py-spy of the server while streaming: exit status {code} (it perturbs the figures below)")
    finally:
        await subscribers.close()


# ---- output ------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def delivery(phase: Phase) -> str:
    got = phase.got
    everything = f"{got.complete:,}/{phase.n:,} subscribers got all {phase.expected} events in order"
    if phase.lossless:
        return everything
    problems = [everything, f"fewest received {got.min_received}"]
    if got.subscribers < phase.n:
        problems.append(f"{phase.n - got.subscribers:,} never in sync ({phase.failures})")
    if got.gapped:
        problems.append(f"{got.gapped:,} saw a gap or a repeat")
    if got.closed:
        problems.append(f"closed: {dict(got.closed)}")
    if got.others:
        problems.append(f"other messages: {dict(got.others)}")
    return "LOSS: " + "; ".join(problems)


def report(phase: Phase) -> None:
    got, wall = phase.got, phase.wall
    size = got.payload_bytes / got.messages if got.messages else 0.0
    say(
        f"  {phase.name:<10}  p50 {ms(phase.p(50))}, p99 {ms(phase.p(99))}, max {ms(phase.p(100))}; "
        f"{delivery(phase)} ({size:.0f} B each, sent over {phase.stream_seconds:.1f} s)"
    )
    clients = "/".join(f"{c:.0%}" for c in got.cpu)
    ack = "" if math.isnan(phase.ack_p50) else f"; command ack p50 {ms(phase.ack_p50)}"
    say(
        f"  {'':<10}  cpu, % of one core: server {phase.server_seconds / wall:.0%} "
        f"({phase.per_delivery * 1e6:.0f} µs per delivery), its postgres backends {phase.postgres_seconds / wall:.0%}, "
        f"driver {phase.driver_seconds / wall:.0%}, subscribers {sum(got.cpu):.0%} ({clients})"
    )
    say(
        f"  {'':<10}  idle {phase.kib_idle:.1f} KiB/connection; {phase.n:,} connected in "
        f"{phase.connect_seconds:.1f} s{ack}"
    )
    if max(got.cpu, default=0.0) > BUSY_CLIENT:
        say(f"  {'':<10}  WARNING: a subscriber process was busy, so the latencies may include its delays")
    for error in phase.errors[:3]:
        say(f"  {'':<10}  error: {error}")


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def summary(results: Mapping[int, list[Phase]]) -> str:
    figures, ratio_misses, absolute, lossy = [], [], [], []
    kib: dict[str, float] = {}
    for n, phases in results.items():
        *ours, bare = phases
        figures.append(f"{n:,}: " + "/".join(f"{p.p(99) * 1000:.0f}" for p in phases))
        for p in ours:
            if not p.p(99) <= TARGET_RATIO * bare.p(99):
                ratio_misses.append(f"{p.name} at {n:,} {p.p(99) / bare.p(99):.1f}×")
            kib[p.name] = max(kib.get(p.name, 0.0), p.kib_idle)
        if n in TARGET_P99_MS:
            worst = max(p.p(99) for p in ours) * 1000
            absolute.append(f"≤ {TARGET_P99_MS[n]:.0f} ms at {n:,} {met(worst <= TARGET_P99_MS[n])} ({worst:.0f})")
        lossy += [f"{p.name} at {n:,}" for p in phases if not p.lossless]
    names = "/".join(p.name for p in next(iter(results.values())))
    ratio = f"≤ {TARGET_RATIO}× bare p99 " + (f"NOT met ({', '.join(ratio_misses)})" if ratio_misses else "met")
    heaviest = ", ".join(f"{name} {value:.1f}" for name, value in kib.items())
    memory = f"≤ {TARGET_KIB:.0f} KiB/idle connection {met(max(kib.values()) <= TARGET_KIB)} (max {heaviest})"
    loss = f"LOSS in {', '.join(lossy)}" if lossy else "no loss"
    parts = [f"fanout: p99 ms {names} — {'; '.join(figures)}", ratio, *absolute, memory, loss]
    return "; ".join(parts)


# ---- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    from session_server.demo import SESSION_ID

    files = raise_file_limit()  # inherited by the servers
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-bench-")))
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        database = urlsplit(url).path.lstrip("/")
        tokens = await seed(url, tmp)
        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_BROKER_URL="memory://")
        env |= {"KVORUM_WS_PER_ADDRESS": str(WS_PER_ADDRESS), "KVORUM_DATA_DIR": str(tmp / "server")}
        registered: set[int] = set()
        first = KvorumTarget(env, tmp / "server-steer.log", tokens, registered, "steer")
        try:
            await first.server.ready()
            head, template = await steer(first.port, tokens)
        finally:
            await first.stop()

        loop_kind = type(asyncio.get_running_loop()).__module__.split(".")[0]
        deflate = "without permessage-deflate" if args.no_deflate else "offering permessage-deflate as browsers do"
        say(
            f"Kvorum fan-out: N = {', '.join(f'{n:,}' for n in args.sizes)} subscribers; {args.rate:g} events/s "
            f"for {args.seconds:g} s per phase"
        )
        say(f"  database  {redacted(url)} ({origin}); demo council, session {SESSION_ID!r} open, registering")
        say(
            f"  servers   python -m session_server serve (KVORUM_WS_PER_ADDRESS={WS_PER_ADDRESS}, memory broker), "
            "and the baseline benchmarks._bare_server (websockets broadcast()), started afresh for every phase"
            + (", pinned to the first core" if args.pin else "")
        )
        say(
            f"  clients   {args.client_processes} processes of benchmarks._fanout_client ({loop_kind}); a subscriber "
            f"is an asyncio.Protocol: websockets' sans-I/O ClientProtocol {deflate}, or a raw HTTP/1.1 SSE reader"
        )
        say(f"  machine   {os.cpu_count()} cores, Python {platform.python_version()}, {files:,} open files per process")
        say(
            "  latency = receipt at the subscriber (stamped when the bytes arrive) − the event's `at`; Kvorum decides "
            "`at` just before the transaction, so the commit is included; `at` has whole ms, so up to +1 ms"
        )
        kinds = ["ws"] + ([] if args.skip_sse else ["sse"]) + ["bare"]
        results: dict[int, list[Phase]] = {}
        for n in args.sizes:
            say()
            say(f"N = {n:,}")
            results[n] = []
            for kind in kinds:
                phase = Phase("bare ws" if kind == "bare" else f"kvorum {kind}", n)
                target: Target
                if kind == "bare":
                    target = BareTarget(await BareServer.start(head, template))
                    plan = Plan("ws", "/ws", head - 1, tokens.chair)
                else:
                    target = ours = KvorumTarget(env, tmp / f"server-{n}-{kind}.log", tokens, registered, f"{n}-{kind}")
                    try:
                        head = await ours.ready()
                    except BaseException:
                        await ours.stop()
                        raise
                    path = f"/ws/sessions/{SESSION_ID}" if kind == "ws" else session_path("/stream")
                    plan = Plan(kind, path, head - 1, tokens.deputies[0][1])
                try:
                    await measure(target, plan, phase, args, database)
                finally:
                    await target.stop()
                report(phase)
                results[n].append(phase)
            *ours_, bare = results[n]
            ratios = ", ".join(
                f"{p.name} {p.p(99) / bare.p(99):.2f} [≤ {TARGET_RATIO} {met(p.p(99) <= TARGET_RATIO * bare.p(99))}]"
                for p in ours_
            )
            say(f"  p99 ÷ bare ws p99: {ratios}")
        say()
        say(summary(results))
        return 0 if all(p.lossless for phases in results.values() for p in phases) else 1
    return 1  # unreachable: the stack does not swallow exceptions


def sizes(raw: str) -> list[int]:
    values = [int(v.strip().replace("_", "")) for v in raw.split(",") if v.strip()]
    if not values or not all(10 <= v <= 20000 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of counts between 10 and 20000")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=sizes, default=[500, 2000, 5000, 10000], help="subscriber counts")
    parser.add_argument("--seconds", type=bounded(1, 60, float), default=10.0, help="stream per phase (default 10)")
    parser.add_argument("--rate", type=bounded(0.5, 200, float), default=2.0, help="events a second (default 2)")
    parser.add_argument("--client-processes", type=bounded(1, 32, int), default=4, help="subscriber processes")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    parser.add_argument("--skip-sse", action="store_true", help="leave out the Kvorum SSE phases")
    parser.add_argument("--no-deflate", action="store_true", help="subscribers do not offer permessage-deflate")
    parser.add_argument("--pin", action="store_true", help="the server on the first core, subscribers on the rest")
    parser.add_argument("--py-spy", type=Path, help="profile the Kvorum server while streaming at the largest N")
    args = parser.parse_args(argv)
    return run_on_fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
