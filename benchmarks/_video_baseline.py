"""The video benchmark's baseline: a minimal aiortc server with MediaRelay, for ``benchmarks.video``.

``python -m benchmarks.video --child baseline`` serves ``baseline_app`` on uvicorn in Kvorum's
place: WHIP in, WHEP out, and each viewer gets ``MediaRelay().subscribe(track, buffered=False)``, so
aiortc encodes once per viewer (VP8, its default, at the bitrate its congestion control picks).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def baseline_app() -> Starlette:
    """WHIP in, WHEP out, aiortc's MediaRelay in between: each viewer's sender encodes its own copy."""
    relay = MediaRelay()
    sources: dict[str, MediaStreamTrack] = {}
    peers: dict[str, RTCPeerConnection] = {}
    drains: set[asyncio.Task[None]] = set()

    async def drain(track: MediaStreamTrack) -> None:
        """Read the ingest with or without viewers, as Kvorum does."""
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    async def answer(request: Request, pc: RTCPeerConnection, kind: str) -> Response:
        await pc.setLocalDescription(await pc.createAnswer())
        resource = uuid.uuid4().hex
        peers[resource] = pc
        location = f"/{kind}/{request.path_params['session']}/{resource}"
        return Response(pc.localDescription.sdp, 201, {"Location": location}, media_type="application/sdp")

    async def whip(request: Request) -> Response:
        session = request.path_params["session"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                sources[session] = track
                task = asyncio.ensure_future(drain(relay.subscribe(track, buffered=False)))
                drains.add(task)
                task.add_done_callback(drains.discard)

        pc.on("track", on_track)
        await pc.setRemoteDescription(RTCSessionDescription((await request.body()).decode(), "offer"))
        return await answer(request, pc, "whip")

    async def whep(request: Request) -> Response:
        source = sources.get(request.path_params["session"])
        if source is None:
            return PlainTextResponse("nobody publishes", 404)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        await pc.setRemoteDescription(RTCSessionDescription((await request.body()).decode(), "offer"))
        pc.addTrack(relay.subscribe(source, buffered=False))
        return await answer(request, pc, "whep")

    async def leave(request: Request) -> Response:
        pc = peers.pop(request.path_params["resource"], None)
        if pc is not None:
            await pc.close()
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.gather(*(pc.close() for pc in peers.values()), return_exceptions=True)
        for task in drains:
            task.cancel()
        await asyncio.gather(*drains, return_exceptions=True)

    return Starlette(
        routes=[
            Route("/readyz", lambda request: PlainTextResponse("ok")),
            Route("/whip/{session}", whip, methods=["POST"]),
            Route("/whep/{session}", whep, methods=["POST"]),
            Route("/{kind}/{session}/{resource}", leave, methods=["DELETE"]),
        ],
        lifespan=lifespan,
    )
