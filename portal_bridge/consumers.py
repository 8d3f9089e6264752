"""Durable consumers of the session log: positions per stream in PostgreSQL, one node at a time.

A consumer reads each stream of its kinds after its stored position, handles the new events and
stores the new position in the same transaction as its effects. The consumers run on one node at a
time (one advisory lock) and catch up after downtime from their positions. An event a handler fails
on is retried, then parked, never allowed to stall the consumer (``Consumer``). ``rebuild`` forgets
a consumer's positions and read model and reads everything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from session_server.domain.roles import Role
from session_server.extensions import Core, core_of
from session_server.http.openapi import described
from session_server.http.responses import ApiError, JSONResponse, principal
from session_server.store.events import StoredEvent

log = logging.getLogger(__name__)


LOCK = "kvorum consumers"
"""One advisory lock for all the portal's consumers: one node runs them, one pass at a time."""


@dataclass(frozen=True)
class Retry:
    """How a consumer retries an event it fails on before parking it."""

    attempts: int = 5
    """Attempts in all; the last failure parks the event."""
    first_delay: float = 1.0
    """Seconds before the second attempt; each later one waits twice as long (1, 2, 4, 8 s)."""

    def delay(self, attempts: int) -> float:
        return float(self.first_delay * 2 ** (attempts - 1))


class Consumer:
    """Base of the portal's consumers; subclasses set ``name``, ``wake_on``, ``kinds`` and define ``handle``.

    ``handle`` runs inside the transaction that also moves the consumer's position, so its effects
    on its read model and the position commit together: each event acts exactly once. An event
    ``handle`` fails on is retried with backoff (``Retry``), the stream waiting meanwhile while the
    other streams go on; after the last attempt it is parked (``consumer_faults``, listed by ``GET
    /api/v1/consumers``) and the stream goes on past it.
    """

    name = "consumer"
    wake_on: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ("session",)
    """The kinds of stream it follows (``session``, ``document``)."""
    retry = Retry()

    def __init__(self, core: Core) -> None:
        self.events = core.events
        self.database = core.database
        self.application = core.application
        self.wake = asyncio.Event()
        """Set when an event it cares about commits (the ``Runner`` shares one among its consumers)."""

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        """Handle a stream's events after the stored position, on ``conn`` (in the position's transaction)."""
        raise NotImplementedError

    async def reset(self, conn: asyncpg.Connection) -> None:
        """Empty this consumer's read model (for ``rebuild``)."""

    def on_commit(self, events: Sequence[StoredEvent]) -> None:
        """Listener: wake the runner at once when an event this consumer cares about commits."""
        if any(e.type in self.wake_on for e in events):
            self.wake.set()

    async def catch_up(self) -> int:
        """Wait for the consumers' lock, then handle what is new; return how many events were read."""
        async with self.database.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)
            try:
                return await self.work()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    async def rebuild(self) -> int:
        """Forget the positions, the faults and the read model, and read the whole log again."""
        async with self.database.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)
            try:
                async with conn.transaction():
                    await self.reset(conn)
                    await conn.execute("DELETE FROM consumer_positions WHERE consumer = $1", self.name)
                    await conn.execute("DELETE FROM consumer_faults WHERE consumer = $1", self.name)
                return await self.work()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    async def work(self) -> int:
        """Handle every event of its streams after the stored positions (the caller holds the lock).

        A stream whose next event is waiting for its retry is skipped until then.
        """
        streams = await self.database.fetch(
            """SELECT s.id, coalesce(p.seq, 0) AS seq FROM streams s
               LEFT JOIN consumer_positions p ON p.consumer = $1 AND p.stream = s.id
               WHERE s.kind = ANY($2::text[]) AND s.head_seq > coalesce(p.seq, 0)
                 AND NOT EXISTS (SELECT 1 FROM consumer_faults f WHERE f.consumer = $1 AND f.stream = s.id
                                 AND NOT f.parked AND f.retry_at > now())
               ORDER BY s.id""",
            self.name,
            list(self.kinds),
        )
        read = 0
        for row in streams:
            events = await self.events.read(row["id"], after=row["seq"])
            if not events:
                continue
            try:
                await self._handle(row["id"], events)
            except Exception:
                # Which event is at fault? One at a time: those before it land, it waits or is parked.
                read += await self._one_by_one(row["id"], events)
            else:
                read += len(events)
        return read

    async def _handle(self, stream: str, events: Sequence[StoredEvent]) -> None:
        async with self.database.acquire() as conn, conn.transaction():
            await self.handle(conn, stream, events)
            await conn.execute(SAVE_POSITION, self.name, stream, events[-1].seq)
            await conn.execute(
                "DELETE FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq <= $3 AND NOT parked",
                self.name,
                stream,
                events[-1].seq,
            )

    async def _one_by_one(self, stream: str, events: Sequence[StoredEvent]) -> int:
        done = 0
        for event in events:
            try:
                await self._handle(stream, [event])
            except Exception as exc:
                if not await self._failed(stream, event, exc):
                    return done  # it waits for its retry; the stream's later events wait behind it
            done += 1
        return done

    async def _failed(self, stream: str, event: StoredEvent, exc: Exception) -> bool:
        """Record a failure; whether the event is now parked (and the position moved past it)."""
        error = _described(exc)
        async with self.database.acquire() as conn, conn.transaction():
            attempts = 1 + (
                await conn.fetchval(
                    "SELECT attempts FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3",
                    self.name,
                    stream,
                    event.seq,
                )
                or 0
            )
            parked = attempts >= self.retry.attempts
            await conn.execute(
                """INSERT INTO consumer_faults (consumer, stream, seq, type, attempts, error, retry_at, parked)
                   VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)
                   ON CONFLICT (consumer, stream, seq) DO UPDATE SET attempts = EXCLUDED.attempts,
                       error = EXCLUDED.error, failed_at = now(), retry_at = EXCLUDED.retry_at,
                       parked = EXCLUDED.parked""",
                self.name,
                stream,
                event.seq,
                event.type,
                attempts,
                error,
                self.retry.delay(attempts),
                parked,
            )
            if parked:
                await conn.execute(SAVE_POSITION, self.name, stream, event.seq)
        if parked:
            log.error(
                "consumer %s parked %s #%d (%s) after %d attempts: %s",
                self.name,
                stream,
                event.seq,
                event.type,
                attempts,
                error,
            )
        else:
            log.warning(
                "consumer %s failed on %s #%d (attempt %d); it retries: %s",
                self.name,
                stream,
                event.seq,
                attempts,
                error,
            )
        return parked

    async def retry_parked(self, stream: str, seq: int) -> bool:
        """Handle a parked event again (after a fix); whether it went through (then it is no longer parked)."""
        events = await self.events.read(stream, after=seq - 1, limit=1)
        if not events or events[0].seq != seq:
            return False
        try:
            async with self.database.acquire() as conn, conn.transaction():
                await self.handle(conn, stream, events)
                await conn.execute(
                    "DELETE FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3",
                    self.name,
                    stream,
                    seq,
                )
        except Exception as exc:
            await self.database.execute(
                """UPDATE consumer_faults SET attempts = attempts + 1, error = $4, failed_at = now()
                   WHERE consumer = $1 AND stream = $2 AND seq = $3""",
                self.name,
                stream,
                seq,
                _described(exc),
            )
            return False
        return True


