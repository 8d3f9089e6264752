"""The administrator's view of the log's durable consumers (``session_server.application.consumers``):
how far each is, what failed and what is parked, and handling a parked event again after a fix."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from session_server.domain.roles import Role
from session_server.http.openapi import described
from session_server.http.responses import ApiError, JSONResponse, consumers_of, principal

__all__ = ["routes"]

_ADMIN_ONLY = {403: "The consumers are looked after by an administrator"}
_FAULT = {
    "type": "object",
    "required": ["consumer", "stream", "seq", "type", "attempts", "error", "failed_at"],
    "properties": {
        "consumer": {"type": "string"},
        "stream": {"type": "string"},
        "seq": {"type": "integer"},
        "type": {"type": "string", "description": "the event's type"},
        "attempts": {"type": "integer"},
        "error": {"type": "string", "description": "the last failure, for the administrator"},
        "failed_at": {"type": "string", "format": "date-time"},
        "retry_at": {"type": "string", "format": "date-time", "description": "failing ones: the next attempt"},
    },
}
"""A failing or parked event, as ``status`` lists it (for the OpenAPI document)."""


async def _admin(request: Request) -> None:
    who = await principal(request)
    if who.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "the log's consumers are looked after by an administrator")


@described(
    "The log's consumers: events behind, failing and parked, and every failing or parked event",
    returns={
        "type": "object",
        "required": ["consumers", "failing", "parked"],
        "properties": {
            "consumers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "behind", "failing", "parked"],
                    "properties": {
                        "name": {"type": "string"},
                        "behind": {"type": "integer"},
                        "failing": {"type": "integer"},
                        "parked": {"type": "integer"},
                    },
                },
            },
            "failing": {"type": "array", "items": _FAULT},
            "parked": {"type": "array", "items": _FAULT},
        },
    },
    errors_=(401, 403),
    reasons=_ADMIN_ONLY,
    bearer=True,
)
async def status(request: Request) -> Response:
    """``GET /api/v1/consumers``: each consumer's events behind, failing and parked; every parked event."""
    await _admin(request)
    return JSONResponse(await consumers_of(request).status())


@described(
    "Handle a parked event again, after a fix (admin)",
    ok=(200, "Handled: no longer parked"),
    returns={
        "type": "object",
        "required": ["consumer", "stream", "seq", "status"],
        "properties": {
            "consumer": {"type": "string"},
            "stream": {"type": "string"},
            "seq": {"type": "integer"},
            "status": {"const": "handled"},
        },
    },
    errors_=(401, 403, 404, 409),
    reasons={**_ADMIN_ONLY, 404: "No such parked event", 409: "It failed again (still_failing)"},
    bearer=True,
)
async def retry(request: Request) -> Response:
    """``POST /api/v1/consumers/{consumer}/parked/{stream}/{seq}/retry``: handle a parked event again."""
    await _admin(request)
    name, stream, seq = request.path_params["consumer"], request.path_params["stream"], request.path_params["seq"]
    handled = await consumers_of(request).retry(name, stream, seq) if 1 <= seq <= LARGEST_SEQ else None
    if handled is None:
        raise ApiError(404, "not_found", "no such parked event")
    if not handled:
        raise ApiError(409, "still_failing", "the event failed again; its error is updated")
    return JSONResponse({"consumer": name, "stream": stream, "seq": seq, "status": "handled"})


LARGEST_SEQ = 2**63 - 1


def routes() -> list[BaseRoute]:
    """The administrator's view of the consumers, under ``/api/v1``."""
    return [
        Route("/consumers", status),
        Route("/consumers/{consumer}/parked/{stream}/{seq:int}/retry", retry, methods=["POST"]),
    ]
