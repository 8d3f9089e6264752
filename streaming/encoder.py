"""The single encode: every frame of the ingest is encoded once, as H.264 constrained baseline.

The packets go as they are to every WebRTC viewer, into the HLS segments and into the recording;
nothing is encoded per viewer. Timestamps are on the broadcast's timeline: 90 kHz ticks since
`broadcast.started`, so a restarted ingest continues where the recording left off and a chapter's
offset is a packet's time.

An `Encoder` is not thread-safe; the broadcast calls it from one worker thread.
"""

from __future__ import annotations

import fractions
from typing import Any

import av
from av.video.frame import PictureType

__all__ = ["CLOCK", "KEYFRAME_SECONDS", "MAX_HEIGHT", "Encoder", "output_size"]

CLOCK = fractions.Fraction(1, 90_000)
"""The timeline's time base (the RTP video clock and MPEG-TS's)."""

KEYFRAME_SECONDS = 2
"""A keyframe at least this often: late viewers wait no longer, HLS segments are this long."""

MAX_HEIGHT = 720
"""Larger pictures are scaled down to 720p (the benchmark's 1280×720 passes unchanged)."""

_FPS = 30


def output_size(width: int, height: int) -> tuple[int, int]:
    """The encoded size for an ingest picture: at most 720 lines, aspect kept, both even."""
    if height > MAX_HEIGHT:
        width, height = round(width * MAX_HEIGHT / height), MAX_HEIGHT
    return max(2, width - width % 2), max(2, height - height % 2)


class Encoder:
    """libx264 for live viewers: constrained baseline, no B-frames, zero latency, SPS/PPS on every
    keyframe (so a viewer or a segment can start at any keyframe), a keyframe every 2 s by the clock."""

    def __init__(self, width: int, height: int, *, bitrate: int) -> None:
        self.width, self.height = width, height
        codec = av.CodecContext.create("libx264", "w")
        assert isinstance(codec, av.VideoCodecContext)
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.time_base = CLOCK
        codec.framerate = fractions.Fraction(_FPS, 1)
        codec.bit_rate = bitrate
        codec.gop_size = 4 * KEYFRAME_SECONDS * _FPS  # a backstop: keyframes are forced by the clock
        codec.options = {
            "profile": "baseline",  # x264 writes constrained baseline (profile_idc 66, constraint_set1)
            "preset": "ultrafast",
            "tune": "zerolatency",
            "maxrate": str(bitrate),
            "bufsize": str(bitrate),  # one second of video: no big bursts on a keyframe
        }
        self._codec = codec
        self._next_keyframe: int | None = None

    def encode(self, frame: av.VideoFrame, pts: int) -> list[av.Packet[Any]]:
        """Encode one frame shown at `pts` (90 kHz ticks on the timeline); returns 0 or 1 packets."""
        if (frame.width, frame.height) != (self.width, self.height) or frame.format.name != "yuv420p":
            frame = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        frame.pts, frame.time_base = pts, CLOCK
        if self._next_keyframe is None or pts >= self._next_keyframe:
            frame.pict_type = PictureType.I
            # Half a frame early, so 30 fps jitter never stretches a segment past 2 s.
            self._next_keyframe = pts + KEYFRAME_SECONDS * 90_000 - 1_500
        else:
            frame.pict_type = PictureType.NONE
        packets = self._codec.encode(frame)
        for packet in packets:
            packet.time_base = CLOCK
        return packets