def _described(exc: Exception) -> str:
    """A handler's failure as the administrator reads it in ``consumer_faults``."""
    return f"{type(exc).__name__}: {exc}"[:2000]


SAVE_POSITION = """INSERT INTO consumer_positions (consumer, stream, seq) VALUES ($1, $2, $3)
                   ON CONFLICT (consumer, stream) DO UPDATE SET seq = EXCLUDED.seq"""


class Runner:
    """Runs consumers in the background: woken by their events, else every ``interval`` seconds.

    Each pass takes the consumers' lock on one connection (other nodes skip the pass while one runs
    it) and runs every consumer in turn, so the pool gives the consumers one connection at a time.
    """

    def __init__(self, core: Core, consumers: Sequence[Consumer], *, interval: float = 5.0) -> None:
        self.database = core.database
        self.consumers = list(consumers)
        self.interval = interval
        self.wake = asyncio.Event()
        for consumer in self.consumers:
            consumer.wake = self.wake
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="consumers")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> bool:
        """One pass, if no other node is running one; whether it ran."""
        async with self.database.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK):
                return False
            try:
                for consumer in self.consumers:
                    try:
                        await consumer.work()
                    except Exception:
                        log.exception("consumer %s failed; it retries", consumer.name)
                return True
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("the consumers' pass failed; it retries")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(await self._until_next_retry()):
                    await self.wake.wait()

    async def _until_next_retry(self) -> float:
        """Seconds until the next pass: ``interval``, or sooner when a failed event's retry is due."""
        try:
            due = await self.database.fetchval(
                "SELECT extract(epoch FROM min(retry_at) - now()) FROM consumer_faults WHERE NOT parked"
            )
        except Exception:
            return self.interval
        return self.interval if due is None else min(self.interval, max(0.05, float(due)))


# ---- the administrator's view ------------------------------------------------------------------


_ADMIN_ONLY = {403: "The consumers are looked after by an administrator"}
_FAULT = {
    "type": "object",
    "required": ["consumer", "stream", "seq", "type", "attempts", "error", "failed_at"],
    "properties": {
        "consumer": {"type": "string"},
        "stream": {"type": "string"},
        "seq": {"type": "integer"},
        "type": {"type": "string", "description": "the event's type"},
        "attempts": {"type": "integer"},
        "error": {"type": "string", "description": "the last failure, for the administrator"},
        "failed_at": {"type": "string", "format": "date-time"},
        "retry_at": {"type": "string", "format": "date-time", "description": "failing ones: the next attempt"},
    },
}
"""A failing or parked event, as ``status`` lists it (for the OpenAPI document)."""


