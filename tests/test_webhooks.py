"""Webhooks against a real local HTTP receiver that fails the first attempts; signatures checked with
an independent implementation of Standard Webhooks (the `standardwebhooks` package)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from conftest import Demo, free_port
from feeds_support import _published_decision
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal_bridge import egress
from session_server.config import Settings

WAIT = 15.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Fast retries for the test: 50 ms doubled per attempt, parked after 3 (the portal's own settings)."""
    monkeypatch.setenv("KVORUM_WEBHOOK_ATTEMPTS", "3")
    monkeypatch.setenv("KVORUM_WEBHOOK_BACKOFF_MS", "50")
    monkeypatch.setenv("KVORUM_WEBHOOK_NETWORKS", "127.0.0.1/32")  # the test's receiver, on this machine: on purpose
    return Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0)


@dataclass
class Receiver:
    """Answers 500 to the first ``fail`` requests of each path, then 204; records every request."""

    url: str = ""
    fail: dict[str, int] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def endpoint(self, request: Request) -> Response:
        path = request.url.path
        self.seen.append((path, dict(request.headers), await request.body()))
        self.arrived.set()
        if self.fail.get(path, 0) > 0:
            self.fail[path] -= 1
            return Response(status_code=500)
        return Response(status_code=204)

    def requests(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.seen if p == path]

    async def until(self, path: str, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.requests(path)) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = Starlette(routes=[Route("/{name}", recv.endpoint, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    recv.url = f"http://127.0.0.1:{port}"
    try:
        yield recv
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _subscribe(demo: Demo, url: str, types: list[str]) -> Any:
    response = await demo.client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": types}, headers=await demo.headers("admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _close_a_vote(demo: Demo) -> None:
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 19)))
    await demo.ok("chair", "item.start", item="i1")
    await demo.ok("chair", "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60)
    await demo.ok("deputy01", "ballot.cast", vote="v1", choice="for")
    await demo.ok("chair", "vote.close", vote="v1")


async def _deliveries(demo: Demo, subscription: int) -> list[dict[str, Any]]:
    response = await demo.client.get(f"/api/v1/webhooks/{subscription}/deliveries", headers=await demo.headers("admin"))
    return list(response.json()["deliveries"])


async def test_a_vote_is_delivered_signed_after_the_receiver_fails_twice(
    demo_council: Demo, receiver: Receiver
) -> None:
    demo = demo_council
    receiver.fail["/flaky"] = 2
    sub = await _subscribe(demo, f"{receiver.url}/flaky", ["vote.closed"])
    assert sub["secret"].startswith("whsec_")
    await _close_a_vote(demo)
    await receiver.until("/flaky", 3)
    attempts = receiver.requests("/flaky")
    ids = {h["webhook-id"] for h, _ in attempts}
    assert len(ids) == 1 and len({b for _, b in attempts}) == 1  # the same id and body on every attempt
    verifier = Webhook(sub["secret"])
    for headers, body in attempts:
        payload = verifier.verify(body, headers)  # raises if the signature is wrong
        assert payload["type"] == "vote.closed" and payload["data"]["payload"]["vote"] == "v1"
    tampered = dict(attempts[-1][0], **{"webhook-signature": "v1,AAAA"})
    with pytest.raises(Exception):  # noqa: B017 (the library raises its own WebhookVerificationError)
        verifier.verify(attempts[-1][1], tampered)
    for _ in range(100):
        [delivery] = await _deliveries(demo, sub["id"])
        if delivery["status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)


async def test_a_delivery_is_parked_after_the_last_attempt_and_can_be_delivered_again(
    demo_council: Demo, receiver: Receiver
) -> None:
    demo = demo_council
    receiver.fail["/down"] = 3
    sub = await _subscribe(demo, f"{receiver.url}/down", ["vote.closed"])
    await _close_a_vote(demo)
    await receiver.until("/down", 3)
    for _ in range(100):
        rows = await _deliveries(demo, sub["id"])
        if any(r["status"] == "parked" for r in rows):
            break
        await asyncio.sleep(0.05)
    parked = [r for r in rows if r["status"] == "parked"]
    assert len(parked) == 1 and parked[0]["attempts"] == 3 and parked[0]["last_error"] == "HTTP 5xx"
    again = await demo.client.post(
        f"/api/v1/webhooks/deliveries/{parked[0]['id']}/redeliver", headers=await demo.headers("admin")
    )
    assert again.status_code == 200, again.text
    await receiver.until("/down", 4)
    ids = [h["webhook-id"] for h, _ in receiver.requests("/down")]
    assert ids == [parked[0]["id"]] * 4  # the same id again: receivers ignore repeats
    for _ in range(100):
        if all(r["status"] == "delivered" for r in await _deliveries(demo, sub["id"])):
            break
        await asyncio.sleep(0.05)
    assert all(r["status"] == "delivered" for r in await _deliveries(demo, sub["id"]))
    # the outbox is idempotent: reading the whole log again adds no delivery
    assert await demo.server.state.consumers["webhooks"].rebuild() > 0
    assert len(await _deliveries(demo, sub["id"])) == 1


async def test_only_an_admin_manages_webhooks_and_bad_subscriptions_are_refused(demo_council: Demo) -> None:
    demo = demo_council
    body = {"url": "http://127.0.0.1:9/x", "event_types": ["vote.closed"]}
    response = await demo.client.post("/api/v1/webhooks", json=body, headers=await demo.headers("secretary"))
    assert response.status_code == 403
    for bad in (
        {"url": "ftp://x", "event_types": ["vote.closed"]},
        {"url": "http://x", "event_types": ["ballot.cast"]},
    ):
        response = await demo.client.post("/api/v1/webhooks", json=bad, headers=await demo.headers("admin"))
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_decision_events_are_delivered_too(demo_council: Demo, receiver: Receiver) -> None:
    sub = await _subscribe(demo_council, f"{receiver.url}/decisions", ["decision.adopted", "decision.published"])
    await _published_decision(demo_council)
    await receiver.until("/decisions", 2)
    verifier = Webhook(sub["secret"])
    kinds = [verifier.verify(body, headers)["type"] for headers, body in receiver.requests("/decisions")]
    assert sorted(kinds) == ["decision.adopted", "decision.published"]


async def test_the_admin_lists_and_stops_subscriptions(demo_council: Demo, receiver: Receiver) -> None:
    demo = demo_council
    sub = await _subscribe(demo, f"{receiver.url}/stopped", ["vote.closed"])
    listed = (await demo.client.get("/api/v1/webhooks", headers=await demo.headers("admin"))).json()["webhooks"]
    assert listed == [
        {"id": sub["id"], "url": f"{receiver.url}/stopped", "event_types": ["vote.closed"], "active": True}
    ]
    stopped = await demo.client.delete(f"/api/v1/webhooks/{sub['id']}", headers=await demo.headers("admin"))
    assert stopped.status_code == 204
    await _close_a_vote(demo)
    await demo.server.state.consumers["webhooks"].catch_up()
    assert await _deliveries(demo, sub["id"]) == [] and receiver.requests("/stopped") == []
    gone = await demo.client.delete("/api/v1/webhooks/999", headers=await demo.headers("admin"))
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud's instance metadata
        "http://2852039166/",  # the same, as one integer
        "http://127.0.0.1:5432/",  # the database
        "http://2130706433:6379/",  # Redis, as an integer
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # shared address space
        "http://[fd00:ec2::254]/",  # unique-local (AWS's IPv6 metadata)
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://localhost/",  # a name that resolves inside
        "http://metadata.google.internal/",  # resolves inside, or not at all
    ],
)
async def test_a_target_inside_is_refused_in_any_spelling(url: str) -> None:
    with pytest.raises(egress.TargetRefused):
        await egress.check(url, ())


