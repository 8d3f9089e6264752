"""A viewer's track: the broadcast's encoded packets, relayed without decoding or encoding.

aiortc's `RTCRtpSender` packetises an `av.Packet` returned by `recv()` as it is (it encodes only
frames), so one encode serves every viewer. A viewer starts at a keyframe; one that falls behind by
more than its queue drops what it holds and starts again at the next keyframe, rather than
growing memory or showing a broken picture. A sound track needs no keyframe: it drops what it
holds and goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

__all__ = ["QUEUE_PACKETS", "PacketTrack"]

QUEUE_PACKETS = {"video": 90, "audio": 150}
"""Three seconds: video at 30 fps, sound in 20 ms packets."""


class PacketTrack(MediaStreamTrack):
    """A video or audio track fed with encoded packets by `offer` (on the event loop)."""

    def __init__(self, kind: str = "video") -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue(QUEUE_PACKETS[kind])
        self._needs_keyframe = kind == "video"
        self._waiting_for_keyframe = self._needs_keyframe
        self.dropped = 0
        """Packets dropped because the viewer fell behind (or joined between keyframes)."""

    def offer(self, packet: av.Packet[Any]) -> None:
        """Queue a packet for this viewer; never blocks."""
        if self.readyState != "live":
            return
        if self._waiting_for_keyframe:
            if not packet.is_keyframe:
                self.dropped += 1
                return
            self._waiting_for_keyframe = False
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            self.dropped += self._queue.qsize() + 1
            while not self._queue.empty():
                self._queue.get_nowait()
            self._waiting_for_keyframe = self._needs_keyframe

    def restart(self) -> None:
        """The ingest restarted: wait for its first keyframe (its SPS may differ)."""
        self._waiting_for_keyframe = self._needs_keyframe

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)  # wake a waiting recv()
        super().stop()
