"""``GET /api/v1/openapi.json`` describes every route the app serves under ``/api/v1``, extensions included,
and holds together as an OpenAPI 3.1 document (no ``openapi-spec-validator`` here: the checks below are
the parts of the specification a client generator trips over)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from starlette.routing import BaseRoute, Mount, Route

from session_server.http.app import core_api
from session_server.http.openapi import OpenAPIPaths, openapi_document

API = "/api/v1"
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
CONVERTED = re.compile(r"{(\w+)(?::(\w+))?}")
CONVERTER_TYPES = {None: "string", "str": "string", "path": "string", "int": "integer", "float": "number"}


def _served(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, Route]]:
    """``(METHOD, path, route)`` of every HTTP route, mounts walked; HEAD comes with GET and is left out."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _served(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path, route


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


async def _document(server: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_every_route_under_api_v1_is_described_and_nothing_else(server: RunningServer) -> None:
    document = await _document(server)
    served = {
        (method, CONVERTED.sub(r"{\1}", path).removeprefix(API))
        for method, path, _ in _served(server.app.app.routes)
        if path.startswith(f"{API}/")
    }
    described = {(method, path) for method, path, _ in _operations(document)}
    assert served - described == set(), "served under /api/v1 but missing from openapi.json"
    assert described - served == set(), "in openapi.json but not served"
    # The extensions' routes are found through entry points: make sure they were there to be checked.
    assert {("POST", "/webhooks"), ("PUT", "/sessions/{session}/video")} <= described


async def test_path_parameters_are_declared_with_the_type_of_their_converter(server: RunningServer) -> None:
    document = await _document(server)
    wrong = []
    for method, path, route in _served(server.app.app.routes):
        described = document["paths"].get(CONVERTED.sub(r"{\1}", path).removeprefix(API), {})
        operation = described.get(method.lower())
        if not path.startswith(f"{API}/") or operation is None:
            continue  # not under /api/v1, or not described (the test above says so)
        declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
        for name, converter in CONVERTED.findall(route.path):
            found = declared.pop(name, None)
            if found is None or found["required"] is not True:
                wrong.append(f"{method} {path}: {name} is not a required path parameter")
            elif found["schema"]["type"] != CONVERTER_TYPES[converter or None]:
                wrong.append(f"{method} {path}: {name} is {found['schema']['type']}, its converter {converter}")
        wrong += [f"{method} {path}: {name} is not in the path" for name in declared]
    assert wrong == []


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolves(document: dict[str, Any], pointer: str) -> bool:
    if not pointer.startswith("#/"):
        return False
    node: Any = document
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _problems(document: dict[str, Any]) -> Iterator[str]:
    """What breaks the document for a client generator."""
    schemes = set(document["components"]["securitySchemes"])
    for pointer in sorted(set(_refs(document))):
        if not _resolves(document, pointer):
            yield f"unresolved $ref {pointer}"
    for path, item in document["paths"].items():
        if not path.startswith("/") or path.startswith(API) or not set(item) <= METHODS | {"parameters", "summary"}:
            yield f"{path}: not a path relative to the server, or an unknown key"
    for method, path, operation in _operations(document):
        where = f"{method} {path}"
        if not operation.get("summary"):
            yield f"{where}: no summary"
        parameters = operation.get("parameters", [])
        if len({(p["name"], p["in"]) for p in parameters}) != len(parameters):
            yield f"{where}: a parameter declared twice"
        for parameter in parameters:
            if parameter["in"] not in {"query", "header", "path", "cookie"} or "schema" not in parameter:
                yield f"{where}: parameter {parameter['name']} has no schema or a wrong place"
        if not all(set(requirement) <= schemes for requirement in operation.get("security", [])):
            yield f"{where}: an unknown security scheme"
        if "requestBody" in operation and not operation["requestBody"].get("content"):
            yield f"{where}: a request body without content"
        responses = operation.get("responses") or {}
        if not responses or not all(re.fullmatch(r"[1-5][0-9]{2}|default", status) for status in responses):
            yield f"{where}: no responses, or a status that is not one"
        for status, response in responses.items():
            if not isinstance(response.get("description"), str):
                yield f"{where} {status}: no description"
            error = response.get("content", {}).get("application/json", {}).get("schema")
            if status[0] in "45" and error != {"$ref": "#/components/schemas/Error"}:
                yield f"{where} {status}: an error that is not {{error, message}}"
        if "security" in operation and "401" not in responses:
            yield f"{where}: takes a token but does not say what happens without one"


async def test_the_document_holds_together_as_openapi_3_1(server: RunningServer) -> None:
    document = await _document(server)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert list(_problems(document)) == []


def test_an_extension_cannot_hide_what_another_part_describes() -> None:
    routes = [Mount("/api/v1", routes=core_api())]  # the core's routes, described beside their handlers
    core = openapi_document(routes=routes)
    again = OpenAPIPaths(paths={"/sessions": {"get": {"summary": "mine", "responses": {}}}})
    with pytest.raises(ValueError, match="/sessions: get described twice"):
        openapi_document([again], routes)
    renamed = OpenAPIPaths(paths={}, schemas={"Error": {"type": "string"}})
    with pytest.raises(ValueError, match="'Error'"):
        openapi_document([renamed], routes)
    # A new method on a path the core describes joins it; the core's own document is left as it was.
    added = OpenAPIPaths(paths={"/sessions": {"delete": {"summary": "new", "responses": {}}}})
    merged = openapi_document([added], routes)
    assert set(merged["paths"]["/sessions"]) == {"get", "post", "delete"}
    assert set(openapi_document(routes=routes)["paths"]["/sessions"]) == {"get", "post"}
    assert core == openapi_document(routes=routes)
