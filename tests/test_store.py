"""The event store on a real PostgreSQL: order, hash chain, atomicity, several processes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import secrets
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import pytest
import rfc8785

from session_server.application.sitting import HOT_STATEMENTS
from session_server.extensions import migrations as installed
from session_server.node import Node
from session_server.store.database import create_pool, warm
from session_server.store.events import RECORDED_COMMANDS, EventStore, StreamNotFound
from session_server.store.schema import available, migrate
from voting.canonical import GENESIS, ChainBroken, event_hash, seal, verify_chain

AT = "2026-11-24T10:00:00.000Z"


@pytest.fixture
async def store(database_url: str) -> EventStore:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    yield EventStore(pool)  # type: ignore[misc]
    await pool.close()


def test_leaf_is_the_rfc8785_form_of_the_whole_event() -> None:
    payload = {"vote": "v1", "choice": "for", "deputy": "d07", "note": "Ґ і ї \u0007 \U0001f600", "n": [3, None, True]}
    digest, leaf = seal(GENESIS, stream="session:x", seq=1, type="ballot.cast", payload=payload, actor="дeputy", at=AT)
    event = {"stream": "session:x", "seq": 1, "type": "ballot.cast", "payload": payload, "actor": "дeputy", "at": AT}
    assert leaf == rfc8785.dumps({**event, "hash": digest})
    assert digest == event_hash(GENESIS, event)


async def test_appends_number_from_one_and_chain(store: EventStore) -> None:
    first = await store.append(
        "session:a", [("session.opened", {}), ("registration.opened", {})], actor="chair", at=AT, kind="session"
    )
    second = await store.append(
        "session:a", [("presence.registered", {"deputy": "d01"})], actor="deputy01", at=AT, kind="session"
    )
    assert [e.seq for e in first + second] == [1, 2, 3]
    events = await store.read("session:a")
    assert [e.as_dict() for e in events] == [e.as_dict() for e in first + second]
    assert await store.verify("session:a") == 3
    assert [e.seq for e in await store.read("session:a", after=1)] == [2, 3]
    assert await store.head("session:a") == 3
    assert await store.head("session:none") is None


async def test_reading_after_a_seq_is_one_index_scan(store: EventStore) -> None:
    await store.append(
        "session:a",
        [("presence.registered", {"deputy": f"d{i}"}) for i in range(300)],
        actor="x",
        at=AT,
        kind="session",
    )
    plan = await store.pool.fetchval(
        "EXPLAIN (FORMAT JSON) SELECT leaf FROM events WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        "session:a",
        250,
        None,
    )
    text = str(plan)
    assert "Index" in text and "Sort" not in text, text


async def test_a_failed_transaction_appends_nothing(store: EventStore) -> None:
    await store.append("session:a", [("session.opened", {})], actor="chair", at=AT, kind="session")
    with pytest.raises(RuntimeError):
        async with store.appending("session:a") as tx:
            tx.append("registration.opened", {}, actor="chair", at=AT)
            raise RuntimeError("crash between decide and commit")
    assert await store.head("session:a") == 1
    again = await store.append("session:a", [("registration.opened", {})], actor="chair", at=AT, kind="session")
    assert again[0].seq == 2
    assert await store.verify("session:a") == 2


async def test_appending_to_a_missing_stream_without_kind_is_refused(store: EventStore) -> None:
    with pytest.raises(StreamNotFound):
        async with store.appending("session:ghost"):
            pass
    assert await store.head("session:ghost") is None


async def test_verify_finds_a_tampered_event(store: EventStore) -> None:
    await store.append(
        "session:a", [("presence.registered", {"deputy": f"d{i}"}) for i in range(5)], actor="x", at=AT, kind="session"
    )
    leaf = await store.pool.fetchval("SELECT leaf FROM events WHERE stream = 'session:a' AND seq = 3")
    forged = orjson.loads(leaf)
    forged["payload"]["deputy"] = "d99"
    async with store.pool.acquire() as conn:  # the tables' owner or a superuser, who can lift the guard
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_kept")
        await conn.execute("UPDATE events SET leaf = $1 WHERE stream = 'session:a' AND seq = 3", rfc8785.dumps(forged))
    with pytest.raises(ChainBroken) as broken:
        await store.verify("session:a")
    assert broken.value.seq == 3


def test_verify_chain_refuses_a_gap_and_a_reorder() -> None:
    events = []
    prev = GENESIS
    for seq in (1, 2, 3):
        digest, leaf = seal(prev, stream="s", seq=seq, type="t", payload={"i": seq}, actor="a", at=AT)
        events.append(orjson.loads(leaf))
        prev = bytes.fromhex(digest)
    assert verify_chain(events) == 3
    with pytest.raises(ChainBroken):
        verify_chain([events[0], events[2]])
    with pytest.raises(ChainBroken):
        verify_chain([events[1], events[0], events[2]])


_WORKER = """
import asyncio, sys, time
import asyncpg
from session_server.store.events import EventStore

