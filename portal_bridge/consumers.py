"""Durable consumers of the session log: positions per stream in PostgreSQL, one node at a time.

A consumer reads each session stream after its stored position, handles the new events and stores
the new position. It runs on one node at a time (an advisory lock named after it), catches up after
downtime from its positions, and its handlers are idempotent, so an event handled twice (a crash
between the effect and the position) changes nothing. ``rebuild`` forgets the positions and the
consumer's read model and reads everything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from session_server.store import EventStore, StoredEvent

log = logging.getLogger(__name__)


class Consumer:
    """Base of the portal's consumers; subclasses set ``name`` and ``wake_on`` and define ``handle``."""

    name = "consumer"
    wake_on: frozenset[str] = frozenset()

    def __init__(self, store: EventStore, *, interval: float = 5.0) -> None:
        self.store = store
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def handle(self, stream: str, events: Sequence[StoredEvent]) -> None:
        """Handle a stream's events after the stored position (idempotently)."""
        raise NotImplementedError

    async def reset(self) -> None:
        """Empty this consumer's read model (for ``rebuild``)."""

    def on_commit(self, events: Sequence[StoredEvent]) -> None:
        """Listener: wake at once when an event this consumer cares about commits."""
        if any(e.type in self.wake_on for e in events):
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer {self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception:
                log.exception("consumer %s failed; it retries", self.name)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def catch_up(self) -> int:
        """Handle every session event after the stored positions; return how many events were read."""
        lock = f"kvorum consumer {self.name}"
        async with self.store.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
                return 0  # another node is running this consumer
            try:
                streams = await conn.fetch(
                    """SELECT s.id, coalesce(p.seq, 0) AS seq FROM streams s
                       LEFT JOIN consumer_positions p ON p.consumer = $1 AND p.stream = s.id
                       WHERE s.kind = 'session' AND s.head_seq > coalesce(p.seq, 0) ORDER BY s.id""",
                    self.name,
                )
                read = 0
                for row in streams:
                    events = await self.store.read(row["id"], after=row["seq"])
                    if events:
                        await self.handle(row["id"], events)
                        await self._save(row["id"], events[-1].seq)
                        read += len(events)
                return read
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)

    async def rebuild(self) -> int:
        """Forget the positions and the read model, and read the whole log again."""
        await self.reset()
        await self.store.pool.execute("DELETE FROM consumer_positions WHERE consumer = $1", self.name)
        return await self.catch_up()

    async def _save(self, stream: str, seq: int) -> None:
        await self.store.pool.execute(
            """INSERT INTO consumer_positions (consumer, stream, seq) VALUES ($1, $2, $3)
               ON CONFLICT (consumer, stream) DO UPDATE SET seq = EXCLUDED.seq""",
            self.name,
            stream,
            seq,
        )
