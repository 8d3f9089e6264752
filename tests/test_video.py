"""Live video end to end, with aiortc on both ends: WHIP publisher → one encode → WHEP viewers, HLS,
the recording and its chapters."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import av
import httpx
from conftest import Demo
from video_support import counter_file

from benchmarks._video_peers import CounterTrack, Publisher, Viewer, loudness, read_cells, whep_watch, whip_publish
from session_server import demo
from session_server.domain.events import parse_time
from streaming.broadcast import Studio

SESSION = demo.SESSION_ID
QUORUM = [f"deputy{i:02d}" for i in range(1, 19)]


async def _publish(chamber: Demo, user: str = "operator", track: CounterTrack | None = None) -> Publisher:
    publisher = await whip_publish(chamber.server.url, SESSION, await chamber.token(user), track)
    assert isinstance(publisher, Publisher), publisher.text  # type: ignore[union-attr]
    return publisher


async def _watch(chamber: Demo) -> Viewer:
    viewer = await whep_watch(chamber.server.url, SESSION)
    assert isinstance(viewer, Viewer), viewer.text  # type: ignore[union-attr]
    return viewer


async def _until(check: Any, within: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _events(chamber: Demo) -> Any:
    async def read() -> list[str]:
        events = await chamber.server.kvorum.store.read(f"session:{SESSION}")
        return [e.type for e in events if e.type.startswith("broadcast.")]

    return read()


async def test_viewers_see_the_publishers_frames_and_the_log_says_when_it_was_live(demo_council: Demo) -> None:
    chamber = demo_council
    viewers = [await _watch(chamber) for _ in range(3)]  # residents may open the page before it starts
    publisher = await _publish(chamber)
    try:
        for viewer in viewers:
            await _until(lambda v=viewer: len(v.frames) >= 45, what="a viewer's frames")  # type: ignore[misc]
        for viewer in viewers:
            counters = viewer.counters
            # The publisher's counter, read back from decoded pictures: it advances, in order.
            assert counters == sorted(counters) and counters[-1] - counters[0] >= 40
            assert all(0 <= c <= publisher.track.counter for c in counters)
        state = await chamber.state()
        assert state["state"]["broadcast"]["status"] == "live"
        status = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/broadcast")).json()
        assert status["status"] == "live" and status["viewers"]["webrtc"] == 3
    finally:
        async with httpx.AsyncClient(base_url=chamber.server.url, timeout=30) as client:
            response = await client.delete(publisher.location, headers=await chamber.headers("operator"))
        assert response.status_code == 204
        await publisher.pc.close()
        for viewer in viewers:
            await viewer.close(chamber.server.url)
    assert await _events(chamber) == ["broadcast.started", "broadcast.stopped"]
    await _recording(chamber)
    recording = (await chamber.client.get(f"/live/{SESSION}/recording.mp4")).content
    assert len(recording) > 10_000


async def test_a_second_publisher_gets_409_and_bad_offers_get_400(demo_council: Demo) -> None:
    chamber = demo_council
    first = await _publish(chamber)
    try:
        second = await whip_publish(chamber.server.url, SESSION, await chamber.token("secretary"))
        assert isinstance(second, httpx.Response) and second.status_code == 409
        assert second.json()["error"] == "publisher_exists"
        assert await _events(chamber) == ["broadcast.started"]  # the refusal wrote nothing
    finally:
        await first.pc.close()
    auth = await chamber.headers("operator")
    sdp = {"Content-Type": "application/sdp"}
    bad = await chamber.client.post(f"/whip/{SESSION}", content=b"v=0\r\nnonsense", headers={**auth, **sdp})
    assert bad.status_code in (400, 409)
    wrong_type = await chamber.client.post(f"/whip/{SESSION}", content=b"{}", headers={**auth})
    assert wrong_type.status_code == 415 and wrong_type.json()["error"] == "unsupported_media_type"
    deputy = await chamber.client.post(
        f"/whip/{SESSION}", content=b"v=0", headers={**sdp, **await chamber.headers("deputy01")}
    )
    assert deputy.status_code == 403
    nobody = await chamber.client.post(f"/whip/{SESSION}", content=b"v=0", headers=sdp)
    assert nobody.status_code == 401
    bad_view = await chamber.client.post(f"/whep/{SESSION}", content=b"v=0\r\nnonsense", headers=sdp)
    assert bad_view.status_code == 400 and bad_view.json()["error"] == "invalid_sdp"
    missing = await chamber.client.post("/whep/no-such-session", content=b"v=0", headers=sdp)
    assert missing.status_code == 404
    nowhere = await chamber.client.post("/whip/no-such-session", content=b"v=0", headers={**auth, **sdp})
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "session_not_found"
    # Every refusal above left the log as the first publisher left it.
    await _until(lambda: _studio(chamber).ingest_of(SESSION) is None, what="the first publisher's drop")
    assert await _events(chamber) == ["broadcast.started", "broadcast.interrupted"]


async def _stop(chamber: Demo, publisher: Publisher) -> None:
    response = await chamber.client.delete(publisher.location, headers=await chamber.headers("operator"), timeout=30)
    assert response.status_code == 204, response.text
    await publisher.pc.close()


async def _recording(chamber: Demo) -> Path:
    """The joined recording, once the broadcast status names it (it is joined after the stop)."""
    for _ in range(300):
        status = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/broadcast")).json()
        if status["recording"]:
            return _studio(chamber).folder(SESSION) / "recording.mp4"
        await asyncio.sleep(0.1)
    raise AssertionError("the recording was not joined")


def _studio(chamber: Demo) -> Studio:
    studio: Studio = chamber.server.state.studio
    return studio


async def test_a_dropped_publisher_is_shown_interrupted_and_comes_back_on_the_same_timeline(demo_council: Demo) -> None:
    chamber = demo_council
    viewer = await _watch(chamber)
    first = await _publish(chamber)
    await _until(lambda: len(viewer.frames) >= 30, what="frames from the first publisher")
    await first.pc.close()  # the Wi-Fi drops: no DELETE
    await _until(lambda: _studio(chamber).ingest_of(SESSION) is None, what="the server to notice the drop")
    state = (await chamber.state())["state"]
    assert state["broadcast"]["status"] == "interrupted" and state["broadcast"]["reason"]
    seen = len(viewer.frames)

    second = await _publish(chamber)  # the operator reconnects; the viewer stays connected
    await _until(lambda: len(viewer.frames) >= seen + 30, what="frames from the second publisher")
    assert (await chamber.state())["state"]["broadcast"]["status"] == "live"
    await _stop(chamber, second)
    await viewer.close(chamber.server.url)
    assert await _events(chamber) == [
        "broadcast.started",
        "broadcast.interrupted",
        "broadcast.resumed",
        "broadcast.stopped",
    ]
    # One recording on one timeline: the second ingest's segments follow a discontinuity, later.
    playlist = (await chamber.client.get(f"/live/{SESSION}/recording.m3u8")).text
    assert "#EXT-X-DISCONTINUITY" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    with av.open(str(await _recording(chamber))) as mp4:
        times = [float(p.pts * p.time_base) for p in mp4.demux(mp4.streams.video[0]) if p.pts is not None]
    # Each publisher sent 30 pictures or more (a second each, in real time): both are in it, whatever the
    # jitter at the edges (2.0 s exactly failed once by 44 ms on a loaded machine).
    assert times == sorted(times) and times[-1] - times[0] >= 1.5


async def test_hls_playlist_and_segments_decode(demo_council: Demo) -> None:
    chamber = demo_council
    publisher = await _publish(chamber)
    try:
        await _until(
            lambda: (
                (_studio(chamber).folder(SESSION) / "index.m3u8").is_file()
                and len(_studio(chamber).broadcasts[SESSION].recording.segments) >= 2
            ),
            what="two HLS segments",
        )
        response = await chamber.client.get(f"/live/{SESSION}/index.m3u8")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        assert response.headers["cache-control"] == "no-cache"
        lines = response.text.splitlines()
        assert "#EXT-X-TARGETDURATION:2" in lines and "#EXT-X-ENDLIST" not in lines
        durations = [float(line[8:].rstrip(",")) for line in lines if line.startswith("#EXTINF:")]
        assert durations and all(1.8 <= d <= 2.2 for d in durations), durations
        name = [line for line in lines if line.endswith(".ts")][-1]
        segment = await chamber.client.get(f"/live/{SESSION}/{name}")
        assert segment.headers["content-type"] == "video/mp2t"
        path = Path(chamber.server.kvorum.settings.data_dir) / "segment.ts"
        path.write_bytes(segment.content)
        with av.open(str(path)) as ts:
            stream = ts.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.profile == "Constrained Baseline"
            packets = [p for p in ts.demux(stream) if p.size]
            assert packets[0].is_keyframe  # a segment starts at a keyframe: players can start anywhere
            frames = [f for p in packets for f in p.decode()]
        counters = [read_cells(f.to_ndarray(format="gray"))[0] for f in frames]
        assert len(frames) >= 50 and counters == sorted(counters) and counters[-1] - counters[0] >= 50
        status = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/broadcast")).json()
        assert status["hls"] == f"/live/{SESSION}/index.m3u8" and status["viewers"]["hls"] == 1
        assert (await chamber.client.get(f"/live/{SESSION}/index.m3u8.part")).status_code == 404
        assert (await chamber.client.get(f"/live/{SESSION}/seg-99999.ts")).status_code == 404
    finally:
        await _stop(chamber, publisher)


async def test_chapters_are_the_offsets_of_the_events_in_the_recording(demo_council: Demo) -> None:
    chamber = demo_council
    publisher = await _publish(chamber)
    await asyncio.sleep(1.0)
    await chamber.ok("chair", "session.open")
    await chamber.ok("secretary", "registration.open")
    await asyncio.gather(*(chamber.ok(u, "presence.register") for u in QUORUM))
    await chamber.ok("chair", "item.start", item="i1")
    await asyncio.sleep(1.5)
    vote = await chamber.ok(
        "chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    vote_id = vote["events"][0]["payload"]["vote"]
    await asyncio.gather(*(chamber.ok(u, "ballot.cast", vote=vote_id, choice="for") for u in QUORUM))
    await asyncio.sleep(1.0)
    await chamber.ok("chair", "vote.close", vote=vote_id)
    await chamber.ok("chair", "item.finish", item="i1")
    await chamber.ok("chair", "item.start", item="i2")
    await asyncio.sleep(1.5)
    await _stop(chamber, publisher)

    body = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/chapters")).json()
    events = {e.seq: e for e in await chamber.server.kvorum.store.read(f"session:{SESSION}")}
    zero = parse_time(body["started_at"])
    kinds = [c["kind"] for c in body["chapters"]]
    assert kinds == ["item", "vote.opened", "vote.closed", "item"]
    assert body["chapters"][2]["title"].startswith("Результати: рішення прийнято")
    for chapter in body["chapters"]:
        expected = (parse_time(events[chapter["seq"]].at) - zero).total_seconds()
        assert abs(chapter["start"] - expected) < 0.002

    # At each chapter's offset the recording shows what the camera saw at the event's time.
    with av.open(str(await _recording(chamber))) as mp4:
        pictures = [(float(f.time), read_cells(f.to_ndarray(format="gray"))[1]) for f in mp4.decode(video=0)]
    for chapter in body["chapters"]:
        at = parse_time(events[chapter["seq"]].at).timestamp() * 1000
        shown, stamp = min(pictures, key=lambda p: abs(p[0] - chapter["start"]))
        assert abs(shown - chapter["start"]) < 0.1
        assert abs((int(at) & 0xFFFFFFFF) - stamp) < 500, "the picture at the chapter is not the event's moment"

    vtt = await chamber.client.get(f"/api/v1/sessions/{SESSION}/chapters.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    cues = [line for line in vtt.text.splitlines() if "-->" in line]
    assert vtt.text.startswith("WEBVTT") and len(cues) == 4 and "Голосування в цілому" in vtt.text


async def test_a_viewer_over_the_cap_gets_503_and_the_hls_address(demo_council: Demo) -> None:
    chamber = demo_council
    studio = _studio(chamber)
    studio.config = dataclasses.replace(studio.config, max_viewers=1)
    first = await _watch(chamber)
    try:
        refused = await whep_watch(chamber.server.url, SESSION)
        assert isinstance(refused, httpx.Response) and refused.status_code == 503
        assert refused.json() == {
            "error": "viewers_full",
            "message": refused.json()["message"],
            "hls": f"/live/{SESSION}/index.m3u8",
        }
        assert refused.headers["retry-after"] == "30"
    finally:
        await first.close(chamber.server.url)
    again = await _watch(chamber)  # the place is free again
    await again.close(chamber.server.url)


async def test_nothing_leaks_after_publishers_and_viewers_leave(demo_council: Demo) -> None:
    chamber = demo_council
    studio = _studio(chamber)
    threads = threading.active_count()
    tasks = len(asyncio.all_tasks())
    publisher = await _publish(chamber)
    viewers = [await _watch(chamber) for _ in range(3)]
    await _until(lambda: all(len(v.frames) >= 10 for v in viewers), what="frames")
    assert studio.stats()["peer_connections"] == 4 and studio.stats()["encoder_threads"] == 1
    await viewers[0].close(chamber.server.url)  # leaves with DELETE
    await viewers[1].close()  # just goes away
    await viewers[2].close()
    await _stop(chamber, publisher)
    await _until(lambda: studio.stats()["tasks"] == 0, what="the recording to be joined")
    assert studio.stats() == {
        "broadcasts": 0,
        "publishers": 0,
        "viewers": 0,
        "peer_connections": 0,
        "tasks": 0,
        "encoder_threads": 0,
    }
    await _until(lambda: threading.active_count() <= threads, within=10, what="threads to end")
    await _until(lambda: len(asyncio.all_tasks()) <= tasks, within=10, what="tasks to end")


async def test_an_ip_camera_is_pulled_by_url_from_the_session_settings(demo_council: Demo, tmp_path: Path) -> None:
    chamber = demo_council
    camera = tmp_path / "camera.mp4"
    counter_file(camera, 20)
    staff = await chamber.headers("operator")
    settings_url = f"/api/v1/sessions/{SESSION}/video"
    assert (await chamber.client.get(settings_url)).status_code == 401  # the URL may hold a password
    refused = await chamber.client.put(settings_url, json={"source": "camera"}, headers=staff)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    too_fast = await chamber.client.put(settings_url, json={"bitrate_kbps": 100_000}, headers=staff)
    assert too_fast.status_code == 400 and too_fast.json()["field"] == "bitrate_kbps"  # named, for its screen
    unchanged = (await chamber.client.get(settings_url, headers=staff)).json()
    assert unchanged == {"source": "whip", "camera_url": None, "bitrate_kbps": 1500}
    no_camera = await chamber.client.post(f"/api/v1/sessions/{SESSION}/broadcast/camera", headers=staff)
    assert no_camera.status_code == 409
    saved = await chamber.client.put(
        settings_url, json={"source": "camera", "camera_url": str(camera), "bitrate_kbps": 800}, headers=staff
    )
    assert saved.json() == {"source": "camera", "camera_url": str(camera), "bitrate_kbps": 800}

    viewer = await _watch(chamber)
    started = await chamber.client.post(f"/api/v1/sessions/{SESSION}/broadcast/camera", headers=staff)
    assert started.status_code == 201, started.text
    await _until(lambda: len(viewer.frames) >= 30, what="frames from the camera")
    assert viewer.counters == sorted(viewer.counters)
    assert (await chamber.state())["state"]["broadcast"]["source"] == "camera"
    stopped = await chamber.client.delete(f"/api/v1/sessions/{SESSION}/broadcast/camera", headers=staff, timeout=30)
    assert stopped.status_code == 204
    await viewer.close(chamber.server.url)
    assert await _events(chamber) == ["broadcast.started", "broadcast.stopped"]

    await chamber.client.put(
        settings_url, json={"source": "camera", "camera_url": str(tmp_path / "nope")}, headers=staff
    )
    unreachable = await chamber.client.post(f"/api/v1/sessions/{SESSION}/broadcast/camera", headers=staff)
    assert unreachable.status_code == 400 and unreachable.json()["error"] == "camera_unreachable"


async def test_the_sound_is_encoded_once_for_viewers_hls_and_the_recording(demo_council: Demo) -> None:
    chamber = demo_council
    listener = await whep_watch(chamber.server.url, SESSION, sound=True)
    deaf = await _watch(chamber)  # a viewer that asked for the picture only gets the picture only
    assert isinstance(listener, Viewer), listener.text  # type: ignore[union-attr]
    publisher = await whip_publish(chamber.server.url, SESSION, await chamber.token("operator"), sound=True)
    assert isinstance(publisher, Publisher), publisher.text  # type: ignore[union-attr]
    studio = _studio(chamber)
    await _until(lambda: len(listener.sound) >= 100 and len(listener.frames) >= 60, what="sound and picture")
    await _until(lambda: len(studio.broadcasts[SESSION].recording.segments) >= 1, what="a segment")
    # The 440 Hz tone, not silence: Opus, encoded once on the server, decoded here.
    assert sorted(listener.sound)[len(listener.sound) // 2] > 2000
    assert deaf.sound == [] and len(deaf.frames) >= 30
    segment = studio.folder(SESSION) / studio.broadcasts[SESSION].recording.segments[0].name
    await _stop(chamber, publisher)
    for viewer in (listener, deaf):
        await viewer.close(chamber.server.url)

    with av.open(str(segment)) as ts:
        kinds = sorted(s.type for s in ts.streams)
        heard = [loudness(f) for f in ts.decode(audio=0)]
    assert kinds == ["audio", "video"] and len(heard) >= 60  # two seconds of AAC beside the picture
    assert sorted(heard)[len(heard) // 2] > 2000
    with av.open(str(await _recording(chamber))) as mp4:
        codecs = sorted(s.codec_context.name for s in mp4.streams)
        audio = mp4.streams.audio[0]
        span = [float(p.pts * audio.time_base) for p in mp4.demux(audio) if p.pts is not None]
    assert codecs == ["aac", "h264"] and span[-1] - span[0] > 1.5


async def test_obs_publishes_with_the_sessions_stream_key_which_outlives_access_tokens(demo_council: Demo) -> None:
    chamber = demo_council
    staff = await chamber.headers("operator")
    assert (await chamber.client.post(f"/api/v1/sessions/{SESSION}/video/key")).status_code == 401
    made = await chamber.client.post(f"/api/v1/sessions/{SESSION}/video/key", headers=staff)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    old_key = made.json()["key"]
    assert made.json()["whip"].endswith(f"/whip/{SESSION}")
    key = (await chamber.client.post(f"/api/v1/sessions/{SESSION}/video/key", headers=staff)).json()["key"]
    assert key.startswith("kvs_") and key != old_key
    settings = (await chamber.client.get(f"/api/v1/sessions/{SESSION}/video", headers=staff)).json()
    assert key not in str(settings) and "stream_key" not in settings  # shown once, kept hashed

    refused = await whip_publish(chamber.server.url, SESSION, old_key)  # a new key retires the old one
    assert isinstance(refused, httpx.Response) and refused.status_code == 401
    publisher = await whip_publish(chamber.server.url, SESSION, key)
    assert isinstance(publisher, Publisher), publisher.text  # type: ignore[union-attr]
    await _until(lambda: _studio(chamber).ingest_of(SESSION) is not None, what="the ingest")
    events = await chamber.server.kvorum.store.read(f"session:{SESSION}")
    assert events[-1].type == "broadcast.started" and events[-1].actor == "operator (stream key)"
    stopped = await chamber.client.delete(publisher.location, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert stopped.status_code == 204
    await publisher.pc.close()
    assert await _events(chamber) == ["broadcast.started", "broadcast.stopped"]


async def test_a_broadcast_nobody_resumes_is_stopped_and_its_recording_published(demo_council: Demo) -> None:
    chamber = demo_council
    studio = _studio(chamber)
    studio.config = dataclasses.replace(studio.config, resume_seconds=1.0)
    publisher = await _publish(chamber)
    await _until(
        lambda: studio.broadcasts[SESSION].ingest is not None and studio.broadcasts[SESSION].ingest.frames > 30
    )  # type: ignore[union-attr]
    await publisher.pc.close()  # OBS crashes and nobody comes back
    await _recording(chamber)
    assert await _events(chamber) == ["broadcast.started", "broadcast.interrupted", "broadcast.stopped"]
    playlist = (await chamber.client.get(f"/live/{SESSION}/recording.m3u8")).text
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.endswith("#EXT-X-ENDLIST\n")
