"""A standing committee's sitting on video (issue 19, Law 3590-IX): the same WHIP → one encode → WHEP, HLS
and recording as the plenary's, for the committee's own sitting; the recording's chapters are its
questions and votes, its conclusion's result in words."""

from __future__ import annotations

import asyncio
from typing import Any

from committees_support import form_committee, schedule_sitting
from conftest import Demo

from benchmarks._video_peers import Publisher, whip_publish
from session_server.domain.events import parse_time

MEMBERS = ["d01", "d02", "d03", "d04", "d05"]


async def test_a_committee_s_sitting_is_broadcast_and_recorded_with_chapters_of_its_questions_and_votes(
    demo_council: Demo,
) -> None:
    demo = demo_council
    await form_committee(demo, "budget", "Постійна комісія з питань бюджету та фінансів", MEMBERS)
    sitting = await schedule_sitting(demo, "budget", [("Про бюджет", "ПР-102"), ("Про громадський бюджет", "ПР-103")])

    async def ok(user: str, type_: str, **fields: Any) -> dict[str, Any]:
        response = await demo.command(user, type_, session=sitting, **fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    publisher = await whip_publish(demo.server.url, sitting, await demo.token("operator"), None)
    assert isinstance(publisher, Publisher), publisher.text  # type: ignore[union-attr]
    await asyncio.sleep(1.0)
    await ok("deputy01", "session.open")
    await ok("deputy01", "registration.open")
    for n in range(1, 6):
        await ok(f"deputy{n:02d}", "presence.register")
    await ok("deputy01", "item.start", item="i1")
    await asyncio.sleep(1.0)
    await ok(
        "deputy01", "vote.open", item="i1", subject="Висновок", kind="conclusion", recommendation="support", seconds=60
    )
    for n in range(1, 4):
        await ok(f"deputy{n:02d}", "ballot.cast", vote="v1", choice="for")
    await asyncio.sleep(0.5)
    await ok("deputy01", "vote.close", vote="v1")
    await ok("deputy01", "item.finish", item="i1")
    await asyncio.sleep(1.0)
    stopped = await demo.client.delete(publisher.location, headers=await demo.headers("operator"), timeout=30)
    assert stopped.status_code == 204, stopped.text
    await publisher.pc.close()

    body = (await demo.client.get(f"/api/v1/sessions/{sitting}/chapters")).json()
    assert [c["kind"] for c in body["chapters"]] == ["item", "vote.opened", "vote.closed"]
    assert body["chapters"][0]["title"] == "1. Про бюджет"
    assert body["chapters"][2]["title"] == "Результати: висновок ухвалено (за 3, потрібно 3)"
    events = {e.seq: e for e in await demo.server.kvorum.store.read(f"session:{sitting}")}
    zero = parse_time(body["started_at"])
    for chapter in body["chapters"]:
        assert abs(chapter["start"] - (parse_time(events[chapter["seq"]].at) - zero).total_seconds()) < 0.002
    for _ in range(300):  # the recording is joined after the stop, as the plenary's
        if (await demo.client.get(f"/api/v1/sessions/{sitting}/broadcast")).json()["recording"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the committee's recording was not joined")
