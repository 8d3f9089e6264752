"""Each node's hub: committed events in, to every local subscriber of their stream, in order.

Per stream the hub knows the highest ``seq`` it delivered. Events at or below it are duplicates
(the local commit and the broker both bring them) and are dropped; events beyond the next one
mean something was lost on the way, and the gap is read from the store before delivery. A
periodic check of the stream heads in the store catches up streams whose broker messages never
arrived, so delivery is eventual whatever the broker does.

Every event is encoded once per node, for WebSocket and for SSE, and the same object goes to every
subscriber. A WebSocket subscriber that is in sync and whose socket keeps up gets the event's
ready frame written at once (``session_server.realtime.direct``), with no task woken, and an SSE
subscriber its ready chunk; any other gets it through its queue. A subscriber's queue is
bounded: when it overflows the subscriber is marked and told to resync, instead of the node's
memory growing with one slow client.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import orjson

from session_server.ops.metrics import METRICS
from session_server.realtime.direct import Direct, abort_later, chunk, text_frame, write_all
from session_server.store.events import EventStore, StoredEvent

log = logging.getLogger(__name__)


def public_event(event: StoredEvent) -> dict[str, object]:
    """What residents see of an event: everything but the account name of whoever issued it."""
    return {"seq": event.seq, "type": event.type, "payload": event.payload, "at": event.at, "hash": event.hash}


@dataclass(eq=False)
class Delivery:
    """One event as the hub sends it; each encoding is made once, on first use, for all subscribers."""

    event: StoredEvent
    seq: int = field(init=False)  # read once per subscriber: a plain attribute, not a property

    def __post_init__(self) -> None:
        self.seq = self.event.seq

    @cached_property
    def ws(self) -> str:
        """The WebSocket message ``{"type": "event", "event": …}``; the event is its exact leaf bytes."""
        return '{"type":"event","event":' + self.event.leaf.decode() + "}"

    @cached_property
    def frame(self) -> bytes:
        """:attr:`ws` as a whole WebSocket frame, the same bytes for every subscriber."""
        return text_frame(self.ws)

    @cached_property
    def sse(self) -> bytes:
        """The SSE frame: ``id:`` = seq, ``event:`` = type, ``data:`` = the public event."""
        data = orjson.dumps(public_event(self.event))
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.event.seq, self.event.type.encode(), data)

    @cached_property
    def sse_chunk(self) -> bytes:
        """:attr:`sse` as one chunk of a chunked HTTP response, the same bytes for every subscriber."""
        return chunk(self.sse)


class Batch:
    """Events committed together, in ``seq`` order: a direct subscriber gets all of them in one write.

    A vote's ballots arrive in group-committed batches; writing each batch once per subscriber
    instead of each event turns 450 ballots × 450 tablets into a few thousand writes.
    """

    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        self.deliveries = deliveries
        self.first = deliveries[0].seq
        self.last = deliveries[-1].seq

    @cached_property
    def frames(self) -> bytes:
        """Every event's WebSocket frame, back to back."""
        return b"".join(d.frame for d in self.deliveries)

    @cached_property
    def sse_chunks(self) -> bytes:
        """Every event's SSE chunk, back to back."""
        return b"".join(d.sse_chunk for d in self.deliveries)


class Overflowed(Exception):
    """The subscriber fell too far behind; it must resync from its last ``seq``."""


class Released(Exception):
    """The node is stopping: the subscriber should end its connection now, and its client resume elsewhere."""


