"""The OpenAPI 3.1 document of ``/api/v1``, built from the same pydantic models that validate requests.

The core describes its own routes here; each extension describes its routes in its own package and
hands that part over (``Extension.openapi()``), and ``openapi_document`` merges the parts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER, SessionSchedule

__all__ = [
    "BEARER",
    "OpenAPIPaths",
    "component_schemas",
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


@dataclass(frozen=True)
class OpenAPIPaths:
    """An extension's part of the document: its paths (relative to ``/api/v1``, as the core's) and the
    component schemas they refer to."""

    paths: Mapping[str, Mapping[str, Any]]
    schemas: Mapping[str, Any] = field(default_factory=dict)


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


def openapi_document(parts: Iterable[OpenAPIPaths] = ()) -> dict[str, Any]:
    """The document served at ``/api/v1/openapi.json``: the core's paths and the extensions' ``parts``.

    A method of a path described twice, or one schema name given two different schemas, is a
    ``ValueError``: the later part would silently hide the earlier one.
    """
    core = _core_document()
    paths: dict[str, Any] = dict(core["paths"])
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
    from session_server.http.routes import LoginBody, RefreshBody
    from session_server.http.users_routes import UserChange

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
    session = path_parameter("session", "the session's id")
    bearer = BEARER
    paths: dict[str, Any] = {
        "/auth/login": {
            "post": {
                "summary": "Sign in with username and password; sets the refresh cookie",
                "requestBody": json_content(ref("Login")),
                "responses": {
                    "200": {"description": "Signed in", **json_content(ref("Token"))},
                    **errors(400, 401, 413, 429, reasons={429: "Too many failed sign-ins: wait Retry-After seconds"}),
                },
            }
        },
        "/auth/refresh": {
            "post": {
                "summary": "Rotate the refresh token (cookie or body) for a new access token",
                "requestBody": {"required": False, **json_content(ref("Refresh"))},
                "responses": {"200": {"description": "New tokens", **json_content(ref("Token"))}, **errors(400, 401)},
            }
        },
        "/auth/logout": {
            "post": {"summary": "Revoke this sign-in", "responses": {"204": {"description": "Signed out"}}}
        },
        "/users": {
            "get": {
                "summary": "Every account, without password hashes (admin)",
                "security": bearer,
                "responses": {"200": {"description": "OK"}, **errors(401, 403)},
            }
        },
        "/users/{username}": {
            "post": {
                "summary": "Disable, enable or give another role to an account (admin); its access tokens stop "
                "working on every node within 2 s",
                "security": bearer,
                "parameters": [path_parameter("username", "the account's username")],
                "requestBody": json_content(ref("UserChange")),
                "responses": {
                    "200": {"description": "The account as it is now"},
                    **errors(400, 401, 403, 404, 409, reasons={409: "Not one's own account (own_account)"}),
                },
            }
        },
        "/users/{username}/unlock": {
            "post": {
                "summary": "Let an account slowed down by failed sign-ins try again at once (secretary, admin)",
                "security": bearer,
                "parameters": [path_parameter("username", "the account's username")],
                "responses": {"200": {"description": "Unlocked"}, **errors(401, 403, 404)},
            }
        },
        "/sign-ins": {
            "get": {
                "summary": "Sign-ins and failed ones, newest first: time, account, address, user agent (admin)",
                "security": bearer,
                "parameters": [
                    _query("username", "only this username", required=False),
                    _query("limit", "at most this many (1–1000, default 200)", required=False),
                ],
                "responses": {"200": {"description": "OK"}, **errors(400, 401, 403)},
            }
        },
        "/me": {
            "get": {
                "summary": "The signed-in user",
                "security": bearer,
                "responses": {"200": {"description": "OK"}, **errors(401)},
            }
        },
        "/council": {
            "get": {"summary": "The council, its deputies and rules", "responses": {"200": {"description": "OK"}}}
        },
        "/sessions": {
            "get": {"summary": "Plenary sessions, newest first", "responses": {"200": {"description": "OK"}}},
            "post": {
                "summary": "Schedule a session with its agenda (secretary, admin)",
                "security": bearer,
                "requestBody": json_content(ref("ScheduleSession")),
                "responses": {
                    "201": {"description": "Scheduled", **json_content(ref("CommandResult"))},
                    **errors(400, 401, 403, 409, 413),
                },
            },
        },
        "/sessions/{session}": {
            "get": {
                "summary": "The session's state and the seq it reflects",
                "parameters": [session],
                "responses": {"200": {"description": "OK"}, **errors(404)},
            }
        },
        "/sessions/{session}/events": {
            "get": {
                "summary": "Events after a seq, in order",
                "parameters": [
                    session,
                    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}},
                ],
                "responses": {"200": {"description": "OK"}, **errors(400, 404)},
            }
        },
        "/sessions/{session}/commands": {
            "post": {
                "summary": "Run a command; answered after its events are committed. Repeating an id replays.",
                "security": bearer,
                "parameters": [session],
                "requestBody": json_content(ref("Command")),
                "responses": {
                    "200": {"description": "Committed", **json_content(ref("CommandResult"))},
                    **errors(400, 401, 403, 404, 409, 413),
                },
            }
        },
    }
    paths |= _signed_vote_paths(session, bearer)
    paths |= _feed_paths(session)
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


def _query(name: str, description: str, *, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "integer"},
    }


def _feed_paths(session: dict[str, Any]) -> dict[str, Any]:
    """The routes the app serves beside the API's own: this document and the Server-Sent Events."""
    return {
        "/openapi.json": {
            "get": {
                "summary": "This document: the core's routes and every installed extension's",
                "responses": {"200": {"description": "OpenAPI 3.1", **json_content({"type": "object"})}},
            }
        },
        "/sessions/{session}/stream": {
            "get": {
                "summary": "The session's events as Server-Sent Events (id: seq), from after Last-Event-ID or ?since=",
                "parameters": [
                    session,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "description": "the last seq received (EventSource sends it when it reconnects)",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "description": "the last seq received, where the header cannot be set; the header wins",
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Endless; a client too far behind gets `event: resync` and the end",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **errors(400, 404, reasons={400: "Last-Event-ID or since is not a whole number"}),
                },
            }
        },
    }


