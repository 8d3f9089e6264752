"""The ballots benchmark's HTTP side: the seeded council, deputies on keep-alive connections, bursts and the
closed loop.

Used by ``benchmarks.ballots``; each deputy holds one HTTP/1.1 connection (``benchmarks._http``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from benchmarks import _signed_ballots
from benchmarks._harness import HOST, Cpu, ms, percentile, say
from benchmarks._http import HttpConnection, Response, connect, request_bytes

SESSION_ID = "rada-s1"
COUNCIL_ID = "rada"
PASSWORD = "bench-password"
CHOICES = ("for", "against", "abstain")
STEP_SECONDS = 60  # the longest any one request, burst or phase tail may take
SIGNED_OFFSET = 100  # signed bursts' command ids: b101-…, b102-…
CONTEXT_POOL = 64  # the baseline's second, wider pool


def latency_line(values: Sequence[float]) -> str:
    if not values:
        return "no acks"
    return f"p50 {ms(percentile(values, 50))}, p99 {ms(percentile(values, 99))}, max {ms(max(values))}"


# ---- deputies on the wire ----------------------------------------------------------------------


@dataclass(slots=True)
class Deputy:
    member: str
    token: str
    conn: HttpConnection
    authority: str
    signer: _signed_ballots.Signer | None = None  # set: ballots are signed

    def request(self, method: str, path: str, body: bytes = b"") -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return request_bytes(method, path, self.authority, headers=headers, body=body)

    def command(self, body: dict[str, Any]) -> bytes:
        return self.request("POST", f"/api/v1/sessions/{SESSION_ID}/commands", orjson.dumps(body))

    def ballot(self, vote: str, command_id: str, choice: str) -> bytes:
        body: dict[str, Any] = {"id": command_id, "type": "ballot.cast", "vote": vote, "choice": choice}
        if self.signer is not None:
            body |= self.signer.sign(self.member, choice)
        return self.command(body)


def acknowledged(response: Response) -> bool:
    """A 200 whose JSON reply carries the stream's ``seq`` after the commit."""
    if response.status != 200:
        return False
    try:
        return isinstance(orjson.loads(response.body).get("seq"), int)
    except orjson.JSONDecodeError:
        return False


def refusal(response: Response) -> str:
    return f"{response.status} {response.body[:200].decode(errors='replace')}"


async def ok(conn: HttpConnection, request: bytes) -> dict[str, Any]:
    async with asyncio.timeout(STEP_SECONDS):
        response = await conn.request(request)
    if response.status not in (200, 201):
        raise RuntimeError(f"setup request refused: {refusal(response)}")
    body: dict[str, Any] = orjson.loads(response.body)
    return body


async def connect_deputies(port: int, tokens: Sequence[tuple[str, str]]) -> list[Deputy]:
    """One connection per deputy, each warmed by ``GET /api/v1/me`` (which also checks the token)."""
    authority = f"{HOST}:{port}"
    conns = await asyncio.gather(*(connect(HOST, port) for _ in tokens))
    deputies = [Deputy(m, t, c, authority) for (m, t), c in zip(tokens, conns, strict=True)]
    await asyncio.gather(*(ok(d.conn, d.request("GET", "/api/v1/me")) for d in deputies))
    return deputies


# ---- phases ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Burst:
    latencies: list[float]
    last_to_ack: float
    spread: float  # first send → last send
    span: float  # first send → last ack
    errors: list[str]
    note: str = ""  # appended to the burst's line
    everywhere: float = float("nan")  # ws: first send → every socket held every event up to the last ack

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.span if self.span > 0 else 0.0


async def burst(deputies: Sequence[Deputy], requests: Sequence[bytes], accept: Callable[[Response], bool]) -> Burst:
    """Every deputy's request written in one loop, as close to the same moment as one process can."""
    waiters = [d.conn.expect() for d in deputies]
    sent = [d.conn.send(r) for d, r in zip(deputies, requests, strict=True)]
    async with asyncio.timeout(STEP_SECONDS):
        results = await asyncio.gather(*waiters, return_exceptions=True)
    latencies: list[float] = []
    errors: list[str] = []
    last_ack = sent[-1]
    for at, result in zip(sent, results, strict=True):
        if isinstance(result, BaseException):
            errors.append(repr(result))
        elif not accept(result):
            errors.append(refusal(result))
        else:
            latencies.append(result.at - at)
            last_ack = max(last_ack, result.at)
    final = results[-1]
    last_to_ack = final.at - sent[-1] if isinstance(final, Response) else float("nan")
    return Burst(latencies, last_to_ack, sent[-1] - sent[0], last_ack - sent[0], errors)


