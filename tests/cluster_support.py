"""``kvorum serve`` processes on one PostgreSQL and one Redis, as a council runs them (tests/test_multinode.py,
tests/test_upgrade.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import free_port

from session_server import demo
from session_server import node as services
from session_server.config import Settings

SESSION = demo.SESSION_ID
KVORUM = (sys.executable, "-m", "session_server")
TESTS = Path(__file__).resolve().parent


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


@dataclass
class Cluster:
    """Nodes serving the demo council, every account's token (minted with the shared key), and how to start
    one more: the environment they share and the folder of their output."""

    nodes: list[Node]
    tokens: dict[str, str]
    env: dict[str, str]
    logs: Path


@contextlib.asynccontextmanager
async def cluster(settings: Settings, redis_url: str, folder: Path, count: int) -> AsyncIterator[Cluster]:
    """``count`` nodes on ``settings``' database and ``redis_url``; every node in ``nodes`` when the block ends
    (those started meanwhile too) is stopped with SIGTERM."""
    async with services.Node.open(settings) as kvorum:  # seed once
        await demo.seed(kvorum)
        tokens = {u.username: kvorum.access.issue(u) for u in await kvorum.accounts.list()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVORUM_")}
    env |= {
        "KVORUM_DATABASE_URL": str(settings.database_url),
        "KVORUM_BROKER_URL": redis_url,
        "KVORUM_DATA_DIR": str(folder),
        "KVORUM_DB_POOL_SIZE": "4",
        # tests/ importable by the nodes: a test may start one as another release (tests/next_release)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    nodes = list(await asyncio.gather(*(start(env, free_port(), folder / f"node{i}.log") for i in range(count))))
    running = Cluster(nodes, tokens, env, folder)
    try:
        yield running
    finally:
        for node in running.nodes:
            if node.proc.returncode is None:
                node.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(asyncio.wait_for(n.proc.wait(), 30) for n in running.nodes))
