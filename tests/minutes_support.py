"""One whole sitting of the demo council (``hold_sitting``) and what the screens showed during it
(``Sitting``): for the minutes' tests and the minutes' print.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from conftest import Demo

from session_server.domain.council import CouncilState

SESSION = "c8-s45"
# Neither alphabetical (Громада, Народний контроль, Рідне місто, Розвиток) nor the roster's order.
FACTION_ORDER = ["Рідне місто", "Народний контроль", "Громада", "Розвиток"]
KYIV = ZoneInfo("Europe/Kyiv")
PROPOSAL = {"number": "6", "title": "Про перейменування вулиці Садової", "draft": "ПР-106"}
ADD_ITEM = {"purpose": "agenda_add", "proposal": PROPOSAL, "rule": "majority_of_registered", "seconds": 600}


@dataclass
class Sitting:
    """What the screens showed during the sitting, to hold the minutes against."""

    council: CouncilState
    events: list[dict[str, Any]]
    state: dict[str, Any]  # the public state after the close
    at_registration: dict[str, Any]  # the composition the screens showed when registration closed
    counted_from: dict[str, dict[str, Any]]  # vote id → the composition the screens showed before its close

    def seq(self, type_: str, **payload: Any) -> int:
        """The seq of the only event of ``type_`` whose payload holds ``payload``."""
        found = [
            e["seq"]
            for e in self.events
            if e["type"] == type_ and all(e["payload"].get(k) == v for k, v in payload.items())
        ]
        assert len(found) == 1, (type_, payload, found)
        return int(found[0])

    def time(self, seq: int) -> str:
        """The event's time as the minutes print it: «10:05» in Kyiv."""
        at = next(e["at"] for e in self.events if e["seq"] == seq)
        return f"{dt.datetime.fromisoformat(at).astimezone(KYIV):%H:%M}"


async def hold_sitting(demo: Demo) -> Sitting:
    """A sitting with registration, speeches, a conflict declaration, a vote without the mayor, a late
    registration (the mayor and a deputy), a vote with the mayor, a cancelled vote, a vote by majority of
    those registered, two votes on adding an item to the agenda (rejected, then adopted), a deputy
    leaving, and the close."""
    configured = await demo.client.post(
        "/api/v1/council/commands",
        json={"id": "faction-order", "type": "council.configure", "factions": FACTION_ORDER},
        headers=await demo.headers("admin"),
    )
    assert configured.status_code == 200, configured.text
    counted_from: dict[str, dict[str, Any]] = {}

    async def close(vote: str) -> None:
        counted_from[vote] = (await demo.state())["state"]["composition"]
        await demo.ok("chair", "vote.close", vote=vote)

    async def ballots(vote: str, choices: dict[int, str]) -> None:
        await asyncio.gather(
            *(demo.ok(f"deputy{n:02d}", "ballot.cast", vote=vote, choice=choice) for n, choice in choices.items())
        )

    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    await demo.ok("secretary", "registration.close")
    at_registration = (await demo.state())["state"]["composition"]

    await demo.ok("chair", "item.start", item="i1")
    for speaker in ("03", "12"):
        await demo.ok(f"deputy{speaker}", "speaker.request")
        await demo.ok("chair", "speaker.grant", deputy=f"d{speaker}", seconds=180)
        await demo.ok("chair", "speaker.finish")
    await demo.ok("deputy05", "conflict.declare", item="i1", reason="Син — засновник підрядника")
    # v1, the mayor not taking part: 15 for, 1 against, 2 abstain (a man and a woman), d05 and d20 silent.
    await demo.ok("chair", "vote.open", item="i1", subject="за основу", rule="majority_of_composition", seconds=600)
    await ballots("v1", {n: "for" for n in range(1, 17) if n != 5} | {17: "against", 18: "abstain", 19: "abstain"})
    await close("v1")
    await demo.ok("chair", "item.finish", item="i1")

    await demo.ok("secretary", "registration.open")
    await demo.ok("chair", "presence.register")
    await demo.ok("deputy21", "presence.register")
    await demo.ok("secretary", "registration.close")

    await demo.ok("chair", "item.start", item="i2")
    # v2, the mayor taking part (composition 35): the mayor and 17 deputies for.
    await demo.ok("chair", "vote.open", item="i2", subject="в цілому", rule="majority_of_composition", seconds=600)
    await ballots("v2", {n: "for" for n in range(1, 18)} | {18: "against", 19: "abstain"})
    await demo.ok("chair", "ballot.cast", vote="v2", choice="for")
    await close("v2")
    await demo.ok("chair", "vote.open", item="i2", subject="про перерву", rule="majority_of_registered", seconds=600)
    await demo.ok("chair", "vote.cancel", vote="v3", reason="Збій табло в залі")
    await demo.ok("chair", "vote.open", item="i2", subject="про перерву", rule="majority_of_registered", seconds=600)
    await ballots("v4", {n: "for" for n in range(1, 13)} | {13: "against"})
    await close("v4")
    await demo.ok("chair", "item.finish", item="i2")
    # Including an item in the open sitting's agenda: rejected (v5), then proposed again and adopted (v6).
    for vote, voters in (("v5", 5), ("v6", 15)):
        await demo.ok("chair", "vote.open", subject="про включення питання до порядку денного", **ADD_ITEM)
        await ballots(vote, dict.fromkeys(range(1, voters + 1), "for"))
        await close(vote)
    await demo.ok("deputy20", "presence.leave")
    await demo.ok("chair", "session.close")

    events = (await demo.client.get(f"/api/v1/sessions/{SESSION}/events")).json()["events"]
    council = await demo.server.kvorum.application.council("voznesensk")
    state = (await demo.state())["state"]
    return Sitting(council, events, state, at_registration, counted_from)
