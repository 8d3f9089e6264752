"""An upgrade without stopping a sitting: of two nodes serving a vote, one is stopped and started again as the
next release, whose start applies an expand migration (``tests/next_release``) while the other node, still the
old release, keeps taking ballots on the changed schema. Deputies' tablets keep voting the whole time, through
a proxy that sends a request the stopped node refuses to the other one (as nginx does); not one ballot is
refused or lost: the vote counts each deputy's last acknowledged choice, and the log holds every acknowledged
ballot once."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cluster_support import KVORUM, SESSION, Cluster, Node, cluster, start
from conftest import eventually
from next_release import MIGRATIONS

from session_server import demo
from session_server.config import Settings
from session_server.extensions import migrations
from session_server.store.schema import available, migrate

NEXT_RELEASE = (KVORUM[0], "-m", "next_release")
VOTERS = [f"deputy{n:02d}" for n in range(1, 21)]
CHOICES = ("for", "against", "abstain")


@dataclass
class Proxy:
    """What nginx does in front of the nodes: a request a node refuses (stopped, restarting) goes to another.
    A command sent again keeps its id, so a node that did take it answers with its first outcome."""

    client: httpx.AsyncClient
    nodes: list[Node]
    answered_by: list[int] = field(default_factory=list)

    async def command(self, home: int, token: str, body: dict[str, Any]) -> httpx.Response:
        for attempt in range(200):
            node = self.nodes[(home + attempt) % len(self.nodes)]
            try:
                response = await self.client.post(
                    f"{node.http}/api/v1/sessions/{SESSION}/commands",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError:
                await asyncio.sleep(0.02)
                continue
            self.answered_by.append(node.port)
            return response
        raise AssertionError("no node answered")


@dataclass
class Tablets:
    """Deputies voting and changing their votes until told to stop; what each was last acknowledged."""

    proxy: Proxy
    tokens: dict[str, str]
    vote: str
    last: dict[str, str] = field(default_factory=dict)
    acknowledged: int = 0
    refused: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def vote_on(self, index: int, deputy: str) -> None:
        for round_ in itertools.count():
            if self.stop.is_set():
                return
            choice = CHOICES[(index + round_) % len(CHOICES)]
            body = {"id": secrets.token_hex(8), "type": "ballot.cast", "vote": self.vote, "choice": choice}
            response = await self.proxy.command(index, self.tokens[deputy], body)
            self.answered.set()
            if response.status_code != 200:
                self.refused.append(f"{deputy} {choice}: {response.status_code} {response.text}")
                return
            self.last[deputy] = choice
            self.acknowledged += 1
            await asyncio.sleep(0.05)

    async def until(self, count: int, seconds: float = 60) -> None:
        async with asyncio.timeout(seconds):
            while self.acknowledged < count and not self.refused:
                self.answered.clear()
                await self.answered.wait()


@pytest.fixture
async def nodes(settings: Settings, redis_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with cluster(settings, redis_url, tmp_path, 2) as running:
        yield running


@pytest.mark.timeout(180)
async def test_one_of_two_nodes_is_upgraded_during_a_vote_without_a_refused_or_lost_ballot(
    nodes: Cluster, settings: Settings
) -> None:
    started, tokens = nodes.nodes, nodes.tokens
    old, upgraded = started
    async with httpx.AsyncClient(timeout=30) as client:
        proxy = Proxy(client, started)

        async def ok(user: str, type_: str, **fields: Any) -> None:
            response = await proxy.command(0, tokens[user], {"id": secrets.token_hex(8), "type": type_, **fields})
            assert response.status_code == 200, response.text

        await ok("chair", "session.open")
        await ok("secretary", "registration.open")
        await asyncio.gather(*(ok(u, "presence.register") for u in VOTERS))
        await ok("secretary", "registration.close")
        await ok("chair", "item.start", item="i1")
        await ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=900)

        tablets = Tablets(proxy, tokens, "v1")
        voting = [asyncio.create_task(tablets.vote_on(i, deputy)) for i, deputy in enumerate(VOTERS)]
        try:
            await tablets.until(len(VOTERS) * 2)
            # The upgrade: the second node stops (SIGTERM, as systemd or Kubernetes stop it) ...
            upgraded.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(upgraded.proc.wait(), 30) == 0
            during = tablets.acknowledged
            # ... and starts as the next release, which migrates the schema while the old node serves the vote.
            renewed = await start(nodes.env, upgraded.port, nodes.logs / "next.log", NEXT_RELEASE)
            started[1] = renewed
            assert tablets.acknowledged > during, "no ballot went through while the node was away"
            after, answers = tablets.acknowledged, len(proxy.answered_by)
            await tablets.until(after + len(VOTERS) * 2)
        finally:
            tablets.stop.set()
            await asyncio.gather(*voting)
        assert tablets.refused == []
        assert {old.port, renewed.port} <= set(proxy.answered_by[answers:])  # both served ballots after it

        # The old node still takes a sign-in (it reads the accounts the migration changed) and a command.
        signed_in = await client.post(
            f"{old.http}/api/v1/auth/login", json={"username": "deputy21", "password": demo.PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        await ok("chair", "vote.close", vote="v1")
        state = (await client.get(f"{old.http}/api/v1/sessions/{SESSION}")).json()["state"]

    conn = await asyncpg.connect(settings.database_url)
    try:
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE component = 'next-release'")
        ballots = await conn.fetchval(
            "SELECT count(*) FROM events WHERE stream = $1 AND type IN ('ballot.cast', 'ballot.sealed')",
            f"session:{SESSION}",
        )
    finally:
        await conn.close()
    assert applied == 1  # the next release's migration ran, during the vote
    assert ballots == tablets.acknowledged  # every acknowledged ballot is in the log, once
    (closed,) = [v for v in state["votes"] if v["id"] == "v1"]
    counted = {member: choice for member, choice in closed["roll_call"].items() if choice != "absent"}
    assert counted == {f"d{deputy[6:]}": choice for deputy, choice in tablets.last.items()}


async def test_a_migration_waiting_for_a_table_in_use_lets_the_sitting_through_and_tries_again(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A long read holds the busiest table (an export, a report); the next release's ``ALTER TABLE events``
    must wait for it. Waiting in the lock queue, it would make every later ballot wait behind it for as long as
    the read lasts; it gives up after its lock timeout instead, lets them through, and tries again."""
    reader, migrating, tablet = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        reading = reader.transaction()
        await reading.start()
        await reader.fetchval("SELECT count(*) FROM events")  # holds the table until its transaction ends
        upgrade = asyncio.create_task(migrate(migrating, [MIGRATIONS], lock_timeout=0.2))

        async def waiting_for_the_table() -> bool:
            return bool(
                await tablet.fetchval(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted", migrating.get_server_pid()
                )
            )

        await eventually(waiting_for_the_table, "the migration waiting for the table")
        # Any use of the table queues behind a waiting ALTER, a ballot's insert as much as this read; it gets
        # through while the long read still holds the table (with no lock timeout it would wait for the read).
        async with asyncio.timeout(10):
            await tablet.fetchval("SELECT count(*) FROM events")
        assert not upgrade.done()
        await reading.commit()
        applied = await asyncio.wait_for(upgrade, 30)
    finally:
        for conn in (reader, migrating, tablet):
            await conn.close()
    assert [(m.component, m.name) for m in applied] == [("next-release", "expand")]
    assert any("waited 0.2 s for a table in use; trying again" in r.getMessage() for r in caplog.records)


