"""Synthetic video peers for the tests and the video benchmark, with aiortc on both ends.

The publisher draws a 16-bit frame counter and a 32-bit wall-clock stamp (milliseconds) into the
picture as 48 black or white cells; a viewer decodes its frames and reads them back, so it can see
the counter advance and measure glass-to-glass latency (frame drawn → frame decoded). The rest of
the picture is noise, so that the encoder really spends its bitrate. A `ToneTrack` is the
chamber's microphone: a steady 440 Hz tone that a listener can tell from silence.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

__all__ = ["CounterTrack", "Publisher", "ToneTrack", "Viewer", "loudness", "read_cells", "whep_watch", "whip_publish"]

_COLUMNS, _ROWS = 8, 6  # 48 cells over the top two thirds of the picture
_BITS = _COLUMNS * _ROWS


def _cell_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    cw, ch = width // _COLUMNS, (height * 2 // 3) // _ROWS
    return [(r * ch, (r + 1) * ch, c * cw, (c + 1) * cw) for r in range(_ROWS) for c in range(_COLUMNS)]


def _bits(counter: int, stamp: int) -> list[int]:
    value = (counter & 0xFFFF) << 32 | (stamp & 0xFFFFFFFF)
    return [(value >> (_BITS - 1 - i)) & 1 for i in range(_BITS)]


def read_cells(luma: np.ndarray[Any, Any]) -> tuple[int, int]:
    """(counter, stamp in ms mod 2³²) read from a decoded picture's luma plane."""
    height, width = luma.shape
    value = 0
    for top, bottom, left, right in _cell_boxes(width, height):
        h, w = bottom - top, right - left
        centre = luma[top + h // 4 : bottom - h // 4, left + w // 4 : right - w // 4]
        value = value << 1 | int(centre.mean() > 128)
    return value >> 32, value & 0xFFFFFFFF


class CounterTrack(MediaStreamTrack):
    """A camera that shows its frame counter and the time, at `fps`.

    `noise` is the luma range of the picture behind the cells, ``(low, high)`` with ``high``
    excluded: the full video range by default; a narrow one such as ``(112, 144)`` is gentler
    noise that an encoder can hold to a lower bitrate.
    """

    kind = "video"

    def __init__(
        self, width: int = 320, height: int = 240, fps: int = 30, *, noise: tuple[int, int] = (16, 235)
    ) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.counter = 0
        self._start: float | None = None
        rng = np.random.default_rng(7)
        low, high = noise
        # A few noisy pictures, cycled and shifted: real detail for the encoder, cheap to draw.
        self._noise = [rng.integers(low, high, (height, width), dtype=np.uint8) for _ in range(4)]
        self._chroma = np.full((height // 2, width), 128, dtype=np.uint8)
        self._boxes = _cell_boxes(width, height)

    def draw(self, counter: int, stamp: int) -> av.VideoFrame:
        luma = np.roll(self._noise[counter % 4], counter * 3, axis=1).copy()
        for bit, (top, bottom, left, right) in zip(_bits(counter, stamp), self._boxes, strict=True):
            luma[top:bottom, left:right] = 235 if bit else 16
        return av.VideoFrame.from_ndarray(np.concatenate([luma, self._chroma]), format="yuv420p")

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.counter / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = self.draw(self.counter, int(time.time() * 1000))
        frame.pts, frame.time_base = self.counter * 3000, fractions.Fraction(1, 90_000)
        self.counter += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A microphone hearing a 440 Hz tone: 20 ms frames of 48 kHz stereo, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._sent / 48_000
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        frame = self.frame(self._sent // 960)
        self._sent += 960
        return frame

    @staticmethod
    def frame(number: int) -> av.AudioFrame:
        """The `number`-th 20 ms frame of the tone."""
        t = (np.arange(960) + number * 960) / 48_000
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2)[None, :], format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, number * 960, fractions.Fraction(1, 48_000)
        return frame


def loudness(frame: av.AudioFrame) -> float:
    """Mean absolute sample value of a frame, on the 16-bit scale (silence ≈ 0, the tone ≈ 5000)."""
    samples = frame.to_ndarray().astype(np.float64)
    if frame.format.name.startswith("flt"):
        samples *= 32768
    return float(np.abs(samples).mean())


@dataclass
class Publisher:
    """A WHIP publisher: its peer connection, its camera and the resource to DELETE."""

    pc: RTCPeerConnection
    track: CounterTrack
    location: str
    response: httpx.Response


async def whip_publish(
    base: str, session: str, token: str, track: CounterTrack | None = None, *, sound: bool = False
) -> Publisher | httpx.Response:
    """Publish `track` (a counter camera by default), with a tone if `sound`; the HTTP response when
    the server refuses."""
    track = track or CounterTrack()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
    pc.addTransceiver(track, direction="sendonly")
    if sound:
        pc.addTransceiver(ToneTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            f"/whip/{session}",
            content=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        )
    if response.status_code != 201:
        await pc.close()
        return response
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
    return Publisher(pc, track, response.headers["location"], response)


@dataclass
class Viewer:
    """A WHEP viewer: every frame it decoded, as (received at, counter, stamp)."""

    pc: RTCPeerConnection
    location: str
    frames: list[tuple[float, int, int]] = field(default_factory=list)
    sound: list[float] = field(default_factory=list)
    """The loudness of every sound frame heard."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def counters(self) -> list[int]:
        return [c for _, c, _ in self.frames]

    async def close(self, base: str | None = None) -> None:
        if base is not None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await client.delete(self.location)
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def whep_watch(
    base: str,
    session: str,
    *,
    read: bool = True,
    sound: bool = False,
    on_frame: Callable[[float, int, int], None] | None = None,
) -> Viewer | httpx.Response:
    """Watch the session (and listen, with `sound`); with `read`, decode the counter from every frame."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
    pc.addTransceiver("video", direction="recvonly")
    if sound:
        pc.addTransceiver("audio", direction="recvonly")
    received: list[tuple[float, int, int]] = []
    heard: list[float] = []

    async def consume(track: MediaStreamTrack) -> None:
        with_counter = read or on_frame is not None
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.AudioFrame):
                heard.append(loudness(frame))
            elif with_counter and isinstance(frame, av.VideoFrame):
                now = time.time()
                counter, stamp = read_cells(frame.to_ndarray(format="gray"))
                received.append((now, counter, stamp))
                if on_frame is not None:
                    on_frame(now, counter, stamp)

    tasks: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(consume(track))))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            f"/whep/{session}", content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
        )
    if response.status_code != 201:
        await pc.close()
        return response
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
    return Viewer(pc, response.headers["location"], received, heard, tasks)
