"""The OpenAPI 3.1 document of ``/api/v1``, built from the routes the app serves and the same pydantic
models that validate requests.

A handler is described where it is written, with ``@described(summary, …)``: its request body, its
responses and errors, its query parameters; its path parameters come from the route's own path (with
the type of their converter). ``openapi_document`` walks the app's routes under ``/api/v1`` and builds
the paths from those descriptions; an extension whose handlers are not described (yet) hands its part
over as ``OpenAPIPaths`` (``Extension.openapi()``), which is merged in. A route described nowhere is
caught by ``tests/test_openapi.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter
from starlette.routing import BaseRoute, Mount, Route

from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER, SessionSchedule
from session_server.extensions import OpenAPIPaths

__all__ = [
    "BEARER",
    "OpenAPIPaths",
    "Operation",
    "component_schemas",
    "described",
    "errors",
    "json_content",
    "openapi_document",
    "path_parameter",
    "ref",
]

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
"""The ``security`` of an operation that needs ``Authorization: Bearer <access token>``."""

_ERROR = {"$ref": "#/components/schemas/Error"}

_REASONS = {
    400: "Malformed JSON, unknown field or wrong type",
    401: "Missing, expired or forged access token",
    403: "The caller's role may not do this",
    404: "No such session, council, checkpoint or enrollment link",
    410: "The enrollment link was used or has expired",
    409: "The session's state or the council rules refuse the command",
    413: "Body over 64 KiB",
    415: "The body is not of the Content-Type this endpoint takes",
}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON body of ``schema`` (for a request body or a response)."""
    return {"content": {"application/json": {"schema": schema}}}


def errors(*statuses: int, reasons: Mapping[int, str] | None = None) -> dict[str, Any]:
    """Error responses, each an ``{"error", "message"}`` body; ``reasons`` says what a status means here
    when the usual description does not fit."""
    said = {**_REASONS, **(reasons or {})}
    return {str(s): {"description": said[s], **json_content(_ERROR)} for s in statuses}


