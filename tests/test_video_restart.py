"""The video node restarts (an upgrade, a Kubernetes pod replaced) while a broadcast waits for its publisher:
the wait was in the old process's memory. The new one finds the broadcast in the log and its segments in the
folder, waits for the publisher again, and, when nobody comes back, stops the broadcast and joins its
recording — rather than leaving residents a broadcast «interrupted» for ever and no recording."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from conftest import eventually, running

from benchmarks._video_peers import Publisher, whip_publish
from session_server import demo
from session_server.config import Settings

SESSION = demo.SESSION_ID


@pytest.fixture
def resume_seconds(monkeypatch: pytest.MonkeyPatch) -> int:
    """KVORUM_VIDEO_RESUME_SECONDS for the servers the test starts (instead of 15 minutes)."""
    monkeypatch.setenv("KVORUM_VIDEO_RESUME_SECONDS", "2")
    return 2


@pytest.mark.timeout(120)
async def test_a_restarted_video_node_waits_again_then_stops_the_broadcast_and_joins_its_recording(
    resume_seconds: int, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0)
    status = f"/api/v1/sessions/{SESSION}/broadcast"
    async with running(settings) as first, httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        await demo.seed(first.kvorum)
        users = {u.username: u for u in await first.kvorum.accounts.list()}
        publisher = await whip_publish(first.url, SESSION, first.kvorum.access.issue(users["operator"]))
        assert isinstance(publisher, Publisher)
        folder = first.state.studio.folder(SESSION)
        await eventually(lambda: len(list(folder.glob("seg-*.ts"))) >= 2, "two segments of the broadcast")
        assert (await client.get(status)).json()["status"] == "live"
        await publisher.pc.close()
    # The node is gone (stopped with the broadcast live: it says «interrupted» on its way out); no recording yet.
    assert not (folder / "recording.mp4").exists()

    async with running(settings) as second, httpx.AsyncClient(base_url=second.url, timeout=30) as client:
        assert (await client.get(status)).json()["status"] == "interrupted"

        async def stopped_with_its_recording() -> bool:
            body = (await client.get(status)).json()
            return body["status"] == "stopped" and bool(body["recording"])

        await eventually(stopped_with_its_recording, "the broadcast stopped and its recording joined", seconds=30)
        events = await second.kvorum.store.read(f"session:{SESSION}")
        assert [e.type for e in events if e.type.startswith("broadcast.")] == [
            "broadcast.started",
            "broadcast.interrupted",
            "broadcast.stopped",
        ]
        recording = await client.get(f"/live/{SESSION}/recording.mp4")
        assert recording.status_code == 200 and len(recording.content) > 1000


@pytest.mark.timeout(120)
async def test_a_node_does_not_stop_a_broadcast_another_node_publishes(
    resume_seconds: int, database_url: str, tmp_path: Path
) -> None:
    """Two nodes share the video folder (compose's shared volume): the one that starts while the other takes
    the publisher leaves that broadcast alone."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0)
    status = f"/api/v1/sessions/{SESSION}/broadcast"
    async with running(settings) as first, httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        await demo.seed(first.kvorum)
        users = {u.username: u for u in await first.kvorum.accounts.list()}
        token = first.kvorum.access.issue(users["operator"])
        publisher = await whip_publish(first.url, SESSION, token)
        assert isinstance(publisher, Publisher)
        folder = first.state.studio.folder(SESSION)
        await eventually(lambda: (folder / "recording.m3u8").is_file(), "the first segment")
        async with running(settings) as second:
            await asyncio.sleep(resume_seconds + 1)  # longer than the wait it would have started
            assert second.state.studio.sessions() == []
            assert (await client.get(status)).json()["status"] == "live"
        response = await client.delete(publisher.location, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 204
        await publisher.pc.close()
