"""Durable consumers of the session log: positions per stream in PostgreSQL, one node at a time.

A consumer reads each stream of its kinds after its stored position, handles the new events and
stores the new position. The consumers run on one node at a time (one advisory lock), catch up after
downtime from their positions, and their handlers are idempotent, so an event handled twice (a crash
between the effect and the position) changes nothing. ``rebuild`` forgets a consumer's positions
and read model and reads everything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from session_server.store import EventStore, StoredEvent

log = logging.getLogger(__name__)


LOCK = "kvorum consumers"
"""One advisory lock for all the portal's consumers: one node runs them, one pass at a time."""


class Consumer:
    """Base of the portal's consumers; subclasses set ``name``, ``wake_on``, ``kinds`` and define ``handle``."""

    name = "consumer"
    wake_on: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ("session",)
    """The kinds of stream it follows (``session``, ``document``)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.wake = asyncio.Event()
        """Set when an event it cares about commits (the ``Runner`` shares one among its consumers)."""

    async def handle(self, stream: str, events: Sequence[StoredEvent]) -> None:
        """Handle a stream's events after the stored position (idempotently)."""
        raise NotImplementedError

    async def reset(self) -> None:
        """Empty this consumer's read model (for ``rebuild``)."""

    def on_commit(self, events: Sequence[StoredEvent]) -> None:
        """Listener: wake the runner at once when an event this consumer cares about commits."""
        if any(e.type in self.wake_on for e in events):
            self.wake.set()

    async def catch_up(self) -> int:
        """Wait for the consumers' lock, then handle what is new; return how many events were read."""
        async with self.store.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)
            try:
                return await self.work()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    async def rebuild(self) -> int:
        """Forget the positions and the read model, and read the whole log again."""
        async with self.store.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)
            try:
                await self.reset()
                await self.store.pool.execute("DELETE FROM consumer_positions WHERE consumer = $1", self.name)
                return await self.work()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)

    async def work(self) -> int:
        """Handle every event of its streams after the stored positions (the caller holds the lock)."""
        streams = await self.store.pool.fetch(
            """SELECT s.id, coalesce(p.seq, 0) AS seq FROM streams s
               LEFT JOIN consumer_positions p ON p.consumer = $1 AND p.stream = s.id
               WHERE s.kind = ANY($2::text[]) AND s.head_seq > coalesce(p.seq, 0) ORDER BY s.id""",
            self.name,
            list(self.kinds),
        )
        read = 0
        for row in streams:
            events = await self.store.read(row["id"], after=row["seq"])
            if events:
                await self.handle(row["id"], events)
                await self._save(row["id"], events[-1].seq)
                read += len(events)
        return read

    async def _save(self, stream: str, seq: int) -> None:
        await self.store.pool.execute(
            """INSERT INTO consumer_positions (consumer, stream, seq) VALUES ($1, $2, $3)
               ON CONFLICT (consumer, stream) DO UPDATE SET seq = EXCLUDED.seq""",
            self.name,
            stream,
            seq,
        )


class Runner:
    """Runs consumers in the background: woken by their events, else every ``interval`` seconds.

    Each pass takes the consumers' lock on one connection (other nodes skip the pass while one runs
    it) and runs every consumer in turn, so the pool gives the consumers one connection at a time.
    """

    def __init__(self, store: EventStore, consumers: Sequence[Consumer], *, interval: float = 5.0) -> None:
        self.store = store
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
        async with self.store.pool.acquire() as conn:
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
                async with asyncio.timeout(self.interval):
                    await self.wake.wait()
