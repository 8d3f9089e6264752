"""Durable consumers of the log: positions per stream in PostgreSQL, one node at a time.

A consumer reads each stream of its kinds after its stored position, handles the new events and
stores the new position in the same transaction as its effects. Every consumer of every extension
runs on one node at a time (one advisory lock) and catches up after downtime from its positions. An
event a handler fails on is retried, then parked, never allowed to stall the consumer (``Consumer``).
``rebuild`` forgets a consumer's positions and read model and reads everything again.

The consumers are registered by name (``Consumers``): an extension's ``open`` gives its own, the core
runs them all with one ``Runner`` and shows the administrator how far each is (``status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from session_server.application.service import Application
from session_server.store.consumer_rows import ConsumerRows, Fault
from session_server.store.events import StoredEvent
from session_server.store.ports import Database, Events

__all__ = ["Consumer", "Consumers", "Retry", "Runner"]

log = logging.getLogger(__name__)


class Parts(Protocol):
    """What a consumer is made from (``session_server.extensions.Core`` has it)."""

    @property
    def events(self) -> Events: ...

    @property
    def database(self) -> Database: ...

    @property
    def application(self) -> Application: ...


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
    """Base of the consumers; subclasses set ``name``, ``wake_on``, ``kinds`` and define ``handle``.

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

    def __init__(self, core: Parts) -> None:
        self.events = core.events
        self.database = core.database
        self.application = core.application
        self.rows = ConsumerRows(core.database)
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
        async with self._locked():
            return await self.work()

    async def rebuild(self) -> int:
        """Forget the positions, the faults and the read model, and read the whole log again."""
        async with self._locked():
            async with self.database.acquire() as conn, conn.transaction():
                await self.reset(conn)
                await self.rows.forget(conn, self.name)
            return await self.work()

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        async with self.database.acquire() as conn:
            await self.rows.lock(conn)
            try:
                yield
            finally:
                await self.rows.unlock(conn)

    async def work(self) -> int:
        """Handle every event of its streams after the stored positions (the caller holds the lock).

        A stream whose next event is waiting for its retry is skipped until then.
        """
        read = 0
        for stream, position in await self.rows.due(self.name, self.kinds):
            events = await self.events.read(stream, after=position)
            if not events:
                continue
            try:
                await self._handle(stream, events)
            except Exception:
                # Which event is at fault? One at a time: those before it land, it waits or is parked.
                read += await self._one_by_one(stream, events)
            else:
                read += len(events)
        return read

    async def _handle(self, stream: str, events: Sequence[StoredEvent]) -> None:
        async with self.database.acquire() as conn, conn.transaction():
            await self.handle(conn, stream, events)
            await self.rows.handled(conn, self.name, stream, events[-1].seq)

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
        tried, parked = await self.rows.failed(
            self.name, stream, event.seq, event.type, error, delay=self.retry.delay, attempts=self.retry.attempts
        )
        if parked:
            log.error(
                "consumer %s parked %s #%d (%s) after %d attempts: %s",
                self.name,
                stream,
                event.seq,
                event.type,
                tried,
                error,
            )
        else:
            log.warning(
                "consumer %s failed on %s #%d (attempt %d); it retries: %s", self.name, stream, event.seq, tried, error
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
                await self.rows.unparked(conn, self.name, stream, seq)
        except Exception as exc:
            await self.rows.failed_again(self.name, stream, seq, _described(exc))
            return False
        return True


def _described(exc: Exception) -> str:
    """A handler's failure as the administrator reads it in ``consumer_faults``."""
    return f"{type(exc).__name__}: {exc}"[:2000]


class Runner:
    """Runs consumers in the background: woken by their events, else every ``interval`` seconds.

    Each pass takes the consumers' lock on one connection (other nodes skip the pass while one runs
    it) and runs every consumer in turn, so the pool gives the consumers one connection at a time.
    """

    def __init__(self, database: Database, consumers: Sequence[Consumer], *, interval: float = 5.0) -> None:
        self.database = database
        self.rows = ConsumerRows(database)
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
            if not await self.rows.try_lock(conn):
                return False
            try:
                for consumer in self.consumers:
                    try:
                        await consumer.work()
                    except Exception:
                        log.exception("consumer %s failed; it retries", consumer.name)
                return True
            finally:
                await self.rows.unlock(conn)

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
            return await self.rows.until_retry(self.interval)
        except Exception:
            return self.interval


class Consumers(Mapping[str, Consumer]):
    """Every consumer of the app, by name; ``run`` runs them for the app's life."""

    def __init__(self, database: Database, consumers: Iterable[Consumer] = ()) -> None:
        self.rows = ConsumerRows(database)
        self._by_name: dict[str, Consumer] = {}
        for consumer in consumers:
            if consumer.name in self._by_name:
                raise ValueError(f"two consumers are named {consumer.name!r}")
            self._by_name[consumer.name] = consumer
        self.runner = Runner(database, list(self._by_name.values()))

    def __getitem__(self, name: str) -> Consumer:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    @contextlib.asynccontextmanager
    async def run(self, application: Application) -> AsyncIterator[Consumers]:
        """Woken by the commits they care about, run in the background until the block ends."""
        stop_listening = [application.listen(consumer.on_commit) for consumer in self._by_name.values()]
        await self.runner.start()
        try:
            yield self
        finally:
            for stop in stop_listening:
                stop()
            await self.runner.close()

    async def status(self) -> dict[str, Any]:
        """Each consumer's events behind, failing and parked; every failing or parked event."""
        behind = await self.rows.behind({name: c.kinds for name, c in self._by_name.items()})
        faults = await self.rows.faults()
        return {
            "consumers": [
                {
                    "name": name,
                    "behind": behind.get(name, 0),
                    "failing": sum(1 for f in faults if f.consumer == name and not f.parked),
                    "parked": sum(1 for f in faults if f.consumer == name and f.parked),
                }
                for name in sorted(self._by_name)
            ],
            "failing": [_listed(f) for f in faults if not f.parked],
            "parked": [_listed(f) for f in faults if f.parked],
        }

    async def retry(self, name: str, stream: str, seq: int) -> bool | None:
        """Handle a parked event again: None when there is no such parked event, else whether it went through."""
        consumer = self._by_name.get(name)
        if consumer is None or not await self.rows.is_parked(name, stream, seq):
            return None
        return await consumer.retry_parked(stream, seq)


def _listed(fault: Fault) -> dict[str, Any]:
    return {
        "consumer": fault.consumer,
        "stream": fault.stream,
        "seq": fault.seq,
        "type": fault.type,
        "attempts": fault.attempts,
        "error": fault.error,
        "failed_at": fault.failed_at.isoformat(),
        **({} if fault.parked else {"retry_at": fault.retry_at.isoformat()}),
    }
