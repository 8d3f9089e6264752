"""450 deputies (the Verkhovna Rada) cast ballots at once through the HTTP API of a running server.

``python -m benchmarks.ballots [--deputies 450] [--bursts 5] [--seconds 10] [--transport http|ws] [--signed]
[--database-url URL]``

A fresh database ``kvorum_bench_<random>`` is created on the PostgreSQL named by ``--database-url``
or ``KVORUM_DATABASE_URL``, else on postgresql://postgres@127.0.0.1:5432 if it answers, else on an
embedded one; it is dropped at the end. The council, accounts and a session are seeded in-process,
then ``python -m session_server serve`` runs as its own OS process on a loopback port and every
deputy talks to it over one keep-alive connection (``benchmarks._http``, not httpx).

Measured, in this order:

- the floor: everyone's ``GET /api/v1/me`` at once (HTTP stack and token check, no database), to
  show how much of a burst's latency is the HTTP edge alone;
- bursts: every deputy's ``ballot.cast`` is written in one tight loop; time to acknowledgement per
  ballot (ack = the 200 reply, sent by the server after the commit), the latency of the ballot sent
  last, and ballots / (last ack - first send);
- sustained: each connection sends a ballot, waits for its ack, sends the next, for ``--seconds``;
- the baseline, on the same database in the same run: as many asyncio tasks as deputies doing
  single-row autocommit INSERTs through an asyncpg pool as big as the server's (and a 64-connection
  pool, for context), for the same time.

Finally the session stream's hash chain is verified and its ``ballot.cast`` events counted against
the acknowledgements. The last line is a one-line summary with the targets met or not.
``--transport ws`` casts the ballots over one ``/ws/sessions/{id}`` WebSocket per deputy instead
(``benchmarks._ws_ballots``; the chair's steering and the registrations still go over HTTP): no
floor phase; ack = the ``{"type": "ack"}`` message; every socket also receives every event, so a
burst also reports when every socket held every event and how many deliveries that took.
``--signed`` (HTTP only) then repeats the bursts and the closed loop with WebAuthn-signed ballots
(``benchmarks._signed_ballots``: soft authenticators, one per deputy) on a second vote, after the
unsigned ones, which are its baseline in the same run; targets ≥ 1,500 verified ballots/s, p99 ≤ 30 ms.
``--sealed`` (HTTP only) repeats them instead with the council's results sealed until the close (each
ballot a ``ballot.sealed`` commitment, its opening kept apart); target ≥ 0.9 of the unsealed figure.
``--metrics`` (HTTP only) serves ``/metrics`` on a port of its own (``KVORUM_METRICS_ADDRESS``) and repeats the
closed loop while a scraper reads it every ``--scrape-seconds`` (default 1 s, Prometheus's usual is 15 s), then
once more without it: the cost is 1 − scraped ÷ the mean of the two unscraped runs; target ≤ 3 % (issue 21).
``--py-spy FILE`` (``.venv/bin/pip install py-spy``) also profiles the server during the sustained
phase: ``.txt`` raw collapsed stacks, ``.json`` speedscope, anything else a flame graph SVG.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from benchmarks import _ws_ballots
from benchmarks._harness import (
    HOST,
    Cpu,
    ServerProcess,
    bounded,
    free_port,
    fresh_database,
    ms,
    percentile,
    postgres_server,
    process_cpu,
    redacted,
    run_on_fastest_loop,
    say,
    start_profiler,
)
from benchmarks._http import connect, request_bytes
from benchmarks._http_ballots import (
    CHOICES,
    COUNCIL_ID,
    PASSWORD,
    SESSION_ID,
    SIGNED_OFFSET,
    STEP_SECONDS,
    Burst,
    Deputy,
    Loop,
    Seeded,
    acknowledged,
    baseline_phase,
    burst,
    check_stream,
    connect_deputies,
    latency_line,
    ok,
    seed,
    sustained,
)

# The targets for this 2-core machine.
TARGET_P99_MS = 20.0
TARGET_ACKS = 2000.0
TARGET_RATIO = 0.5
TARGET_SIGNED_P99_MS = 30.0
TARGET_SIGNED = 1500.0
TARGET_SEALED_RATIO = 0.9
FLOOR_BURSTS = 3


# ---- the run -----------------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


async def steer(chair: Deputy, deputies: Sequence[Deputy]) -> str:
    """As the chair: open the session and registration, register everyone, start the item, open the vote."""
    await ok(chair.conn, chair.command({"id": "open", "type": "session.open"}))
    await ok(chair.conn, chair.command({"id": "reg", "type": "registration.open"}))
    began = time.perf_counter()
    await asyncio.gather(
        *(ok(d.conn, d.command({"id": f"here-{d.member}", "type": "presence.register"})) for d in deputies)
    )
    registering = time.perf_counter() - began
    await ok(chair.conn, chair.command({"id": "item", "type": "item.start", "item": "i1"}))
    open_vote = {"id": "vote", "type": "vote.open", "item": "i1", "subject": "У цілому", "seconds": 900}
    opened = await ok(chair.conn, chair.command(open_vote | {"rule": "majority_of_composition"}))
    vote = str(opened["events"][0]["payload"]["vote"])
    say(
        f"  steering  session.open, registration.open, {len(deputies)} × presence.register "
        f"({ms(registering)} all together), item.start, vote.open → {vote}"
    )
    return vote


async def floor_phase(deputies: Sequence[Deputy]) -> tuple[float, list[str]]:
    """Bursts of ``GET /api/v1/me``: the HTTP stack and token check with no database; ``(p99, errors)``."""
    me = [d.request("GET", "/api/v1/me") for d in deputies]
    floors = []
    for _ in range(FLOOR_BURSTS):
        await asyncio.sleep(0.2)
        floors.append(await burst(deputies, me, lambda r: r.status == 200))
    p99 = median_p99(floors)
    say(
        f"floor: {len(deputies)} × GET /api/v1/me at once (same HTTP stack and token check, no database), "
        f"median of {FLOOR_BURSTS}: p99 {ms(p99)}, {statistics.median(b.rate for b in floors):,.0f} replies/s"
    )
    return p99, [e for b in floors for e in b.errors]


def http_burst(deputies: Sequence[Deputy], vote: str, offset: int = 0) -> Callable[[int], Awaitable[Burst]]:
    def cast(number: int) -> Awaitable[Burst]:
        choices = (CHOICES[(i + number) % 3] for i in range(len(deputies)))
        # Built (and with --signed, signed) before the burst's clock starts.
        ballots = [d.ballot(vote, f"b{number + offset}-{d.member}", c) for d, c in zip(deputies, choices, strict=True)]
        return burst(deputies, ballots, acknowledged)

    return cast


def ws_burst(deputies: Sequence[_ws_ballots.WsDeputy], vote: str, pid: int) -> Callable[[int], Awaitable[Burst]]:
    async def cast(number: int) -> Burst:
        cpu = process_cpu(pid)
        b = await _ws_ballots.burst(deputies, vote, number, STEP_SECONDS)
        note = (
            f"; every socket had every event {ms(b.everywhere)} after the first send ({b.deliveries:,} deliveries, "
            f"server CPU {ms(process_cpu(pid) - cpu)})"
        )
        return Burst(b.latencies, b.last_to_ack, b.spread, b.span, b.errors, note, b.everywhere)

    return cast


async def burst_phase(cast: Callable[[int], Awaitable[Burst]], count: int, server_pid: int) -> list[Burst]:
    bursts: list[Burst] = []
    cpu = Cpu.now(server_pid)
    for number in range(1, count + 1):
        await asyncio.sleep(0.2)  # let the previous burst's stragglers settle
        b = await cast(number)
        bursts.append(b)
        say(
            f"burst {number}: {len(b.latencies)} acks, {latency_line(b.latencies)}; last send → its ack "
            f"{ms(b.last_to_ack)}; sends spread over {ms(b.spread)}; {b.rate:,.0f} acks/s{b.note}"
        )
    cpu_line = Cpu.now(server_pid).since(cpu)
    p50 = statistics.median(percentile(b.latencies, 50) for b in bursts if b.latencies)
    last, rate = statistics.median(b.last_to_ack for b in bursts), statistics.median(b.rate for b in bursts)
    say(
        f"bursts, median of {len(bursts)}: p50 {ms(p50)}, p99 {ms(median_p99(bursts))}, "
        f"last send → its ack {ms(last)}, {rate:,.0f} acks/s"
    )
    say(f"  {cpu_line}")
    return bursts


def median_p99(bursts: Sequence[Burst]) -> float:
    return statistics.median(percentile(b.latencies, 99) for b in bursts if b.latencies)


async def ws_sustained(deputies: Sequence[_ws_ballots.WsDeputy], vote: str, seconds: float) -> Loop:
    w = await _ws_ballots.sustained(deputies, vote, seconds, STEP_SECONDS)
    return Loop(w.end, w.latencies, w.total, w.errors, f"; {w.deliveries:,} event deliveries")


async def sustained_phase(
    closed_loop: Awaitable[Loop], connections: str, args: argparse.Namespace, server_pid: int
) -> Loop:
    profiler = start_profiler(args.py_spy, server_pid, args.seconds)
    cpu = Cpu.now(server_pid)
    loop = await closed_loop
    say(
        f"sustained {args.seconds:g} s, closed loop over {connections}: {len(loop.latencies)} acks, "
        f"{len(loop.latencies) / args.seconds:,.0f} acks/s; {latency_line(loop.latencies)}{loop.note}"
    )
    say(f"  {Cpu.now(server_pid).since(cpu)}")
    if profiler is not None:
        code = profiler.wait(args.seconds + STEP_SECONDS)
        outcome = f"written to {args.py_spy}" if code == 0 else f"FAILED (py-spy exit status {code})"
        say(f"  py-spy profile of the server {outcome}; the profiler perturbs these figures")
    return loop


async def metrics_phase(
    deputies: Sequence[Any], vote: str, args: argparse.Namespace, pid: int, before: float, port: int
) -> Loop:
    """The closed loop while ``/metrics`` is scraped, then once more without: what the scraping costs."""
    conn = await connect(HOST, port)
    stop = asyncio.Event()
    scrapes: list[float] = []

    async def scrape() -> None:
        request = request_bytes("GET", "/metrics", f"{HOST}:{port}")
        while not stop.is_set():
            started = time.perf_counter()
            response = await conn.request(request)
            if response.status != 200:
                raise RuntimeError(f"/metrics answered {response.status}")
            scrapes.append(response.at - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.scrape_seconds)

    scraper = asyncio.create_task(scrape())
    scraped = await sustained_phase(
        sustained(deputies, vote, args.seconds, "ms"), "connections, /metrics read", args, pid
    )
    stop.set()
    await scraper
    conn.close()
    await asyncio.sleep(0.2)
    again = await sustained_phase(
        sustained(deputies, vote, args.seconds, "mu"), "connections, unscraped again", args, pid
    )
    rate, after = len(scraped.latencies) / args.seconds, len(again.latencies) / args.seconds
    plain = (before + after) / 2
    cost = 1 - rate / plain
    say(
        f"/metrics read {len(scrapes)} times, every {args.scrape_seconds:g} s"
        f" (p50 {ms(statistics.median(scrapes))} a read):"
        f" {rate:,.0f} acks/s against {plain:,.0f} unscraped ({before:,.0f} before, {after:,.0f} after);"
        f" cost {cost * 100:.1f} % [≤ 3 % {met(cost <= 0.03)}]"
    )
    return Loop(0.0, [], scraped.total + again.total, scraped.errors + again.errors)


async def run(args: argparse.Namespace) -> int:
    from session_server.config import Settings

    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-bench-")))
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        began = time.perf_counter()
        seeded = await seed(url, args.deputies, tmp, signed=args.signed)
        seeding = time.perf_counter() - began

        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_PORT=str(free_port()))
        env["KVORUM_DATA_DIR"] = str(tmp / "server")
        metrics_port = free_port()
        if args.metrics:
            env["KVORUM_METRICS_ADDRESS"] = f"{HOST}:{metrics_port}"
        ws = args.transport == "ws"
        if ws:  # every deputy's socket comes from this one address
            env["KVORUM_WS_PER_ADDRESS"] = str(args.deputies + 10)
        server_pool = Settings.from_env(env).pool_size
        server = ServerProcess(env, tmp / "server.log")
        stack.callback(server.stop)
        await server.ready()

        admin: Any = await asyncpg.connect(url)
        stack.push_async_callback(admin.close)
        pg = {k: await admin.fetchval(f"SHOW {k}") for k in ("server_version", "synchronous_commit", "fsync")}
        say(f"Kvorum ballots: {args.deputies} deputies, {args.bursts} bursts, {args.seconds:g} s sustained")
        say(
            f"  database  {redacted(url)} ({origin}; PostgreSQL {pg['server_version'].split()[0]}, "
            f"synchronous_commit={pg['synchronous_commit']}, fsync={pg['fsync']})"
        )
        say(f"  server    python -m session_server serve, pid {server.pid}, {server.authority}, pool {server_pool}")
        loop_kind = type(asyncio.get_running_loop()).__module__.split(".")[0]
        if ws:
            say(
                f"  client    {loop_kind} event loop, transport ws: one WebSocket per deputy (websockets' sans-I/O "
                f"ClientProtocol in an asyncio.Protocol, benchmarks._ws_ballots, KVORUM_WS_PER_ADDRESS="
                f"{env['KVORUM_WS_PER_ADDRESS']}); steering over HTTP (benchmarks._http)"
            )
        else:
            say(f"  client    {loop_kind} event loop, one keep-alive HTTP/1.1 connection per deputy (benchmarks._http)")
        say(f"  machine   {os.cpu_count()} cores, Python {platform.python_version()}")
        say(
            f"  seeded    council {COUNCIL_ID!r} with {args.deputies} deputies, accounts and session {SESSION_ID!r} "
            f"in {seeding:.1f} s; deputy tokens minted with the server's signing key (no argon2 per deputy)"
        )
        if args.signed:
            say(
                f"  enrolled  {len(seeded.signers)} soft authenticators (ES256, user verification), one "
                f"credential.enrolled each, in {seeding and seeded.enrolling:.1f} s"
            )

        chair = Deputy("chair", "", await connect(HOST, server.port), server.authority)
        stack.callback(chair.conn.close)
        login = orjson.dumps({"username": "chair", "password": PASSWORD})
        chair.token = (await ok(chair.conn, chair.request("POST", "/api/v1/auth/login", login)))["access_token"]
        deputies = await connect_deputies(server.port, seeded.tokens)
        for d in deputies:
            stack.callback(d.conn.close)
        say(f"  connected chair (POST /api/v1/auth/login) and {len(deputies)} deputies, each warmed by GET /api/v1/me")
        vote = await steer(chair, deputies)
        if ws:
            head = await admin.fetchval("SELECT max(seq) FROM events WHERE stream = $1", f"session:{SESSION_ID}")
            for d in deputies:
                d.conn.close()
            path = f"/ws/sessions/{SESSION_ID}"
            began = time.perf_counter()
            sockets = await _ws_ballots.connect(HOST, server.port, path, seeded.tokens, head)
            for s in sockets:
                stack.callback(s.close)
            say(
                f"  closed the deputies' HTTP connections; opened {len(sockets)} WebSockets to {path}, each auth + "
                f"sync since {head} (the head) + subscribed, in {ms(time.perf_counter() - began)}"
            )
        say()

        if ws:
            floor_p99, floor_errors = float("nan"), list[str]()
            bursts = await burst_phase(ws_burst(sockets, vote, server.pid), args.bursts, server.pid)
            everywhere = statistics.median(b.everywhere for b in bursts)
        else:
            floor_p99, floor_errors = await floor_phase(deputies)
            bursts = await burst_phase(http_burst(deputies, vote), args.bursts, server.pid)
        p99, last = median_p99(bursts), statistics.median(b.last_to_ack for b in bursts)
        say()
        await asyncio.sleep(0.2)
        if ws:
            closed_loop = ws_sustained(sockets, vote, args.seconds)
            loop = await sustained_phase(closed_loop, f"{len(sockets)} WebSockets", args, server.pid)
        else:
            closed_loop = sustained(deputies, vote, args.seconds)
            loop = await sustained_phase(closed_loop, f"{len(deputies)} connections", args, server.pid)
        rate = len(loop.latencies) / args.seconds
        say()
        if args.metrics and not ws:
            scraped = await metrics_phase(deputies, vote, args, server.pid, rate, metrics_port)
            loop = Loop(loop.end, loop.latencies, loop.total + scraped.total, loop.errors + scraped.errors, loop.note)
            say()
        signed: Signed | None = None
        if args.signed or args.sealed:
            signed = await signed_phase(chair, deputies, seeded, vote, args, server.pid, rate, sealed=args.sealed)
            say()
        baselines = await baseline_phase(admin, url, server_pool, len(deputies), args.seconds, server.pid)
        ratio = rate / baselines[0].rate
        ratios = ", ".join(f"{rate / b.rate:.2f} of pool {b.pool}" for b in baselines)
        say(f"ratio: sustained acks/s ÷ baseline commits/s = {ratios}")
        say()

        server.stop()  # it waits for batches in flight, so the stream is final
        errors = floor_errors + [e for b in bursts for e in b.errors] + loop.errors
        acks = sum(len(b.latencies) for b in bursts) + loop.total
        if signed is not None:
            errors += signed.errors
            acks += signed.acks
        errors += await check_stream(url, acks)
        for error in errors[:5]:
            say(f"error: {error}")
        if ws:
            edge = f"every event on every socket {ms(everywhere)}; no floor"
            errors += [f"{n} event(s) out of seq order" for n in [sockets[0].fleet.gaps] if n]
            errors += [f"unexpected message: {m}" for m in sockets[0].fleet.others]
        say(
            f"ballots{', transport ws' if ws else ''}: burst p99 {ms(p99)} "
            f"(last→ack {ms(last)}; {edge if ws else f'HTTP floor {ms(floor_p99)}'}) "
            f"[≤ {TARGET_P99_MS:g} ms {met(max(p99, last) * 1000 <= TARGET_P99_MS)}], "
            f"sustained {rate:,.0f} acks/s [≥ {TARGET_ACKS:,.0f} {met(rate >= TARGET_ACKS)}], "
            f"baseline {baselines[0].rate:,.0f} commits/s (pool {baselines[0].pool}), "
            f"ratio {ratio:.2f} [≥ {TARGET_RATIO} {met(ratio >= TARGET_RATIO)}]"
            + (f"; {signed.summary()}" if signed is not None else "")
            + (f"; {len(errors)} ERRORS" if errors else "")
        )
        return 1 if errors else 0
    return 1  # unreachable: the stack does not swallow exceptions


@dataclass(frozen=True, slots=True)
class Signed:
    p99: float  # median of the signed bursts' p99, seconds
    last: float
    rate: float  # verified, durable ballots per second in the closed loop
    unsigned_rate: float
    acks: int
    errors: list[str]
    sealed: bool = False

    def summary(self) -> str:
        if self.sealed:  # issue 17: sealed results cost at most a tenth of the throughput
            ok = self.rate >= TARGET_SEALED_RATIO * self.unsigned_rate
            return (
                f"sealed: burst p99 {ms(self.p99)} (last→ack {ms(self.last)}), {self.rate:,.0f} ballots/s, "
                f"{self.rate / self.unsigned_rate:.2f} of unsealed [≥ {TARGET_SEALED_RATIO} {met(ok)}]"
            )
        ok_p99 = max(self.p99, self.last) * 1000 <= TARGET_SIGNED_P99_MS
        return (
            f"signed: burst p99 {ms(self.p99)} (last→ack {ms(self.last)}) "
            f"[≤ {TARGET_SIGNED_P99_MS:g} ms {met(ok_p99)}], "
            f"{self.rate:,.0f} verified ballots/s [≥ {TARGET_SIGNED:,.0f} {met(self.rate >= TARGET_SIGNED)}], "
            f"{self.rate / self.unsigned_rate:.2f} of unsigned"
        )


async def signed_phase(
    chair: Deputy,
    deputies: Sequence[Deputy],
    seeded: Seeded,
    unsigned_vote: str,
    args: argparse.Namespace,
    pid: int,
    unsigned_rate: float,
    *,
    sealed: bool = False,
) -> Signed:
    """Switch the council to signed ballots (or, with ``sealed``, to results sealed until the close), open
    a new vote, then bursts and the closed loop again."""
    chair.conn.close()  # idle through the phases before: the server may have closed it
    chair.conn = await connect(HOST, int(chair.authority.rpartition(":")[2]))
    admin = Deputy("admin", seeded.admin, chair.conn, chair.authority)
    setting: dict[str, Any] = {"results": "hidden"} if sealed else {"signed_ballots": True}
    configure = {"id": "sign-on", "type": "council.configure", **setting}
    await ok(chair.conn, admin.request("POST", "/api/v1/council/commands", orjson.dumps(configure)))
    await ok(chair.conn, chair.command({"id": "close-unsigned", "type": "vote.close", "vote": unsigned_vote}))
    open_vote = {"id": "vote-signed", "type": "vote.open", "item": "i1", "subject": "Підписане", "seconds": 900}
    opened = (await ok(chair.conn, chair.command(open_vote | {"rule": "majority_of_composition"})))["events"][0]
    vote, seed = str(opened["payload"]["vote"]), str(opened["payload"]["nonce_seed"])
    if not sealed:
        for d in deputies:
            d.signer = seeded.signers[d.member]
            d.signer.start(vote, "i1", seed)
    name = "sealed" if sealed else "signed"
    say(f"{name} ballots: council.configure {setting}, {unsigned_vote} closed, {vote} opened")
    bursts = await burst_phase(http_burst(deputies, vote, SIGNED_OFFSET), args.bursts, pid)
    say()
    await asyncio.sleep(0.2)
    loop = await sustained_phase(
        sustained(deputies, vote, args.seconds, "ss"), f"{len(deputies)} connections", args, pid
    )
    rate = len(loop.latencies) / args.seconds
    plain = "unsealed" if sealed else "unsigned"
    again = Loop(end=0.0)
    if sealed:
        # The sealed phase runs second, on a longer log: plain ballots once more after it, and the baseline is
        # the mean of the two plain runs, so the order of the phases does not count against either.
        again = await _plain_again(chair, admin, deputies, vote, args, pid)
        after = len(again.latencies) / args.seconds
        say(f"unsealed again: {after:,.0f} ballots/s (before: {unsigned_rate:,.0f})")
        unsigned_rate = (unsigned_rate + after) / 2
    say(f"{name} ÷ {plain} sustained: {rate / unsigned_rate:.2f} ({rate:,.0f} ÷ {unsigned_rate:,.0f} ballots/s)")
    errors = [e for b in bursts for e in b.errors] + loop.errors + again.errors
    acks = sum(len(b.latencies) for b in bursts) + loop.total + again.total
    last = statistics.median(b.last_to_ack for b in bursts)
    return Signed(median_p99(bursts), last, rate, unsigned_rate, acks, errors, sealed)


async def _plain_again(
    chair: Deputy, admin: Deputy, deputies: Sequence[Deputy], sealed_vote: str, args: argparse.Namespace, pid: int
) -> Loop:
    """Results as cast again, a new vote, the closed loop again: plain ballots after the sealed phase."""
    chair.conn.close()  # idle through the sealed phase: the server may have closed it
    chair.conn = await connect(HOST, int(chair.authority.rpartition(":")[2]))
    admin = Deputy("admin", admin.token, chair.conn, chair.authority)
    configure = {"id": "results-live", "type": "council.configure", "results": "live"}
    await ok(chair.conn, admin.request("POST", "/api/v1/council/commands", orjson.dumps(configure)))
    await ok(chair.conn, chair.command({"id": "close-sealed", "type": "vote.close", "vote": sealed_vote}))
    open_vote = {"id": "vote-plain-again", "type": "vote.open", "item": "i1", "subject": "Ще раз", "seconds": 900}
    opened = (await ok(chair.conn, chair.command(open_vote | {"rule": "majority_of_composition"})))["events"][0]
    await asyncio.sleep(0.2)
    loop = await sustained_phase(
        sustained(deputies, str(opened["payload"]["vote"]), args.seconds, "sa"),
        f"{len(deputies)} connections",
        args,
        pid,
    )
    return loop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ballots", description=__doc__.split("\n")[0])
    parser.add_argument("--deputies", type=bounded(1, 1000, int), default=450, help="deputies voting (default 450)")
    parser.add_argument("--bursts", type=bounded(1, 50, int), default=5, help="bursts to measure (default 5)")
    parser.add_argument("--seconds", type=bounded(1, 120, float), default=10.0, help="sustained phase (default 10)")
    parser.add_argument(
        "--transport", choices=("http", "ws"), default="http", help="cast ballots over HTTP (default) or WebSockets"
    )
    parser.add_argument("--signed", action="store_true", help="then again with WebAuthn-signed ballots (HTTP only)")
    parser.add_argument("--sealed", action="store_true", help="then again with results sealed until the close (HTTP)")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    parser.add_argument("--metrics", action="store_true", help="then again while /metrics is scraped (HTTP only)")
    parser.add_argument(
        "--scrape-seconds", type=bounded(0.1, 60, float), default=1.0, help="how often /metrics is read (default 1)"
    )
    parser.add_argument("--py-spy", type=Path, help="profile the server during the sustained phase into this file")
    args = parser.parse_args(argv)
    if (args.signed or args.sealed) and args.transport != "http":
        parser.error("--signed and --sealed are measured over HTTP only")
    if args.signed and args.sealed:
        parser.error("--signed or --sealed: each is measured against the plain ballots of the same run")
    return run_on_fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
