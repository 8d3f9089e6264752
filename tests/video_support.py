"""A camera for tests that need a broadcast without a browser: a file the studio pulls as an IP camera."""

from __future__ import annotations

import fractions
from pathlib import Path

import av

from benchmarks._video_peers import CounterTrack


def counter_file(path: Path, seconds: int) -> None:
    """A short H.264 file from the counter camera: what an IP camera's stream looks like to the player."""
    camera = CounterTrack(320, 240)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(seconds * 30):
            frame = camera.draw(i, 0)
            frame.pts, frame.time_base = i, fractions.Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
