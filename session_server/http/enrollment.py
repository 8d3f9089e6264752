"""Enrolling a deputy's tablet: one-time links, WebAuthn registration, and council commands.

The secretary creates a link for a deputy (``POST /api/v1/enrollments``); the token in it is
random, single-use, expires (``KVORUM_ENROLLMENT_SECONDS``) and is stored only as its SHA-256.
Opening it on the tablet asks for registration options (``…/options``) and sends the new credential
back (``…/credential``). The credential must have been created with user verification; the
council may refuse backup-eligible (synced) passkeys. A verified credential becomes a public
``credential.enrolled`` event in the council stream, which is what ballots are checked against.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from session_server.application import CommandResult, council_stream
from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, CredentialEnroll
from session_server.domain.council import CouncilState
from session_server.domain.roles import Actor, Role
from session_server.http.responses import ApiError, json_object, parse, principal, read_body
from session_server.state import Kvorum
from voting.ballot import b64url, from_b64url


def _kvorum(request: Request) -> Kvorum:
    kvorum: Kvorum = request.app.state.kvorum
    return kvorum


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _council(kvorum: Kvorum) -> CouncilState:
    council_id = await kvorum.application.council_id()
    if council_id is None:
        raise ApiError(404, "council_not_found", "no council yet")
    return await kvorum.application.council(council_id)


async def create(request: Request) -> Response:
    """A one-time enrollment link for a deputy (secretary or admin): ``{"deputy"}`` → token and URL."""
    kvorum = _kvorum(request)
    who = await principal(request)
    if who.role not in (Role.SECRETARY, Role.ADMIN):
        raise ApiError(403, "forbidden", "only the secretary or an administrator enrolls devices")
    data = json_object(await read_body(request, kvorum.settings.max_body_bytes))
    deputy = data.get("deputy")
    council = await _council(kvorum)
    if not isinstance(deputy, str) or deputy not in council.deputies:
        raise ApiError(400, "unknown_deputy", f"{deputy!r} is not a member of the council")
    token = secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + timedelta(seconds=kvorum.settings.enrollment_seconds)
    await kvorum.pool.execute(
        "INSERT INTO enrollments (token_hash, council, deputy, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
        _token_hash(token),
        council.id,
        deputy,
        who.username,
        expires,
    )
    body = {
        "token": token,
        "deputy": deputy,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "url": f"/tablet#enroll={token}",
    }
    return JSONResponse(body, status_code=201)


async def _open_link(kvorum: Kvorum, token: str) -> Any:
    row = await kvorum.pool.fetchrow(
        "SELECT deputy, council, created_by, expires_at, challenge, used_at FROM enrollments WHERE token_hash = $1",
        _token_hash(token),
    )
    if row is None:
        raise ApiError(404, "enrollment_not_found", "this enrollment link is not valid")
    if row["used_at"] is not None:
        raise ApiError(410, "enrollment_used", "this enrollment link was already used; ask the secretary for a new one")
    if row["expires_at"] <= datetime.now(UTC):
        raise ApiError(410, "enrollment_expired", "this enrollment link has expired; ask the secretary for a new one")
    return row


async def options(request: Request) -> Response:
    """WebAuthn registration options for the link's deputy (user verification required)."""
    kvorum = _kvorum(request)
    token = request.path_params["token"]
    link = await _open_link(kvorum, token)
    council = await _council(kvorum)
    deputy = council.deputies[link["deputy"]]
    opts = generate_registration_options(
        rp_id=council.rp_id,
        rp_name=council.name,
        user_name=deputy.id,
        user_id=deputy.id.encode(),
        user_display_name=deputy.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=from_b64url(c.id)) for c in council.live_credentials(deputy.id)
        ],
    )
    await kvorum.pool.execute(
        "UPDATE enrollments SET challenge = $2 WHERE token_hash = $1", _token_hash(token), opts.challenge
    )
    return Response(options_to_json(opts), media_type="application/json")


async def register(request: Request) -> Response:
    """Verify the new credential and enroll it: ``credential.enrolled`` in the council stream."""
    kvorum = _kvorum(request)
    token = request.path_params["token"]
    link = await _open_link(kvorum, token)
    if link["challenge"] is None:
        raise ApiError(409, "enrollment_not_started", "ask for the registration options first")
    raw = await read_body(request, kvorum.settings.max_body_bytes)
    json_object(raw)
    council = await _council(kvorum)
    try:
        verified = verify_registration_response(
            credential=raw.decode(),
            expected_challenge=bytes(link["challenge"]),
            expected_rp_id=council.rp_id,
            expected_origin=list(council.origins),
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        code = "user_not_verified" if "verif" in str(exc).lower() else "credential_invalid"
        raise ApiError(400, code, f"the credential was refused: {exc}") from None
    except Exception as exc:  # malformed parts py_webauthn does not wrap
        raise ApiError(400, "credential_invalid", f"the credential is malformed: {exc}") from None
    backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    if b64url(verified.credential_id) in council.credentials:  # this device is someone's already
        raise ApiError(409, "credential_in_use", "this credential is already enrolled; the link stays unused")
    command = CredentialEnroll(
        # the deputy in the id too: the same credential for another deputy is a new command, which the
        # rules refuse (credential_exists), not a replay of the first deputy's enrollment
        id=f"enroll-{link['deputy']}-{hashlib.sha256(verified.credential_id).hexdigest()[:32]}",
        type="credential.enroll",
        deputy=link["deputy"],
        credential=b64url(verified.credential_id),
        public_key=b64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        backup_eligible=backup_eligible,
        backed_up=verified.credential_backed_up,
        aaguid=verified.aaguid,
    )
    if backup_eligible and council.refuse_backup_eligible:
        raise ApiError(
            400, "credential_backup_eligible", "the council accepts only device-bound credentials, not synced passkeys"
        )
    used = await kvorum.pool.fetchval(
        """UPDATE enrollments SET used_at = now(), credential = $2
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING deputy""",
        _token_hash(token),
        command.credential,
    )
    if used is None:  # another request used it meanwhile
        raise ApiError(410, "enrollment_used", "this enrollment link was already used")
    actor = Actor(username=f"enrollment:{link['created_by']}", role=Role.ADMIN)
    try:
        result = await kvorum.application.execute(council_stream(council.id), command, actor)
    except BaseException:
        await kvorum.pool.execute("UPDATE enrollments SET used_at = NULL WHERE token_hash = $1", _token_hash(token))
        raise
    return JSONResponse(
        {"deputy": command.deputy, "credential": command.credential, "seq": result.seq}, status_code=201
    )


def _result(result: CommandResult) -> dict[str, Any]:
    return {"seq": result.seq, "events": [e.as_dict() for e in result.events]}


async def council_command(request: Request) -> Response:
    """A council command: ``credential.revoke``, ``deputy.update`` (secretary); ``council.configure`` (admin)."""
    kvorum = _kvorum(request)
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
