"""Bad input of every kind gets a 4xx ``{"error", "message"}``, never a 500, and leaves the log unchanged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from typing import Any

import httpx
import jwt
import pytest
from conftest import Demo
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

URL = "/api/v1/sessions/c8-s45/commands"
VOTE_OPEN = b'{"id": "a", "type": "vote.open", "item": "i1", "subject": "s", "rule": "%s", "seconds": %s}'
SCHEDULE = b'{"id": "a", "type": "session.schedule", "number": 1, "convocation": 8, "date": "2026-01-01", "title": "t"}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "kvorum",
        "aud": "kvorum-api",
        "sub": "3",
        "name": "chair",
        "role": "chair",
        "member": "mayor",
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    claims.update(over)
    return claims


async def _refused(demo: Demo, response: httpx.Response, status: int, code: str, head: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]
    assert await demo.head() == head, "a refused request changed the log"


@pytest.fixture
async def opened(demo_council: Demo) -> Demo:
    await demo_council.ok("chair", "session.open")
    return demo_council


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"id": "a", "type": "registration.open"', 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b"[1, 2]", 400, "invalid_request"),
        (b'"registration.open"', 400, "invalid_request"),
        (b'{"id": "a", "type": "registration.open", "extra": 1}', 400, "invalid_request"),
        (b'{"id": "a", "type": "registration.open", "\xff": 1}', 400, "malformed_json"),
        (b'{"type": "registration.open"}', 400, "invalid_request"),
        (b'{"id": "a", "type": "parliament.dissolve"}', 400, "unknown_command"),
        (b'{"id": "a"}', 400, "invalid_request"),
        (b'{"id": 5, "type": "registration.open"}', 400, "invalid_request"),
        (b'{"id": "a b", "type": "registration.open"}', 400, "invalid_request"),
        (b'{"id": "a", "type": "item.start", "item": 1}', 400, "invalid_request"),
        (
            VOTE_OPEN % (b"majority_of_composition", b'"60"'),
            400,
            "invalid_request",
        ),
        (
            VOTE_OPEN % (b"majority_of_composition", b"true"),
            400,
            "invalid_request",
        ),
        (
            VOTE_OPEN % (b"unanimity", b"60"),
            400,
            "invalid_request",
        ),
        (
            VOTE_OPEN % (b"majority_of_composition", b"100000"),
            400,
            "invalid_request",
        ),
        (b'{"id": "a", "type": "ballot.cast", "vote": "v1", "choice": "maybe"}', 400, "invalid_request"),
        (
            SCHEDULE,
            400,
            "invalid_request",
        ),
    ],
)
async def test_malformed_commands_are_refused(opened: Demo, body: bytes, status: int, code: str) -> None:
    head = await opened.head()
    headers = {**await opened.headers("chair"), "Content-Type": "application/json"}
    response = await opened.client.post(URL, content=body, headers=headers)
    await _refused(opened, response, status, code, head)


async def test_oversized_bodies_are_refused_declared_or_streamed(opened: Demo) -> None:
    head = await opened.head()
    headers = await opened.headers("chair")
    big = json.dumps({"id": "a", "type": "conflict.declare", "item": "i1", "reason": "x" * 70_000}).encode()
    await _refused(opened, await opened.client.post(URL, content=big, headers=headers), 413, "body_too_large", head)

    async def chunks():  # no Content-Length: the limit holds on what actually arrives
        for _ in range(20):
            yield b" " * 4096

    streamed = await opened.client.post(URL, content=chunks(), headers=headers)
    await _refused(opened, streamed, 413, "body_too_large", head)


async def test_unknown_session_is_404(opened: Demo) -> None:
    response = await opened.command("chair", "registration.open", session="no-such-session")
    assert response.status_code == 404 and response.json()["error"] == "session_not_found"
    for path in ("/api/v1/sessions/no-such-session", "/api/v1/sessions/no-such-session/events"):
        got = await opened.client.get(path)
        assert got.status_code == 404 and got.json()["error"] == "session_not_found"
    assert await opened.server.kvorum.store.head("session:no-such-session") is None


@pytest.mark.parametrize(
    ("user", "type_", "fields", "code"),
    [
        ("deputy01", "registration.open", {}, "forbidden"),
        (
            "deputy01",
            "vote.open",
            {"item": "i1", "subject": "s", "rule": "majority_of_composition", "seconds": 30},
            "forbidden",
        ),
        ("secretary", "presence.register", {}, "forbidden"),
        ("admin", "presence.register", {}, "forbidden"),
    ],
)
async def test_wrong_role_is_403(opened: Demo, user: str, type_: str, fields: dict[str, Any], code: str) -> None:
    await opened.ok("chair", "registration.open")
    head = await opened.head()
    await _refused(opened, await opened.command(user, type_, **fields), 403, code, head)


async def test_observer_and_accountless_member_cannot_act(opened: Demo) -> None:
    kvorum = opened.server.kvorum
    await kvorum.accounts.add("watcher", "secret-watcher-1", "observer")
    await kvorum.accounts.add("ghost", "secret-ghost-99", "deputy", member="d99")  # not on the roster
    await opened.ok("chair", "registration.open")
    head = await opened.head()
    await _refused(opened, await opened.command("watcher", "presence.register"), 403, "forbidden", head)
    await _refused(opened, await opened.command("ghost", "presence.register"), 403, "not_a_deputy", head)


async def test_commands_out_of_order_are_409(demo_council: Demo) -> None:
    demo = demo_council
    head = await demo.head()
    await _refused(demo, await demo.command("chair", "registration.open"), 409, "session_not_open", head)
    await demo.ok("chair", "session.open")
    head = await demo.head()
    await _refused(demo, await demo.command("deputy01", "presence.register"), 409, "registration_closed", head)
    await _refused(demo, await demo.command("chair", "session.open"), 409, "session_not_scheduled", head)
    await _refused(
        demo, await demo.command("deputy01", "ballot.cast", vote="v1", choice="for"), 409, "unknown_vote", head
    )
    await _refused(demo, await demo.command("chair", "item.finish", item="i1"), 409, "item_not_current", head)
    await _refused(demo, await demo.command("chair", "item.start", item="i99"), 409, "unknown_item", head)


async def test_requests_without_a_valid_token_are_401(opened: Demo) -> None:
    demo = opened
    head = await demo.head()
    kid, key = demo.server.kvorum.keyring.signing
    body = {"id": "t1", "type": "registration.open"}
    header_none = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    alg_none = f"{header_none}.{_b64(json.dumps(_claims()).encode())}."
    public_raw = key.public_key().public_bytes_raw()
    header_hs = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signing_input = f"{header_hs}.{_b64(json.dumps(_claims()).encode())}"
    hs256 = f"{signing_input}.{_b64(hmac.new(public_raw, signing_input.encode(), hashlib.sha256).digest())}"
    stranger = jwt.encode(_claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "unknown-kid"})
    wrong_key_known_kid = jwt.encode(_claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    expired = jwt.encode(_claims(exp=int(time.time()) - 5), key, algorithm="EdDSA", headers={"kid": kid})
    wrong_audience = jwt.encode(_claims(aud="someone-else"), key, algorithm="EdDSA", headers={"kid": kid})
    no_jti = jwt.encode(
        {k: v for k, v in _claims().items() if k != "jti"}, key, algorithm="EdDSA", headers={"kid": kid}
    )
    real = await demo.token("deputy01")
    head_b64, payload_b64, signature = real.split(".")
    promoted = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    promoted["role"] = "chair"
    tampered = f"{head_b64}.{_b64(json.dumps(promoted).encode())}.{signature}"
    cases = {
        "alg none": (alg_none, "invalid_token"),
        "HS256 keyed with the public key": (hs256, "invalid_token"),
        "unknown kid": (stranger, "invalid_token"),
        "known kid, wrong key": (wrong_key_known_kid, "invalid_token"),
        "expired": (expired, "token_expired"),
        "wrong audience": (wrong_audience, "invalid_token"),
        "missing jti": (no_jti, "invalid_token"),
        "tampered role": (tampered, "invalid_token"),
        "garbage": ("not-a-token", "invalid_token"),
    }
    for name, (token, code) in cases.items():
        response = await demo.client.post(URL, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["error"] == code, name
    await _refused(demo, await demo.client.post(URL, json=body), 401, "unauthorized", head)
    await _refused(
        demo, await demo.client.post(URL, json=body, headers={"Authorization": "Basic abc"}), 401, "unauthorized", head
    )


async def test_bad_query_parameters_and_routes(opened: Demo) -> None:
    client = opened.client
    for params in ({"after": "abc"}, {"after": "-1"}, {"limit": "0"}, {"limit": "99999"}):
        response = await client.get("/api/v1/sessions/c8-s45/events", params=params)
        assert response.status_code == 400 and response.json()["error"] == "invalid_parameter", params
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong_method = await client.delete("/api/v1/sessions/c8-s45")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"


async def test_random_bodies_never_cause_a_500_or_a_change(opened: Demo) -> None:
    """A bounded fuzz: a few hundred random command-shaped bodies from a fixed seed."""
    demo = opened
    rng = random.Random(20261124)
    fields = [
        "id",
        "type",
        "item",
        "vote",
        "choice",
        "rule",
        "seconds",
        "subject",
        "reason",
        "deputy",
        "assertion",
        "x",
    ]
    types = ["vote.open", "ballot.cast", "item.start", "speaker.grant", "conflict.declare", "nope", None]
    values: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", "i1", "v1", "d01", "for", "🙂" * 50, [], {}, [1], {"a": 1}]
    headers = await demo.headers("deputy05")
    head = await demo.head()
    for _ in range(300):
        body = {f: rng.choice(values) for f in rng.sample(fields, rng.randint(0, 6))}
        if rng.random() < 0.8:
            body["type"] = rng.choice(types)
        response = await demo.client.post(URL, json=body, headers=headers)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert {"error", "message"} <= set(response.json()) <= {"error", "message", "field"}
    assert await demo.head() == head


async def test_a_refused_field_is_named_so_the_screen_can_show_the_error_beside_it(demo_council: Demo) -> None:
    headers = await demo_council.headers("secretary")
    draft = {"id": "r", "document": "Not A Slug", "number": "ПР-1", "title": "Т", "initiator": "І", "rapporteur": "Р"}
    response = await demo_council.client.post("/api/v1/documents", json=draft, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request" and response.json()["field"] == "document"
    missing = await demo_council.command("secretary", "item.add", number="7")
    assert missing.status_code == 400 and missing.json()["field"] == "title"
