"""HLS and the recording, from the single encode: 2-second MPEG-TS segments in the data folder.

One folder per session (``<data>/video/<session>/``) holds the segments ``seg-00001.ts``…,
``index.m3u8`` (the live playlist: the last few segments), ``recording.m3u8`` (every segment; an
EVENT playlist while live, VOD once finished) and, after the broadcast stops, ``recording.mp4``
(the segments joined without re-encoding). Any web server or CDN can serve the folder as it is.

Timestamps stay on the broadcast's timeline, so the recording's time is the offset from
`broadcast.started` that chapters use; an ingest that drops and comes back continues the same
timeline after an ``#EXT-X-DISCONTINUITY``. A restarted server continues the numbering from
``recording.m3u8``. Files are written under a temporary name and renamed, so a reader never sees
half a playlist, half a segment or half a recording.

`Recording` is used from one worker thread (the broadcast's encoder thread).
"""

from __future__ import annotations

import fractions
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from streaming.encoder import CLOCK, KEYFRAME_SECONDS

__all__ = ["FILE_NAME", "LIVE_WINDOW", "Recording", "Segment"]

LIVE_WINDOW = 6
"""Segments in the live playlist (12 s): players start about three segments from its end."""

FILE_NAME = re.compile(r"^(index\.m3u8|recording\.m3u8|recording\.mp4|seg-[0-9]{5,9}\.ts)$")
"""The names served from a session's video folder."""

_SEGMENT_LINE = re.compile(r"^seg-([0-9]+)\.ts$")


@dataclass(frozen=True, slots=True)
class Segment:
    """A finished segment: its number, length in seconds, and whether a new ingest starts with it."""

    number: int
    seconds: float
    discontinuity: bool

    @property
    def name(self) -> str:
        return f"seg-{self.number:05d}.ts"


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load(folder: Path) -> list[Segment]:
    """The segments a previous run listed in ``recording.m3u8`` (and still on disk)."""
    playlist = folder / "recording.m3u8"
    if not playlist.is_file():
        return []
    segments: list[Segment] = []
    seconds, discontinuity = 0.0, False
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif (m := _SEGMENT_LINE.match(line)) and (folder / line).is_file():
            segments.append(Segment(int(m.group(1)), seconds, discontinuity))
            discontinuity = False
    return segments


