"""The demo council's sitting driven over HTTP, as the latency benchmarks need it: accounts signed in, the
sitting opened with deputies registered and the first item taken up, votes opened, voted and closed one
after another, and ``GET /healthz`` round trips as the baseline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from benchmarks._harness import ms, percentile

SESSION = "c8-s45"


def line(values: Sequence[float]) -> str:
    """p50, p99 and the maximum of ``values`` (seconds), in milliseconds."""
    return f"p50 {ms(percentile(values, 50))}, p99 {ms(percentile(values, 99))}, max {ms(max(values))}"


class DemoSitting:
    """The demo council's sitting on a running server, acted on by its demo accounts."""

    def __init__(self, client: httpx.AsyncClient, ballots: int) -> None:
        self.client = client
        self.deputies = [f"deputy{n:02d}" for n in range(1, ballots + 1)]
        self.tokens: dict[str, dict[str, str]] = {}

    async def sign_in(self, *others: str) -> None:
        """Sign in the chair, the secretary, the deputies who vote and ``others``."""
        for user in ["chair", "secretary", *others, *self.deputies]:
            login = await self.client.post("/api/v1/auth/login", json={"username": user, "password": "demo"})
            self.tokens[user] = {"Authorization": f"Bearer {login.json()['access_token']}"}

    async def command(self, user: str, body: dict[str, object]) -> dict[str, Any]:
        """A sitting command; RuntimeError if refused."""
        response = await self.client.post(f"/api/v1/sessions/{SESSION}/commands", json=body, headers=self.tokens[user])
        if response.status_code != 200:
            raise RuntimeError(f"{body['type']} refused: {response.text}")
        result: dict[str, Any] = response.json()
        return result

    async def open(self) -> None:
        """Open the sitting, register the deputies who vote, take up the first item."""
        await self.command("chair", {"id": "open", "type": "session.open"})
        await self.command("secretary", {"id": "reg", "type": "registration.open"})
        await asyncio.gather(
            *(self.command(u, {"id": f"here-{u}", "type": "presence.register"}) for u in self.deputies)
        )
        await self.command("chair", {"id": "item", "type": "item.start", "item": "i1"})

    async def healthz(self, count: int = 200) -> list[float]:
        """Round trips of ``GET /healthz``: the baseline."""
        times = []
        for _ in range(count):
            began = time.perf_counter()
            await self.client.get("/healthz")
            times.append(time.perf_counter() - began)
        return times

    async def vote(self, k: int) -> tuple[str, dict[str, Any]]:
        """Vote number ``k``: opened, every deputy for, closed; its id and the ``vote.closed`` event."""
        opened = await self.command(
            "chair",
            {
                "id": f"open-{k}",
                "type": "vote.open",
                "item": "i1",
                "subject": f"№{k}",
                "rule": "majority_of_composition",
                "seconds": 600,
            },
        )
        vote = str(opened["events"][0]["payload"]["vote"])
        await asyncio.gather(
            *(
                self.command(u, {"id": f"b{k}-{u}", "type": "ballot.cast", "vote": vote, "choice": "for"})
                for u in self.deputies
            )
        )
        closed = await self.command("chair", {"id": f"close-{k}", "type": "vote.close", "vote": vote})
        return vote, dict(closed["events"][0])
