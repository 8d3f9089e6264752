"""A vote closes when its time is up even if the database is away at that moment (issue 15, item 3).

The database really goes away: the server reaches PostgreSQL through a TCP link the test cuts (a
fake for failure injection only). The case of the node that opened the vote being killed is in
``test_multinode.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from conftest import Demo
from links import CuttableLink
from outage_support import database_link, settings  # noqa: F401  (the server reaches the database through the link)

from session_server.application.deadlines import SWEEP_SECONDS


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def test_a_vote_due_while_the_database_is_away_closes_once_it_is_back(
    demo_council: Demo,
    database_link: CuttableLink,  # noqa: F811  (the fixture imported above)
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=5)
    await demo.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    closes_at = datetime.fromisoformat((await demo.state())["state"]["votes"][0]["closes_at"])

    await _sleep_until(closes_at - timedelta(seconds=1))
    database_link.cut()  # the database is away when the vote's time is up: the timer's close fails
    await _sleep_until(closes_at + timedelta(seconds=2 * SWEEP_SECONDS))
    away = await demo.client.get("/api/v1/sessions/c8-s45")
    assert away.status_code == 503 and away.json()["error"] == "store_unavailable"
    database_link.restore()
    back = datetime.now(UTC)

    async def still_open() -> bool:
        state = await demo.client.get("/api/v1/sessions/c8-s45")
        return state.status_code != 200 or state.json()["state"]["votes"][0]["status"] == "open"

    for _ in range(200):  # 10 s at most
        if not await still_open():
            break
        await asyncio.sleep(0.05)
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()["events"]
    closed = [e for e in events if e["type"] == "vote.closed"]
    assert len(closed) == 1 and closed[0]["payload"]["tally"]["for"] == 1
    assert datetime.fromisoformat(closed[0]["at"]) - back < timedelta(seconds=2)
