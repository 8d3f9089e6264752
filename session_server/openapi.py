"""The OpenAPI 3.1 document of ``/api/v1``, built from the same pydantic models that validate requests."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER, SessionSchedule

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON, unknown field or wrong type",
        401: "Missing, expired or forged access token",
        403: "The caller's role may not do this",
        404: "No such session, council, checkpoint or enrollment link",
        410: "The enrollment link was used or has expired",
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
        "CouncilCommand": COUNCIL_COMMAND_ADAPTER,
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
    paths |= _signed_vote_paths(session, bearer, ref)
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


def _signed_vote_paths(session: dict[str, Any], bearer: list[dict[str, list[str]]], ref: Any) -> dict[str, Any]:
    """Enrollment, council commands and the public ledger (docs/ledger.md)."""
    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    paths: dict[str, Any] = {
        "/sessions/{session}/votes/{vote}/nonce": {
            "get": {
                "summary": "The caller's next ballot nonce in a vote: {vote, deputy, index, nonce} (a council member)",
                "security": bearer,
                "parameters": [session, {"name": "vote", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}, **_errors(401, 403, 404, 409)},
            }
        },
        "/enrollments": {
            "post": {
                "summary": "A one-time link enrolling a deputy's tablet (secretary, admin): {deputy} -> {token, url}",
                "security": bearer,
                "responses": {"201": {"description": "Created"}, **_errors(400, 401, 403)},
            }
        },
        "/enrollments/{token}/options": {
            "post": {
                "summary": "WebAuthn registration options for the link (user verification required)",
                "responses": {"200": {"description": "PublicKeyCredentialCreationOptions (JSON)"}, **_errors(404, 410)},
            }
        },
        "/enrollments/{token}/credential": {
            "post": {
                "summary": "Enroll the new credential (a RegistrationResponseJSON); records credential.enrolled",
                "responses": {"201": {"description": "Enrolled"}, **_errors(400, 404, 409, 410)},
            }
        },
        "/council/commands": {
            "post": {
                "summary": "credential.revoke (secretary, admin); council.configure, deputy.add (admin)",
                "security": bearer,
                "requestBody": _json(ref("CouncilCommand")),
                "responses": {"200": {"description": "Committed"}, **_errors(400, 401, 403, 409)},
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
                "responses": {"200": {"description": "OK"}, **_errors(400, 404)},
            }
        }
        paths[f"{prefix}/checkpoint"] = {
            "get": {
                "summary": "The latest signed checkpoint (C2SP signed note), or ?size=N",
                "parameters": [*params, _query("size", "tree size", required=False)],
                "responses": {"200": {"description": "Signed note", **text}, **_errors(400, 404)},
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
                "responses": {"200": {"description": "OK"}, **_errors(400, 404)},
            }
        }
        paths[f"{prefix}/consistency"] = {
            "get": {
                "summary": "RFC 9162 consistency proof {from, to, hashes}",
                "parameters": [*params, _query("from", "old size"), _query("to", "new size")],
                "responses": {"200": {"description": "OK"}, **_errors(400, 404)},
            }
        }
        paths[f"{prefix}/receipt"] = {
            "get": {
                "summary": "Receipt for event ?seq=N: {index, leaf, size, hashes, checkpoint}",
                "parameters": [*params, _query("seq", "the event's seq")],
                "responses": {"200": {"description": "OK"}, **_errors(400, 404)},
            }
        }
    paths["/sessions/{session}/ledger/export"] = {
        "get": {
            "summary": "The whole ledger in one file for `kvorum verify` (kvorum-ledger-v1)",
            "parameters": [session],
            "responses": {"200": {"description": "OK"}, **_errors(404)},
        }
    }
    return paths
