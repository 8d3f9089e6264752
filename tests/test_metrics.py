"""``/metrics`` (issue 21): on a port of its own and not on the public one, in the Prometheus format as
``promtool check metrics`` reads it, counting what a sitting day does — commands by type and outcome with
their latency, sign-ins and throttles, the database pool, the fan-out, each consumer's backlog."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import Demo, eventually

from session_server.config import Settings
from session_server.ops.metrics import serve_metrics


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test server with ``/metrics`` on a free loopback port."""
    return dataclasses.replace(settings, metrics_address=("127.0.0.1", 0))


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of an exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def promtool(text: str) -> None:
    """``promtool check metrics``: the exposition is well formed and follows the naming practice."""
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("KVORUM_REQUIRE_PROMTOOL"):
            raise AssertionError("promtool is required here (Debian's prometheus package)")
        pytest.skip("promtool is not installed (Debian's prometheus package)")
    done = subprocess.run([tool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


async def test_metrics_count_a_sitting_on_their_own_port_and_promtool_reads_them(demo_council: Demo) -> None:
    demo = demo_council
    port = demo.server.state["metrics_port"]
    assert isinstance(port, int) and port != int(demo.server.url.rsplit(":", 1)[1])
    public = await demo.client.get("/metrics")
    assert public.status_code == 404  # never on the public path

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as metrics:
        before = (await metrics.get("/metrics")).text
        await demo.ok("chair", "session.open")
        await demo.ok("secretary", "registration.open")
        await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
        twice = await demo.command("deputy01", "presence.register")
        assert twice.json()["error"] == "already_registered"
        wrong = await demo.client.post("/api/v1/auth/login", json={"username": "deputy01", "password": "nope"})
        assert wrong.status_code == 401
        scraped = await metrics.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")  # the text exposition format
    text = scraped.text
    registered = _value(text, "kvorum_commands_total", type="presence.register", outcome="ok")
    assert registered - _value(before, "kvorum_commands_total", type="presence.register", outcome="ok") == 18
    assert _value(text, "kvorum_commands_total", type="presence.register", outcome="already_registered") >= 1
    assert _value(text, "kvorum_command_seconds_count", type="presence.register") >= 19
    assert _value(text, "kvorum_command_seconds_bucket", type="presence.register", le="+Inf") >= 19
    assert _value(text, "kvorum_sign_ins_total", outcome="wrong_password") >= 1
    assert _value(text, "kvorum_db_pool_connections", state="max") == demo.server.kvorum.settings.pool_size
    assert "kvorum_fanout_subscribers" in text and "kvorum_broker_up 1.0" in text
    assert 'kvorum_consumer_behind{consumer="' in text and 'kvorum_consumer_parked{consumer="' in text
    promtool(text)
    missing = {name for name in SERVED if name not in text}
    assert not missing, f"metrics the rules and the dashboard use but /metrics lacks: {sorted(missing)}"


async def test_metrics_are_off_unless_an_address_is_given(tmp_path: Any) -> None:
    assert Settings.from_env({}).metrics_address is None
    assert Settings.from_env({"KVORUM_METRICS_ADDRESS": "127.0.0.1:9464"}).metrics_address == ("127.0.0.1", 9464)
    assert Settings.from_env({"KVORUM_METRICS_ADDRESS": "[::1]:9464"}).metrics_address == ("::1", 9464)
    with pytest.raises(Exception, match="host:port"):
        Settings.from_env({"KVORUM_METRICS_ADDRESS": "9464"})


DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SERVED = {
    "kvorum_commands_total",
    "kvorum_command_seconds_bucket",
    "kvorum_sign_ins_total",
    "kvorum_hub_resyncs_total",
    "kvorum_fanout_subscribers",
    "kvorum_broker_up",
    "kvorum_consumer_behind",
    "kvorum_consumer_failing",
    "kvorum_consumer_parked",
    "kvorum_db_pool_connections",
    "kvorum_webhook_deliveries_total",
    "kvorum_witness_cosignatures_total",
    "kvorum_fanout_queued",
    "kvorum_fanout_longest_queue",
    "kvorum_fanout_lag_seconds",
    "kvorum_video_broadcasts",
    "kvorum_video_publishers",
    "kvorum_video_viewers",
}
"""The metric names the alert rules and the dashboard may use: each one on a node's /metrics (checked above)."""
SERVED_WHILE_LIVE = {
    "kvorum_video_ingest_up",
    "kvorum_video_session_viewers",
    "kvorum_video_frames_total",
    "kvorum_video_viewer_dropped_packets_total",
}
"""…and those a node serves for each broadcast it has (checked with one live below)."""


def test_the_alert_rules_and_the_dashboard_s_queries_pass_promtool_and_name_only_metrics_kvorum_serves(
    tmp_path: Path,
) -> None:
    """``promtool check rules`` on the alert rules; each dashboard panel's query made a recording rule and
    checked the same way (promtool parses its PromQL); and every kvorum_* metric they name is one /metrics has."""
    rules = DEPLOY / "prometheus" / "kvorum-alerts.yml"
    dashboard = json.loads((DEPLOY / "grafana" / "kvorum-sitting-day.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(queries) >= 12 and dashboard["uid"] == "kvorum-sitting-day"
    recorded = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"kvorum:panel{n}", "expr": q} for n, q in enumerate(queries)]}
        ]
    }
    as_rules = tmp_path / "dashboard-rules.yml"
    as_rules.write_text(yaml.safe_dump(recorded))
    alerts = yaml.safe_load(rules.read_text())["groups"][0]["rules"]
    names = {a["alert"] for a in alerts}
    assert {"KvorumNodeDown", "KvorumConsumerLagging", "KvorumConsumerParked", "KvorumFanoutResyncs"} <= names
    assert {"KvorumIngestInterrupted", "KvorumWitnessMissing", "KvorumDiskFilling"} <= names
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("KVORUM_REQUIRE_PROMTOOL"):
            raise AssertionError("promtool is required here (Debian's prometheus package)")
        pytest.skip("promtool is not installed (Debian's prometheus package)")
    for path in (rules, as_rules):
        done = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, timeout=60)
        assert done.returncode == 0, (done.stdout + done.stderr).decode()
    served = SERVED | SERVED_WHILE_LIVE
    named = set(re.findall(r"\bkvorum_[a-z_]+", " ".join(queries + [a["expr"] for a in alerts])))
    assert named <= served, f"metrics no Kvorum node serves: {sorted(named - served)}"


