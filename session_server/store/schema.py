"""Numbered SQL migrations in ``session_server/migrations/NNNN_name.sql``, each applied once.

Applied by ``kvorum migrate`` and at start-up. A transaction-level advisory lock makes nodes that
start together apply them one at a time; each file runs in its own transaction with its record in
``schema_migrations``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6B766F72  # "kvor"


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """The packaged migrations in version order; raise ValueError on a duplicate number."""
    found: dict[int, Migration] = {}
    for entry in resources.files("session_server.migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations numbered {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection) -> list[Migration]:
    """Apply every migration not yet recorded; return the ones applied now."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    integer PRIMARY KEY,
               name       text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied: list[Migration] = []
    for migration in available():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            done = await conn.fetchval("SELECT 1 FROM schema_migrations WHERE version = $1", migration.version)
            if done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
            applied.append(migration)
    return applied
