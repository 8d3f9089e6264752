"""Sign-in with passwords, EdDSA access tokens, and single-use rotating refresh tokens."""

from __future__ import annotations

import httpx
import jwt
from conftest import Demo, RunningServer


async def _login(server: RunningServer, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as fresh:
        return await fresh.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_login_gives_an_eddsa_token_with_kid_and_an_httponly_refresh_cookie(demo_council: Demo) -> None:
    response = await _login(demo_council.server, "deputy07", "demo")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"] == demo_council.server.kvorum.keyring.signing[0]
    cookie = response.headers["set-cookie"]
    assert "kvorum_refresh=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = await demo_council.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"id": me.json()["id"], "username": "deputy07", "role": "deputy", "member": "d07"}


async def test_wrong_password_and_unknown_user_look_the_same(demo_council: Demo) -> None:
    for username, password in (("deputy07", "wrong"), ("nobody", "demo")):
        response = await _login(demo_council.server, username, password)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_credentials"
        assert "set-cookie" not in response.headers


async def test_login_body_is_validated(demo_council: Demo) -> None:
    async with httpx.AsyncClient(base_url=demo_council.server.url) as fresh:
        for body in (
            {"username": "chair"},
            {"username": "chair", "password": 5},
            {"username": "chair", "password": "demo", "otp": 1},
        ):
            response = await fresh.post("/api/v1/auth/login", json=body)
            assert response.status_code == 400 and response.json()["error"] == "invalid_request", body


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(demo_council: Demo) -> None:
    server = demo_council.server
    async with httpx.AsyncClient(base_url=server.url) as tablet:
        assert (
            await tablet.post("/api/v1/auth/login", json={"username": "deputy03", "password": "demo"})
        ).status_code == 200
        first = tablet.cookies["kvorum_refresh"]
        rotated = await tablet.post("/api/v1/auth/refresh")
        assert rotated.status_code == 200, rotated.text
        second = tablet.cookies["kvorum_refresh"]
        assert second != first
        me = await tablet.get("/api/v1/me", headers={"Authorization": f"Bearer {rotated.json()['access_token']}"})
        assert me.json()["username"] == "deputy03"

    server.kvorum.refresh.reuse_grace = 0  # past the window in which a reuse is taken for a retry
    async with httpx.AsyncClient(base_url=server.url) as thief:
        replay = await thief.post("/api/v1/auth/refresh", json={"refresh_token": first})
        assert replay.status_code == 401 and replay.json()["error"] == "refresh_reused"
        # the legitimate successor dies with its family
        after = await thief.post("/api/v1/auth/refresh", json={"refresh_token": second})
        assert after.status_code == 401 and after.json()["error"] == "sign_in_revoked"


async def test_a_refresh_whose_answer_was_lost_may_be_retried_without_ending_the_sign_in(demo_council: Demo) -> None:
    server = demo_council.server
    async with httpx.AsyncClient(base_url=server.url) as tablet:
        await tablet.post("/api/v1/auth/login", json={"username": "deputy06", "password": "demo"})
        spent = tablet.cookies["kvorum_refresh"]
        lost = await tablet.post("/api/v1/auth/refresh")  # the server rotated; say the tablet never heard
        assert lost.status_code == 200
        orphan = tablet.cookies["kvorum_refresh"]

    async def refresh_with(token: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url) as fresh:  # no cookie jar: the token given is used
            return await fresh.post("/api/v1/auth/refresh", json={"refresh_token": token})

    retry = await refresh_with(spent)
    assert retry.status_code == 200, retry.text
    successor = retry.cookies["kvorum_refresh"]
    assert successor not in (spent, orphan)
    assert (await refresh_with(successor)).status_code == 200  # the sign-in lives on
    # the answer that was lost is void: whoever holds it ends the sign-in by using it
    stolen = await refresh_with(orphan)
    assert stolen.status_code == 401 and stolen.json()["error"] == "sign_in_revoked"


async def test_a_retry_after_the_successor_was_used_is_a_theft(demo_council: Demo) -> None:
    server = demo_council.server
    async with httpx.AsyncClient(base_url=server.url) as tablet:
        await tablet.post("/api/v1/auth/login", json={"username": "deputy07", "password": "demo"})
        first = tablet.cookies["kvorum_refresh"]
        assert (await tablet.post("/api/v1/auth/refresh")).status_code == 200
        assert (await tablet.post("/api/v1/auth/refresh")).status_code == 200  # the successor was used
    async with httpx.AsyncClient(base_url=server.url) as thief:
        replay = await thief.post("/api/v1/auth/refresh", json={"refresh_token": first})
        assert replay.status_code == 401 and replay.json()["error"] == "refresh_reused"


async def test_a_disabled_account_cannot_refresh_and_the_pages_are_told_it_is_signed_out(demo_council: Demo) -> None:
    server = demo_council.server
    async with httpx.AsyncClient(base_url=server.url) as tablet:
        signed_in = await tablet.post("/api/v1/auth/login", json={"username": "deputy08", "password": "demo"})
        assert signed_in.cookies["kvorum_signed_in"] == "1"  # readable by the pages: a sign-in to resume
        await server.kvorum.accounts.set_disabled("deputy08", True)
        refused = await tablet.post("/api/v1/auth/refresh")
        assert refused.status_code == 401 and refused.json()["error"] == "sign_in_revoked"
        assert "kvorum_signed_in" not in tablet.cookies and "kvorum_refresh" not in tablet.cookies
        assert (await _login(server, "deputy08", "demo")).status_code == 401
        await server.kvorum.accounts.set_disabled("deputy08", False)
        assert (await _login(server, "deputy08", "demo")).status_code == 200


async def test_logout_and_password_change_end_sign_ins(demo_council: Demo) -> None:
    server = demo_council.server
    async with httpx.AsyncClient(base_url=server.url) as tablet:
        await tablet.post("/api/v1/auth/login", json={"username": "deputy04", "password": "demo"})
        token = tablet.cookies["kvorum_refresh"]
        assert (await tablet.post("/api/v1/auth/logout")).status_code == 204
        again = await tablet.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert again.status_code == 401

    async with httpx.AsyncClient(base_url=server.url) as tablet:
        await tablet.post("/api/v1/auth/login", json={"username": "deputy05", "password": "demo"})
        await server.kvorum.accounts.set_password("deputy05", "a-new-secret-05")
        assert (await tablet.post("/api/v1/auth/refresh")).status_code == 401
        assert (await _login(server, "deputy05", "demo")).status_code == 401
        assert (await _login(server, "deputy05", "a-new-secret-05")).status_code == 200


async def test_refresh_without_any_token_is_401(demo_council: Demo) -> None:
    response = await demo_council.client.post("/api/v1/auth/refresh")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


async def test_tokens_from_a_rotated_key_still_verify(demo_council: Demo) -> None:
    kvorum = demo_council.server.kvorum
    old = await demo_council.token("deputy09")
    await kvorum.keyring.rotate()
    kvorum.access._cache.clear()
    me = await demo_council.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert me.status_code == 200


async def test_health_readiness_and_openapi(demo_council: Demo) -> None:
    client = demo_council.client
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert {"/auth/login", "/sessions/{session}/commands", "/sessions/{session}/events"} <= set(spec["paths"])
    command_types = {s["$ref"].rsplit("/", 1)[-1] for s in spec["components"]["schemas"]["Command"]["oneOf"]}
    assert {"VoteOpen", "BallotCast"} <= command_types
