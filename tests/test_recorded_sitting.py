"""The event format is public: the events a recorded day makes, and the ledger exported from it, stay
as they were, byte for byte, whatever changes in how events are made, typed or read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import orjson
import pytest
import recorded_sitting
from recorded_sitting import FixedClock, FixedEntropy

from portal_bridge.decisions import DOCUMENT
from session_server.application import core_application
from session_server.cli import main
from session_server.domain.council import evolve_council
from session_server.domain.session_state import evolve
from session_server.domain.session_view import to_public
from session_server.store.events import EventStore, StoredEvent


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


async def test_a_recorded_day_makes_the_same_events_byte_for_byte(pool: asyncpg.Pool) -> None:
    application = core_application(EventStore(pool), clock=FixedClock(), entropy=FixedEntropy())
    application.register(DOCUMENT)
    events = await recorded_sitting.run(application)
    recorded = recorded_sitting.recorded()
    assert len(events) == len(recorded) == 62
    for event, leaf in zip(events, recorded, strict=True):
        assert event.leaf == leaf, f"{event.stream} seq {event.seq} ({event.type}) is not made as it was recorded"


async def test_the_ledger_exported_when_the_day_was_recorded_still_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["verify", str(recorded_sitting.EXPORT)]) == 0
    report = capsys.readouterr().out
    assert "OK" in report
    export = orjson.loads(recorded_sitting.EXPORT.read_bytes())
    export["session_ledger"]["leaves"].pop(33)  # a ballot dropped from the history
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(tampered)]) == 1
    assert await asyncio.to_thread(main, ["verify", str(recorded_sitting.DECISION_EXPORT)]) == 0


def test_the_recorded_day_folds_into_the_state_the_screens_show() -> None:
    events = [StoredEvent.from_leaf(leaf) for leaf in recorded_sitting.recorded()]
    council = None
    for event in events:
        if event.stream.startswith("council:"):
            council = evolve_council(council, event)
    state = None
    for event in events:
        if event.stream.startswith("session:"):
            state = evolve(state, event)
    assert council is not None and state is not None
    public = to_public(state, council)
    assert public["status"] == "closed"
    first, cancelled, agenda_add = public["votes"]
    assert (first["tally"]["for"], first["tally"]["against"], first["tally"]["abstain"]) == (4, 0, 0)
    assert first["tally"]["required"] == 4 and first["tally"]["outcome"] == "adopted"  # 4 of 6 + the mayor
    assert cancelled["status"] == "cancelled"
    assert agenda_add["tally"]["outcome"] == "adopted"
    assert [item["title"] for item in public["agenda"]][-1] == "Про перейменування вулиці"
