"""The OpenAPI 3.1 document of ``/api/v1``, built from the same pydantic models that validate requests."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from session_server.domain.commands import SESSION_COMMAND_ADAPTER, SessionSchedule

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON, unknown field or wrong type",
        401: "Missing, expired or forged access token",
        403: "The caller's role may not do this",
        404: "No such session",
        409: "The session's state or the council rules refuse the command",
        413: "Body over 64 KiB",
    }
    return {str(s): {"description": reasons[s], **_json(_ERROR)} for s in statuses}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document served at ``/api/v1/openapi.json``."""
    from session_server.api import LoginBody, RefreshBody

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
    adapters: dict[str, TypeAdapter[Any]] = {
        "Command": SESSION_COMMAND_ADAPTER,
        "ScheduleSession": TypeAdapter(SessionSchedule),
        "Login": TypeAdapter(LoginBody),
        "Refresh": TypeAdapter(RefreshBody),
    }
    for name, adapter in adapters.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[name] = schema

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    session = {"name": "session", "in": "path", "required": True, "schema": {"type": "string"}}
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/auth/login": {
            "post": {
                "summary": "Sign in with username and password; sets the refresh cookie",
                "requestBody": _json(ref("Login")),
                "responses": {"200": {"description": "Signed in", **_json(ref("Token"))}, **_errors(400, 401, 413)},
            }
        },
        "/auth/refresh": {
            "post": {
                "summary": "Rotate the refresh token (cookie or body) for a new access token",
                "requestBody": {"required": False, **_json(ref("Refresh"))},
                "responses": {"200": {"description": "New tokens", **_json(ref("Token"))}, **_errors(400, 401)},
            }
        },
        "/auth/logout": {
            "post": {"summary": "Revoke this sign-in", "responses": {"204": {"description": "Signed out"}}}
        },
        "/me": {
            "get": {"summary": "The signed-in user", "security": bearer, "responses": {"200": {"description": "OK"}}}
        },
        "/council": {
            "get": {"summary": "The council, its deputies and rules", "responses": {"200": {"description": "OK"}}}
        },
        "/sessions": {
            "get": {"summary": "Plenary sessions, newest first", "responses": {"200": {"description": "OK"}}},
            "post": {
                "summary": "Schedule a session with its agenda (secretary, admin)",
                "security": bearer,
                "requestBody": _json(ref("ScheduleSession")),
                "responses": {
                    "201": {"description": "Scheduled", **_json(ref("CommandResult"))},
                    **_errors(400, 401, 403, 409, 413),
                },
            },
        },
        "/sessions/{session}": {
            "get": {
                "summary": "The session's state and the seq it reflects",
                "parameters": [session],
                "responses": {"200": {"description": "OK"}, **_errors(404)},
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
                "responses": {"200": {"description": "OK"}, **_errors(400, 404)},
            }
        },
        "/sessions/{session}/commands": {
            "post": {
                "summary": "Run a command; answered after its events are committed. Repeating an id replays.",
                "security": bearer,
                "parameters": [session],
                "requestBody": _json(ref("Command")),
                "responses": {
                    "200": {"description": "Committed", **_json(ref("CommandResult"))},
                    **_errors(400, 401, 403, 404, 409, 413),
                },
            }
        },
    }
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
