"""``kvorum serve`` processes on one PostgreSQL and one Redis, as a council runs them (tests/test_multinode.py,
tests/test_upgrade.py)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from session_server import demo

SESSION = demo.SESSION_ID
KVORUM = (sys.executable, "-m", "session_server")


@dataclass
class Node:
    port: int
    proc: asyncio.subprocess.Process

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/sessions/{SESSION}"


async def start(env: dict[str, str], port: int, log: Path, command: Sequence[str] = KVORUM) -> Node:
    """A node on ``port``, once its ``/readyz`` answers: ``command serve`` (default ``kvorum``), output in ``log``."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command,
            "serve",
            env={**env, "KVORUM_PORT": str(port)},
            stdout=out,
            stderr=out,
        )
    node = Node(port, proc)
    async with httpx.AsyncClient(base_url=node.http) as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"node on {port} exited with {proc.returncode}; see {log}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return node
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"node on {port} did not become ready")
