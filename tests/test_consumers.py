"""No event can stall a consumer of the log: effects and position commit together, an event a handler
fails on is retried, then parked for the administrator, and everything after it keeps flowing
(issue 15, item 2)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from conftest import Demo

from session_server import demo as seeded
from session_server.application.consumers import Consumers
from session_server.extensions import Consumer, Retry
from session_server.node import Node
from session_server.store.events import StoredEvent

SESSION = f"session:{seeded.SESSION_ID}"


async def _write_as_an_older_version_could(kvorum: Node, stream: str, type_: str, payload: dict[str, Any]) -> int:
    """An event written before the edge refused control characters: straight into the log."""
    async with kvorum.store.appending(stream) as tx:
        event = tx.append(type_, payload, actor="deputy01", at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    return event.seq


class Counting(Consumer):
    """A consumer whose effect is not idempotent: it counts every event it handled in ``counted``."""

    name = "counting"
    retry = Retry(attempts=3, first_delay=0.0)

    def __init__(self, *args: Any, fail_first_batch: bool = False, poison: int | None = None) -> None:
        super().__init__(*args)
        self.fail_first_batch = fail_first_batch
        self.poison = poison

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        await conn.executemany("INSERT INTO counted (stream, seq) VALUES ($1, $2)", [(stream, e.seq) for e in events])
        if self.fail_first_batch:
            self.fail_first_batch = False
            raise RuntimeError("the node lost its connection after the effect")
        if any(e.seq == self.poison for e in events):
            raise ValueError(f"cannot handle #{self.poison}")


async def _counted(kvorum: Node) -> list[int]:
    return [
        r["seq"] for r in await kvorum.pool.fetch("SELECT seq FROM counted WHERE stream = $1 ORDER BY seq", SESSION)
    ]


async def test_an_effect_and_the_position_commit_together_so_a_failure_acts_nothing_twice(
    demo_council: Demo,
) -> None:
    kvorum = demo_council.server.kvorum
    await demo_council.ok("chair", "session.open")
    await kvorum.pool.execute("CREATE TABLE counted (stream text, seq bigint)")  # no key: a double would show
    consumer = Counting(kvorum.core(), fail_first_batch=True)
    await consumer.catch_up()  # the batch failed after its effect: rolled back, then one at a time
    head = await demo_council.head()
    assert await _counted(kvorum) == list(range(1, head + 1))
    assert await consumer.catch_up() == 0
    await demo_council.ok("secretary", "registration.open")
    assert await consumer.catch_up() == 1
    assert await _counted(kvorum) == list(range(1, head + 2))


async def test_an_event_that_keeps_failing_is_retried_then_parked_and_the_stream_goes_on(demo_council: Demo) -> None:
    kvorum = demo_council.server.kvorum
    await demo_council.ok("chair", "session.open")
    await demo_council.ok("secretary", "registration.open")
    await kvorum.pool.execute("CREATE TABLE counted (stream text, seq bigint)")
    consumer = Counting(kvorum.core(), poison=2)
    await consumer.catch_up()
    assert await _counted(kvorum) == [1]  # #2 failed once: it waits for its retry, and #3 behind it
    fault = await kvorum.pool.fetchrow("SELECT * FROM consumer_faults WHERE consumer = 'counting'")
    assert (fault["seq"], fault["attempts"], fault["parked"]) == (2, 1, False)
    assert fault["error"] == "ValueError: cannot handle #2"
    await consumer.catch_up()
    assert await _counted(kvorum) == [1]
    await consumer.catch_up()  # the third attempt parks it
    assert await _counted(kvorum) == [1, 3]
    fault = await kvorum.pool.fetchrow("SELECT * FROM consumer_faults WHERE consumer = 'counting'")
    assert (fault["seq"], fault["attempts"], fault["parked"]) == (2, 3, True)
    await demo_council.ok("deputy01", "presence.register")
    assert await consumer.catch_up() == 1
    assert await _counted(kvorum) == [1, 3, 4]


async def _until(condition: Any, what: str, seconds: float = 15) -> Any:
    for _ in range(int(seconds / 0.05)):
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


async def test_a_nul_written_long_ago_parks_one_event_and_the_portal_keeps_publishing(demo_council: Demo) -> None:
    demo = demo_council
    kvorum = demo.server.kvorum
    consumers = demo.server.state.consumers
    for consumer in consumers.values():
        consumer.retry = Retry(attempts=2, first_delay=0.05)
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await demo.ok("deputy01", "presence.register")
    conflict = await _write_as_an_older_version_could(
        kvorum, SESSION, "conflict.declared", {"deputy": "d01", "item": "i1", "reason": "x\u0000"}
    )
    title = await _write_as_an_older_version_could(
        kvorum, SESSION, "item.updated", {"item": "i2", "title": "Про\u0000бюджет"}
    )
    # after them: a colleague registers in the same sitting, and the next sitting is put on the calendar
    await demo.ok("deputy02", "presence.register")
    schedule = {
        "id": "s46",
        "type": "session.schedule",
        "number": 46,
        "convocation": 8,
        "date": "2027-01-20",
        "title": "Сорок шоста сесія",
        "agenda": [{"number": "1", "title": "Про програму енергоощадності громади"}],
    }
    scheduled = await demo.client.post("/api/v1/sessions", json=schedule, headers=await demo.headers("secretary"))
    assert scheduled.status_code == 201, scheduled.text

    async def parked() -> list[Any]:
        response = await demo.client.get("/api/v1/consumers", headers=await demo.headers("admin"))
        assert response.status_code == 200, response.text
        body = response.json()
        return body["parked"] if len(body["parked"]) >= 2 else []

    found = {(p["consumer"], p["seq"]) for p in await _until(parked, "parking the two events")}
    assert found == {("members", conflict), ("search", title)}
    status = (await demo.client.get("/api/v1/consumers", headers=await demo.headers("admin"))).json()
    assert {c["name"]: c["parked"] for c in status["consumers"]}["members"] == 1
    assert all(c["behind"] == 0 for c in status["consumers"] if c["name"] in ("members", "search"))
    assert "0x00" in next(p["error"] for p in status["parked"] if p["consumer"] == "members")

    # the portal keeps working and keeps up with what came after
    assert (await demo.client.get("/deputies/d01")).status_code == 200
    page = await demo.client.get("/deputies/d02")
    assert page.status_code == 200 and "(реєстрація): 1 з 1." in page.text
    found_items = await demo.client.get("/api/v1/search", params={"q": "енергоощадності"})
    assert [i["session"] for i in found_items.json()["items"]] == ["c8-s46"]

    # the administrator may try a parked event again once the cause is fixed; until then it stays parked
    retried = await demo.client.post(
        f"/api/v1/consumers/members/parked/{SESSION}/{conflict}/retry", headers=await demo.headers("admin")
    )
    assert retried.status_code == 409 and retried.json()["error"] == "still_failing"
    assert (await demo.client.get("/api/v1/consumers", headers=await demo.headers("chair"))).status_code == 403
    missing = await demo.client.post(
        f"/api/v1/consumers/members/parked/{SESSION}/1/retry", headers=await demo.headers("admin")
    )
    assert missing.status_code == 404


async def test_an_old_event_no_consumer_reads_stalls_none_of_them_and_parks_nothing(demo_council: Demo) -> None:
    demo = demo_council
    kvorum = demo.server.kvorum
    for consumer in demo.server.state.consumers.values():
        consumer.retry = Retry(attempts=2, first_delay=0.05)
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await demo.ok("deputy03", "presence.register")
    # in the same batch for the consumers: a speech an older version recorded without its fields, which no
    # consumer reads (only the sitting's own fold does); none of them may fail or park on it
    await _write_as_an_older_version_could(kvorum, SESSION, "speaker.granted", {})

    async def registered() -> bool:
        page = await demo.client.get("/deputies/d03")
        return page.status_code == 200 and "(реєстрація): 1 з 1." in page.text

    await _until(registered, "the registration beside the old event reaching the deputy's page")

    async def settled() -> Any:
        status = (await demo.client.get("/api/v1/consumers", headers=await demo.headers("admin"))).json()
        done = all(c["failing"] == 0 and c["behind"] == 0 for c in status["consumers"])
        return status if done else None

    status = await _until(settled, "every consumer past the old event")
    assert status["parked"] == []


async def test_consumers_are_registered_by_name_and_the_app_runs_the_core_and_every_extensions_own(
    demo_council: Demo,
) -> None:
    kvorum = demo_council.server.kvorum
    running = demo_council.server.state.consumers
    assert sorted(running) == ["members", "opendata", "outcomes", "search", "webhooks"]
    assert isinstance(running, Consumers) and running["opendata"].name == "opendata"
    with pytest.raises(ValueError, match="two consumers are named 'counting'"):
        Consumers(kvorum.pool, [Counting(kvorum.core()), Counting(kvorum.core())])
