"""Frames in, packets out: a broadcast's state on this node and the pumps that feed its viewers.

The picture's pump takes each decoded frame from the ingest, stamps it on the broadcast's timeline,
has the broadcast's worker thread encode it once and write it into the recording, and hands the
packets to every viewer; the sound's pump does the same with its frames. A broadcast has one
worker thread, so the encoders and the recording are only ever touched from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import av
from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streaming.encoder import AUDIO_RATE, AudioEncoder, Encoder, output_size
from streaming.hls import Recording
from streaming.tracks import PacketTrack

__all__ = ["Broadcast", "Ingest", "Viewer", "pump_picture", "pump_sound"]

log = logging.getLogger("kvorum.video")


@dataclass(eq=False)
class Viewer:
    """A WebRTC viewer: its peer and its tracks (the sound only if it asked for it)."""

    id: str
    pc: RTCPeerConnection
    track: PacketTrack
    sound: PacketTrack | None = None
    timer: asyncio.Task[None] | None = None


@dataclass(eq=False)
class Ingest:
    """The publisher (WHIP) or the camera feeding a broadcast, and the lock that makes it the only one."""

    id: str
    source: Literal["whip", "camera"]
    lock: asyncpg.Connection
    pc: RTCPeerConnection | None = None
    player: MediaPlayer | None = None
    track: MediaStreamTrack | None = None
    task: asyncio.Task[None] | None = None
    sound_task: asyncio.Task[None] | None = None
    timer: asyncio.Task[None] | None = None
    ending: bool = False
    frames: int = 0


@dataclass(eq=False)
class Broadcast:
    """One session's video on this node."""

    session: str
    recording: Recording
    viewers: dict[str, Viewer] = field(default_factory=dict)
    ingest: Ingest | None = None
    encoder: Encoder | None = None
    audio_encoder: AudioEncoder | None = None
    executor: ThreadPoolExecutor | None = None
    bitrate: int = 1_500_000
    frames: int = 0
    """Pictures encoded, from every ingest of it on this node (``/metrics``: their rate is the frame rate)."""
    dropped: int = 0
    """Packets viewers that have left did not get (those still watching count in their tracks)."""

    @property
    def idle(self) -> bool:
        return self.ingest is None and not self.viewers


async def pump_picture(
    broadcast: Broadcast, ingest: Ingest, track: MediaStreamTrack, zero: float, frame_timeout: float
) -> str:
    """Encode and relay the picture until the ingest ends; returns why it ended by itself.

    `zero` is the broadcast's start (Unix time); timestamps are 90 kHz ticks since then, on the
    monotonic clock from here on.
    """
    loop = asyncio.get_running_loop()
    start = time.monotonic() - (time.time() - zero)
    last = -1
    try:
        while not ingest.ending:
            try:
                # Not asyncio.wait_for: on 3.11 it can swallow the cancel that ends the ingest when a
                # frame arrives at the same moment, and this loop would never stop.
                async with asyncio.timeout(frame_timeout):
                    frame = await track.recv()
            except TimeoutError:
                return f"no video for {frame_timeout:g} s"
            if not isinstance(frame, av.VideoFrame):
                continue
            pts = max(round((time.monotonic() - start) * 90_000), last + 1)
            last = pts
            assert broadcast.executor is not None
            packets = await loop.run_in_executor(broadcast.executor, _encode_picture, broadcast, frame, pts)
            ingest.frames += 1
            broadcast.frames += 1
            for packet in packets:
                for viewer in list(broadcast.viewers.values()):
                    viewer.track.offer(packet)
    except MediaStreamError:
        pass
    except Exception:
        log.exception("video of session %s: encoding failed", broadcast.session)
        return "the server could not encode the video"
    return "the publisher stopped sending video"


async def pump_sound(broadcast: Broadcast, track: MediaStreamTrack, zero: float) -> None:
    """Encode and relay the sound like the picture; the picture alone decides when the ingest dropped."""
    loop = asyncio.get_running_loop()
    start = time.monotonic() - (time.time() - zero)
    try:
        while broadcast.audio_encoder is not None:
            frame = await track.recv()
            if not isinstance(frame, av.AudioFrame) or broadcast.executor is None:
                continue
            pts = round((time.monotonic() - start) * AUDIO_RATE) - frame.samples  # its first sample
            packets = await loop.run_in_executor(broadcast.executor, _encode_sound, broadcast, frame, pts)
            for packet in packets:
                for viewer in list(broadcast.viewers.values()):
                    if viewer.sound is not None:
                        viewer.sound.offer(packet)
    except MediaStreamError:
        pass
    except Exception:
        log.exception("video of session %s: the sound failed; the picture goes on without it", broadcast.session)


def _encode_picture(broadcast: Broadcast, frame: av.VideoFrame, pts: int) -> list[av.Packet[Any]]:
    """In the worker thread: the encoder is made for the ingest's first picture size."""
    if broadcast.encoder is None:
        width, height = output_size(frame.width, frame.height)
        broadcast.encoder = Encoder(width, height, bitrate=broadcast.bitrate)
    encoder = broadcast.encoder
    packets = encoder.encode(frame, pts)
    for packet in packets:
        broadcast.recording.write(packet, encoder.width, encoder.height)
    return packets


def _encode_sound(broadcast: Broadcast, frame: av.AudioFrame, pts: int) -> list[av.Packet[Any]]:
    """In the worker thread: Opus for the viewers is returned, AAC goes into the recording."""
    encoder = broadcast.audio_encoder
    if encoder is None:
        return []
    opus, aac = encoder.encode(frame, pts)
    for packet in aac:
        broadcast.recording.write_audio(packet)
    return opus
