"""A sitting with votes on including items in its agenda (one proposal rejected, one adopted, then the new
item adopted), waited for until the open data holds them: for the portal's agenda and browser tests."""

from __future__ import annotations

import asyncio

from conftest import Demo

SOLD = {"number": "6", "title": "Про продаж нежитлового приміщення на вулиці Миру, 3", "draft": "ПР-107"}
RENAMED = {"number": "6", "title": "Про перейменування вулиці Садової", "draft": "ПР-106"}
ADD = {"purpose": "agenda_add", "rule": "majority_of_registered", "seconds": 600}


async def sitting_with_agenda_votes(demo: Demo) -> None:
    """Twenty deputies registered; v1 rejects including SOLD, v2 includes RENAMED (it gets the id v1's
    proposal had), v3 adopts the new item 6. Waits until the open data holds all three."""
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("secretary", "registration.close")
    for vote, proposal, voters in (("v1", SOLD, 5), ("v2", RENAMED, 15)):
        await demo.ok("chair", "vote.open", subject="про включення питання", proposal=proposal, **ADD)
        await asyncio.gather(
            *(demo.ok(f"deputy{n:02d}", "ballot.cast", vote=vote, choice="for") for n in range(1, voters + 1))
        )
        await demo.ok("chair", "vote.close", vote=vote)
    state = (await demo.state())["state"]
    assert [v["item"] for v in state["votes"]] == ["i6", "i6"]  # the rejected proposal's id went to the next
    await demo.ok("chair", "item.start", item="i6")
    await demo.ok("chair", "vote.open", item="i6", subject="в цілому", rule="majority_of_composition", seconds=600)
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v3", choice="for") for n in range(1, 19)))
    await demo.ok("chair", "vote.close", vote="v3")
    await demo.ok("chair", "item.finish", item="i6")
    for _ in range(200):  # the open data's consumer writes right after each commit
        if len((await demo.client.get("/opendata/ua835/votings.json")).json()) == 3 * 34:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the open data did not fill in")
