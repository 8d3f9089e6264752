"""While the database is away, every request gets a clean 503 and the client's connection stays usable,
so the ballot after a refused read is answered, never lost to a dropped connection (issue 15, item 4).

The database really goes away (a TCP link the test cuts); a second link in front of the server counts
the client's connections.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from conftest import Demo
from links import CuttableLink
from outage_support import database_link, settings  # noqa: F401  (the server reaches the database through the link)
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

SESSION = "c8-s45"
READS = (
    f"/api/v1/sessions/{SESSION}",
    "/api/v1/sessions",
    "/api/v1/council",
    f"/api/v1/sessions/{SESSION}/events",
    f"/api/v1/sessions/{SESSION}/ledger/export",
    f"/api/v1/sessions/{SESSION}/stream",
    "/api/v1/documents",
    "/opendata/ua835/motions.json",
)
PAGES = ("/", "/sessions", f"/sessions/{SESSION}", "/deputies/d01")


async def test_while_the_database_is_away_every_request_is_a_clean_503_on_a_connection_that_stays(
    demo_council: Demo,
    database_link: CuttableLink,  # noqa: F811  (the fixture imported above)
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    chair = await demo.headers("chair")
    late_token = await demo.token("deputy02")  # minted while the database is there
    following = await websockets.connect(demo.server.url.replace("http", "ws") + f"/ws/sessions/{SESSION}")
    await following.send(json.dumps({"type": "auth", "token": await demo.token("deputy01")}))
    await following.send(json.dumps({"type": "sync", "since": 0}))
    assert json.loads(await following.recv())["type"] == "snapshot"
    async with CuttableLink(demo.server.url) as front, httpx.AsyncClient(base_url=front.url, timeout=10) as client:
        assert (await client.get("/api/v1/sessions")).status_code == 200
        database_link.cut()
        for path in READS:
            response = await client.get(path)
            assert response.status_code == 503, (path, response.text[:200])
            assert response.json()["error"] == "store_unavailable", path
            assert response.headers["retry-after"] == "5", path
            assert response.headers.get("connection") != "close", path
        login = await client.post("/api/v1/auth/login", json={"username": "chair", "password": "demo"})
        assert login.status_code == 503 and login.json()["error"] == "store_unavailable"
        for path in PAGES:
            page = await client.get(path)
            assert page.status_code == 503 and "<h1>Сервіс тимчасово недоступний</h1>" in page.text, path
            assert page.headers["retry-after"] == "5", path
        # a tablet already following the sitting stays connected; a new one is told to try again shortly
        ws_url = demo.server.url.replace("http", "ws") + f"/ws/sessions/{SESSION}"
        async with websockets.connect(ws_url) as late:
            await late.send(json.dumps({"type": "auth", "token": late_token}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(late.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert following.state is State.OPEN
        command = {"id": "reg-open", "type": "registration.open"}
        refused = await client.post(f"/api/v1/sessions/{SESSION}/commands", json=command, headers=chair)
        assert refused.status_code == 503 and refused.json()["error"] == "store_unavailable"

        database_link.restore()
        # the same command again, on the same connection: once the pool has reconnected it acts, once
        answers = []
        for _ in range(20):
            response = await client.post(f"/api/v1/sessions/{SESSION}/commands", json=command, headers=chair)
            answers.append(response.status_code)
            if response.status_code == 200:
                break
        assert answers[-1] == 200 and set(answers) <= {200, 503}, answers
        assert (await demo.state())["state"]["registration_open"] is True
    assert front.accepted == 1  # one connection carried every request: none was dropped
    # and the tablet that stayed connected sees what was done once the database came back
    seen = [json.loads(await asyncio.wait_for(following.recv(), 5)) for _ in range(1)]
    assert seen[0]["type"] == "event" and seen[0]["event"]["type"] == "registration.opened"
    await following.close()