class Recording:
    """Cuts the encoded packets into segments and keeps the playlists current."""

    def __init__(self, folder: Path, *, window: int = LIVE_WINDOW) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.window = window
        self.segments = _load(folder)
        self.finished = False
        self._open: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._audio_stream: av.AudioStream | None = None
        self.audio: bytes | None = None
        """The AAC configuration when the ingest has sound (set before its first packet), else None."""
        self._number = self.segments[-1].number if self.segments else 0
        self._first_pts = 0
        self._last_pts = 0
        self._frame_ticks = 3_000
        self._audio_dts = fractions.Fraction(-1)
        self._discontinuity = bool(self.segments)  # a server restart begins a new piece of timeline

    def write(self, packet: av.Packet[Any], width: int, height: int) -> None:
        """Add one encoded packet; a keyframe 2 s or more into the open segment starts the next one."""
        assert packet.pts is not None
        pts = packet.pts
        if packet.is_keyframe and (self._open is None or pts - self._first_pts >= KEYFRAME_SECONDS * 90_000 - 3_000):
            self._close(seconds=(pts - self._first_pts) / 90_000 if self._open is not None else 0.0)
            self._start(pts, width, height)
        if self._open is None:
            return  # the ingest has not sent its first keyframe yet
        if pts > self._last_pts:
            self._frame_ticks = min(pts - self._last_pts, 90_000)
        self._last_pts = pts
        packet.stream = self._stream
        self._open.mux(packet)
        packet.time_base = CLOCK  # muxing rebased it to the stream's (the same clock; kept explicit)

    def write_audio(self, packet: av.Packet[Any]) -> None:
        """Add one AAC packet to the open segment (sound before the first keyframe is dropped)."""
        if self._open is None or self._audio_stream is None:
            return
        if packet.dts is None or packet.time_base is None or packet.dts * packet.time_base <= self._audio_dts:
            return  # the muxer refuses time going back, and would take the rest of the sound with it
        self._audio_dts = packet.dts * packet.time_base
        packet.stream = self._audio_stream
        self._open.mux(packet)

    def cut(self) -> None:
        """The ingest ended: close the open segment; the next one follows a discontinuity."""
        if self._open is not None:
            self._close(seconds=(self._last_pts - self._first_pts + self._frame_ticks) / 90_000)
        self._discontinuity = True

    def finish(self) -> None:
        """The broadcast stopped: close the playlists (`join` then makes ``recording.mp4``)."""
        self.cut()
        self.finished = True
        self._write_playlists()

    def resume(self) -> None:
        """A stopped broadcast goes on air again: the playlists are live again."""
        self.finished = False

    def join(self) -> Path | None:
        """Remux every segment, in order, into ``recording.mp4`` (no re-encoding); None if none.

        The picture and, where an ingest had it, the sound; timestamps as they are (the timeline).
        """
        if not self.segments:
            return None
        paths = [self.folder / segment.name for segment in self.segments]
        target = self.folder / "recording.mp4"
        tmp = self.folder / "recording.mp4.part"
        with av.open(str(tmp), "w", format="mp4") as out:
            streams: dict[str, Any] = {}
            for path in paths:  # every kind of stream, from the first segment that has it
                with av.open(str(path)) as source:
                    for kind in ("video", "audio"):
                        found = [s for s in source.streams if s.type == kind]
                        if kind not in streams and found:
                            streams[kind] = out.add_stream_from_template(found[0])
            last_dts = dict.fromkeys(streams, -1)
            for path in paths:
                with av.open(str(path)) as source:
                    wanted = [s for s in source.streams if s.type in streams]
                    for packet in source.demux(wanted):
                        kind = packet.stream.type
                        if packet.dts is None or packet.dts <= last_dts[kind]:
                            continue  # the demuxer's flush packet; or an overlap after a restart
                        last_dts[kind] = packet.dts
                        packet.stream = streams[kind]
                        out.mux(packet)
        os.replace(tmp, target)
        return target

    # --- segments ---------------------------------------------------------------------------------

    def _start(self, pts: int, width: int, height: int) -> None:
        self._number += 1
        self._first_pts = self._last_pts = pts
        path = self.folder / f"seg-{self._number:05d}.ts.part"
        self._open = av.open(str(path), "w", format="mpegts")
        stream = self._open.add_stream("h264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = CLOCK
        self._stream = stream
        self._audio_stream = None
        self._audio_dts = fractions.Fraction(-1)
        if self.audio is not None:
            audio = self._open.add_stream("aac", rate=48_000)
            audio.layout = "stereo"
            audio.codec_context.extradata = self.audio
            self._audio_stream = audio

    def _close(self, *, seconds: float) -> None:
        if self._open is None:
            return
        self._open.close()
        self._open, self._stream, self._audio_stream = None, None, None
        segment = Segment(self._number, max(seconds, 0.001), self._discontinuity)
        self._discontinuity = False
        os.replace(self.folder / f"{segment.name}.part", self.folder / segment.name)
        self.segments.append(segment)
        self._write_playlists()

    def _write_playlists(self) -> None:
        live = self.segments[-self.window :]
        first = live[0].number if live else self._number + 1
        earlier = self.segments[: len(self.segments) - len(live)]
        _replace(
            self.folder / "index.m3u8",
            _playlist(live, sequence=first, discontinuities=sum(s.discontinuity for s in earlier), end=self.finished),
        )
        kind = "#EXT-X-PLAYLIST-TYPE:VOD" if self.finished else "#EXT-X-PLAYLIST-TYPE:EVENT"
        first_all = self.segments[0].number if self.segments else 1
        _replace(
            self.folder / "recording.m3u8",
            _playlist(self.segments, sequence=first_all, discontinuities=0, end=self.finished, kind=kind),
        )


def _playlist(
    segments: list[Segment], *, sequence: int, discontinuities: int, end: bool, kind: str | None = None
) -> str:
    target = max([KEYFRAME_SECONDS, *(math.floor(s.seconds + 0.5) for s in segments)])
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{sequence}"]
    if discontinuities:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities}")
    if kind:
        lines.append(kind)
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{segment.seconds:.3f},", segment.name]
    if end:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
