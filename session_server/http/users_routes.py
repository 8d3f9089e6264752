"""Accounts for the administrator: list them, disable or enable one, change a role, see the sign-ins;
and lift the wait failed sign-ins put on an account (the secretary too, so a deputy is not kept
out of a sitting).

- ``GET /api/v1/users`` (admin): every account, without password hashes;
- ``POST /api/v1/users/{username}`` (admin): ``{"disabled"?: bool, "role"?: str}``; disabling or a new
  role stops the account's access tokens on every node within 2 s (``tokens.Revocations``);
- ``POST /api/v1/users/{username}/unlock`` (secretary, admin);
- ``GET /api/v1/sign-ins?username=&limit=`` (admin): sign-ins and failures, newest first.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from session_server.domain.roles import Role
from session_server.http.bodies import UserChange
from session_server.http.openapi import described, query_parameter, ref
from session_server.http.responses import (
    ApiError,
    JSONResponse,
    node_of,
    parse_model,
    principal,
    query_int,
    query_text,
    read_body,
)
from session_server.identity.accounts import USERNAME, AccountError, User


async def _require(request: Request, *roles: Role) -> str:
    who = await principal(request)
    if who.role not in roles:
        raise ApiError(403, "forbidden", "accounts are managed by an administrator")
    return who.username


def _public(user: User) -> dict[str, object]:
    return {**asdict(user), "role": user.role.value}


def _username(request: Request) -> str:
    username = str(request.path_params["username"])
    if not USERNAME.match(username):
        raise ApiError(404, "unknown_user", "no such user")
    return username


@described("Every account, without password hashes (admin)", errors_=(401, 403), bearer=True)
async def users(request: Request) -> Response:
    """Every account."""
    await _require(request, Role.ADMIN)
    return JSONResponse({"users": [_public(u) for u in await node_of(request).accounts.list()]})


@described(
    "Disable, enable or give another role to an account (admin); its access tokens stop working on every "
    "node within 2 s",
    ok=(200, "The account as it is now"),
    body=ref("UserChange"),
    errors_=(400, 401, 403, 404, 409),
    reasons={409: "Not one's own account (own_account)"},
    bearer=True,
)
async def change(request: Request) -> Response:
    """Disable, enable or give another role to an account."""
    me = await _require(request, Role.ADMIN)
    kvorum = node_of(request)
    body = parse_model(UserChange, await read_body(request, kvorum.settings.max_body_bytes))
    username = _username(request)
    if username == me and (body.disabled or body.role not in (None, Role.ADMIN.value)):
        # an administrator who locked themselves out would need the command line to get back in
        raise ApiError(409, "own_account", "an administrator cannot disable or demote their own account")
    try:
        user = await kvorum.accounts.get_by_name(username)
        if user is None:
            raise AccountError("unknown_user", f"no user {username!r}")
        if body.role is not None and body.role != user.role.value:
            user = await kvorum.accounts.set_role(username, body.role)
        if body.disabled is not None and body.disabled != user.disabled:
            user = await kvorum.accounts.set_disabled(username, body.disabled)
    except AccountError as exc:
        raise ApiError(404 if exc.code == "unknown_user" else 400, exc.code, exc.message) from None
    await kvorum.revocations.load()  # this node at once; the others within a second
    return JSONResponse(_public(user))


@described(
    "Let an account slowed down by failed sign-ins try again at once (secretary, admin)",
    ok=(200, "Unlocked"),
    errors_=(401, 403, 404),
    bearer=True,
)
async def unlock(request: Request) -> Response:
    """Let an account slowed down by failed sign-ins try again at once."""
    by = await _require(request, Role.ADMIN, Role.SECRETARY)
    kvorum = node_of(request)
    username = _username(request)
    if await kvorum.accounts.get_by_name(username) is None:
        raise ApiError(404, "unknown_user", "no such user")
    await kvorum.sign_ins.unlock(username, by=by)
    return JSONResponse({"username": username, "unlocked": True})


@described(
    "Sign-ins and failed ones, newest first: time, account, address, user agent (admin)",
    errors_=(400, 401, 403),
    query=[
        query_parameter("username", "only this username", schema={"type": "string"}),
        query_parameter("limit", "at most this many (1–1000, default 200)"),
    ],
    bearer=True,
)
async def sign_ins(request: Request) -> Response:
    """Sign-ins and failures, newest first."""
    await _require(request, Role.ADMIN)
    username = query_text(request, "username", max_length=100)
    limit = query_int(request, "limit", 200, low=1, high=1000)
    return JSONResponse({"sign_ins": await node_of(request).sign_ins.recent(username=username, limit=limit)})


def routes() -> list[BaseRoute]:
    """The accounts' routes under ``/api/v1``."""
    return [
        Route("/users", users),
        Route("/users/{username}", change, methods=["POST"]),
        Route("/users/{username}/unlock", unlock, methods=["POST"]),
        Route("/sign-ins", sign_ins),
    ]