@dataclass(eq=False, slots=True)
class Subscriber:
    """One client's place in a stream: a bounded queue of deliveries and local messages.

    While ``direct`` is set (by a connection that has sent everything it had queued, see
    :meth:`go_direct`), events bypass the queue: :meth:`deliver` hands back the connection, the hub
    writes the batch's WebSocket frames, or its SSE chunks if ``sse``, to it and to every other
    such connection at once, and ``sent`` is the last ``seq`` written. When a connection is not
    ready (its socket is backed up or closing), ``direct`` is cleared and events queue again until
    the connection has caught up and sets it anew, so order is kept.
    """

    limit: int
    items: deque[Delivery | str] = field(default_factory=deque)
    overflowed: bool = False
    released: bool = False
    # A bare Future while ``next`` waits: an asyncio.Event would hold a deque per idle connection.
    waiter: asyncio.Future[None] | None = None
    direct: Direct | None = None
    sse: bool = False
    sent: int = 0
    connection: Direct | None = None
    """The client's connection, cut (``direct.abort_later``) once the subscriber overflows: a client that
    stopped reading would otherwise keep it, with all that is queued for it, as long as TCP allows."""

    def attach(self, connection: Direct | None, *, sse: bool = False) -> None:
        """Name the connection to cut if this subscriber is dropped (``sse``: only if bytes are stuck)."""
        self.connection, self.sse = connection, sse

    def go_direct(self, connection: Direct | None, *, sse: bool = False) -> None:
        """Let events bypass the queue to ``connection`` if nothing is queued (and there is one)."""
        if connection is not None and not self.items:
            self.direct, self.sse = connection, sse

    def deliver(self, batch: Batch) -> Direct | None:
        """Hand events over: the connection to write the batch to at once when direct and ready, else queue them."""
        direct = self.direct
        if direct is not None:
            if batch.first <= self.sent:  # some were sent already (rare): the rest, as a batch of their own
                rest = [d for d in batch.deliveries if d.seq > self.sent]
                if rest:
                    part = Batch(rest)
                    if self.deliver(part) is not None:
                        write_all([direct], part.sse_chunks if self.sse else part.frames)
                return None
            if direct.ready():
                self.sent = batch.last
                return direct
            self.direct = None
        for delivery in batch.deliveries:
            self.put(delivery)
        return None

    def put(self, item: Delivery | str) -> None:
        """Queue ``item``; past the limit, drop everything and mark the subscriber overflowed."""
        if self.overflowed:
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            METRICS.resyncs.inc()
            self.items.clear()
            abort_later(self.connection, only_if_stuck=self.sse)
        else:
            self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def release(self) -> None:
        """The node is stopping: ``next`` raises Released (after what is already queued)."""
        self.released = True
        self.direct = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def next(self, idle_seconds: float | None = None) -> Delivery | str | None:
        """The next item; None after ``idle_seconds`` of nothing; Overflowed if it fell behind, Released
        once the node is stopping and nothing is left."""
        while not self.items:
            if self.overflowed:
                raise Overflowed
            if self.released:
                raise Released
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(idle_seconds):
                    await self.waiter
            except TimeoutError:
                return None
            finally:
                self.waiter = None
        if self.overflowed:
            raise Overflowed
        return self.items.popleft()


