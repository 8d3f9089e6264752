"""The commands of ``benchmarks.fanout`` that make its events: the demo council seeded with tokens for
its chair and deputies, the chair steering the session open, and deputies taking turns at
``presence.register`` / ``presence.leave`` over keep-alive HTTP at a fixed rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from benchmarks._harness import HOST
from benchmarks._http import HttpConnection, connect, request_bytes

__all__ = ["Caller", "Driven", "Tokens", "drive", "seed", "session_path", "steer"]

STEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Tokens:
    chair: str
    deputies: list[tuple[str, str]]  # (member, access token)


async def seed(url: str, tmp: Path) -> Tokens:
    """The demo council, its accounts and its session; tokens for the chair and every deputy."""
    from session_server import demo
    from session_server.config import Settings
    from session_server.node import Node

    async with Node.open(Settings(database_url=url, data_dir=tmp, access_token_seconds=86400)) as kvorum:
        await demo.seed(kvorum)
        users = await kvorum.accounts.list()
        chair = next(u for u in users if u.username == "chair")
        deputies = [(u.member or "", kvorum.access.issue(u)) for u in users if u.role.value == "deputy"]
        return Tokens(kvorum.access.issue(chair), deputies)


def session_path(suffix: str = "") -> str:
    from session_server.demo import SESSION_ID

    return f"/api/v1/sessions/{SESSION_ID}{suffix}"


# ---- commands over HTTP ------------------------------------------------------------------------


@dataclass(slots=True)
class Caller:
    """One account's keep-alive connection; its requests go one at a time."""

    token: str
    port: int
    conn: HttpConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request after those before it; ``(status, JSON answer)``."""
        async with self.lock:
            return await self.send(method, path, body)

    async def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request now (the caller holds ``lock``)."""
        data = orjson.dumps(body) if body is not None else b""
        headers = {"Authorization": f"Bearer {self.token}"}
        request = request_bytes(method, path, f"{HOST}:{self.port}", headers=headers, body=data)
        async with asyncio.timeout(STEP_SECONDS):
            if self.conn is None or not self.conn.open:  # uvicorn closes keep-alive connections idle for 5 s
                self.conn = await connect(HOST, self.port)
            response = await self.conn.request(request)
        return response.status, orjson.loads(response.body) if response.body else None

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.call(method, path, body)
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path} refused: {status} {answer}")
        return answer

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


async def steer(port: int, tokens: Tokens) -> tuple[int, dict[str, Any]]:
    """The chair opens the session and registration; one deputy registers and leaves (the bare template)."""
    chair, deputy = Caller(tokens.chair, port), Caller(tokens.deputies[0][1], port)
    try:
        for n, kind in enumerate(("session.open", "registration.open")):
            await chair.ok("POST", session_path("/commands"), {"id": f"steer-{n}", "type": kind})
        here = await deputy.ok("POST", session_path("/commands"), {"id": "steer-2", "type": "presence.register"})
        left = await deputy.ok("POST", session_path("/commands"), {"id": "steer-3", "type": "presence.leave"})
        return int(left["seq"]), {k: v for k, v in here["events"][0].items() if k not in ("seq", "at")}
    finally:
        chair.close()
        deputy.close()


@dataclass(slots=True)
class Driven:
    last: int = 0
    acks: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def drive(callers: Sequence[Caller], registered: set[int], tag: str, rate: float, count: int) -> Driven:
    """``count`` commands at ``rate`` a second on a fixed schedule, deputies taking turns: one command, one event."""
    driven = Driven()

    async def command(i: int) -> None:
        who = i % len(callers)
        async with callers[who].lock:  # a deputy's commands in turn: the next one depends on this one's outcome
            kind = "presence.leave" if who in registered else "presence.register"
            began = time.perf_counter()
            try:
                status, answer = await callers[who].send(
                    "POST", session_path("/commands"), {"id": f"{tag}-{i}", "type": kind}
                )
            except (OSError, TimeoutError) as exc:
                driven.errors.append(repr(exc))
                return
            if status != 200:
                driven.errors.append(f"{status} {answer}")
                return
            driven.acks.append(time.perf_counter() - began)
            driven.last = max(driven.last, int(answer["seq"]))
            registered.symmetric_difference_update({who})

    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(command(i)))
    await asyncio.gather(*tasks)
    driven.seconds = loop.time() - start
    return driven