def path_parameter(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A path parameter (a string unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def component_schemas(adapters: Mapping[str, TypeAdapter[Any]]) -> dict[str, Any]:
    """The JSON schemas of ``adapters`` under their names, with the models they use beside them."""
    schemas: dict[str, Any] = {}
    for name, adapter in adapters.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


@dataclass(frozen=True)
class Operation:
    """The OpenAPI operation of one handler (``described``), without its path parameters."""

    fields: Mapping[str, Any]


PATH_PARAMETERS = {
    "session": "the session's id",
    "vote": "the vote's id",
    "token": "the enrollment link's one-time token",
    "username": "the account's username",
    # the portal's
    "document": "the document's id",
    "sha256": "the file's SHA-256, lower-case hex",
    "subscription": "the subscription's id",
    "delivery": "the delivery's id (msg_…)",
    "consumer": "the consumer's name",
    "stream": "the stream (session:…, document:…)",
    "seq": "the event's seq",
}
"""What a path parameter is, by name, wherever it appears (``the <name>`` for one not listed)."""

PATH_PATTERNS: dict[str, dict[str, str]] = {"sha256": {"pattern": "^[0-9a-f]{64}$"}}
"""What a path parameter of that name must look like, beyond its converter's type."""

_CONVERTED = re.compile(r"{(\w+)(?::(\w+))?}")
_CONVERTER_TYPES = {None: "string", "str": "string", "path": "string", "int": "integer", "float": "number"}
_METHODS = ("get", "put", "post", "patch", "delete")

H = TypeVar("H", bound=Callable[..., Any])


def described(
    summary: str,
    *,
    ok: tuple[int, str] = (200, "OK"),
    returns: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    errors_: Iterable[int] = (),
    reasons: Mapping[int, str] | None = None,
    query: Iterable[dict[str, Any]] = (),
    bearer: bool = False,
    responses: Mapping[str, Any] | None = None,
) -> Callable[[H], H]:
    """Describe the handler it decorates in the OpenAPI document: ``summary``; the success status and what
    it says (``ok``) with its JSON schema (``returns``) or whole ``responses``; the request ``body``
    (a schema, usually ``ref(name)``); the error statuses (``errors_``, ``reasons`` where the usual words
    do not fit); ``query`` parameters; ``bearer`` when it needs an access token."""
    status, said = ok
    answers = (
        dict(responses)
        if responses is not None
        else {str(status): {"description": said, **(json_content(returns) if returns is not None else {})}}
    )
    fields: dict[str, Any] = {"summary": summary}
    if bearer:
        fields["security"] = BEARER
    if query:
        fields["parameters"] = list(query)
    if body is not None:
        fields["requestBody"] = json_content(body) if "content" not in body else body
    fields["responses"] = {**answers, **errors(*errors_, reasons=reasons)}

    def describe(handler: H) -> H:
        handler.__openapi__ = Operation(fields)  # type: ignore[attr-defined]
        return handler

    return describe


def query_parameter(
    name: str, description: str, *, required: bool = False, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A query parameter (an integer unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "integer"},
    }


def _operation(route: Route, method: str) -> dict[str, Any] | None:
    found = getattr(route.endpoint, "__openapi__", None)
    if not isinstance(found, Operation):
        return None
    operation = dict(found.fields)
    path_parameters = [
        path_parameter(
            name,
            PATH_PARAMETERS.get(name, f"the {name}"),
            {"type": _CONVERTER_TYPES[converter or None], **PATH_PATTERNS.get(name, {})},
        )
        for name, converter in _CONVERTED.findall(route.path)
    ]
    if path_parameters:
        operation["parameters"] = [*path_parameters, *operation.get("parameters", [])]
    return operation


def described_paths(routes: Iterable[BaseRoute], prefix: str = "") -> dict[str, dict[str, Any]]:
    """The paths of every described route under ``prefix`` (mounts walked), relative to ``prefix``."""
    paths: dict[str, dict[str, Any]] = {}

    def walk(found: Iterable[BaseRoute], above: str) -> None:
        for route in found:
            if isinstance(route, Mount):
                walk(route.routes, above + route.path)
            elif isinstance(route, Route):
                full = above + route.path
                if not full.startswith(prefix + "/"):
                    continue
                for method in _METHODS:
                    if method.upper() not in (route.methods or ()):
                        continue
                    operation = _operation(route, method)
                    if operation is not None:
                        path = _CONVERTED.sub(r"{\1}", full).removeprefix(prefix)
                        paths.setdefault(path, {})[method] = operation

    walk(routes, "")
    return paths


def openapi_document(
    parts: Iterable[OpenAPIPaths] = (), routes: Iterable[BaseRoute] = (), prefix: str = "/api/v1"
) -> dict[str, Any]:
    """The document served at ``/api/v1/openapi.json``: the described ``routes`` under ``prefix``, the
    core's remaining paths and the extensions' ``parts``.

    A method of a path described twice, or one schema name given two different schemas, is a
    ``ValueError``: the later part would silently hide the earlier one.
    """
    core = _core_document()
    paths: dict[str, Any] = dict(core["paths"])
    parts = [OpenAPIPaths(described_paths(routes, prefix)), *parts]
    schemas: dict[str, Any] = dict(core["components"]["schemas"])
    for part in parts:
        for path, operations in part.paths.items():
            described = paths.get(path, {})
            if twice := sorted(set(described) & set(operations)):
                raise ValueError(f"{path}: {', '.join(twice)} described twice in the OpenAPI document")
            paths[path] = {**described, **operations}
        for name, schema in part.schemas.items():
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"two different OpenAPI component schemas are named {name!r}")
    return {**core, "paths": paths, "components": {**core["components"], "schemas": schemas}}


@functools.cache
def _core_document() -> dict[str, Any]:
    """The core's routes (kept once: the models' schemas take a while to generate)."""
    from session_server.http.bodies import LoginBody, RefreshBody, UserChange

    components: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "Event": {
            "type": "object",
            "required": ["stream", "seq", "type", "payload", "actor", "at", "hash"],
            "properties": {
                "stream": {"type": "string"},
                "seq": {"type": "integer", "minimum": 1},
                "type": {"type": "string"},
                "payload": {"type": "object"},
                "actor": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
        },
        "CommandResult": {
            "type": "object",
            "required": ["seq", "events"],
            "properties": {
                "seq": {"type": "integer"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            },
        },
        "Token": {
            "type": "object",
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
            },
        },
    }
    components |= component_schemas(
        {
            "Command": SESSION_COMMAND_ADAPTER,
            "CouncilCommand": COUNCIL_COMMAND_ADAPTER,
            "ScheduleSession": TypeAdapter(SessionSchedule),
            "Login": TypeAdapter(LoginBody),
            "UserChange": TypeAdapter(UserChange),
            "Refresh": TypeAdapter(RefreshBody),
        }
    )
    paths: dict[str, Any] = {}  # every core route is described beside its handler (``described``)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kvorum API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
