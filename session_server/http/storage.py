"""The administrator's view of what Kvorum keeps (``session_server.ops.retention``): each kind of record, how
many, how big, the oldest and the newest, and until when the oldest must be kept; the disks' free space."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from session_server.domain.roles import Role
from session_server.extensions import core_of
from session_server.http.openapi import described, query_parameter
from session_server.http.responses import ApiError, JSONResponse, principal
from session_server.ops.retention import measured

__all__ = ["routes"]

_WHEN = {"type": ["string", "null"], "format": "date-time"}


@described(
    "What is kept: each kind of record with its count, size, oldest and newest, and until when it is kept (admin)",
    returns={
        "type": "object",
        "required": ["measured_at", "retention_years", "deleted_by_kvorum", "database_bytes", "holdings", "disks"],
        "properties": {
            "measured_at": {
                "type": "string",
                "format": "date-time",
                "description": "when it was measured: at most 5 minutes ago, or now with ?fresh=1",
            },
            "retention_years": {"type": "integer", "minimum": 5, "description": "KVORUM_RETENTION_YEARS"},
            "deleted_by_kvorum": {"const": False, "description": "Kvorum deletes none of these records, ever"},
            "database_bytes": {"type": "integer"},
            "holdings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "count", "items", "bytes", "oldest", "newest", "kept_until"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "description": "log_council, log_session, log_document…, checkpoints, cosignatures, "
                            "files, recordings",
                        },
                        "count": {"type": "integer", "description": "streams of the log, checkpoints, files…"},
                        "items": {"type": ["integer", "null"], "description": "a log's events; a folder's files"},
                        "bytes": {"type": "integer"},
                        "oldest": _WHEN,
                        "newest": _WHEN,
                        "kept_until": {
                            "type": ["string", "null"],
                            "format": "date",
                            "description": "the oldest record's date plus the retention years",
                        },
                    },
                },
            },
            "disks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "total", "free"],
                    "properties": {
                        "path": {"type": "string"},
                        "total": {"type": "integer"},
                        "free": {"type": "integer"},
                    },
                },
            },
        },
    },
    query=[query_parameter("fresh", "1: measure now rather than show the last measurement (up to 5 minutes old)")],
    errors_=(401, 403),
    reasons={403: "What is kept is looked after by an administrator"},
    bearer=True,
)
async def storage(request: Request) -> Response:
    """``GET /api/v1/storage``: what Kvorum keeps and for how long."""
    who = await principal(request)
    if who.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "what Kvorum keeps is looked after by an administrator")
    core = core_of(request)
    fresh = request.query_params.get("fresh") == "1"
    return JSONResponse(await measured(core, core.settings.retention_years, fresh=fresh))


def routes() -> list[BaseRoute]:
    """The storage view, under ``/api/v1``."""
    return [Route("/storage", storage)]
