"""A sitting of the demo council with two closed votes, and the open data's rows once the consumer has written
them: for the open data, feeds, portal and drafts tests."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Demo


async def _session_with_two_votes(demo: Demo) -> None:
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    for n in range(1, 19):
        await demo.ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    await demo.ok("deputy19", "ballot.cast", vote="v1", choice="against")
    await demo.ok("chair", "vote.close", vote="v1")
    await demo.ok("chair", "item.finish", item="i1")
    await demo.ok("chair", "item.start", item="i2")
    await demo.ok("chair", "vote.open", item="i2", subject="за основу", rule="majority_of_composition", seconds=60)
    await demo.ok("deputy01", "ballot.cast", vote="v2", choice="abstain")
    await demo.ok("chair", "vote.close", vote="v2")


async def _json(demo: Demo, path: str) -> Any:
    """The rows once both votes are in (the consumer writes right after each commit; wait for it)."""
    want = 68 if "votings" in path else 2
    for _ in range(200):
        rows = (await demo.client.get(path)).json()
        if len(rows) >= want:
            return rows
        await asyncio.sleep(0.025)
    raise AssertionError(f"{path} did not fill in")
