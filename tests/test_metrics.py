"""``/metrics`` (issue 21): on a port of its own and not on the public one, in the Prometheus format as
``promtool check metrics`` reads it, counting what a sitting day does — commands by type and outcome with
their latency, sign-ins and throttles, the database pool, the fan-out, each consumer's backlog."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from conftest import Demo

from session_server.config import Settings


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


async def test_metrics_are_off_unless_an_address_is_given(tmp_path: Any) -> None:
    assert Settings.from_env({}).metrics_address is None
    assert Settings.from_env({"KVORUM_METRICS_ADDRESS": "127.0.0.1:9464"}).metrics_address == ("127.0.0.1", 9464)
    assert Settings.from_env({"KVORUM_METRICS_ADDRESS": "[::1]:9464"}).metrics_address == ("::1", 9464)
    with pytest.raises(Exception, match="host:port"):
        Settings.from_env({"KVORUM_METRICS_ADDRESS": "9464"})
