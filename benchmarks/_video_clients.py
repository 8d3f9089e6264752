"""The video benchmark's peers: the child processes that publish and watch, for ``benchmarks.video``.

``python -m benchmarks.video --child peers [--discard]`` runs ``serve_peers``: a publisher (the
counter camera of ``benchmarks._video_peers``) and viewers, driven by one JSON command a line on
stdin. With ``--discard`` the viewers run aiortc's whole receive path but their decoder (``Counted``)
only counts frames and bytes. ``loopback_only`` keeps every child's ICE on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

import aioice.ice
import aiortc.rtcrtpreceiver
import av
import httpx
import orjson
from aiortc import RTCPeerConnection, RTCRtpCodecParameters
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcconfiguration import RTCIceServer
from aiortc.rtcicetransport import RTCIceGatherer

from benchmarks._video_peers import CounterTrack, Publisher, Viewer, whep_watch, whip_publish

WIDTH, HEIGHT, FPS = 1280, 720, 30  # the publisher's camera
CONNECT_SECONDS = 60.0


def loopback_only() -> None:
    """This process's ICE: candidates on 127.0.0.1 only, no STUN server.

    aioice leaves 127.0.0.1 out of its host candidates and aiortc asks Google's STUN server when a
    peer connection has no configuration; on loopback neither is wanted.
    """

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    def no_stun(cls: type[RTCIceGatherer]) -> list[RTCIceServer]:
        return []

    aioice.ice.get_host_addresses = loopback
    RTCIceGatherer.getDefaultIceServers = classmethod(no_stun)  # type: ignore[method-assign,assignment]


class Counted(Decoder):
    """A viewer's decoder that counts the frames and bytes that arrive; without ``inner`` it decodes nothing."""

    def __init__(self, inner: Decoder | None) -> None:
        self.inner = inner
        self.frames = 0
        self.bytes = 0

    def decode(self, encoded_frame: JitterFrame) -> list[av.frame.Frame]:
        self.frames += 1
        self.bytes += len(encoded_frame.data)
        return [] if self.inner is None else self.inner.decode(encoded_frame)


async def settled(pc: RTCPeerConnection) -> None:
    """Until the peer connection has connected (or failed)."""
    changed = asyncio.Event()
    pc.on("connectionstatechange", changed.set)
    try:
        while pc.connectionState not in ("connected", "failed", "closed"):
            await changed.wait()
            changed.clear()
    finally:
        pc.remove_listener("connectionstatechange", changed.set)


class Peers:
    """One child's publisher and viewers, driven by JSON commands."""

    def __init__(self, discard: bool) -> None:
        self.publisher: Publisher | None = None
        self.viewers: list[Viewer] = []
        self.decoders: list[Counted] = []
        self.base, self.token, self.discard = "", "", discard
        self.marked = (0.0, 0.0, 0, 0, 0)  # wall, cpu, frames, bytes, frames published
        receiver = aiortc.rtcrtpreceiver
        decoder = receiver.get_decoder  # type: ignore[attr-defined]

        def counted(codec: RTCRtpCodecParameters) -> Decoder:
            self.decoders.append(Counted(None if discard else decoder(codec)))
            return self.decoders[-1]

        receiver.get_decoder = counted  # type: ignore[attr-defined]

    def counts(self) -> tuple[int, int, int]:
        """Frames and bytes received so far; frames published so far."""
        sent = self.publisher.track.counter if self.publisher is not None else 0
        return sum(d.frames for d in self.decoders), sum(d.bytes for d in self.decoders), sent

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        do = command["do"]
        if do == "publish":
            self.base, self.token = command["base"], command["token"]
            # "soft": grey ± 16 levels. It still fills 1.5 Mbit/s of H.264, and aiortc's VP8 (the publisher's
            # and the baseline's) holds it to about 1.4 Mbit/s; on full-range noise VP8 reaches its coarsest
            # quantizer at ~13.7 Mbit/s, so every baseline viewer would cost nine times the packets of a Kvorum
            # viewer as well as its own encode.
            soft = command["noise"] != "full"
            track = CounterTrack(WIDTH, HEIGHT, FPS, noise=(112, 144)) if soft else CounterTrack(WIDTH, HEIGHT, FPS)
            published = await whip_publish(self.base, command["session"], self.token, track)
            if isinstance(published, httpx.Response):
                return {"error": f"WHIP refused: {published.status_code} {published.text}"}
            self.publisher = published
        elif do == "watch":
            self.base = command["base"]
            semaphore = asyncio.Semaphore(8)

            async def join() -> Viewer | httpx.Response:
                async with semaphore:
                    return await whep_watch(self.base, command["session"], read=not self.discard)

            joined = await asyncio.gather(*(join() for _ in range(command["count"] - len(self.viewers))))
            refused = [j for j in joined if isinstance(j, httpx.Response)]
            self.viewers += [j for j in joined if isinstance(j, Viewer)]
            if refused:
                return {"error": f"WHEP refused: {refused[0].status_code} {refused[0].text}"}
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_SECONDS):
                    await asyncio.gather(*(settled(v.pc) for v in self.viewers))
        elif do == "mark":
            self.marked = (time.time(), time.process_time(), *self.counts())
        elif do == "report":
            wall, cpu, frames, received, sent = self.marked
            now_frames, now_bytes, now_sent = self.counts()
            latencies = [
                ((int(at * 1000) - stamp) % 2**32) for v in self.viewers for at, _, stamp in v.frames if at >= wall
            ]
            return {
                "wall": time.time() - wall,
                "cpu": time.process_time() - cpu,
                "frames": now_frames - frames,
                "bytes": now_bytes - received,
                "sent": now_sent - sent,
                "viewers": len(self.viewers),
                "connected": sum(v.pc.connectionState == "connected" for v in self.viewers),
                "latencies": [ms for ms in latencies if ms < 60_000],  # a misread stamp is not a latency
            }
        elif do == "leave":
            await self.close()
        else:
            return {"error": f"unknown command {do!r}"}
        return {"viewers": len(self.viewers)}

    async def close(self) -> None:
        viewers, self.viewers = self.viewers, []
        await asyncio.gather(*(v.close(self.base) for v in viewers), return_exceptions=True)
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(base_url=self.base, timeout=10) as client:
                    await client.delete(publisher.location, headers={"Authorization": f"Bearer {self.token}"})
            await publisher.pc.close()


async def serve_peers(discard: bool) -> int:
    """A child of peers: one JSON command a line on stdin, one JSON answer a line on stdout, until stdin closes."""
    loopback_only()
    peers = Peers(discard)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            try:
                reply = await peers.handle(orjson.loads(line))
            except Exception as exc:  # the parent says what went wrong
                reply = {"error": repr(exc)}
            sys.stdout.buffer.write(orjson.dumps(reply) + b"\n")
            sys.stdout.flush()
    finally:
        await peers.close()
    return 0
