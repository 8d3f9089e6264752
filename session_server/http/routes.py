"""The JSON API under ``/api/v1``: sign-in, the council, sessions, their events and commands."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from session_server.application import CommandResult, session_stream
from session_server.domain.commands import SESSION_COMMAND_ADAPTER, SessionSchedule
from session_server.domain.errors import DomainError
from session_server.domain.session import to_public
from session_server.http.bodies import LoginBody, RefreshBody
from session_server.http.openapi import described, json_content, ref
from session_server.http.responses import (
    ApiError,
    JSONResponse,
    json_object,
    node_of,
    parse,
    parse_model,
    principal,
    query_int,
    read_body,
)
from session_server.identity.sign_ins import Attempt
from session_server.identity.tokens import TokenError
from session_server.node import Node
from session_server.ops.metrics import METRICS
from voting.ballot import nonce_for

REFRESH_COOKIE = "kvorum_refresh"
SIGNED_IN_COOKIE = "kvorum_signed_in"
_COOKIE_PATH = "/api/v1/auth"


def _token_response(kvorum: Node, access: str, refresh: str) -> JSONResponse:
    response = JSONResponse(
        {"access_token": access, "token_type": "Bearer", "expires_in": kvorum.settings.access_token_seconds}
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh,
        max_age=kvorum.settings.refresh_token_seconds,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=kvorum.settings.secure_cookies,
    )
    # Not secret: tells the pages there is a sign-in to resume, so they ask for a refresh only then
    # (a refresh without one would log a 401 in every visitor's browser console).
    response.set_cookie(
        SIGNED_IN_COOKIE,
        "1",
        max_age=kvorum.settings.refresh_token_seconds,
        path="/",
        samesite="strict",
        secure=kvorum.settings.secure_cookies,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_out(response: Response) -> Response:
    response.delete_cookie(REFRESH_COOKIE, path=_COOKIE_PATH)
    response.delete_cookie(SIGNED_IN_COOKIE, path="/")
    return response


@described(
    "Sign in with username and password; sets the refresh cookie",
    ok=(200, "Signed in"),
    returns=ref("Token"),
    body=ref("Login"),
    errors_=(400, 401, 413, 429),
    reasons={429: "Too many failed sign-ins: wait Retry-After seconds"},
)
async def login(request: Request) -> Response:
    """Exchange a username and password for an access token and a refresh cookie."""
    kvorum = node_of(request)
    body = parse_model(LoginBody, await read_body(request, kvorum.settings.max_body_bytes))
    attempt = Attempt(
        body.username,
        request.client.host if request.client else "unknown",
        request.headers.get("user-agent", ""),
    )
    wait = await kvorum.sign_ins.wait(attempt)
    if wait:
        METRICS.sign_ins.labels("throttled").inc()
        raise ApiError(
            429, "too_many_attempts", f"too many failed sign-ins: try again in {wait} s", {"Retry-After": str(wait)}
        )
    user, outcome = await kvorum.accounts.authenticate(body.username, body.password)
    await kvorum.sign_ins.record(attempt, outcome, user.id if user else None)
    METRICS.sign_ins.labels(outcome).inc()
    if user is None or outcome != "ok":
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    return _token_response(kvorum, kvorum.access.issue(user), await kvorum.refresh.issue(user.id))


async def _refresh_token(request: Request, kvorum: Node) -> str:
    raw = await read_body(request, kvorum.settings.max_body_bytes)
    from_body = parse_model(RefreshBody, raw).refresh_token if raw.strip() else None
    token = request.cookies.get(REFRESH_COOKIE) or from_body
    if not token:
        raise ApiError(401, "unauthorized", "no refresh token: sign in again")
    return token


@described(
    "Rotate the refresh token (cookie or body) for a new access token",
    ok=(200, "New tokens"),
    returns=ref("Token"),
    body={"required": False, **json_content(ref("Refresh"))},
    errors_=(400, 401),
)
async def refresh(request: Request) -> Response:
    """Spend the refresh token for a new access token and a new refresh token (rotation)."""
    kvorum = node_of(request)
    token = await _refresh_token(request, kvorum)
    try:
        user_id, successor = await kvorum.refresh.rotate(token)
    except TokenError as exc:
        return _signed_out(JSONResponse({"error": exc.code, "message": exc.message}, status_code=401))
    user = await kvorum.accounts.get(user_id)
    if user is None or user.disabled:
        await kvorum.refresh.revoke(successor)
        message = "this account can no longer sign in"
        return _signed_out(JSONResponse({"error": "account_disabled", "message": message}, status_code=401))
    return _token_response(kvorum, kvorum.access.issue(user), successor)


@described("Revoke this sign-in", ok=(204, "Signed out"))
async def logout(request: Request) -> Response:
    """Revoke the refresh token's sign-in, and the access token sent with it on every node (within 2 s)."""
    kvorum = node_of(request)
    await kvorum.refresh.revoke(await _refresh_token(request, kvorum))
    if request.headers.get("authorization"):
        with contextlib.suppress(ApiError):  # an expired or unknown one needs no revoking
            await kvorum.revocations.revoke_token(await principal(request))
    return _signed_out(Response(status_code=204))


@described("The signed-in user", errors_=(401,), bearer=True)
async def me(request: Request) -> Response:
    """Who the access token belongs to."""
    who = await principal(request)
    return JSONResponse({"id": who.user_id, "username": who.username, "role": who.role, "member": who.member})