async def test_a_metrics_port_already_taken_is_an_error_naming_it_not_an_exit() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"KVORUM_METRICS_ADDRESS 127.0.0.1:{port}"):
            async with serve_metrics(("127.0.0.1", port), {}):
                pass
    finally:
        taken.close()


async def test_a_slow_screen_shows_as_fanout_lag(demo_council: Demo) -> None:
    """A screen that stops reading (a tablet on a bad link) keeps its events queued: the backlog and the age of
    its oldest waiting event are what the fan-out lag alert watches."""
    demo = demo_council
    port = demo.server.state["metrics_port"]
    hub = demo.server.kvorum.hub
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as metrics:
        current = (await metrics.get("/metrics")).text
        assert _value(current, "kvorum_fanout_queued") == 0 and _value(current, "kvorum_fanout_lag_seconds") == 0
        async with hub.subscribe("session:c8-s45"):  # subscribed, never read
            await demo.ok("chair", "session.open")
            await demo.ok("secretary", "registration.open")
            await asyncio.sleep(1.1)  # the event is a second old when scraped
            text = (await metrics.get("/metrics")).text
    assert _value(text, "kvorum_fanout_queued") >= 2 and _value(text, "kvorum_fanout_longest_queue") >= 2
    assert _value(text, "kvorum_fanout_lag_seconds") >= 1.0
    promtool(text)