class CrowdCollector:
    """One full garbage collection once a crowd of new subscribers has stopped arriving.

    CPython collects its oldest generation once the objects that survived since the last full
    collection reach about a quarter of all. Every subscriber's connection leaves ~150 of them, so
    after a crowd connects the full collection comes at some later moment, when an allocation
    happens to tip it: most likely while the node is busy, that is while it fans an event out. It
    took 80 ms at 2,000 subscribers and 300–600 ms at 5,000–10,000, and delayed that event for
    everyone (``benchmarks.fanout``). Collecting as soon as no newcomer has arrived for
    ``quiet_seconds`` puts the pause where the crowd is still catching up, and resets CPython's
    count, so no automatic one follows in the middle of the session. "A crowd" is ``crowd`` arrivals
    and at least a fifth of all subscribers, so a node with many pays no more often than CPython
    would.
    """

    def __init__(self, *, crowd: int = 500, quiet_seconds: float = 1.0) -> None:
        self.crowd = crowd
        self.quiet_seconds = quiet_seconds
        self.arrived = 0
        self.collections = 0
        """Full collections made so far (for tests and metrics)."""
        self._timer: asyncio.TimerHandle | None = None

    def arrival(self, subscribers: int) -> None:
        """One more subscriber, of ``subscribers`` now; collect once they stop coming, if they are a crowd."""
        self.arrived += 1
        if self.arrived < max(self.crowd, subscribers // 5):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.quiet_seconds, self._collect)

    def _collect(self) -> None:
        self._timer = None
        self.arrived = 0
        gc.collect()
        self.collections += 1

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@dataclass(eq=False)
class _Topic:
    stream: str
    last_seq: int
    subscribers: set[Subscriber] = field(default_factory=set)
    inbox: deque[Sequence[StoredEvent] | int] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class Hub:
    """Fan committed events out to this node's subscribers; heal gaps from the store."""

    def __init__(
        self,
        store: EventStore,
        *,
        queue_limit: int = 1024,
        reconcile_seconds: float = 1.0,
        collector: CrowdCollector | None = None,
    ) -> None:
        self.store = store
        self.collector = collector or CrowdCollector()
        self.queue_limit = queue_limit
        self.reconcile_seconds = reconcile_seconds
        self._topics: dict[str, _Topic] = {}
        self._creating: dict[str, asyncio.Lock] = {}
        self._reconciler: asyncio.Task[None] | None = None
        self._stopped: set[asyncio.Task[None]] = set()
        """Tasks cancelled on the way (a topic's worker when its last subscriber left): awaited by ``close``."""
        self.gaps_healed = 0
        """Events the hub had to read from the store because they did not arrive (for tests and metrics)."""
        self.written_directly = 0
        """Batches of events written straight to a subscriber's socket, bypassing ASGI ``send`` (the fast
        path of ``session_server.realtime.direct``; for tests and metrics)."""
        self.releasing = False
        """Set by ``release``: a subscriber arriving now is released at once."""

    async def start(self) -> None:
        """Begin the periodic check of stream heads."""
        self._reconciler = asyncio.create_task(self._reconcile_forever(), name="hub reconcile")

    async def close(self) -> None:
        """Stop all background work."""
        self.collector.close()
        tasks = [t for t in [self._reconciler, *(t.worker for t in self._topics.values()), *self._stopped] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop(self, task: asyncio.Task[None]) -> None:
        """Cancel ``task`` from code that cannot wait for it; ``close`` awaits it if it is still going."""
        task.cancel()
        self._stopped.add(task)
        task.add_done_callback(self._stopped.discard)

    def release(self) -> None:
        """The node is stopping (SIGTERM): every subscriber ends its connection now, WebSockets with 1012
        and event streams by ending the response, so their clients resume on another node at once
        instead of when the graceful shutdown times out."""
        self.releasing = True
        for topic in self._topics.values():
            for subscriber in topic.subscribers:
                subscriber.release()

    def written_directly_now(self, stream: str) -> int:
        """How many subscribers of ``stream`` are in sync, so that its next event is written straight to them."""
        topic = self._topics.get(stream)
        return 0 if topic is None else sum(1 for s in topic.subscribers if s.direct is not None)

    @property
    def subscribers(self) -> int:
        """How many subscribers this node serves."""
        return sum(len(t.subscribers) for t in self._topics.values())

    def backlog(self) -> tuple[int, int, str | None]:
        """What waits to be sent (for ``/metrics``): the events queued for this node's subscribers, the longest
        one subscriber's queue, and the time of the oldest event still waiting (None when none waits). Read at
        a scrape, not kept up to date on the delivery path."""
        queued = longest = 0
        oldest: str | None = None
        for topic in self._topics.values():
            for subscriber in topic.subscribers:
                count = len(subscriber.items)  # a few local messages among them, if any: near enough
                if not count:
                    continue
                queued += count
                longest = max(longest, count)
                first = next((item for item in subscriber.items if isinstance(item, Delivery)), None)  # usually [0]
                if first is not None and (oldest is None or first.event.at < oldest):
                    oldest = first.event.at
        return queued, longest, oldest

    # ---- in ------------------------------------------------------------------------------

    def offer(self, stream: str, events: Sequence[StoredEvent]) -> None:
        """Committed events of ``stream`` (from this node's commits or the broker), in ``seq`` order."""
        topic = self._topics.get(stream)
        if topic is None or not events or events[-1].seq <= topic.last_seq:
            return
        self._enqueue(topic, events)

    def reconcile_now(self) -> None:
        """Check every served stream against the store soon (after the broker reconnects)."""
        if self._reconciler is not None and not self._reconciler.done():
            self._stop(self._reconciler)
        self._reconciler = asyncio.create_task(self._reconcile_forever(), name="hub reconcile")

    def _enqueue(self, topic: _Topic, item: Sequence[StoredEvent] | int) -> None:
        topic.inbox.append(item)
        if topic.worker is None or topic.worker.done():
            topic.worker = asyncio.create_task(self._work(topic), name=f"hub {topic.stream}")

    async def _work(self, topic: _Topic) -> None:
        while topic.inbox:
            item = topic.inbox.popleft()
            while not isinstance(item, int) and topic.inbox and not isinstance(next_ := topic.inbox[0], int):
                topic.inbox.popleft()
                item = [*item, *next_]  # commits that queued up go out as one batch
            try:
                if isinstance(item, int):  # the store's head: read what we have not seen
                    if item > topic.last_seq:
                        events = await self.store.read(topic.stream, after=topic.last_seq, limit=item - topic.last_seq)
                        self.gaps_healed += len(events)
                        self._deliver(topic, events)
                    continue
                fresh = [e for e in item if e.seq > topic.last_seq]
                if fresh and fresh[0].seq > topic.last_seq + 1:
                    missing = fresh[0].seq - topic.last_seq - 1
                    gap = await self.store.read(topic.stream, after=topic.last_seq, limit=missing)
                    self.gaps_healed += len(gap)
                    self._deliver(topic, gap)
                self._deliver(topic, fresh)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is unreachable: the periodic check will retry
                log.exception("hub could not heal a gap in %s", topic.stream)

    def _deliver(self, topic: _Topic, events: Sequence[StoredEvent]) -> None:
        deliveries = []
        for event in events:
            if event.seq != topic.last_seq + 1:
                continue  # already delivered, or a gap the next check will heal
            topic.last_seq = event.seq
            deliveries.append(Delivery(event))
        if deliveries:
            batch = Batch(deliveries)
            frames: list[Direct] = []
            chunks: list[Direct] = []
            # first who is ready, then the writes alone (session_server.realtime.direct)
            for subscriber in topic.subscribers:
                connection = subscriber.deliver(batch)
                if connection is not None:
                    (chunks if subscriber.sse else frames).append(connection)
            if frames:
                write_all(frames, batch.frames)
            if chunks:
                write_all(chunks, batch.sse_chunks)
            self.written_directly += len(frames) + len(chunks)

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self._reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("hub could not check stream heads: %s", exc)
            await asyncio.sleep(self.reconcile_seconds)

    async def _reconcile(self) -> None:
        streams = list(self._topics)
        if not streams:
            return
        for stream, head in (await self.store.heads(streams)).items():
            topic = self._topics.get(stream)
            if topic is not None and head > topic.last_seq:
                self._enqueue(topic, head)

    # ---- out -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscribe(self, stream: str) -> AsyncIterator[Subscriber]:
        """Receive every event of ``stream`` committed after this returns, in order, until the block ends.

        Events committed before may also arrive; a subscriber skips what it already has by ``seq``.
        """
        subscriber = Subscriber(self.queue_limit)
        if self.releasing:
            subscriber.release()
        topic = self._topics.get(stream)
        if topic is None:
            lock = self._creating.setdefault(stream, asyncio.Lock())
            async with lock:
                topic = self._topics.get(stream)
                if topic is None:
                    head = await self.store.head(stream)
                    topic = self._topics[stream] = _Topic(stream, head or 0)
            self._creating.pop(stream, None)
        topic.subscribers.add(subscriber)
        self.collector.arrival(self.subscribers)
        try:
            yield subscriber
        finally:
            topic.subscribers.discard(subscriber)
            if not topic.subscribers and self._topics.get(stream) is topic:
                del self._topics[stream]
                if topic.worker is not None:
                    self._stop(topic.worker)