@dataclass(slots=True)
class Loop:
    """Counters of a closed-loop phase."""

    end: float
    latencies: list[float] = field(default_factory=list)  # acks that arrived by ``end``
    total: int = 0  # every ack, including those of ballots in flight at ``end``
    errors: list[str] = field(default_factory=list)
    note: str = ""  # appended to the phase's line


class _Voter:
    """One deputy in the closed loop: on each ack, the next ballot goes out from the callback."""

    def __init__(self, deputy: Deputy, index: int, vote: str, stats: Loop, prefix: str) -> None:
        self.deputy, self.index, self.vote, self.stats, self.prefix = deputy, index, vote, stats, prefix
        self.sent = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deputy.conn.on_response = self.answered
        deputy.conn.on_error = self.failed

    def send(self) -> None:
        self.sent += 1
        choice = CHOICES[(self.index + self.sent) % 3]
        self.deputy.conn.send(self.deputy.ballot(self.vote, f"{self.prefix}-{self.deputy.member}-{self.sent}", choice))

    def answered(self, response: Response) -> None:
        if not acknowledged(response):
            self.stats.errors.append(refusal(response))
            self.finish()
            return
        self.stats.total += 1
        if response.at <= self.stats.end:
            self.stats.latencies.append(response.at - self.deputy.conn.sent_at)
            self.send()
        else:
            self.finish()

    def failed(self, exc: BaseException) -> None:
        if not self.done.done():
            self.stats.errors.append(repr(exc))
        self.finish()

    def finish(self) -> None:
        self.deputy.conn.on_response = self.deputy.conn.on_error = None
        if not self.done.done():
            self.done.set_result(None)


async def sustained(deputies: Sequence[Deputy], vote: str, seconds: float, prefix: str = "s") -> Loop:
    start = time.perf_counter()
    stats = Loop(end=start + seconds)
    voters = [_Voter(d, i, vote, stats, prefix) for i, d in enumerate(deputies)]
    for voter in voters:
        voter.send()
    try:
        await asyncio.wait_for(asyncio.gather(*(v.done for v in voters)), seconds + STEP_SECONDS)
    finally:
        for voter in voters:
            voter.finish()
    return stats


@dataclass(frozen=True, slots=True)
class Baseline:
    pool: int
    commits: int
    seconds: float
    latencies: list[float]
    cpu: str

    @property
    def rate(self) -> float:
        return self.commits / self.seconds


async def insert_baseline(url: str, pool_size: int, tasks: int, seconds: float, server_pid: int) -> Baseline:
    """``tasks`` coroutines doing single-row autocommit INSERTs through one pool, for ``seconds``."""
    pool: Any = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
    try:
        cpu = Cpu.now(server_pid)  # after connecting: the backends' CPU vanishes from /proc when they exit
        latencies: list[float] = []
        end = time.perf_counter() + seconds

        async def worker() -> None:
            while (began := time.perf_counter()) < end:
                await pool.execute("INSERT INTO bench_raw (v) VALUES ($1)", "ballot")
                if (done := time.perf_counter()) <= end:
                    latencies.append(done - began)

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(tasks))), seconds + STEP_SECONDS)
        return Baseline(pool_size, len(latencies), seconds, latencies, Cpu.now(server_pid).since(cpu))
    finally:
        await pool.close()


async def baseline_phase(
    admin: Any, url: str, server_pool: int, tasks: int, seconds: float, pid: int
) -> list[Baseline]:
    """Raw commits at the server's pool size, then (for context) at up to 64 connections."""
    await admin.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, v text)")
    spare = await admin.fetchval(
        """SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                  - (SELECT count(*) FROM pg_stat_activity) - 5"""
    )
    sizes = [server_pool] + ([wide] if (wide := min(CONTEXT_POOL, spare)) > server_pool else [])
    baselines = []
    for size in sizes:
        base = await insert_baseline(url, size, tasks, seconds, pid)
        baselines.append(base)
        say(
            f"baseline, pool {size}: {base.commits} single-row INSERT commits by {tasks} tasks, "
            f"{base.rate:,.0f} commits/s; {latency_line(base.latencies)}"
        )
        say(f"  {base.cpu}")
    return baselines


