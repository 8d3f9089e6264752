"""A chamber with signed ballots for the tests: the demo council, tablets enrolled, a vote helper."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from conftest import Demo

from benchmarks._authenticator import Tablet
from session_server import demo
from voting.ballot import ballot_bytes, nonce_for

ORIGIN = "https://rada.example"
RP_ID = "rada.example"
PRESENT = [f"d{i:02d}" for i in range(1, 21)]


def user(member: str) -> str:
    return f"deputy{member[1:]}"


class Chamber:
    """The demo council with signed ballots on, tablets enrolled and a vote helper."""

    def __init__(self, demo_council: Demo) -> None:
        self.demo = demo_council
        self.client: httpx.AsyncClient = demo_council.client
        self.tablets: dict[str, Tablet] = {}

    async def council_command(self, username: str, type_: str, **fields: Any) -> httpx.Response:
        body = {"id": secrets.token_hex(8), "type": type_, **fields}  # unique: id() of a freed dict is reused
        return await self.client.post("/api/v1/council/commands", json=body, headers=await self.demo.headers(username))

    async def enroll(self, member: str, **register: Any) -> httpx.Response:
        link = await self.client.post(
            "/api/v1/enrollments", json={"deputy": member}, headers=await self.demo.headers("secretary")
        )
        assert link.status_code == 201, link.text
        token = link.json()["token"]
        options = await self.client.post(f"/api/v1/enrollments/{token}/options")
        assert options.status_code == 200, options.text
        tablet = Tablet(ORIGIN)
        credential = tablet.register(options.json(), **register)
        response = await self.client.post(f"/api/v1/enrollments/{token}/credential", json=credential)
        if response.status_code == 201:
            self.tablets[member] = tablet
        return response

    async def vote(self) -> dict[str, Any]:
        state = (await self.demo.state())["state"]
        return dict(state["votes"][-1])

    def ballot(self, member: str, vote: dict[str, Any], choice: str, index: int = 0) -> tuple[bytes, str]:
        nonce = nonce_for(vote["nonce_seed"], member, index)
        data = ballot_bytes(
            council=demo.COUNCIL_ID,
            session=demo.SESSION_ID,
            vote=vote["id"],
            item=vote["item"],
            deputy=member,
            choice=choice,
            nonce=nonce,
        )
        return data, nonce

    async def cast(
        self, member: str, choice: str, *, index: int = 0, tablet: Tablet | None = None, **sign: Any
    ) -> httpx.Response:
        vote = await self.vote()
        data, nonce = self.ballot(member, vote, choice, index)
        assertion = (tablet or self.tablets[member]).sign(data, **sign)
        return await self.demo.command(
            user(member), "ballot.cast", vote=vote["id"], choice=choice, nonce=nonce, assertion=assertion
        )

    async def open_vote(self, item: str = "i1") -> dict[str, Any]:
        await self.demo.ok(
            "chair", "vote.open", item=item, subject="в цілому", rule="majority_of_composition", seconds=60
        )
        return await self.vote()


async def signed_chamber(demo_council: Demo) -> Chamber:
    """Signed ballots on, tablets for d01…d04, the session open with d01…d20 registered, item i1 started.
    Ballots as cast (``results`` "live"): these tests read each signed ballot; sealed ones configure "hidden"."""
    c = Chamber(demo_council)
    configured = await c.council_command(
        "admin", "council.configure", signed_ballots=True, rp_id=RP_ID, origins=[ORIGIN], results="live"
    )
    assert configured.status_code == 200, configured.text
    for member in PRESENT[:4]:
        enrolled = await c.enroll(member)
        assert enrolled.status_code == 201, enrolled.text
    await demo_council.ok("chair", "session.open")
    await demo_council.ok("secretary", "registration.open")
    await asyncio.gather(*(demo_council.ok(user(m), "presence.register") for m in PRESENT))
    await demo_council.ok("chair", "item.start", item="i1")
    return c
