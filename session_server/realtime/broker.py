"""Fan-out of committed events between nodes, chosen by URL: ``memory://`` or ``redis://``.

The broker is a fast path only. The committing node also hands its events to its own hub
directly, and every hub checks the store for streams it serves, so a lost broker message, a
broker restart or a broker that is down delays remote delivery but never loses an event.

On Redis one channel carries every stream. A message is the stream id, then each event's exact
canonical bytes (the ledger leaf), separated by newlines: RFC 8785 output never contains a raw
newline, so the leaves travel without being parsed or re-encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from session_server.config import ConfigError
from session_server.store.events import StoredEvent

log = logging.getLogger(__name__)

Deliver = Callable[[str, Sequence[StoredEvent]], None]
"""Where a broker hands the events it receives (the node's hub)."""

CHANNEL = "kvorum:events"


class Broker(Protocol):
    """Carries committed events to every node."""

    async def start(self, deliver: Deliver, on_reconnect: Callable[[], None]) -> None:
        """Begin receiving; ``on_reconnect`` is called after a connection was lost and regained."""

    def publish(self, stream: str, events: Sequence[StoredEvent]) -> None:
        """Send events to the other nodes without waiting (a failure is logged, never raised)."""

    async def close(self) -> None:
        """Stop receiving and sending."""


class MemoryBroker:
    """One process: nothing to carry, the committing node's hub already has the events."""

    async def start(self, deliver: Deliver, on_reconnect: Callable[[], None]) -> None:
        return None

    def publish(self, stream: str, events: Sequence[StoredEvent]) -> None:
        return None

    async def close(self) -> None:
        return None


def encode(stream: str, events: Sequence[StoredEvent]) -> bytes:
    """The wire form of one batch."""
    return b"\n".join([stream.encode(), *(e.leaf for e in events)])


def decode(message: bytes) -> tuple[str, list[StoredEvent]]:
    """Parse ``encode``'s output."""
    stream, *leaves = message.split(b"\n")
    return stream.decode(), [StoredEvent.from_leaf(leaf) for leaf in leaves]


class RedisBroker:
    """Redis pub/sub: at most once, which is all the fast path needs."""

    def __init__(self, url: str, *, retry_seconds: float = 1.0, queue_limit: int = 10_000) -> None:
        self.url = url
        self.retry_seconds = retry_seconds
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_limit)
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False

    async def start(self, deliver: Deliver, on_reconnect: Callable[[], None]) -> None:
        self._tasks = [
            asyncio.create_task(self._receive(deliver, on_reconnect), name="broker receive"),
            asyncio.create_task(self._send(), name="broker send"),
        ]

    def publish(self, stream: str, events: Sequence[StoredEvent]) -> None:
        try:
            self._outbox.put_nowait(encode(stream, events))
        except asyncio.QueueFull:  # Redis is slow or gone; other nodes catch up from the store
            log.warning("broker outbox full; dropped %d events of %s", len(events), stream)

    def _client(self) -> Any:
        from redis.asyncio import Redis

        return Redis.from_url(self.url, socket_connect_timeout=2, health_check_interval=10)

    async def _receive(self, deliver: Deliver, on_reconnect: Callable[[], None]) -> None:
        lost = False
        while True:
            client = self._client()
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.connected = True
                    if lost:
                        log.info("broker reconnected; catching up from the store")
                        on_reconnect()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            stream, events = decode(message["data"])
                        except Exception:
                            log.exception("unreadable broker message dropped")
                            continue
                        deliver(stream, events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not lost:
                    log.warning("broker %s unavailable (%s); serving local clients, polling the store", self.url, exc)
                lost = True
                self.connected = False
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(self.retry_seconds)

    async def _send(self) -> None:
        client = self._client()
        try:
            while True:
                message = await self._outbox.get()
                try:
                    await client.publish(CHANNEL, message)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.debug("broker publish failed (%s); remote nodes will catch up from the store", exc)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.connected = False


def open_broker(url: str) -> Broker:
    """The broker for ``url``: ``memory://`` or ``redis://``/``rediss://``; ConfigError (a ValueError) otherwise."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBroker()
    if scheme in ("redis", "rediss"):
        return RedisBroker(url)
    raise ConfigError(f"unknown broker scheme {scheme!r} in KVORUM_BROKER_URL (use memory:// or redis://)")
