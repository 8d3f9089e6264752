"""Text and numbers are checked once, at the edge: what PostgreSQL, a page or a CSV file cannot hold
never gets in, and what gets refused is named, so nothing breaks later (issue 15, item 1)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from conftest import Demo
from pydantic import BaseModel

from session_server import demo as seeded
from session_server.domain.commands import COMMAND_ADAPTER
from session_server.domain.text import Strict

COMMANDS = f"/api/v1/sessions/{seeded.SESSION_ID}/commands"


async def _send(demo: Demo, user: str, body: dict[str, Any]) -> httpx.Response:
    return await demo.client.post(COMMANDS, content=json.dumps(body), headers=await demo.headers(user))


async def _schedule(demo: Demo, body: dict[str, Any]) -> httpx.Response:
    return await demo.client.post("/api/v1/sessions", content=json.dumps(body), headers=await demo.headers("secretary"))


async def test_a_nul_in_a_conflict_reason_is_refused_and_the_deputy_page_stays_up(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    refused = await _send(demo, "deputy01", {"id": "c1", "type": "conflict.declare", "item": "i1", "reason": "x\u0000"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_text",
        "message": "conflict.declare.reason: the character U+0000 is not allowed in text",
        "field": "reason",
    }
    assert (await demo.state())["state"]["conflicts"] == []
    assert (await demo.client.get("/deputies/d01")).status_code == 200
    # a reason of several lines is still a reason: tab and line feed are allowed where text runs on
    await demo.ok(
        "deputy01", "conflict.declare", item="i1", reason="Син — засновник підрядника;\n\tдружина — його бухгалтер"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "Сесія\u0000"}, "title"),
        ({"title": "Сесія\u001b[31m"}, "title"),
        ({"title": "Се\u0085сія"}, "title"),  # a C1 control
        ({"title": "Сесія\nдруга"}, "title"),  # a title is one line
        ({"agenda": [{"number": "1", "title": "Про\u0000бюджет"}]}, "agenda.0.title"),
    ],
)
async def test_control_characters_in_a_schedule_are_refused_naming_the_field(
    demo_council: Demo, fields: dict[str, Any], field: str
) -> None:
    body = {"id": "s9", "type": "session.schedule", "number": 9, "convocation": 8, "date": "2027-01-05"}
    response = await _schedule(demo_council, {"title": "Сесія", **body, **fields})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_text" and response.json()["field"] == field
    assert (await demo_council.client.get("/api/v1/sessions/c8-s9")).status_code == 404


@pytest.mark.parametrize("number", [185431061914, 2**31, 10_001, 2**64])
async def test_numbers_a_column_cannot_hold_are_a_400_not_a_503(demo_council: Demo, number: int) -> None:
    body = {"id": "s9", "type": "session.schedule", "number": 9, "convocation": number, "date": "2027-01-05"}
    response = await _schedule(demo_council, {"title": "Сесія", **body})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request" and response.json()["field"] == "convocation"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/sessions/%00", "invalid_text"),
        ("/api/v1/sessions/c8-s45%1b", "invalid_text"),
        ("/api/v1/sessions/%ff%fe", "invalid_text"),  # not UTF-8
        ("/api/v1/sessions?x=%00", "invalid_text"),
        ("/opendata/ua835/motions.json?session=%C0%80", "invalid_text"),  # an overlong NUL
        ("/api/v1/sessions/" + "a" * 9000, "uri_too_long"),
    ],
)
async def test_addresses_with_characters_no_id_holds_are_refused_before_any_route(
    demo_council: Demo, path: str, code: str
) -> None:
    response = await demo_council.client.get(path)
    assert response.status_code in (400, 414), response.text
    assert response.json()["error"] == code


async def test_a_page_address_with_a_nul_gets_the_ukrainian_page(demo_council: Demo) -> None:
    response = await demo_council.client.get("/deputies/d01%00")
    assert response.status_code == 400
    assert "<h1>Неправильна адреса</h1>" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?since=%C2%B2", {}),  # «²» is a digit to str.isdigit, not to int()
        ("?since=99999999999999999999", {}),
        ("?since=-1", {}),
        ("?heartbeat=%C2%B2", {}),
        ("", {"Last-Event-ID": "\u00b2"}),
        ("", {"Last-Event-ID": "1e3"}),
    ],
)
async def test_the_public_feed_refuses_a_position_that_is_not_a_whole_number(
    demo_council: Demo, query: str, headers: dict[str, str]
) -> None:
    encoded = {k: v.encode("latin-1") for k, v in headers.items()}
    response = await demo_council.client.get(f"/api/v1/sessions/{seeded.SESSION_ID}/stream{query}", headers=encoded)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_parameter"


async def test_a_feed_resumed_past_the_head_starts_afresh(demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    url = f"{demo.server.url}/api/v1/sessions/{seeded.SESSION_ID}/stream"
    async with httpx.AsyncClient() as client, client.stream("GET", url, headers={"Last-Event-ID": "5000"}) as feed:
        assert feed.status_code == 200
        seen = ""
        async for chunk in feed.aiter_text():
            seen += chunk
            if "id: 2\n" in seen:
                break
        assert "id: 1\n" in seen and "event: session.opened" in seen


@pytest.mark.parametrize("query", ["?convocation=%C2%B2", "?convocation=99999999999999999999"])
async def test_open_data_refuses_a_convocation_that_is_not_a_small_whole_number(demo_council: Demo, query: str) -> None:
    response = await demo_council.client.get(f"/opendata/ua835/motions.json{query}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_parameter"


async def test_an_id_no_column_holds_is_no_subscription(demo_council: Demo) -> None:
    demo = demo_council
    for method in ("DELETE", "GET"):
        suffix = "" if method == "DELETE" else "/deliveries"
        response = await demo.client.request(
            method, f"/api/v1/webhooks/99999999999999999999{suffix}", headers=await demo.headers("admin")
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"


def _strings(schema: dict[str, Any], defs: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every string a body may hold, with its schema, following references, unions and lists."""
    if "$ref" in schema:
        return _strings(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
    found: list[tuple[str, dict[str, Any]]] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _strings(part, defs, where)
    if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        found.append((where, schema))
    if schema.get("type") == "array":
        found += _strings(schema.get("items", {}), defs, f"{where}[]")
    for name, sub in schema.get("properties", {}).items():
        found += _strings(sub, defs, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _strings(schema["additionalProperties"], defs, f"{where}{{}}")
    return found


def test_every_text_field_of_every_command_has_a_documented_maximum_length() -> None:
    schema = COMMAND_ADAPTER.json_schema()
    defs = schema.get("$defs", {})
    unbounded = [
        where
        for where, field in _strings(schema, defs, "command")
        if "maxLength" not in field and "pattern" not in field and "format" not in field
    ]
    assert unbounded == []


def test_every_model_a_request_is_parsed_with_checks_text_the_one_way() -> None:
    import portal_bridge.api
    import streaming.api

    assert portal_bridge.api and streaming.api  # their models are defined
    own = [
        model
        for model in _subclasses(BaseModel)
        if model.__module__.startswith(("session_server", "portal_bridge", "streaming"))
    ]
    assert len(own) > 40
    assert [m.__qualname__ for m in own if not issubclass(m, Strict)] == []


def _subclasses(model: type[BaseModel]) -> list[type[BaseModel]]:
    every: list[type[BaseModel]] = []
    for sub in model.__subclasses__():
        every += [sub, *_subclasses(sub)]
    return every


async def test_links_a_page_prints_never_come_from_the_host_header(demo_council: Demo) -> None:
    demo = demo_council
    feed = await demo.client.get("/decisions.atom", headers={"Host": "attacker.example"})
    assert feed.status_code == 200
    assert "attacker.example" not in feed.text
    port = demo.server.url.rsplit(":", 1)[1]
    assert f'href="http://localhost:{port}/decisions.atom"' in feed.text


@pytest.mark.parametrize(
    "path", ["/api/v1/sessions", "/api/v1/sessions/nope", "/healthz", "/opendata/ua835/deputies.csv", "/", "/nope"]
)
async def test_every_response_tells_the_browser_not_to_guess_its_type(demo_council: Demo, path: str) -> None:
    response = await demo_council.client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff", path


def _integers(schema: dict[str, Any], defs: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        return _integers(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
    found: list[tuple[str, dict[str, Any]]] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _integers(part, defs, where)
    if schema.get("type") == "integer":
        found.append((where, schema))
    if schema.get("type") == "array":
        found += _integers(schema.get("items", {}), defs, f"{where}[]")
    for name, sub in schema.get("properties", {}).items():
        found += _integers(sub, defs, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _integers(schema["additionalProperties"], defs, f"{where}{{}}")
    return found


def test_every_integer_a_request_may_hold_is_bounded_both_ways() -> None:
    """So a body's numbers need no scan (``text.clean_json``): each fits its column by its own bounds."""
    from pydantic import TypeAdapter

    import portal_bridge.api  # noqa: F401  (their request models are defined)
    import session_server.http.users_routes  # noqa: F401
    import streaming.api  # noqa: F401
    from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER
    from session_server.http.responses import Model

    adapters: list[TypeAdapter[Any]] = [COMMAND_ADAPTER, DOCUMENT_COMMAND_ADAPTER]
    adapters += [TypeAdapter(m) for m in _subclasses(Model)]
    unbounded = []
    for adapter in adapters:
        schema = adapter.json_schema()
        for where, field in _integers(schema, schema.get("$defs", {}), schema.get("title", "body")):
            has_low = "minimum" in field or "exclusiveMinimum" in field
            has_high = "maximum" in field or "exclusiveMaximum" in field
            if not (has_low and has_high):
                unbounded.append(where)
    assert unbounded == []
    # and anything else free-form holds text only (a signed ballot's assertion: base64url parts)
    assert all(
        "additionalProperties" not in s or s["additionalProperties"].get("type") == "string"
        for _, s in _strings_and_maps(COMMAND_ADAPTER.json_schema())
    )


def _strings_and_maps(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, definition in schema.get("$defs", {}).items():
        for field, sub in definition.get("properties", {}).items():
            for part in [sub, *sub.get("anyOf", [])]:
                if part.get("type") == "object":
                    found.append((f"{name}.{field}", part))
    return found


async def test_a_body_without_escapes_skips_the_check_and_one_with_them_is_checked(demo_council: Demo) -> None:
    from session_server.domain.text import clean_json

    assert clean_json('{"reason": "Син — засновник «Підрядника»"}'.encode())
    assert not clean_json(b'{"reason": "x\\u0000"}') and not clean_json('{"reason": "x\u0085"}'.encode())
    demo = demo_council
    await demo.ok("chair", "session.open")
    raw_c1 = '{"id": "c2", "type": "conflict.declare", "item": "i1", "reason": "x\u0085y"}'.encode()
    response = await demo.client.post(COMMANDS, content=raw_c1, headers=await demo.headers("deputy01"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_text"
