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


AUDIO_RATE = 48_000
AUDIO_CLOCK = fractions.Fraction(1, AUDIO_RATE)
SOUND_SLACK = AUDIO_RATE
"""How far (one second, in samples) the counted sound may fall behind or run ahead of the clock."""
"""Audio timestamps: samples at 48 kHz on the same timeline (zero = `broadcast.started`)."""


class AudioEncoder:
    """The sound, encoded once twice over: Opus for WebRTC viewers, AAC for HLS and the recording.

    Frames come in as aiortc decodes them (any layout and rate); each codec gets them resampled to
    48 kHz stereo in its own frame size (Opus 20 ms, AAC 1024 samples). Timestamps count samples
    from where the first frame fell on the timeline, so the sound is continuous for the decoder.
    """

    def __init__(self, *, opus_bitrate: int = 64_000, aac_bitrate: int = 128_000) -> None:
        self._opus = self._codec("libopus", "s16", opus_bitrate)
        self._aac = self._codec("aac", "fltp", aac_bitrate)
        self._to_opus = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE, frame_size=960)
        self._to_aac = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=1024)
        self._next_opus: int | None = None
        self._next_aac: int | None = None

    @staticmethod
    def _codec(name: str, sample_format: str, bitrate: int) -> av.AudioCodecContext:
        codec = av.CodecContext.create(name, "w")
        assert isinstance(codec, av.AudioCodecContext)
        codec.sample_rate, codec.layout, codec.format = AUDIO_RATE, "stereo", sample_format
        codec.bit_rate = bitrate
        codec.time_base = AUDIO_CLOCK
        return codec

    @property
    def aac_extradata(self) -> bytes:
        """The AAC decoder configuration a container needs (MPEG-TS writes ADTS headers from it)."""
        return bytes(self._aac.extradata or b"")

    def encode(self, frame: av.AudioFrame, pts: int) -> tuple[list[av.Packet[Any]], list[av.Packet[Any]]]:
        """Encode one frame heard at `pts` (48 kHz ticks on the timeline): (Opus packets, AAC packets)."""
        opus = self._run(self._opus, self._to_opus.resample(frame), pts, "_next_opus")
        aac = self._run(self._aac, self._to_aac.resample(frame), pts, "_next_aac")
        return opus, aac

    def _run(self, codec: av.AudioCodecContext, frames: list[av.AudioFrame], pts: int, clock: str) -> list[Any]:
        packets: list[av.Packet[Any]] = []
        for frame in frames:
            expected: int | None = getattr(self, clock)
            # Samples are counted, so the sound's time never goes back: frames heard late and then
            # in a burst (a loaded server) keep their places. Only a gap in the ingest over
            # `SOUND_SLACK` moves the count forward to the clock; sound that ran ahead of the clock
            # by as much is dropped, to stay with the picture.
            if expected is None or pts - expected > SOUND_SLACK:
                at = pts
            elif expected - pts > SOUND_SLACK:
                continue
            else:
                at = expected
            frame.pts, frame.time_base = at, AUDIO_CLOCK
            setattr(self, clock, at + frame.samples)
            packets += codec.encode(frame)
        for packet in packets:
            packet.time_base = AUDIO_CLOCK
        return packets