async def _admin(request: Request) -> None:
    who = await principal(request)
    if who.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "the log's consumers are looked after by an administrator")


@described(
    "The log's consumers: events behind, failing and parked, and every failing or parked event",
    returns={
        "type": "object",
        "required": ["consumers", "failing", "parked"],
        "properties": {
            "consumers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "behind", "failing", "parked"],
                    "properties": {
                        "name": {"type": "string"},
                        "behind": {"type": "integer"},
                        "failing": {"type": "integer"},
                        "parked": {"type": "integer"},
                    },
                },
            },
            "failing": {"type": "array", "items": _FAULT},
            "parked": {"type": "array", "items": _FAULT},
        },
    },
    errors_=(401, 403),
    reasons=_ADMIN_ONLY,
    bearer=True,
)
async def status(request: Request) -> Response:
    """``GET /api/v1/consumers``: each consumer's events behind, failing and parked; every parked event."""
    await _admin(request)
    consumers: dict[str, Consumer] = request.app.state.consumers
    pool = core_of(request).database
    behind = {
        r["consumer"]: r["behind"]
        for r in await pool.fetch(
            """SELECT c.consumer, sum(s.head_seq - coalesce(p.seq, 0))::bigint AS behind
               FROM unnest($1::text[], $2::text[]) AS c (consumer, kind)
               JOIN streams s ON s.kind = c.kind
               LEFT JOIN consumer_positions p ON p.consumer = c.consumer AND p.stream = s.id
               GROUP BY c.consumer""",
            *zip(*[(c.name, kind) for c in consumers.values() for kind in c.kinds], strict=True),
        )
    }
    faults = await pool.fetch(
        """SELECT consumer, stream, seq, type, attempts, error, failed_at, retry_at, parked FROM consumer_faults
           ORDER BY failed_at DESC LIMIT 1000"""
    )
    listed = [
        {
            "consumer": f["consumer"],
            "stream": f["stream"],
            "seq": f["seq"],
            "type": f["type"],
            "attempts": f["attempts"],
            "error": f["error"],
            "failed_at": f["failed_at"].isoformat(),
            **({} if f["parked"] else {"retry_at": f["retry_at"].isoformat()}),
        }
        for f in faults
    ]
    return JSONResponse(
        {
            "consumers": [
                {
                    "name": name,
                    "behind": int(behind.get(name) or 0),
                    "failing": sum(1 for f in faults if f["consumer"] == name and not f["parked"]),
                    "parked": sum(1 for f in faults if f["consumer"] == name and f["parked"]),
                }
                for name in sorted(consumers)
            ],
            "failing": [f for f, row in zip(listed, faults, strict=True) if not row["parked"]],
            "parked": [f for f, row in zip(listed, faults, strict=True) if row["parked"]],
        }
    )


@described(
    "Handle a parked event again, after a fix (admin)",
    ok=(200, "Handled: no longer parked"),
    returns={
        "type": "object",
        "required": ["consumer", "stream", "seq", "status"],
        "properties": {
            "consumer": {"type": "string"},
            "stream": {"type": "string"},
            "seq": {"type": "integer"},
            "status": {"const": "handled"},
        },
    },
    errors_=(401, 403, 404, 409),
    reasons={**_ADMIN_ONLY, 404: "No such parked event", 409: "It failed again (still_failing)"},
    bearer=True,
)
async def retry(request: Request) -> Response:
    """``POST /api/v1/consumers/{consumer}/parked/{stream}/{seq}/retry``: handle a parked event again."""
    await _admin(request)
    consumers: dict[str, Consumer] = request.app.state.consumers
    consumer = consumers.get(request.path_params["consumer"])
    stream, seq = request.path_params["stream"], request.path_params["seq"]
    parked = consumer is not None and await core_of(request).database.fetchval(
        "SELECT parked FROM consumer_faults WHERE consumer = $1 AND stream = $2 AND seq = $3",
        consumer.name,
        stream,
        seq,
    )
    if consumer is None or not parked or not 1 <= seq <= LARGEST_SEQ:
        raise ApiError(404, "not_found", "no such parked event")
    if not await consumer.retry_parked(stream, seq):
        raise ApiError(409, "still_failing", "the event failed again; its error is updated")
    return JSONResponse({"consumer": consumer.name, "stream": stream, "seq": seq, "status": "handled"})


LARGEST_SEQ = 2**63 - 1


def routes() -> list[BaseRoute]:
    """The administrator's view of the consumers, under ``/api/v1``."""
    return [
        Route("/consumers", status),
        Route("/consumers/{consumer}/parked/{stream}/{seq:int}/retry", retry, methods=["POST"]),
    ]