def _signed_vote_paths(session: dict[str, Any], bearer: list[dict[str, list[str]]]) -> dict[str, Any]:
    """Enrollment, council commands and the public ledger (docs/ledger.md)."""
    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    token = path_parameter("token", "the enrollment link's one-time token")
    paths: dict[str, Any] = {
        "/sessions/{session}/votes/{vote}/nonce": {
            "get": {
                "summary": "The caller's next ballot nonce in a vote: {vote, deputy, index, nonce} (a council member)",
                "security": bearer,
                "parameters": [session, {"name": "vote", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}, **errors(401, 403, 404, 409)},
            }
        },
        "/enrollments": {
            "post": {
                "summary": "A one-time link enrolling a deputy's tablet (secretary, admin): {deputy} -> {token, url}",
                "security": bearer,
                "responses": {"201": {"description": "Created"}, **errors(400, 401, 403)},
            }
        },
        "/enrollments/{token}/options": {
            "post": {
                "summary": "WebAuthn registration options for the link (user verification required)",
                "parameters": [token],
                "responses": {"200": {"description": "PublicKeyCredentialCreationOptions (JSON)"}, **errors(404, 410)},
            }
        },
        "/enrollments/{token}/credential": {
            "post": {
                "summary": "Enroll the new credential (a RegistrationResponseJSON); records credential.enrolled",
                "parameters": [token],
                "responses": {"201": {"description": "Enrolled"}, **errors(400, 404, 409, 410)},
            }
        },
        "/council/commands": {
            "post": {
                "summary": "credential.revoke, deputy.update (secretary, admin); council.configure, deputy.add (admin)",
                "security": bearer,
                "requestBody": json_content(ref("CouncilCommand")),
                "responses": {"200": {"description": "Committed"}, **errors(400, 401, 403, 409)},
            }
        },
    }
    ledgers = {"/sessions/{session}/ledger": [session], "/council/ledger": []}
    for prefix, params in ledgers.items():
        paths[prefix] = {
            "get": {
                "summary": "Leaves (base64 of each event's canonical bytes): {origin, size, from, to, leaves}",
                "parameters": [
                    *params,
                    _query("from", "first index", required=False),
                    _query("to", "end", required=False),
                ],
                "responses": {"200": {"description": "OK"}, **errors(400, 404)},
            }
        }
        paths[f"{prefix}/checkpoint"] = {
            "get": {
                "summary": "The latest signed checkpoint (C2SP signed note), or ?size=N",
                "parameters": [*params, _query("size", "tree size", required=False)],
                "responses": {"200": {"description": "Signed note", **text}, **errors(400, 404)},
            }
        }
        paths[f"{prefix}/checkpoints"] = {
            "get": {
                "summary": "Sizes of every signed checkpoint",
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            }
        }
        paths[f"{prefix}/inclusion"] = {
            "get": {
                "summary": "RFC 9162 inclusion proof {index, size, hashes}",
                "parameters": [*params, _query("index", "leaf index"), _query("size", "tree size")],
                "responses": {"200": {"description": "OK"}, **errors(400, 404)},
            }
        }
        paths[f"{prefix}/consistency"] = {
            "get": {
                "summary": "RFC 9162 consistency proof {from, to, hashes}",
                "parameters": [*params, _query("from", "old size"), _query("to", "new size")],
                "responses": {"200": {"description": "OK"}, **errors(400, 404)},
            }
        }
        paths[f"{prefix}/receipt"] = {
            "get": {
                "summary": "Receipt for event ?seq=N: {index, leaf, size, hashes, checkpoint}",
                "parameters": [*params, _query("seq", "the event's seq")],
                "responses": {"200": {"description": "OK"}, **errors(400, 404)},
            }
        }
    paths["/sessions/{session}/ledger/export"] = {
        "get": {
            "summary": "The whole ledger in one file for `kvorum verify` (kvorum-ledger-v1)",
            "parameters": [session],
            "responses": {"200": {"description": "OK"}, **errors(404)},
        }
    }
    return paths
