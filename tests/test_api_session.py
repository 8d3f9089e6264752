"""A whole plenary session through the HTTP API, from registration to an adopted and a rejected decision."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from conftest import Demo

from session_server.application import utcnow
from session_server.store.events import Appending

DEPUTIES = [f"deputy{i:02d}" for i in range(1, 35)]


async def _open_with(demo: Demo, present: list[str]) -> None:
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in present))


async def test_whole_session_adopts_one_decision_and_rejects_another(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    # 17 deputies are not a quorum of 34 (art. 46: more than half)
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in DEPUTIES[:17]))
    state = (await demo.state())["state"]
    assert state["quorum"] is False
    await demo.ok("chair", "item.start", item="i1")
    refused = await demo.command(
        "chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    assert refused.status_code == 409 and refused.json()["error"] == "no_quorum"

    await asyncio.gather(*(demo.ok(u, "presence.register") for u in [*DEPUTIES[17:24], "chair"]))
    state = (await demo.state())["state"]
    assert state["quorum"] is True and len(state["registered"]) == 25

    opened = await demo.ok(
        "chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    vote = opened["events"][0]["payload"]["vote"]
    # 17 deputies and the mayor for: 18 of 35 (34 + the mayor, art. 59 part 2) is a majority
    voters = [*DEPUTIES[:17], "chair"]
    results = await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote, choice="for") for u in voters))
    seqs = sorted(r["seq"] for r in results)
    assert len(set(seqs)) == len(voters)
    await demo.ok("deputy18", "ballot.cast", vote=vote, choice="against")
    await demo.ok("deputy19", "ballot.cast", vote=vote, choice="for")
    await demo.ok("deputy19", "ballot.cast", vote=vote, choice="abstain")  # changed while open: the last counts
    while_open = next(v for v in (await demo.state())["state"]["votes"] if v["id"] == vote)
    assert while_open["status"] == "open" and while_open["voted"] == 20 and while_open["tally"] is None

    closed = await demo.ok("chair", "vote.close", vote=vote)
    # a new council seals its votes: the close opens the ballots (ballots.opened), then counts them
    assert [e["type"] for e in closed["events"]] == ["ballots.opened", "vote.closed"]
    tally = closed["events"][-1]["payload"]["tally"]
    assert tally == {
        "for": 18,
        "against": 1,
        "abstain": 1,
        "not_voted": 5,
        "absent": 10,
        "required": 18,
        "outcome": "adopted",
    }
    late = await demo.command("deputy20", "ballot.cast", vote=vote, choice="for")
    assert late.status_code == 409 and late.json()["error"] == "vote_closed"
    await demo.ok("chair", "item.finish", item="i1")

    await demo.ok("chair", "item.start", item="i2")
    opened = await demo.ok(
        "chair", "vote.open", item="i2", subject="за основу", rule="majority_of_composition", seconds=60
    )
    vote2 = opened["events"][0]["payload"]["vote"]
    await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote2, choice="for") for u in DEPUTIES[:17]))
    await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote2, choice="against") for u in DEPUTIES[17:24]))
    closed2 = await demo.ok("secretary", "vote.close", vote=vote2)
    assert closed2["events"][-1]["payload"]["tally"]["outcome"] == "rejected"  # 17 < 18
    roll_call = closed2["events"][-1]["payload"]["roll_call"]
    assert roll_call["d01"] == "for" and roll_call["d20"] == "against" and roll_call["mayor"] == "not_voted"
    assert roll_call["d30"] == "absent"
    await demo.ok("chair", "item.finish", item="i2")
    await demo.ok("chair", "session.close")

    final = await demo.state()
    assert final["state"]["status"] == "closed"
    assert [v["tally"]["outcome"] for v in final["state"]["votes"]] == ["adopted", "rejected"]
    listed = (await demo.client.get("/api/v1/sessions")).json()["sessions"]
    assert listed[0]["id"] == "c8-s45" and listed[0]["status"] == "closed"
    assert await demo.server.kvorum.store.verify("session:c8-s45") == final["seq"]


async def test_a_vote_closes_itself_when_its_time_is_up(demo_council: Demo) -> None:
    demo = demo_council
    await _open_with(demo, DEPUTIES[:20])
    await demo.ok("chair", "item.start", item="i3")
    opened = await demo.ok(
        "chair", "vote.open", item="i3", subject="в цілому", rule="majority_of_registered", seconds=5
    )
    vote = opened["events"][0]["payload"]["vote"]
    await asyncio.gather(*(demo.ok(u, "ballot.cast", vote=vote, choice="for") for u in DEPUTIES[:11]))
    application = demo.server.kvorum.application
    application.clock = lambda: utcnow() + timedelta(seconds=6)  # the five seconds have passed for the server
    for _ in range(100):  # every node looks for votes whose time is up each second
        votes = (await demo.state())["state"]["votes"]
        if votes[0]["status"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert votes[0]["status"] == "closed"
    assert votes[0]["tally"]["required"] == 11 and votes[0]["tally"]["outcome"] == "adopted"
    events = (await demo.client.get("/api/v1/sessions/c8-s45/events", params={"after": 0})).json()["events"]
    assert events[-1]["type"] == "vote.closed" and events[-1]["actor"] == "system"


async def test_events_after_a_seq_come_in_order(demo_council: Demo) -> None:
    demo = demo_council
    await _open_with(demo, DEPUTIES[:5])
    everything = (await demo.client.get("/api/v1/sessions/c8-s45/events")).json()
    assert [e["seq"] for e in everything["events"]] == list(range(1, everything["head"] + 1))
    tail = (await demo.client.get("/api/v1/sessions/c8-s45/events", params={"after": 3, "limit": 2})).json()
    assert [e["seq"] for e in tail["events"]] == [4, 5]
    assert tail["events"][0]["hash"] == everything["events"][3]["hash"]


async def test_a_retried_command_returns_the_first_result_and_appends_nothing(demo_council: Demo) -> None:
    demo = demo_council
    await _open_with(demo, DEPUTIES[:18])
    await demo.ok("chair", "item.start", item="i1")
    first = await demo.ok(
        "chair", "vote.open", id="open-i1", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    head = await demo.head()
    again = await demo.ok(
        "chair", "vote.open", id="open-i1", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    assert again == first
    assert await demo.head() == head
    # the same id sent concurrently many times acts once
    vote = first["events"][0]["payload"]["vote"]
    burst = await asyncio.gather(
        *(demo.ok("deputy01", "ballot.cast", id="b-1", vote=vote, choice="for") for _ in range(10))
    )
    assert len({r["seq"] for r in burst}) == 1 and all(r == burst[0] for r in burst)
    assert await demo.head() == head + 1
    stolen = await demo.command("deputy02", "ballot.cast", id="b-1", vote=vote, choice="against")
    assert stolen.status_code == 409 and stolen.json()["error"] == "command_id_reused"
    assert await demo.head() == head + 1


async def test_group_commit_puts_concurrent_commands_in_few_transactions(demo_council: Demo) -> None:
    demo = demo_council
    sessions = demo.server.kvorum.application
    await _open_with(demo, [])
    before = sessions.batches
    await asyncio.gather(*(demo.ok(u, "presence.register") for u in DEPUTIES))
    assert sessions.batches - before < len(DEPUTIES)
    assert len((await demo.state())["state"]["registered"]) == 34


async def test_a_failed_commit_records_nothing_and_the_next_command_works(demo_council: Demo, monkeypatch) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    head = await demo.head()
    real_flush = Appending._flush

    async def failing_flush(self: Appending) -> None:  # failure injection: the database drops the commit
        raise asyncpg.InterfaceError("connection lost (simulated)")

    monkeypatch.setattr(Appending, "_flush", failing_flush)
    refused = await asyncio.gather(*(demo.command(u, "presence.register") for u in ("chair", "secretary")))
    failed = await demo.command("secretary", "registration.open", id="reg-open")
    assert failed.status_code == 503 and failed.json()["error"] == "store_unavailable"
    assert all(r.status_code in (503, 409, 403) for r in refused)
    monkeypatch.setattr(Appending, "_flush", real_flush)
    assert await demo.head() == head
    assert (await demo.state())["state"]["registration_open"] is False

    retried = await demo.ok("secretary", "registration.open", id="reg-open")  # the same id acts now, once
    assert retried["seq"] == head + 1
    assert (await demo.state())["state"]["registration_open"] is True
    assert await demo.server.kvorum.store.verify("session:c8-s45") == head + 1