async def test_global_targets_pass_and_an_administrator_may_allow_a_network_inside() -> None:
    assert str((await egress.check("https://8.8.8.8/hook", ())).address) == "8.8.8.8"
    assert str((await egress.check("http://[2001:4860:4860::8888]/", ())).address) == "2001:4860:4860::8888"
    inside = egress.networks("10.20.0.0/16, 127.0.0.1/32")
    assert str((await egress.check("http://10.20.3.4/", inside)).address) == "10.20.3.4"
    assert (await egress.check("http://[::ffff:127.0.0.1]/", inside)).address.ipv4_mapped == IPv4Address("127.0.0.1")
    with pytest.raises(egress.TargetRefused):
        await egress.check("http://10.21.0.1/", inside)


async def test_subscribing_a_target_inside_is_a_400_naming_the_url(demo_council: Demo) -> None:
    for url in ("http://169.254.169.254/", "http://2130706434:5432/", "http://[::1]:6379/"):
        response = await demo_council.client.post(
            "/api/v1/webhooks",
            json={"url": url, "event_types": ["vote.closed"]},
            headers=await demo_council.headers("admin"),
        )
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"] == "webhook_target_refused" and response.json()["field"] == "url"
    listed = await demo_council.client.get("/api/v1/webhooks", headers=await demo_council.headers("admin"))
    assert listed.json()["webhooks"] == []


async def test_a_target_is_checked_again_at_delivery_and_errors_say_a_class_not_the_peers_words(
    demo_council: Demo, receiver: Receiver
) -> None:
    demo = demo_council
    checked = await _subscribe(demo, f"{receiver.url}/checked", ["vote.closed"])
    closed_port = await _subscribe(demo, f"http://127.0.0.1:{free_port()}/nobody", ["vote.closed"])
    demo.server.state.webhook_sender.allow = ()  # the administrator no longer allows this machine
    await _close_a_vote(demo)
    for subscription, error in ((checked, "refused: the target resolves to an address inside"), (closed_port, None)):
        for _ in range(int(WAIT / 0.05)):
            rows = await _deliveries(demo, subscription["id"])
            if rows and rows[0]["status"] == "parked":
                break
            await asyncio.sleep(0.05)
        assert rows[0]["status"] == "parked"
        assert rows[0]["last_error"] == (error or "refused: the target resolves to an address inside")
    assert receiver.requests("/checked") == []
    demo.server.state.webhook_sender.allow = egress.networks("127.0.0.1/32")
    redelivered = await demo.client.post(
        f"/api/v1/webhooks/deliveries/{(await _deliveries(demo, closed_port['id']))[0]['id']}/redeliver",
        headers=await demo.headers("admin"),
    )
    assert redelivered.status_code == 200
    for _ in range(int(WAIT / 0.05)):
        rows = await _deliveries(demo, closed_port["id"])
        if rows[0]["status"] == "parked":
            break
        await asyncio.sleep(0.05)
    assert rows[0]["last_error"] == "connection failed"  # not "[Errno 111] Connect call failed (…, port)"