async def test_each_live_broadcast_has_its_ingest_viewers_and_frame_rate(demo_council: Demo, tmp_path: Path) -> None:
    from video_support import counter_file

    from benchmarks._video_peers import Viewer, whep_watch

    demo = demo_council
    port = demo.server.state["metrics_port"]
    camera = tmp_path / "camera.mp4"
    counter_file(camera, 20)
    staff = await demo.headers("operator")
    video = "/api/v1/sessions/c8-s45/video"
    assert (
        await demo.client.put(video, json={"source": "camera", "camera_url": str(camera)}, headers=staff)
    ).is_success
    assert (await demo.client.post("/api/v1/sessions/c8-s45/broadcast/camera", headers=staff)).status_code == 201
    viewer = await whep_watch(demo.server.url, "c8-s45")
    assert isinstance(viewer, Viewer)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as metrics:

            async def frames() -> float:
                return _value((await metrics.get("/metrics")).text, "kvorum_video_frames_total", session="c8-s45")

            await eventually(lambda: len(viewer.frames) >= 30, "the viewer's pictures")
            first = await frames()
            await eventually(lambda: len(viewer.frames) >= 60, "a second of pictures more")
            assert await frames() > first >= 30  # a counter: its rate is the frame rate
            await demo.client.get("/live/c8-s45/index.m3u8")  # a resident's HLS player
            text = (await metrics.get("/metrics")).text
        assert _value(text, "kvorum_video_ingest_up", session="c8-s45") == 1
        assert _value(text, "kvorum_video_session_viewers", session="c8-s45", kind="webrtc") == 1
        assert _value(text, "kvorum_video_session_viewers", session="c8-s45", kind="hls") == 1
        assert "kvorum_video_viewer_dropped_packets_total{" in text
        promtool(text)
        missing = {name for name in SERVED | SERVED_WHILE_LIVE if name not in text}
        assert not missing, f"metrics the rules and the dashboard use but /metrics lacks: {sorted(missing)}"
    finally:
        await viewer.close(demo.server.url)
        stopped = await demo.client.delete("/api/v1/sessions/c8-s45/broadcast/camera", headers=staff, timeout=30)
        assert stopped.status_code == 204


async def test_a_broadcast_that_lost_its_publisher_shows_as_awaiting_its_ingest(demo_council: Demo) -> None:
    """The operator's link drops and nobody watches over WebRTC (residents on HLS): the broadcast waits for its
    publisher, and `kvorum_video_ingest_up` says so until one comes back — what the interrupted-ingest alert
    watches."""
    from benchmarks._video_peers import Publisher, whip_publish

    demo = demo_council
    port = demo.server.state["metrics_port"]
    studio = demo.server.state.studio
    publisher = await whip_publish(demo.server.url, "c8-s45", await demo.token("operator"))
    assert isinstance(publisher, Publisher)
    await eventually(
        lambda: studio.ingest_of("c8-s45") is not None and studio.broadcasts["c8-s45"].frames >= 30, "pictures"
    )
    await publisher.pc.close()  # no DELETE: the Wi-Fi went
    await eventually(lambda: studio.ingest_of("c8-s45") is None, "the server noticing the drop")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as metrics:
        text = (await metrics.get("/metrics")).text
        assert (await demo.state())["state"]["broadcast"]["status"] == "interrupted"
        assert "c8-s45" not in studio.broadcasts  # nothing of it left in memory but the wait
        assert 'kvorum_video_ingest_up{session="c8-s45"} 0.0' in text
        again = await whip_publish(demo.server.url, "c8-s45", await demo.token("operator"))
        assert isinstance(again, Publisher)
        await eventually(lambda: studio.ingest_of("c8-s45") is not None, "the publisher back")
        text = (await metrics.get("/metrics")).text
        assert _value(text, "kvorum_video_ingest_up", session="c8-s45") == 1
    staff = await demo.headers("operator")
    assert (await demo.client.delete(again.location, headers=staff, timeout=30)).status_code == 204
    await again.pc.close()
