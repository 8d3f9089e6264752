"""Access tokens (JWT, EdDSA/Ed25519, ``kid`` in the header) and single-use rotating refresh tokens.

Access tokens are short-lived and verified without the database; the verification keys are shared
by all nodes through the ``signing_keys`` table. A refresh token is an opaque random string stored
hashed; each use replaces it with a new one of the same family, and presenting a used one again
revokes the whole family (a stolen token is worth one refresh at most).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from session_server.domain.roles import Actor, Role
from session_server.identity.accounts import User

log = logging.getLogger(__name__)

ISSUER = "kvorum"
AUDIENCE = "kvorum-api"
_REQUIRED = ["exp", "iat", "sub", "aud", "iss", "jti"]


class TokenError(Exception):
    """A token was refused.

    ``code`` is ``token_expired``, ``invalid_token``, ``token_revoked``, ``refresh_reused`` or
    ``sign_in_revoked``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token speaks for."""

    user_id: int
    username: str
    role: Role
    member: str | None
    expires: float
    issued: float = 0.0
    """When the token was issued (epoch seconds, to the millisecond)."""
    jti: str = ""

    def actor(self) -> Actor:
        """The domain's view of this principal."""
        return Actor(username=self.username, role=self.role, member=self.member)


class Keyring:
    """The Ed25519 token keys from ``signing_keys``: the newest signs, all unretired ones verify."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._public: dict[str, Ed25519PublicKey] = {}
        self._signing: tuple[str, Ed25519PrivateKey] | None = None

    async def load(self) -> None:
        """Read the keys; create the first one if there is none."""
        rows = await self.pool.fetch(
            "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at, kid"
        )
        if not rows:
            await self.rotate()
            return
        keys = {r["kid"]: Ed25519PrivateKey.from_private_bytes(bytes(r["private_key"])) for r in rows}
        self._public = {kid: key.public_key() for kid, key in keys.items()}
        newest = rows[-1]["kid"]
        self._signing = (newest, keys[newest])

    async def rotate(self) -> str:
        """Add a new signing key (older ones keep verifying until retired); return its kid."""
        key = Ed25519PrivateKey.generate()
        kid = secrets.token_hex(8)
        raw = key.private_bytes_raw()
        await self.pool.execute("INSERT INTO signing_keys (kid, private_key) VALUES ($1, $2)", kid, raw)
        await self.load()
        return kid

    @property
    def signing(self) -> tuple[str, Ed25519PrivateKey]:
        """``(kid, key)`` used to sign new tokens."""
        if self._signing is None:
            raise RuntimeError("Keyring.load() was not awaited")
        return self._signing

    def public(self, kid: str) -> Ed25519PublicKey | None:
        """The verification key for ``kid``, if known."""
        return self._public.get(kid)


class AccessTokens:
    """Issue and verify access tokens; verified tokens are cached until they expire."""

    def __init__(self, keyring: Keyring, *, lifetime: int, cache_size: int = 4096) -> None:
        self.keyring = keyring
        self.lifetime = lifetime
        self._cache: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size
        self.revoked_before: dict[int, float] = {}
        """Per user: tokens issued before this moment are refused (disabled, new role, new password)."""
        self.revoked_ids: dict[str, float] = {}
        """Single tokens refused (signed out), by ``jti``, until they would have expired."""

    def revoked(self, principal: Principal) -> bool:
        """Whether ``principal``'s token was revoked (on any node, as ``Revocations`` last read)."""
        before = self.revoked_before.get(principal.user_id)
        return (before is not None and principal.issued < before) or principal.jti in self.revoked_ids

    def issue(self, user: User) -> str:
        """A signed token for ``user`` valid for ``lifetime`` seconds."""
        kid, key = self.keyring.signing
        now = time.time()
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user.id),
            "name": user.username,
            "role": user.role.value,
            "member": user.member,
            # to the millisecond: a token issued just after a revocation (a new role) is not revoked with it
            "iat": round(now, 3),
            "exp": int(now) + self.lifetime,
            "jti": secrets.token_hex(12),
        }
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; TokenError otherwise. The algorithm is never taken from the token."""
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires > time.time():
                if self.revoked(cached):
                    raise TokenError("token_revoked", "this sign-in was revoked: sign in again")
                self._cache.move_to_end(token)
                return cached
            del self._cache[token]
            raise TokenError("token_expired", "the access token has expired; refresh it")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenError("invalid_token", "the access token is malformed") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError("invalid_token", "the access token names no key")
        key = self.keyring.public(kid)
        if key is None:
            await self.keyring.load()  # another node may have rotated
            key = self.keyring.public(kid)
        if key is None:
            raise TokenError("invalid_token", "the access token was signed by an unknown key")
        try:
            claims = jwt.decode(
                token, key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER, options={"require": _REQUIRED}
            )
            principal = Principal(
                user_id=int(claims["sub"]),
                username=str(claims["name"]),
                role=Role(claims["role"]),
                member=claims.get("member"),
                expires=float(claims["exp"]),
                issued=float(claims["iat"]),
                jti=str(claims["jti"]),
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the access token has expired; refresh it") from None
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            raise TokenError("invalid_token", "the access token is not valid") from None
        if self.revoked(principal):
            raise TokenError("token_revoked", "this sign-in was revoked: sign in again")
        self._cache[token] = principal
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class RefreshTokens:
    """Refresh tokens in ``refresh_tokens``: single use, rotated, a reused one revokes its family."""

    def __init__(self, pool: asyncpg.Pool, *, lifetime: int, reuse_grace: float = 10.0) -> None:
        self.pool = pool
        self.lifetime = lifetime
        self.reuse_grace = reuse_grace
        """Seconds after a token is spent during which spending it again is a retry, not a theft.

        A tablet whose refresh request reached the server but whose answer was lost on a flaky link
        retries with the same token; revoking the sign-in then would end a deputy's sitting day. So a
        token spent less than this long ago, whose successor has not been used yet, gets another
        successor in the same family; anything later (or once the successor was used) revokes the
        family as before. The browser pages also serialise their refreshes (Web Locks), so two tabs
        never race for one token."""

    async def issue(self, user_id: int, *, family: uuid.UUID | None = None) -> str:
        """A new refresh token for ``user_id`` (a new family unless one is given)."""
        token = secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at) VALUES ($1, $2, $3, $4)",
            _digest(token),
            family or uuid.uuid4(),
            user_id,
            datetime.now(UTC) + timedelta(seconds=self.lifetime),
        )
        return token

    async def rotate(self, token: str) -> tuple[int, str]:
        """Spend ``token``: return ``(user_id, successor)``; TokenError if it is unknown, expired or reused."""
        outcome: str
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT family, user_id, expires_at, used_at, revoked_at,
                          used_at > now() - make_interval(secs => $2) AS recently_used
                   FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE""",
                _digest(token),
                self.reuse_grace,
            )
            if row is None:
                outcome = "unknown"
            elif row["revoked_at"] is None and row["recently_used"] and await self._successor_unused(conn, row):
                # The answer with the successor never arrived: that successor is revoked (whoever holds
                # it, if anyone, revokes the family by using it) and a new one is issued below.
                await conn.execute(
                    """UPDATE refresh_tokens SET revoked_at = now()
                       WHERE family = $1 AND created_at >= $2 AND used_at IS NULL AND revoked_at IS NULL""",
                    row["family"],
                    row["used_at"],
                )
                outcome = "retried"
            elif row["revoked_at"] is not None:
                outcome = "revoked"  # signed out, password changed, account disabled, or a family revoked
            elif row["used_at"] is not None:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL",
                    row["family"],
                )
                outcome = "reused"
            elif row["expires_at"] <= datetime.now(UTC):
                outcome = "expired"
            else:
                await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1", _digest(token))
                outcome = "ok"
        if outcome == "unknown":
            raise TokenError("invalid_token", "the refresh token is not valid; sign in again")
        if outcome == "reused":
            raise TokenError("refresh_reused", "the refresh token was already used; this sign-in is revoked")
        if outcome == "revoked":
            raise TokenError("sign_in_revoked", "this sign-in was ended (signed out, or revoked); sign in again")
        if outcome == "expired":
            raise TokenError("token_expired", "the refresh token has expired; sign in again")
        assert row is not None
        return row["user_id"], await self.issue(row["user_id"], family=row["family"])

    @staticmethod
    async def _successor_unused(conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
        """Whether no token of the family issued after this one was spent (the retry case)."""
        spent_later = await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM refresh_tokens
                              WHERE family = $1 AND used_at IS NOT NULL AND used_at > $2)""",
            row["family"],
            row["used_at"],
        )
        return not spent_later

    async def revoke(self, token: str) -> None:
        """Revoke the family ``token`` belongs to (sign-out); unknown tokens are ignored."""
        await self.pool.execute(
            """UPDATE refresh_tokens SET revoked_at = now()
               WHERE family = (SELECT family FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL""",
            _digest(token),
        )


class Revocations:
    """Access tokens revoked before they expire, in ``token_revocations``: each node reads the new ones
    every ``interval`` seconds, so a disabled account, a changed role or a sign-out stops working on
    every node within that (access tokens are otherwise verified without the database)."""

    def __init__(self, pool: asyncpg.Pool, access: AccessTokens, *, interval: float = 1.0) -> None:
        self.pool = pool
        self.access = access
        self.interval = interval
        self._last = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.load()
        self._task = asyncio.create_task(self._run(), name="token revocations")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def revoke_token(self, principal: Principal) -> None:
        """Refuse this one token from now on (a sign-out), everywhere."""
        await self.pool.execute(
            "INSERT INTO token_revocations (user_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3))",
            principal.user_id,
            principal.jti,
            principal.expires,
        )
        await self.load()

    async def load(self) -> None:
        """Take in the revocations recorded since the last look (by any node)."""
        rows = await self.pool.fetch(
            """SELECT id, user_id, jti, before, extract(epoch FROM expires_at) AS until FROM token_revocations
               WHERE id > $1 AND expires_at > now() ORDER BY id""",
            self._last,
        )
        for row in rows:
            self._last = max(self._last, row["id"])
            if row["jti"] is not None:
                self.access.revoked_ids[row["jti"]] = float(row["until"])
            elif row["before"] is not None:
                user = int(row["user_id"])
                self.access.revoked_before[user] = max(self.access.revoked_before.get(user, 0.0), row["before"])
        now = time.time()
        for jti in [j for j, until in self.access.revoked_ids.items() if until < now]:
            del self.access.revoked_ids[jti]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.load()
                if secrets.randbelow(600) == 0:  # now and then, forget what no token can need any more
                    await self.pool.execute("DELETE FROM token_revocations WHERE expires_at < now()")
            except Exception as exc:
                log.warning("reading token revocations failed; retrying: %r", exc)
