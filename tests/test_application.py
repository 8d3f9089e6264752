"""The one command path: a kind of record registered from outside the core runs exactly as the core's own.

The kind here, a motion a deputy tables and may withdraw, is defined in this test the way an extension
defines one: an aggregate with ``decide`` and ``evolve``, the facts it needs, and a read model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel

from session_server.application import Application, Kind, Reader, core_application
from session_server.domain.errors import DomainError
from session_server.domain.events import NewEvent
from session_server.domain.roles import Actor, Context, Role
from session_server.store.events import Appending, EventStore, StoredEvent

DEPUTY = Actor(username="deputy01", role=Role.DEPUTY, member="d01")
OTHER = Actor(username="deputy02", role=Role.DEPUTY, member="d02")
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Table(BaseModel):
    id: str
    type: str = "motion.table"
    title: str


class Withdraw(BaseModel):
    id: str
    type: str = "motion.withdraw"


class Second(BaseModel):
    id: str
    type: str = "motion.second"


@dataclass(frozen=True)
class MotionState:
    id: str
    title: str
    seconds: int = 0
    withdrawn: bool = False
    seq: int = 0


class Motion(Kind):
    kind = "motion"
    creating = frozenset({"motion.table"})

    def __init__(self, *, needs_council: bool = False) -> None:
        self.needs_council = needs_council

    def evolve(self, state: MotionState | None, event: StoredEvent) -> MotionState:
        p = event.payload
        if event.type == "motion.tabled":
            return MotionState(id=p["motion"], title=p["title"], seq=event.seq)
        assert state is not None
        if event.type == "motion.seconded":
            return replace(state, seconds=state.seconds + 1, seq=event.seq)
        return replace(state, withdrawn=True, seq=event.seq)

    async def facts(self, reader: Reader, state: MotionState | None, conn: Any, commands: Sequence[Any]) -> Any:
        if self.needs_council and await reader.council_id() is None:
            raise DomainError("council_not_found", "create the council first")
        return None

    def decide(self, state: MotionState | None, command: Any, ctx: Context, facts: Any) -> Sequence[NewEvent]:
        if isinstance(command, Table):
            payload = {"motion": "m1", "title": command.title, "nonce": ctx.entropy.hex()}
            return [NewEvent("motion.tabled", payload)]
        assert state is not None
        if state.withdrawn:
            raise DomainError("invalid_command", "the motion was withdrawn")
        if isinstance(command, Second):
            return [NewEvent("motion.seconded", {"by": ctx.actor.username})]
        return [NewEvent("motion.withdrawn", {})]

    async def record(self, tx: Appending, state: MotionState) -> None:
        await tx.conn.execute(
            """INSERT INTO test_motions (id, title, seconds, seq) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO UPDATE SET seconds = EXCLUDED.seconds, seq = EXCLUDED.seq""",
            state.id,
            state.title,
            state.seconds,
            state.seq,
        )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    await pool.execute("CREATE TABLE test_motions (id text PRIMARY KEY, title text, seconds int, seq bigint)")
    yield pool
    await pool.close()


@pytest.fixture
async def application(pool: asyncpg.Pool) -> AsyncIterator[Application]:
    application = core_application(EventStore(pool), clock=lambda: NOON)
    application.register(Motion())
    yield application
    await application.close()


async def test_a_kind_registered_from_outside_the_core_runs_on_the_one_command_path(
    application: Application, pool: asyncpg.Pool
) -> None:
    tabled = await application.execute("motion:m1", Table(id="c1", title="Про сквер"), DEPUTY)
    assert [(e.seq, e.type, e.actor, e.at) for e in tabled.events] == [
        (1, "motion.tabled", "deputy01", "2026-12-02T12:00:00.000Z")  # the clock is the application's
    ]
    assert len(bytes.fromhex(tabled.events[0].payload["nonce"])) == 16  # so is the entropy

    again = await application.execute("motion:m1", Table(id="c1", title="Про сквер"), DEPUTY)
    assert again.replayed and [e.hash for e in again.events] == [e.hash for e in tabled.events]
    with pytest.raises(DomainError) as reused:
        await application.execute("motion:m1", Second(id="c1"), OTHER)
    assert reused.value.code == "command_id_reused"

    await application.execute("motion:m1", Second(id="c2"), OTHER)
    state = await application.current("motion:m1")
    assert (state.title, state.seconds, state.seq) == ("Про сквер", 1, 2)
    row = await pool.fetchrow("SELECT title, seconds, seq FROM test_motions WHERE id = 'm1'")
    assert dict(row) == {"title": "Про сквер", "seconds": 1, "seq": 2}  # the read model, in the same transaction

    await application.execute("motion:m1", Withdraw(id="c3"), DEPUTY)
    with pytest.raises(DomainError) as refused:
        await application.execute("motion:m1", Second(id="c4"), OTHER)
    assert refused.value.code == "invalid_command"
    assert await application.store.head("motion:m1") == 3  # a refused command appends nothing


async def test_a_command_on_a_record_that_was_never_started_is_refused_by_its_kind(application: Application) -> None:
    with pytest.raises(DomainError) as missing:
        await application.execute("motion:nope", Second(id="c1"), OTHER)
    assert missing.value.code == "motion_not_found"
    with pytest.raises(DomainError) as unread:
        await application.current("motion:nope")
    assert unread.value.code == "motion_not_found"
    with pytest.raises(ValueError, match="no kind of record 'petition'"):
        await application.execute("petition:p1", Second(id="c1"), OTHER)


async def test_commands_that_arrive_together_share_one_transaction_whatever_their_kind(
    application: Application,
) -> None:
    await application.execute("motion:m1", Table(id="c0", title="Про сквер"), DEPUTY)
    before = application.batches
    results = await asyncio.gather(*(application.execute("motion:m1", Second(id=f"s{i}"), OTHER) for i in range(40)))
    assert sorted(r.seq for r in results) == list(range(2, 42))  # every one appended, in one order
    assert application.batches - before < 40  # group commit: fewer transactions than commands
    assert (await application.current("motion:m1")).seconds == 40
    assert await application.store.verify("motion:m1") == 41


async def test_listeners_hear_the_kinds_they_asked_for_after_the_commit(application: Application) -> None:
    heard: dict[str, list[str]] = {"all": [], "sittings": []}
    application.listen(lambda events: heard["all"].extend(e.type for e in events))
    stop = application.listen(lambda events: heard["sittings"].extend(e.type for e in events), kinds=("session",))
    await application.execute("motion:m1", Table(id="c1", title="Про сквер"), DEPUTY)
    stop()
    await application.execute("motion:m1", Second(id="c2"), OTHER)
    assert heard == {"all": ["motion.tabled", "motion.seconded"], "sittings": []}


async def test_a_batch_missing_what_its_kind_needs_is_refused_whole_and_leaves_no_stream(pool: asyncpg.Pool) -> None:
    application = Application(EventStore(pool))
    application.register(Motion(needs_council=True))
    with pytest.raises(DomainError) as refused:
        await application.execute("motion:m1", Table(id="c1", title="Про сквер"), DEPUTY)
    assert refused.value.code == "council_not_found"
    assert await application.store.head("motion:m1") is None  # not even an empty stream
    with pytest.raises(ValueError, match="registered already"):
        application.register(Motion())
    await application.close()