# What the previous release cannot live with: a column or table it uses gone or renamed, a column's type
# changed, or a column it does not fill made compulsory.
_CONTRACT = re.compile(
    r"\bDROP\s+(COLUMN|TABLE|VIEW|FUNCTION)\b|\bRENAME\b|\bALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE\b"
    r"|\bSET\s+NOT\s+NULL\b|\bADD\s+COLUMN\s+[^,;]*?\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)",
    re.IGNORECASE,
)


def test_every_migration_is_one_the_previous_release_keeps_working_with() -> None:
    """Expand, then contract a release later: a migration that takes something away says in a ``-- contract:``
    line why no node still running can use it (tests/next_release shows the expand kind)."""
    found = []
    for component in [*migrations(), MIGRATIONS]:
        for migration in available(component):
            code = "\n".join(line.split("--", 1)[0] for line in migration.sql.splitlines())
            if _CONTRACT.search(code) and "-- contract:" not in migration.sql:
                found.append(f"{migration.component}/{migration.version:04d}_{migration.name}")
    assert found == []
    assert _CONTRACT.search("ALTER TABLE events ADD COLUMN origin text NOT NULL")
    assert _CONTRACT.search("ALTER TABLE users RENAME COLUMN role TO kind")
    assert not _CONTRACT.search("ALTER TABLE users ADD COLUMN demo boolean NOT NULL DEFAULT false")
