"""User accounts: usernames, argon2id password hashes, roles and the council member a user is."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from session_server.domain.roles import Actor, Role

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


@dataclass(frozen=True, slots=True)
class User:
    """An account as stored, without its password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    member: str | None
    disabled: bool

    def actor(self) -> Actor:
        """The domain's view of this user."""
        return Actor(username=self.username, role=self.role, member=self.member)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def _user(row: Any) -> User:
    return User(row["id"], row["username"], row["display_name"], Role(row["role"]), row["member"], row["disabled"])


def check_new_user(username: str, password: str, role: str) -> Role:
    """Validate a new account's fields; return the role or raise AccountError."""
    if not USERNAME.match(username):
        raise AccountError("invalid_username", "username: 2-40 of a-z, 0-9, '_', '.', '-'")
    if len(password) < 4:
        raise AccountError("weak_password", "password: at least 4 characters")
    try:
        return Role(role)
    except ValueError:
        raise AccountError("invalid_role", f"role must be one of {', '.join(r.value for r in Role)}") from None


class Accounts:
    """The ``users`` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(
        self,
        username: str,
        password: str,
        role: str,
        *,
        member: str | None = None,
        display_name: str = "",
        password_hash: str | None = None,
    ) -> User:
        """Create an account; AccountError("user_exists") if the username is taken."""
        checked = check_new_user(username, password, role)
        digest = password_hash or await asyncio.to_thread(hash_password, password)
        try:
            row = await self.pool.fetchrow(
                """INSERT INTO users (username, display_name, password_hash, role, member)
                   VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                username,
                display_name,
                digest,
                checked.value,
                member,
            )
        except asyncpg.UniqueViolationError:
            raise AccountError("user_exists", f"user {username!r} already exists") from None
        return _user(row)

    async def list(self) -> list[User]:
        """All accounts by username."""
        return [_user(r) for r in await self.pool.fetch("SELECT * FROM users ORDER BY username")]

    async def get(self, user_id: int) -> User | None:
        """The account with this id, if any."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def set_password(self, username: str, password: str) -> None:
        """Replace a password and revoke the user's refresh tokens; AccountError if no such user."""
        if len(password) < 4:
            raise AccountError("weak_password", "password: at least 4 characters")
        digest = await asyncio.to_thread(hash_password, password)
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id", username, digest
            )
            if user_id is None:
                raise AccountError("unknown_user", f"no user {username!r}")
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
            )

    async def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (or enable again) an account; disabling revokes its sign-ins. AccountError if no such user."""
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "UPDATE users SET disabled = $2 WHERE username = $1 RETURNING id", username, disabled
            )
            if user_id is None:
                raise AccountError("unknown_user", f"no user {username!r}")
            if disabled:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
                )

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled; None otherwise (same cost either way)."""
        row = await self.pool.fetchrow("SELECT * FROM users WHERE username = $1", username)
        digest = row["password_hash"] if row else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, digest, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        return _user(row)
