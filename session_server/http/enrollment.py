"""The HTTP face of enrolling a deputy's tablet (``session_server.identity.enrollment``), and council commands.

``POST /api/v1/enrollments`` (secretary or admin) makes a one-time link for a deputy; the tablet that
opens it asks for registration options (``…/options``) and sends the new credential back
(``…/credential``); a verified credential becomes a public ``credential.enrolled`` event in the council
stream, which is what ballots are checked against.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from session_server.application import CommandResult, council_stream
from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER
from session_server.domain.council import CouncilState
from session_server.domain.roles import Actor, Role
from session_server.http.openapi import described, ref
from session_server.http.responses import ApiError, json_object, node_of, parse, principal, read_body
from session_server.identity.enrollment import credential_from, registration_options
from session_server.identity.errors import EnrollmentError
from session_server.node import Node


async def _council(kvorum: Node) -> CouncilState:
    council_id = await kvorum.application.council_id()
    if council_id is None:
        raise ApiError(404, "council_not_found", "no council yet")
    return await kvorum.application.council(council_id)


@described(
    "A one-time link enrolling a deputy's tablet (secretary, admin): {deputy} -> {token, url}",
    ok=(201, "Created"),
    errors_=(400, 401, 403),
    bearer=True,
)
async def create(request: Request) -> Response:
    """A one-time enrollment link for a deputy (secretary or admin): ``{"deputy"}`` → token and URL."""
    kvorum = node_of(request)
    who = await principal(request)
    if who.role not in (Role.SECRETARY, Role.ADMIN):
        raise ApiError(403, "forbidden", "only the secretary or an administrator enrolls devices")
    deputy = json_object(await read_body(request, kvorum.settings.max_body_bytes)).get("deputy")
    if not isinstance(deputy, str):
        raise EnrollmentError("unknown_deputy", f"{deputy!r} is not a member of the council", "invalid")
    token, expires = await kvorum.enrollments.create(await _council(kvorum), deputy, who.username)
    body = {
        "token": token,
        "deputy": deputy,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "url": f"/tablet#enroll={token}",
    }
    return JSONResponse(body, status_code=201)


@described(
    "WebAuthn registration options for the link (user verification required)",
    ok=(200, "PublicKeyCredentialCreationOptions (JSON)"),
    errors_=(404, 410),
)
async def options(request: Request) -> Response:
    """WebAuthn registration options for the link's deputy (user verification required)."""
    kvorum = node_of(request)
    token = request.path_params["token"]
    link = await kvorum.enrollments.open(token)
    body, challenge = registration_options(await _council(kvorum), link.deputy)
    await kvorum.enrollments.remember_challenge(token, challenge)
    return Response(body, media_type="application/json")


@described(
    "Enroll the new credential (a RegistrationResponseJSON); records credential.enrolled",
    ok=(201, "Enrolled"),
    errors_=(400, 404, 409, 410),
)
async def register(request: Request) -> Response:
    """Verify the new credential and enroll it: ``credential.enrolled`` in the council stream."""
    kvorum = node_of(request)
    token = request.path_params["token"]
    link = await kvorum.enrollments.open(token)
    if link.challenge is None:
        raise EnrollmentError("enrollment_not_started", "ask for the registration options first")
    raw = await read_body(request, kvorum.settings.max_body_bytes)
    json_object(raw)
    council = await _council(kvorum)
    command = credential_from(council, link, raw.decode())
    await kvorum.enrollments.use(token, command.credential)
    actor = Actor(username=f"enrollment:{link.created_by}", role=Role.ADMIN)
    try:
        result = await kvorum.application.execute(council_stream(council.id), command, actor)
    except BaseException:
        await kvorum.enrollments.release(token)
        raise
    return JSONResponse(
        {"deputy": command.deputy, "credential": command.credential, "seq": result.seq}, status_code=201
    )


def _result(result: CommandResult) -> dict[str, Any]:
    return {"seq": result.seq, "events": [e.as_dict() for e in result.events]}


@described(
    "credential.revoke, deputy.update (secretary, admin); council.configure, deputy.add (admin)",
    ok=(200, "Committed"),
    body=ref("CouncilCommand"),
    errors_=(400, 401, 403, 409),
    bearer=True,
)
async def council_command(request: Request) -> Response:
    """A council command: ``credential.revoke``, ``deputy.update`` (secretary); ``council.configure`` (admin)."""
    kvorum = node_of(request)
    who = await principal(request)
    command = parse(COUNCIL_COMMAND_ADAPTER, await read_body(request, kvorum.settings.max_body_bytes))
    if command.type in ("credential.enroll", "council.create"):
        raise ApiError(400, "invalid_request", f"{command.type} is not issued through this endpoint")
    council = await _council(kvorum)
    result = await kvorum.application.execute(council_stream(council.id), command, who.actor())
    return JSONResponse(_result(result))


def routes() -> list[BaseRoute]:
    """Enrollment and council-command routes under ``/api/v1``."""
    return [
        Route("/enrollments", create, methods=["POST"]),
        Route("/enrollments/{token}/options", options, methods=["POST"]),
        Route("/enrollments/{token}/credential", register, methods=["POST"]),
        Route("/council/commands", council_command, methods=["POST"]),
    ]
