"""User accounts: usernames, argon2id password hashes, roles and the council member a user is."""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from session_server.domain.roles import Actor, Role

REVOKE_USER = """INSERT INTO token_revocations (user_id, before, expires_at)
                 VALUES ($1, $2, now() + interval '1 day')"""
"""Refuse every access token of user ``$1`` issued before ``$2`` (epoch seconds, by the clock that stamps
the tokens' ``iat``); ``tokens.Revocations`` spreads it to every node. Kept a day, longer than any
access token lives."""

USERNAME = re.compile(r"^[a-z0-9_.-]{2,40}$")
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters (RFC 9106)
# A hash to verify against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("kvorum-no-such-user")


class AccountError(ValueError):
    """A user operation was refused; ``code`` is stable, the message readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


HASHING = max(1, (os.cpu_count() or 2) // 2)
"""Password checks (argon2id, ~50 ms of a core each) that may run at once: half the cores at most."""

MIN_PASSWORD = 12
"""The shortest password a new account or a new password may have (the demo's ``demo`` excepted)."""


@dataclass(frozen=True, slots=True)
class User:
    """An account as stored, without its password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    member: str | None
    disabled: bool
    demo_password: bool = False
    """Created by ``kvorum demo`` with its short shared password: never for a real sitting."""

    def actor(self) -> Actor:
        """The domain's view of this user."""
        return Actor(username=self.username, role=self.role, member=self.member)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def _user(row: Any) -> User:
    return User(
        row["id"],
        row["username"],
        row["display_name"],
        Role(row["role"]),
        row["member"],
        row["disabled"],
        row["demo_password"],
    )


def check_password(password: str) -> None:
    """AccountError("weak_password") for a password shorter than ``MIN_PASSWORD``."""
    if len(password) < MIN_PASSWORD:
        raise AccountError("weak_password", f"password: at least {MIN_PASSWORD} characters")


def check_role(role: str) -> Role:
    """The role named ``role``; AccountError("invalid_role") otherwise."""
    try:
        return Role(role)
    except ValueError:
        raise AccountError("invalid_role", f"role must be one of {', '.join(r.value for r in Role)}") from None


def check_new_user(username: str, password: str, role: str, *, demo: bool = False) -> Role:
    """Validate a new account's fields; return the role or raise AccountError (``demo``: any password)."""
    if not USERNAME.match(username):
        raise AccountError("invalid_username", "username: 2-40 of a-z, 0-9, '_', '.', '-'")
    if not demo:
        check_password(password)
    return check_role(role)


class Accounts:
    """The ``users`` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._hashing = asyncio.Semaphore(HASHING)

    async def add(
        self,
        username: str,
        password: str,
        role: str,
        *,
        member: str | None = None,
        display_name: str = "",
        password_hash: str | None = None,
        demo: bool = False,
    ) -> User:
        """Create an account; AccountError("user_exists") if the username is taken. ``demo``: the demo's
        short shared password is allowed, and the account is marked as having it."""
        checked = check_new_user(username, password, role, demo=demo)
        digest = password_hash or await asyncio.to_thread(hash_password, password)
        try:
            row = await self.pool.fetchrow(
                """INSERT INTO users (username, display_name, password_hash, role, member, demo_password)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
                username,
                display_name,
                digest,
                checked.value,
                member,
                demo and len(password) < MIN_PASSWORD,
            )
        except asyncpg.UniqueViolationError:
            raise AccountError("user_exists", f"user {username!r} already exists") from None
        return _user(row)

    async def list(self) -> list[User]:
        """All accounts by username."""
        return [_user(r) for r in await self.pool.fetch("SELECT * FROM users ORDER BY username")]

    async def get_by_name(self, username: str) -> User | None:
        """The account with this username, if any."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE username = $1", username)
        return _user(row) if row else None

    async def get(self, user_id: int) -> User | None:
        """The account with this id, if any."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def set_password(self, username: str, password: str) -> None:
        """Replace a password and revoke the user's sign-ins and access tokens; AccountError if no such user."""
        check_password(password)
        digest = await asyncio.to_thread(hash_password, password)
        await self._change(username, "password_hash = $2, demo_password = false", digest, revoke=True)

    async def set_disabled(self, username: str, disabled: bool) -> User:
        """Disable (or enable again) an account; disabling revokes its sign-ins and access tokens on every
        node (``tokens.Revocations``). AccountError if no such user."""
        return await self._change(username, "disabled = $2", disabled, revoke=disabled)

    async def set_role(self, username: str, role: str) -> User:
        """Give an account another role; its access tokens (which carry the old role) stop working on every
        node and its sign-ins are revoked, so the next sign-in carries the new one. AccountError if no such user."""
        return await self._change(username, "role = $2", check_role(role).value, revoke=True)

    async def _change(self, username: str, assignment: str, value: Any, *, revoke: bool) -> User:
        async with self.pool.acquire() as conn, conn.transaction():
            # ``assignment`` comes from the methods above, never from a caller's input
            row = await conn.fetchrow(f"UPDATE users SET {assignment} WHERE username = $1 RETURNING *", username, value)
            if row is None:
                raise AccountError("unknown_user", f"no user {username!r}")
            if revoke:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", row["id"]
                )
                await conn.execute(REVOKE_USER, row["id"], time.time())
        return _user(row)

    async def authenticate(self, username: str, password: str) -> tuple[User | None, str]:
        """``(user, "ok")`` if the password is right and the account enabled; otherwise ``(user or None,
        "wrong_password" | "disabled")``, at the same cost either way. One hash at a time per
        ``HASHING`` slot: guessers queue instead of taking every core from the sitting."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE username = $1", username)
        digest = row["password_hash"] if row else _DUMMY_HASH
        async with self._hashing:
            try:
                await asyncio.to_thread(_hasher.verify, digest, password)
            except (VerificationError, InvalidHashError):
                return (_user(row) if row else None), "wrong_password"
        if row is None:
            return None, "wrong_password"
        if row["disabled"]:
            return _user(row), "disabled"
        return _user(row), "ok"
