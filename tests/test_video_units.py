"""The single encode's parts without a network: the viewer's packet queue, the encoder's keyframes,
the HLS segmenter and its playlists."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import av
import pytest

from benchmarks._video_peers import CounterTrack, ToneTrack, loudness, read_cells
from streaming.config import ConfigError, browser_ice_servers
from streaming.encoder import AudioEncoder, Encoder, output_size
from streaming.hls import Recording
from streaming.tracks import QUEUE_PACKETS, PacketTrack


def _packets(seconds: float, *, fps: int = 30, start: float = 0.0) -> list[av.Packet[Any]]:
    camera = CounterTrack(320, 240)
    encoder = Encoder(320, 240, bitrate=500_000)
    packets: list[av.Packet[Any]] = []
    for i in range(round(seconds * fps)):
        packets += encoder.encode(camera.draw(i, 0), round((start + i / fps) * 90_000))
    return packets


def test_the_encoder_makes_a_keyframe_every_two_seconds_of_the_clock() -> None:
    packets = _packets(6.5, fps=25)  # the publisher's rate does not matter: the clock does
    keyframes = [p.pts / 90_000 for p in packets if p.is_keyframe]  # type: ignore[operator]
    assert keyframes[0] == 0.0 and len(keyframes) == 4
    assert all(1.9 <= b - a <= 2.05 for a, b in itertools.pairwise(keyframes))
    assert output_size(1920, 1080) == (1280, 720) and output_size(640, 360) == (640, 360)


async def test_a_late_viewer_starts_at_a_keyframe_and_a_slow_one_skips_to_the_next() -> None:
    packets = _packets(4.5)
    late = PacketTrack()
    first_key = next(i for i, p in enumerate(packets) if p.is_keyframe and i > 0)
    for packet in packets[10:]:  # joins a third of a second in
        late.offer(packet)
    assert late.dropped == first_key - 10
    assert (await late.recv()).is_keyframe

    slow = PacketTrack()  # never reads: its queue fills, empties and waits for the next keyframe
    for packet in packets:
        slow.offer(packet)
    queued = slow._queue.qsize()
    assert queued < QUEUE_PACKETS["video"] and slow.dropped > 0
    assert slow._queue.get_nowait().is_keyframe  # type: ignore[union-attr]
    slow.stop()
    late.stop()
    sound = PacketTrack("audio")  # sound needs no keyframe
    sound.offer(packets[5])
    assert sound._queue.qsize() == 1
    sound.stop()
    await asyncio.sleep(0)


def test_segments_follow_keyframes_and_the_playlists_tell_players_where_the_edge_is(tmp_path: Path) -> None:
    recording = Recording(tmp_path, window=2)
    for packet in _packets(7.0):
        recording.write(packet, 320, 240)
    assert [s.number for s in recording.segments] == [1, 2, 3]  # the fourth is still open
    live = (tmp_path / "index.m3u8").read_text().splitlines()
    assert live[:4] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:2"]
    assert [line for line in live if line.endswith(".ts")] == ["seg-00002.ts", "seg-00003.ts"]
    recording.cut()  # the publisher dropped
    for packet in _packets(2.5, start=10.0):  # a new ingest, later on the same timeline
        recording.write(packet, 320, 240)
    recording.finish()
    assert recording.join() == tmp_path / "recording.mp4"
    whole = (tmp_path / "recording.m3u8").read_text()
    assert whole.count("#EXT-X-DISCONTINUITY\n") == 1 and whole.endswith("#EXT-X-ENDLIST\n")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in whole and not list(tmp_path.glob("*.part"))

    with av.open(str(tmp_path / "recording.mp4")) as mp4:
        frames = [(round(float(f.time), 2), read_cells(f.to_ndarray(format="gray"))[0]) for f in mp4.decode(video=0)]
    assert frames[0] == (0.0, 0) and frames[-1][0] >= 12.4  # the gap is kept: chapters stay in place
    first, second = [c for _, c in frames[:210]], [c for _, c in frames[210:]]
    assert first == list(range(210)) and second == list(range(75))  # every frame of both ingests, in order

    again = Recording(tmp_path)  # a restarted server carries on with the numbering
    assert [s.number for s in again.segments] == [1, 2, 3, 4, 5, 6]


def test_sound_that_stalls_and_then_arrives_in_a_burst_keeps_its_time_and_the_recording_its_sound(
    tmp_path: Path,
) -> None:
    """A loaded server hears 20 ms frames late and then all at once; their arrival times go back
    relative to the samples counted, and the sound must neither go back in time nor stop."""
    encoder = AudioEncoder()
    recording = Recording(tmp_path)
    recording.audio = encoder.aac_extradata
    pictures = iter(_packets(6.0))
    arrivals = [i * 960 for i in range(50)]  # one second on time
    arrivals += [48_000 + 12_000 + 960 * (i // 10) for i in range(60)]  # 250 ms late, then a burst
    arrivals += [arrivals[-1] + 960 * (i + 1) for i in range(150)]  # on time again
    opus_times: list[int] = []
    aac_times: list[int] = []
    for number, heard in enumerate(arrivals):
        while (picture := next(pictures, None)) is not None:
            recording.write(picture, 320, 240)
            if picture.pts is not None and picture.pts * 48_000 // 90_000 > heard:
                break
        frame = ToneTrack.frame(number)
        opus, aac = encoder.encode(frame, heard)
        opus_times += [p.pts for p in opus if p.pts is not None]
        aac_times += [p.pts for p in aac if p.pts is not None]
        for packet in aac:
            recording.write_audio(packet)  # the muxer refused a packet that went back in time
        if number == 100 and aac:
            recording.write_audio(aac[-1])  # and once more: dropped, not the end of the sound
    recording.finish()
    assert opus_times == sorted(set(opus_times)) and aac_times == sorted(set(aac_times))
    assert recording.join() is not None
    with av.open(str(tmp_path / "recording.mp4")) as mp4:
        heard_frames = [loudness(f) for f in mp4.decode(audio=0)]
    assert len(heard_frames) * 1024 >= 0.9 * len(arrivals) * 960  # the sound went on to the end


def test_the_browsers_are_given_stun_servers_only() -> None:
    assert browser_ice_servers("") == ()
    assert browser_ice_servers("stun:turn.rada.example.ua:3478, stun:[2001:db8::1]:3478") == (
        "stun:turn.rada.example.ua:3478",
        "stun:[2001:db8::1]:3478",
    )
    for refused in ("turn:turn.rada.example.ua:3478", "https://stun.example", "stun:host?transport=tcp&x=<script>"):
        with pytest.raises(ConfigError, match="KVORUM_BROWSER_ICE_SERVERS"):
            browser_ice_servers(refused)