async def check_stream(url: str, acks: int) -> list[str]:
    """Verify the session's hash chain; count its ballots against the acks; show the group commits."""
    from session_server.store.events import EventStore

    stream = f"session:{SESSION_ID}"
    pool: Any = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        events = await EventStore(pool).verify(stream)
        cast = await pool.fetchval(
            "SELECT count(*) FROM events WHERE stream = $1 AND type IN ('ballot.cast', 'ballot.sealed')", stream
        )
        # now() is the transaction's start, so distinct `at` values of the commands count the transactions.
        phases = await pool.fetch(
            """SELECT split_part(id, '-', 1) AS phase, count(*) AS ballots, count(DISTINCT at) AS transactions
               FROM commands WHERE stream = $1 AND id ~ '^(b[0-9]+|s|ss)-' GROUP BY 1 ORDER BY 1""",
            stream,
        )
    finally:
        await pool.close()
    say(
        f"check: hash chain of {stream} verifies ({events} events); {cast} ballots for {acks} acks "
        f"({'equal' if cast == acks else 'DIFFERENT'})"
    )
    names = {"s": "sustained", "ss": "signed/sealed sustained"} | {f"b{n}": f"burst {n}" for n in range(1, 51)}
    names |= {f"b{n + SIGNED_OFFSET}": f"signed/sealed burst {n}" for n in range(1, 51)}
    grouped = ", ".join(f"{names[r['phase']]} {r['ballots']}/{r['transactions']}" for r in phases)
    say(f"group commit, ballots/transactions: {grouped}")
    return [] if cast == acks else [f"{cast} ballot events but {acks} acks"]


@dataclass(frozen=True, slots=True)
class Seeded:
    tokens: list[tuple[str, str]]  # (member id, access token) per deputy
    admin: str  # the administrator's access token
    signers: dict[str, _signed_ballots.Signer]  # with --signed: each deputy's enrolled tablet
    enrolling: float  # seconds


async def seed(url: str, deputies: int, tmp: Path, *, signed: bool) -> Seeded:
    """Council, roster, accounts (one precomputed argon2 hash) and a scheduled session; deputy tokens."""
    from session_server.application import SYSTEM, council_stream, session_stream
    from session_server.config import Settings
    from session_server.domain.commands import AgendaItemIn, CouncilCreate, DeputyAdd, SessionSchedule
    from session_server.identity.accounts import hash_password
    from session_server.node import Node

    members = [f"d{n:03d}" for n in range(1, deputies + 1)]
    settings = Settings(database_url=url, data_dir=tmp, access_token_seconds=3600)
    async with Node.open(settings) as kvorum:
        stream = council_stream(COUNCIL_ID)
        create = CouncilCreate(
            id="bench-council",
            type="council.create",
            council=COUNCIL_ID,
            name="Верховна Рада (benchmark)",
            composition=deputies,
            first_ballot_final=False,
            demo=True,  # unsigned ballots first; --signed switches them on later
            signed_ballots=False,
            results="live",  # ballots as cast first; --sealed seals them later
            rp_id=_signed_ballots.RP_ID,
            origins=[_signed_ballots.ORIGIN],
        )
        await kvorum.application.execute(stream, create, SYSTEM)
        await asyncio.gather(
            *(
                kvorum.application.execute(
                    stream, DeputyAdd(id=f"add-{m}", type="deputy.add", deputy=m, name=f"Депутат {m}"), SYSTEM
                )
                for m in members
            )
        )
        digest = await asyncio.to_thread(hash_password, PASSWORD)
        await kvorum.accounts.add("chair", PASSWORD, "chair", display_name="Голова", password_hash=digest)
        admin = await kvorum.accounts.add("admin", PASSWORD, "admin", password_hash=digest)
        users = await asyncio.gather(
            *(
                kvorum.accounts.add(f"deputy{m[1:]}", PASSWORD, "deputy", member=m, password_hash=digest)
                for m in members
            )
        )
        schedule = SessionSchedule(
            id="bench-session",
            type="session.schedule",
            session_id=SESSION_ID,
            number=1,
            convocation=9,
            date=time.strftime("%Y-%m-%d"),
            title="Пленарне засідання (benchmark)",
            agenda=[AgendaItemIn(id="i1", number="1", title="Законопроєкт (benchmark)")],
        )
        await kvorum.application.execute(session_stream(SESSION_ID), schedule, SYSTEM)
        signers, enrolling = (
            await _signed_ballots.enroll(kvorum, COUNCIL_ID, SESSION_ID, members) if signed else ({}, 0.0)
        )
        # Signed with the key the server will load from signing_keys: the same as logging in, minus argon2.
        tokens = [(u.member or "", kvorum.access.issue(u)) for u in users]
        return Seeded(tokens, kvorum.access.issue(admin), signers, enrolling)