@described("The council, its deputies and rules")
async def council(request: Request) -> Response:
    """This installation's council: name, statutory composition, deputies and factions, vote rules."""
    sessions = node_of(request).application
    council_id = await sessions.council_id()
    if council_id is None:
        raise ApiError(404, "council_not_found", "no council yet: run `kvorum demo` or create one")
    return JSONResponse((await sessions.council(council_id)).to_public())


@described("Plenary sessions, newest first")
async def list_sessions(request: Request) -> Response:
    """Plenary sessions, newest first."""
    return JSONResponse({"sessions": await node_of(request).sittings.listed()})


def _result(result: CommandResult) -> dict[str, Any]:
    return {"seq": result.seq, "events": [e.as_dict() for e in result.events]}


@described(
    "Schedule a session with its agenda (secretary, admin)",
    ok=(201, "Scheduled"),
    returns=ref("CommandResult"),
    body=ref("ScheduleSession"),
    errors_=(400, 401, 403, 409, 413),
    bearer=True,
)
async def schedule_session(request: Request) -> Response:
    """Create a scheduled session with its agenda (secretary or admin)."""
    kvorum = node_of(request)
    who = await principal(request)
    raw = await read_body(request, kvorum.settings.max_body_bytes)
    command = parse_model(SessionSchedule, _with_type(raw, "session.schedule"))
    session_id = command.target_session_id
    result = await kvorum.application.execute(session_stream(session_id), command, who.actor())
    return JSONResponse({"session": session_id, **_result(result)}, status_code=200 if result.replayed else 201)


def _with_type(raw: bytes, type_: str) -> bytes:
    """Insert ``"type"`` into a JSON object body (an explicit one must match)."""
    data = json_object(raw)
    if data.setdefault("type", type_) != type_:
        raise ApiError(400, "invalid_request", f"type must be {type_!r} here")
    return orjson.dumps(data)


@described("The session's state and the seq it reflects", errors_=(404,))
async def get_session(request: Request) -> Response:
    """The session's current state and the ``seq`` it reflects."""
    kvorum = node_of(request)
    state, council_state = await kvorum.application.session(request.path_params["session"])
    return JSONResponse({"seq": state.seq, "state": to_public(state, council_state)})


@described(
    "Events after a seq, in order",
    errors_=(400, 404),
    query=[
        {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000}},
    ],
)
async def session_events(request: Request) -> Response:
    """Events after ``?after=N`` in order, at most ``?limit=`` (default 1000)."""
    kvorum = node_of(request)
    session_id = request.path_params["session"]
    after = query_int(request, "after", 0, low=0, high=2**62)
    limit = query_int(request, "limit", 1000, low=1, high=5000)
    head = await kvorum.store.head(session_stream(session_id))
    if head is None:
        raise DomainError("session_not_found", f"no session {session_id!r}")
    events = await kvorum.store.read(session_stream(session_id), after=after, limit=limit)
    return JSONResponse({"head": head, "events": [e.as_dict() for e in events]})


@described(
    "Run a command; answered after its events are committed. Repeating an id replays.",
    ok=(200, "Committed"),
    returns=ref("CommandResult"),
    body=ref("Command"),
    errors_=(400, 401, 403, 404, 409, 413),
    bearer=True,
)
async def session_command(request: Request) -> Response:
    """Run one command on the session; the reply comes after its events are committed."""
    kvorum = node_of(request)
    who = await principal(request)
    command = parse(SESSION_COMMAND_ADAPTER, await read_body(request, kvorum.settings.max_body_bytes))
    if command.type == "session.schedule":
        raise ApiError(400, "invalid_request", "schedule a session with POST /api/v1/sessions")
    session_id = request.path_params["session"]
    result = await kvorum.application.execute(session_stream(session_id), command, who.actor())
    return JSONResponse(_result(result))


@described(
    "The caller's next ballot nonce in a vote: {vote, deputy, index, nonce} (a council member)",
    errors_=(401, 403, 404, 409),
    bearer=True,
)
async def my_nonce(request: Request) -> Response:
    """The caller's next ballot nonce in a vote: ``{"vote", "deputy", "index", "nonce"}`` (voting.ballot)."""
    kvorum = node_of(request)
    who = await principal(request)
    if who.member is None:
        raise ApiError(403, "not_a_deputy", "only a council member has ballot nonces")
    state, _ = await kvorum.application.session(request.path_params["session"])
    vote = state.votes.get(request.path_params["vote"])
    if vote is None:
        raise DomainError("unknown_vote", f"no vote {request.path_params['vote']!r} in this session")
    index = vote.signed.get(who.member, 0)
    nonce = nonce_for(vote.nonce_seed, who.member, index)
    return JSONResponse({"vote": vote.id, "deputy": who.member, "index": index, "nonce": nonce})


def routes() -> list[BaseRoute]:
    """The ``/api/v1`` routes (mounted by the app)."""
    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/me", me),
        Route("/council", council),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions", schedule_session, methods=["POST"]),
        Route("/sessions/{session}", get_session),
        Route("/sessions/{session}/events", session_events),
        Route("/sessions/{session}/commands", session_command, methods=["POST"]),
        Route("/sessions/{session}/votes/{vote}/nonce", my_nonce),
    ]
