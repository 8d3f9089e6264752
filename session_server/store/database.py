"""PostgreSQL: the embedded server from the ``pgserver`` wheel, or the one named by a URL.

With ``KVORUM_DATABASE_URL`` unset, Kvorum runs a private PostgreSQL under ``<data dir>/postgres``
and stops it when the process exits; with it set, that server is used as is.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from session_server.store.dictionaries import link_for_server

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database could not be started or reached; the message says which and why."""


# SQLSTATE classes that say the server cannot be worked with now, not that a statement was wrong:
# connection exceptions, insufficient resources (too many connections), operator intervention (shut
# down, terminated, starting up), and a database that no longer exists.
_UNREACHABLE_CLASSES = frozenset({"08", "53", "57", "3D"})


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says PostgreSQL cannot be reached (down, restarting, the database gone)."""
    if isinstance(exc, (DatabaseUnavailable, OSError, asyncpg.PostgresConnectionError)):
        return True  # OSError: refused, reset, timed out, no route; ConnectionDoesNotExistError: dropped
    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc)  # "connection is closed"; other interface errors are the caller's bugs
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(exc, asyncpg.PostgresError) and isinstance(sqlstate, str) and sqlstate[:2] in _UNREACHABLE_CLASSES


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the private PostgreSQL in ``data_dir/postgres``; yield its URL; stop it on exit."""
    # pgserver logs through the root logger and warns about XDG_RUNTIME_DIR; neither helps a user.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"kvorum-runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    import pgserver
    from pgserver.postgres_server import get_server

    # Its search dictionary: the wheel has none, Debian's hunspell-uk has it (see dictionaries.py).
    link_for_server(Path(pgserver.__file__).parent / "pginstall" / "bin")
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    except Exception as exc:
        raise DatabaseUnavailable(f"could not start the embedded PostgreSQL in {data_dir}/postgres: {exc}") from exc
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


@contextlib.asynccontextmanager
async def database_url(url: str | None, data_dir: Path) -> AsyncIterator[str]:
    """Yield the URL to use: ``url`` when given, otherwise the embedded server's."""
    if url:
        yield url
        return
    with embedded_postgres(data_dir) as embedded:
        yield embedded


Statement = tuple[str, tuple[Any, ...]]
"""A query and arguments to run it with."""


async def warm(conn: asyncpg.Connection, statements: Sequence[Statement]) -> None:
    """Run each of ``statements`` once on ``conn``, in a transaction that is rolled back.

    The first time a connection runs a statement, asyncpg prepares it (a round trip) and the server
    plans it and loads the catalog entries of the tables it touches. The pool opens connections as
    load grows, so without this the first command on each new one took 5–7 ms longer than the rest
    (``benchmarks.fanout``, where that command's event was the slowest to reach every subscriber).
    Before the schema exists there is nothing to warm; the connection that migrates it is warmed
    after.
    """
    if not statements:
        return
    tx = conn.transaction()
    await tx.start()
    try:
        for query, args in statements:
            await conn.execute(query, *args)
    except asyncpg.UndefinedTableError:
        pass
    finally:
        await tx.rollback()


async def create_pool(url: str, *, size: int, hot: Sequence[Statement] = ()) -> asyncpg.Pool:
    """Open a pool to ``url``, each new connection warmed with ``hot`` (see :func:`warm`).

    Raise DatabaseUnavailable with a readable reason if it cannot connect.
    """

    async def init(conn: asyncpg.Connection) -> None:
        await conn.execute("SET TIME ZONE 'UTC'")
        await warm(conn, hot)

    try:
        pool: Any = await asyncpg.create_pool(url, min_size=1, max_size=size, init=init)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    assert pool is not None
    return pool
