"""Numbered SQL migrations, each applied once: the core's and each extension's own.

The core's are ``session_server/migrations/NNNN_name.sql``; an extension keeps its tables' in a package
of its own (``portal_bridge/migrations``, ``streaming/migrations``), numbered from 1 and recorded under
its name, so the core's schema never names an extension's table. Applied by ``kvorum migrate`` and at
start-up, the core's first, then each extension's. A transaction-level advisory lock makes nodes that
start together apply them one at a time; each file runs in its own transaction with its record in
``schema_migrations (component, version)``.

Some extension files were core migrations once (before extensions had their own); such a file says so
in a first line ``-- replaces: core NNNN_name``, and where the database recorded that core migration,
the file is recorded as applied without running it again.

Nodes of the previous release keep serving while a migration runs (a rolling upgrade), so a migration
waits for a table's lock at most ``LOCK_TIMEOUT`` seconds: a waiting ``ALTER TABLE`` would queue every
ballot behind it for as long as some long read holds the table. It gives up, lets them through, and
tries again (``ATTEMPTS`` times, a little later each time) before the start fails, saying why.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import asyncpg

from session_server.store.database import DatabaseUnavailable

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_REPLACES = re.compile(r"^-- replaces: core (\d{4})_([a-z0-9_]+)\s*$", re.MULTILINE)
_LOCK_KEY = 0x6B766F72  # "kvor"
CORE = "core"
LOCK_TIMEOUT = 2.0
ATTEMPTS = 30

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Component:
    """Whose migrations: the core's or an extension's (its name), and the package that holds them."""

    name: str
    package: str


CORE_MIGRATIONS = Component(CORE, "session_server.migrations")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file of one component."""

    version: int
    name: str
    sql: str
    component: str = CORE
    replaces: tuple[int, str] | None = None
    """The core migration (version, name) this file was before it moved to its extension."""


def available(component: Component = CORE_MIGRATIONS) -> list[Migration]:
    """A component's migrations in version order; raise ValueError on a duplicate number."""
    found: dict[int, Migration] = {}
    for entry in resources.files(component.package).iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations of {component.name} numbered {version:04d}")
        sql = entry.read_text(encoding="utf-8")
        replaced = _REPLACES.search(sql)
        found[version] = Migration(
            version,
            match.group(2),
            sql,
            component.name,
            (int(replaced.group(1)), replaced.group(2)) if replaced else None,
        )
    return [found[v] for v in sorted(found)]


async def _record_table(conn: asyncpg.Connection) -> None:
    """``schema_migrations`` with its ``component`` (a table from before extensions had one gets it)."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               component  text NOT NULL DEFAULT 'core',
               version    integer NOT NULL,
               name       text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (component, version))"""
    )
    has_component = await conn.fetchval(
        """SELECT 1 FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'component'"""
    )
    if not has_component:
        await conn.execute(
            """ALTER TABLE schema_migrations ADD COLUMN component text NOT NULL DEFAULT 'core';
               ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey;
               ALTER TABLE schema_migrations ADD PRIMARY KEY (component, version)"""
        )


async def pending(conn: asyncpg.Connection, components: Sequence[Component] = (CORE_MIGRATIONS,)) -> list[Migration]:
    """The migrations ``migrate`` would apply now, in its order; it changes nothing (``kvorum migrate --check``)."""
    recorded: dict[tuple[str, int], str] = {}
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        has_component = await conn.fetchval(
            """SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'schema_migrations' AND column_name = 'component'"""
        )
        query = (
            "SELECT component, version, name FROM schema_migrations"
            if has_component
            else "SELECT 'core' AS component, version, name FROM schema_migrations"
        )
        recorded = {(r["component"], r["version"]): r["name"] for r in await conn.fetch(query)}
    found = []
    for component in components:
        for migration in available(component):
            if (migration.component, migration.version) in recorded:
                continue
            moved = migration.replaces
            if moved is not None and recorded.get(("core", moved[0])) == moved[1]:
                continue  # moved to its extension (version and name matched, as migrate matches them)
            found.append(migration)
    return found


async def migrate(
    conn: asyncpg.Connection,
    components: Sequence[Component] = (CORE_MIGRATIONS,),
    *,
    lock_timeout: float = LOCK_TIMEOUT,
) -> list[Migration]:
    """Apply every migration not yet recorded, of ``components`` (the core's alone unless told: with the
    installed extensions', ``session_server.extensions.migrations()``), in that order; return those applied."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await _record_table(conn)
    applied: list[Migration] = []
    for component in components:
        for migration in available(component):
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    if await _apply(conn, migration, lock_timeout):
                        applied.append(migration)
                    break
                except asyncpg.LockNotAvailableError:
                    if attempt == ATTEMPTS:
                        raise DatabaseUnavailable(
                            f"migration {migration.component}/{migration.version:04d}_{migration.name} could not "
                            f"get its tables in {ATTEMPTS} tries: a long transaction holds them (a backup, a "
                            "report?); start the node again once it has ended"
                        ) from None
                    log.warning(
                        "migration %s/%04d_%s waited %.1f s for a table in use; trying again (%d of %d)",
                        migration.component,
                        migration.version,
                        migration.name,
                        lock_timeout,
                        attempt,
                        ATTEMPTS,
                    )
                    await asyncio.sleep(min(0.1 * attempt, 2.0))
    return applied


async def _apply(conn: asyncpg.Connection, migration: Migration, lock_timeout: float) -> bool:
    """Run one migration in a transaction of its own and record it; False when it was recorded already."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        # After the advisory lock, which nodes starting together wait for as long as a migration takes.
        await conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
        done = await conn.fetchval(
            "SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2",
            migration.component,
            migration.version,
        )
        if done:
            return False
        ran = False
        if migration.replaces is None or not await conn.fetchval(
            "SELECT 1 FROM schema_migrations WHERE component = 'core' AND version = $1 AND name = $2",
            *migration.replaces,
        ):
            await conn.execute(migration.sql)
            ran = True
        await conn.execute(
            "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
            migration.component,
            migration.version,
            migration.name,
        )
        return ran
