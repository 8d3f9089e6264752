"""Standing committees for the tests (issue 19): one formed through the council's commands, and its sitting
scheduled with an agenda of the plenary's drafts."""

from __future__ import annotations

from typing import Any

from conftest import Demo


async def form_committee(demo: Demo, committee: str, name: str, members: list[str], **fields: Any) -> None:
    """``committee.create`` by the secretary: ``members`` (the first the chair unless ``chair`` is given), as
    many seats as members unless ``composition`` is given."""
    body = {"id": f"form-{committee}", "type": "committee.create", "committee": committee, "name": name}
    body |= {"members": members, "chair": members[0], "composition": len(members), **fields}
    formed = await demo.client.post("/api/v1/council/commands", json=body, headers=await demo.headers("secretary"))
    assert formed.status_code == 200, formed.text


async def schedule_sitting(demo: Demo, committee: str, drafts: list[tuple[str, str]]) -> str:
    """The committee's first sitting of the 8th convocation, an item per ``(title, draft)``; its id."""
    agenda = [{"number": str(n), "title": title, "draft": draft} for n, (title, draft) in enumerate(drafts, 1)]
    scheduled = await demo.client.post(
        "/api/v1/sessions",
        json={
            "id": f"schedule-{committee}-1",
            "number": 1,
            "convocation": 8,
            "date": "2026-12-10",
            "title": f"Засідання комісії «{committee}»",
            "agenda": agenda,
            "committee": committee,
        },
        headers=await demo.headers("secretary"),
    )
    assert scheduled.status_code == 201, scheduled.text
    return str(scheduled.json()["session"])
