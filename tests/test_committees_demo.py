"""The demo council's committees (issue 19, `kvorum demo`): three committees with members and officers, one
scheduled sitting each the day after the plenary, the plenary's drafts registered and sent to them; a
newcomer runs the budget committee's sitting as its chair and sees the conclusion beside the plenary's
item; the plenary's pages still follow the plenary."""

from __future__ import annotations

from typing import Any

from conftest import Demo, eventually
from test_ukrainian_pages import _text, problems

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
    # a page without a sitting follows the open one: the committee's while the plenary is not open, the
    # plenary's once it is
    assert (await client.get("/display")).headers["location"].endswith("/display/budget-c8-s1")
    assert (await demo_council.command("chair", "session.open", session="c8-s45")).status_code == 200
    assert (await client.get("/display")).headers["location"].endswith("/display/c8-s45")
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

    # the portal: the committees, each with its members, sittings (with the protocol once held) and drafts
    listed = (await client.get("/committees")).text
    assert '<a href="/committees/budget">Постійна комісія з питань бюджету' in listed
    page = (await client.get("/committees/budget")).text
    names = {d["id"]: d["name"] for d in council["deputies"]}
    assert f'<a href="/deputies/d01">{names["d01"]}</a> — голова комісії' in page
    assert '<a href="/sessions/budget-c8-s1/minutes">протокол</a>' in page
    assert (
        "ПР-102: Про внесення змін до міського бюджету на 2026 рік</a> (головна комісія) — рекомендує підтримати."
        in page
    )
    assert "ПР-103" in page and "висновку ще немає" in page
    deputy = (await client.get("/deputies/d01")).text
    assert 'Член постійної комісії: <a href="/committees/budget">' in deputy and "(голова комісії)" in deputy
    assert (await client.get("/committees/nope")).status_code == 404
    for path in ("/committees", "/committees/budget", "/sessions/budget-c8-s1", "/sessions/budget-c8-s1/minutes"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert problems(_text(response.text)) == [], path
    assert "(-лася)" not in (await client.get("/sessions/budget-c8-s1/minutes")).text

    # the committee's roll calls in the open data, as the plenary's (one more column: the committee) and Popolo
    [motion] = (await client.get("/opendata/ua835/motions.json?session=budget-c8-s1")).json()
    assert motion["committee"].startswith("Постійна комісія з питань бюджету")
    assert (motion["composition"], motion["votingKind"], motion["votingResult"]) == (7, "висновок комісії", "Прийнято")
    votings = (await client.get("/opendata/ua835/votings.json?session=budget-c8-s1")).json()
    assert {v["voterId"] for v in votings} == {f"d{n:02d}" for n in range(1, 8)}  # its 7 members
    popolo = (await client.get("/opendata/popolo.json")).json()
    committee = next(o for o in popolo["organizations"] if o["classification"] == "committee")
    assert committee["id"] == "voznesensk/committee/budget"
    [event] = [e for e in popolo["vote_events"] if e["id"] == motion["uid"]]
    assert event["organization_id"] == "voznesensk/committee/budget"
    chair = next(
        m for m in popolo["memberships"] if m["organization_id"] == committee["id"] and m["person_id"] == "d01"
    )
    assert chair["role"] == "Голова комісії"
