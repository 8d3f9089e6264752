"""A session's WebSocket (its address, a signed-in connection resuming after a seq, the next message, the
events up to a seq) and the frames of its public SSE feed: for the real-time, limits and sign-in tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from conftest import Demo, RunningServer

SESSION = "c8-s45"


def ws_url(server: RunningServer, session: str = SESSION) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/sessions/{session}"


async def recv(ws: Any, seconds: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), seconds))
    return message


async def events_until(ws: Any, seq: int) -> list[dict[str, Any]]:
    """Every event message up to and including ``seq`` (other messages are skipped)."""
    got: list[dict[str, Any]] = []
    while not got or got[-1]["seq"] < seq:
        message = await recv(ws)
        if message["type"] == "event":
            got.append(message["event"])
    return got


async def connect(demo: Demo, user: str, since: int, **kwargs: Any) -> Any:
    ws = await websockets.connect(ws_url(demo.server), **kwargs)
    await ws.send(json.dumps({"type": "auth", "token": await demo.token(user)}))
    await ws.send(json.dumps({"type": "sync", "since": since}))
    return ws


async def _sse_lines(client: httpx.AsyncClient, headers: dict[str, str], want: int) -> list[dict[str, str]]:
    frames: list[dict[str, str]] = []
    async with client.stream("GET", f"/api/v1/sessions/{SESSION}/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert "no-cache" in response.headers["cache-control"]
        frame: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "data" in frame:
                    frames.append(frame)
                    if len(frames) == want:
                        return frames
                frame = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                frame[key] = value
    return frames
