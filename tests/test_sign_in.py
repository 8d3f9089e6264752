"""Sign-in abuse is limited and visible; a disabled account, a new role or a sign-out ends the access
tokens at once (issue 15, item 7). Across nodes: ``test_multinode.py``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from conftest import Demo
from realtime_support import recv, ws_url

from session_server.identity.sign_ins import ACCOUNT_FREE, ADDRESS_FREE, MAX_WAIT, wait_after

AGENT = {"User-Agent": "Tablet d05 (test)"}


async def _login(demo: Demo, username: str, password: str) -> httpx.Response:
    return await demo.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, headers=AGENT
    )


def test_the_wait_grows_with_each_failure_and_stays_short_enough_for_a_sitting() -> None:
    assert [wait_after(n, ACCOUNT_FREE) for n in range(ACCOUNT_FREE)] == [0.0] * ACCOUNT_FREE
    waits = [wait_after(n, ACCOUNT_FREE) for n in range(ACCOUNT_FREE, ACCOUNT_FREE + 12)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and waits == sorted(waits) and max(waits) == MAX_WAIT == 300


async def test_guessing_a_password_is_slowed_down_and_the_secretary_lets_the_deputy_back_in(
    demo_council: Demo,
) -> None:
    demo = demo_council
    for _ in range(ACCOUNT_FREE):
        wrong = await _login(demo, "deputy05", "guess")
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"
    throttled = await _login(demo, "deputy05", "demo")  # the right password: not even checked now
    assert throttled.status_code == 429 and throttled.json()["error"] == "too_many_attempts"
    assert int(throttled.headers["retry-after"]) >= 1
    # another account from the same address is not held up by it
    assert (await _login(demo, "deputy06", "demo")).status_code == 200

    assert (
        await demo.client.post("/api/v1/users/deputy05/unlock", headers=await demo.headers("deputy01"))
    ).status_code == 403
    unlocked = await demo.client.post("/api/v1/users/deputy05/unlock", headers=await demo.headers("secretary"))
    assert unlocked.status_code == 200, unlocked.text
    assert (await _login(demo, "deputy05", "demo")).status_code == 200

    records = await demo.client.get(
        "/api/v1/sign-ins", params={"username": "deputy05"}, headers=await demo.headers("admin")
    )
    assert records.status_code == 200, records.text
    seen = records.json()["sign_ins"]
    assert [r["outcome"] for r in seen] == ["ok", "unlocked", *["wrong_password"] * ACCOUNT_FREE]
    assert all(
        r["address"] == "127.0.0.1" and r["user_agent"] == AGENT["User-Agent"]
        for r in seen
        if r["outcome"] != "unlocked"
    )
    assert seen[1]["address"] == "unlocked by secretary"
    assert (await demo.client.get("/api/v1/sign-ins", headers=await demo.headers("secretary"))).status_code == 403


async def test_one_address_guessing_many_accounts_is_slowed_down_too(demo_council: Demo) -> None:
    demo = demo_council
    for n in range(ADDRESS_FREE):
        assert (await _login(demo, f"nobody{n}", "guess")).status_code == 401
    held = await _login(demo, "deputy07", "demo")
    assert held.status_code == 429 and held.json()["error"] == "too_many_attempts"


async def test_disabling_an_account_or_changing_its_role_ends_its_tokens_at_once(demo_council: Demo) -> None:
    demo = demo_council
    deputy = await demo.headers("deputy05")
    chair = await demo.headers("chair")
    secretary = await demo.headers("secretary")  # issued before the role changes
    assert (await demo.client.get("/api/v1/me", headers=deputy)).status_code == 200
    admin = await demo.headers("admin")
    assert (await demo.client.post("/api/v1/users/deputy05", json={"disabled": True}, headers=chair)).status_code == 403
    disabled = await demo.client.post("/api/v1/users/deputy05", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = await demo.client.get("/api/v1/me", headers=deputy)
    assert refused.status_code == 401 and refused.json()["error"] == "token_revoked"
    assert (await _login(demo, "deputy05", "demo")).status_code == 401
    enabled = await demo.client.post("/api/v1/users/deputy05", json={"disabled": False}, headers=admin)
    assert enabled.status_code == 200 and (await _login(demo, "deputy05", "demo")).status_code == 200

    moved = await demo.client.post("/api/v1/users/secretary", json={"role": "observer"}, headers=admin)
    assert moved.status_code == 200 and moved.json()["role"] == "observer"
    old = await demo.client.post(
        "/api/v1/sessions/c8-s45/commands",
        json={"id": "r", "type": "registration.open"},
        headers=secretary,
    )
    assert old.status_code == 401 and old.json()["error"] == "token_revoked"
    again = (await _login(demo, "secretary", "demo")).json()["access_token"]
    me = await demo.client.get("/api/v1/me", headers={"Authorization": f"Bearer {again}"})
    assert me.json()["role"] == "observer"  # the next sign-in carries the new role
    bad: list[tuple[str, dict[str, Any], int]] = [
        ("/api/v1/users/admin", {"disabled": True}, 409),  # not one's own account: nobody could undo it
        ("/api/v1/users/admin", {"role": "observer"}, 409),
        ("/api/v1/users/nobody", {"disabled": True}, 404),
        ("/api/v1/users/deputy05", {"role": "emperor"}, 400),
        ("/api/v1/users/deputy05", {"disabled": "yes"}, 400),
    ]
    for path, body, status in bad:
        assert (await demo.client.post(path, json=body, headers=admin)).status_code == status, path
    listed = (await demo.client.get("/api/v1/users", headers=admin)).json()["users"]
    assert {u["username"]: u["demo_password"] for u in listed}["deputy05"] is True
    assert all("password_hash" not in u for u in listed)


async def test_signing_out_ends_that_access_token_too(demo_council: Demo) -> None:
    demo = demo_council
    login = await _login(demo, "deputy08", "demo")
    token = login.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await demo.client.get("/api/v1/me", headers=bearer)).status_code == 200
    out = await demo.client.post("/api/v1/auth/logout", headers=bearer)  # with the refresh cookie it holds
    assert out.status_code == 204
    after = await demo.client.get("/api/v1/me", headers=bearer)
    assert after.status_code == 401 and after.json()["error"] == "token_revoked"


async def test_an_open_socket_of_a_disabled_account_can_act_no_more(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    async with websockets.connect(ws_url(demo.server)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": await demo.token("secretary")}))
        await ws.send(json.dumps({"type": "sync", "since": 0}))
        assert (await recv(ws))["type"] == "snapshot"
        disabled = await demo.client.post(
            "/api/v1/users/secretary", json={"disabled": True}, headers=await demo.headers("admin")
        )
        assert disabled.status_code == 200
        await ws.send(json.dumps({"type": "command", "command": {"id": "r1", "type": "registration.open"}}))
        reply = await recv(ws)
        while reply["type"] == "event":
            reply = await recv(ws)
        assert reply["error"] == "token_revoked" and reply["id"] == "r1"
    assert (await demo.state())["state"]["registration_open"] is False


@pytest.mark.parametrize("password", ["short", "eleven-char"])
async def test_a_new_password_has_at_least_12_characters(demo_council: Demo, password: str) -> None:
    from session_server.identity.accounts import AccountError

    with pytest.raises(AccountError, match="at least 12 characters"):
        await demo_council.server.kvorum.accounts.set_password("deputy09", password)
    await asyncio.sleep(0)