async def main(url, name, count, start_at):
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    store = EventStore(pool)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    for i in range(count):
        await store.append("session:shared", [("presence.registered", {"by": name, "i": i})],
                           actor=name, at="2026-11-24T10:00:00.000Z", kind="session")
    await pool.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
"""


async def test_two_processes_appending_to_one_stream_keep_a_total_order(store: EventStore, database_url: str) -> None:
    count = 300
    start_at = time.time() + 1.5  # both processes are connected by then and start together
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER, database_url, name, str(count), str(start_at)
        )
        for name in ("alpha", "beta")
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), 90)
    assert codes == [0, 0]
    events = await store.read("session:shared")
    assert [e.seq for e in events] == list(range(1, 2 * count + 1))  # no gap, no duplicate
    assert await store.verify("session:shared") == 2 * count
    for name in ("alpha", "beta"):
        mine = [e.payload["i"] for e in events if e.payload["by"] == name]
        assert mine == list(range(count))  # each process's own order is kept
    interleavings = sum(1 for a, b in itertools.pairwise(events) if a.actor != b.actor)
    assert interleavings > 1, "the processes did not actually overlap"


async def test_migrations_apply_once(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn, installed()) == []  # the template already has them
        for component in installed():
            versions = [
                r["version"]
                for r in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1 ORDER BY version", component.name
                )
            ]
            assert versions == [m.version for m in available(component)]
        assert [c.name for c in installed()] == ["core", "portal", "video"]
    finally:
        await conn.close()


def test_the_core_schema_names_no_table_of_an_extension() -> None:
    extension_tables = [
        table
        for component in installed()[1:]
        for migration in available(component)
        for table in re.findall(r"CREATE TABLE (\w+)", migration.sql)
    ]
    assert {"documents", "od_motions", "video_settings", "webhook_deliveries"} <= set(extension_tables)
    for migration in available():
        named = [t for t in extension_tables if re.search(rf"\b{t}\b", migration.sql)]
        assert not named, f"core migration {migration.version:04d}_{migration.name} names {named}"


async def test_a_database_migrated_before_extensions_had_their_own_schema_keeps_its_tables(pg_server_url: str) -> None:
    """A node upgraded from the single list of migrations (every table made by a core migration) records the
    extensions' files that replace those core ones as applied, and runs nothing twice."""
    name = f"kvorum_old_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(urlunsplit(urlsplit(pg_server_url)._replace(path="/" + name)))
        try:
            # the old layout: one list, recorded by version alone, the extensions' tables among the core's
            old: dict[int, tuple[str, list[str]]] = {m.version: (m.name, [m.sql]) for m in available()}
            for component in installed()[1:]:
                for m in available(component):
                    if m.replaces is None:
                        continue  # written after the move: the extension's own from the start
                    version, old_name = m.replaces
                    sqls = old[version][1] if version in old else []
                    old[version] = (old_name, [*sqls, m.sql])
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for version in sorted(old):
                old_name, sqls = old[version]
                for sql in sqls:
                    await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, old_name)
            await conn.execute(
                "INSERT INTO documents (id, number, title, status, seq) VALUES ('d', 'ПР-1', 'т', 'registered', 1)"
            )

            newer = [(c.name, m.version) for c in installed()[1:] for m in available(c) if m.replaces is None]
            # nothing runs again; only what was written after the move runs, once
            assert [(m.component, m.version) for m in await migrate(conn, installed())] == newer
            assert await conn.fetchval("SELECT count(*) FROM documents") == 1  # the data stays
            recorded = {(r["component"], r["version"]) for r in await conn.fetch("SELECT * FROM schema_migrations")}
            for component in installed():
                assert {(component.name, m.version) for m in available(component)} <= recorded
            assert await migrate(conn, installed()) == []
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _plan_nodes(node: dict) -> list[dict]:
    found = [node]
    for child in node.get("Plans", []):
        found += _plan_nodes(child)
    return found


