"""The demo council's committees (issue 19, `kvorum demo`): three committees with members and officers, one
scheduled sitting each the day after the plenary, the plenary's drafts registered and sent to them; a
newcomer runs the budget committee's sitting as its chair and sees the conclusion beside the plenary's
item; the plenary's pages still follow the plenary."""

from __future__ import annotations

from typing import Any

from conftest import Demo, eventually

from portal_bridge.demo_drafts import seed_demo_drafts
from session_server import demo


async def test_the_demo_has_three_committees_with_their_sittings_and_drafts(demo_council: Demo) -> None:
    kvorum = demo_council.server.kvorum
    await demo.seed_committees(kvorum)
    await demo.seed_committees(kvorum)  # a second start changes nothing
    await seed_demo_drafts(kvorum.core())
    await seed_demo_drafts(kvorum.core())
    client = demo_council.client
    council = (await client.get("/api/v1/council")).json()
    assert [c["id"] for c in council["committees"]] == ["budget", "land", "regulations"]
    budget = council["committees"][0]
    assert (budget["chair"], budget["deputy_chair"], budget["secretary"], budget["composition"]) == (
        "d01",
        "d02",
        "d03",
        7,
    )
    sittings = {s["id"]: s for s in (await client.get("/api/v1/sessions")).json()["sessions"]}
    assert {"budget-c8-s1", "land-c8-s1", "regulations-c8-s1", "c8-s45"} <= set(sittings)
    assert sittings["budget-c8-s1"]["title"].startswith("Засідання постійної комісії з питань бюджету")
    assert (await client.get("/display")).headers["location"].endswith("/display/c8-s45")  # the plenary first
    document = (await client.get("/api/v1/documents/pr-103")).json()
    assert (document["status"], document["committees"]) == ("scheduled", {"budget": True, "regulations": False})

    async def ok(user: str, type_: str, **fields: Any) -> None:
        response = await demo_council.command(user, type_, session="budget-c8-s1", **fields)
        assert response.status_code == 200, response.text

    await ok("deputy01", "session.open")
    await ok("deputy01", "registration.open")
    for n in range(1, 6):
        await ok(f"deputy{n:02d}", "presence.register")
    await ok("deputy01", "item.start", item="i1")  # ПР-102
    await ok(
        "deputy01",
        "vote.open",
        item="i1",
        subject="Висновок щодо ПР-102",
        kind="conclusion",
        recommendation="support",
        seconds=60,
    )
    for n in range(1, 5):
        await ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    await ok("deputy01", "vote.close", vote="v1")

    async def concluded() -> list[Any]:
        return list((await client.get("/api/v1/documents/pr-102")).json()["conclusions"])

    [conclusion] = await eventually(concluded, "the budget committee's conclusion on ПР-102")
    assert (conclusion["committee"], conclusion["recommendation"], conclusion["adopted"]) == ("budget", "support", True)
