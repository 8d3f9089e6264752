"""What the application and the extensions see of storage: reading the log, and a database for their own
tables (the pool, typed by what they may do with it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from session_server.store.events import StoredEvent

__all__ = ["Database", "Events"]


class Events(Protocol):
    """Reading the streams of the log (appending is the application's)."""

    async def read(
        self, stream: str, *, after: int = 0, limit: int | None = None, conn: asyncpg.Connection | None = None
    ) -> list[StoredEvent]:
        """Events of ``stream`` with ``seq > after`` in order (in ``conn``'s transaction when given)."""
        ...

    async def head(self, stream: str) -> int | None:
        """The last ``seq`` of ``stream`` (0 when empty), or None when it does not exist."""
        ...


class Database(Protocol):
    """The extension's own tables (its ``schema``): queries, and connections for its transactions."""

    def acquire(self) -> Any:
        """A connection for a transaction (``async with database.acquire() as conn``), or held for longer
        (``conn = await database.acquire()``, given back with ``release``)."""
        ...

    async def release(self, connection: Any) -> None:
        """Give back a connection held with ``await acquire()``."""
        ...

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...

    async def execute(self, query: str, *args: Any) -> str: ...

    async def executemany(self, command: str, args: Sequence[Sequence[Any]]) -> None: ...