async def test_command_id_lookup_stays_a_key_probe_as_the_stream_grows(store: EventStore) -> None:
    """The plan PostgreSQL caches for the lookup, made while the stream was small, must not scan it all later."""

    async def record(first: int, count: int) -> None:
        async with store.appending("session:a", kind="session") as tx:
            for i in range(first, first + count):
                tx.append("presence.registered", {"i": i}, actor="x", at=AT)
                tx.record_command(f"c{i}", "x" if i % 2 else "y", 1)

    def batch(tag: str) -> str:  # a batch's worth of ids, as text for EXECUTE
        return "'{" + ",".join(f"n{tag}-{k}" for k in range(217)) + "}'"

    await record(0, 900)
    async with store.pool.acquire() as conn:
        await conn.execute(f"PREPARE lookup (text, text[]) AS {RECORDED_COMMANDS}")
        for round_ in range(8):  # after five custom plans PostgreSQL settles on a generic one
            await conn.execute(f"EXECUTE lookup ('session:a', {batch(str(round_))})")
        await record(900, 20_000)
        explained = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lookup ('session:a', {batch('z')})")
        plan = orjson.loads(explained)[0]["Plan"]
    scans = [n for n in _plan_nodes(plan) if n.get("Relation Name") == "commands"]
    assert scans, plan
    for scan in scans:
        assert "id" in scan.get("Index Cond", ""), plan
        assert scan.get("Rows Removed by Filter", 0) == 0, plan
    async with store.appending("session:a") as tx:
        found = await tx.recorded_commands(["c5", "c20898", "nope"])
    assert found == {"c5": ("x", 6, 1), "c20898": ("y", 20899, 1)}


async def _prepared(conn: asyncpg.Connection) -> set[str]:
    """The statements this connection's server session has prepared, whitespace folded."""
    rows = await conn.fetch("SELECT statement FROM pg_prepared_statements")
    return {" ".join(r["statement"].split()) for r in rows}


async def test_every_new_pooled_connection_has_an_appends_statements_ready_and_wrote_nothing(kvorum: Node) -> None:
    hot = {" ".join(query.split()) for query, _ in HOT_STATEMENTS}
    async with contextlib.AsyncExitStack() as stack:  # hold three at once: the pool must open new ones
        connections = [await stack.enter_async_context(kvorum.pool.acquire()) for _ in range(3)]
        assert len({c.get_server_pid() for c in connections}) == 3
        for conn in connections:
            assert hot <= await _prepared(conn)
    async with kvorum.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
        assert await conn.fetchval("SELECT count(*) FROM streams") == 0
        assert await conn.fetchval("SELECT count(*) FROM events") == 0


async def test_a_pool_opens_on_a_database_not_migrated_yet(pg_server_url: str) -> None:
    name = f"kvorum_t_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(pg_server_url)._replace(path="/" + name))
        pool = await create_pool(url, size=2, hot=HOT_STATEMENTS)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
                await warm(conn, HOT_STATEMENTS)
                assert {" ".join(q.split()) for q, _ in HOT_STATEMENTS} <= await _prepared(conn)
                assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
