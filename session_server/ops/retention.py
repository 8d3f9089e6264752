"""What Kvorum keeps, how much of it and since when: the administrator's view of retention.

A council keeps its recordings, results and ledgers for at least five years (Law 3590-IX), and Kvorum
deletes none of it: the log, the checkpoints and the cosignatures refuse every change and deletion in the
database itself (``migrations/0021_records_kept.sql``), and no code path removes a recording or an attached
file. ``KVORUM_RETENTION_YEARS`` (at least 5) is how long the council has decided to keep them; the view
shows, for each kind of record, how many there are, their size, the oldest and newest, and the day until
which the oldest must be kept. What happens after that day is a person's decision (an archive, a transfer
to the state archive), never the software's.

The core measures its own records (the log by kind of stream, the checkpoints, the cosignatures); each
extension may add its own through an optional ``holdings(core)`` (the portal's attached files, the video's
recordings), as it adds routes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_server.extensions import Core, installed, kept_folders

__all__ = ["Holding", "finished_files", "folder_holding", "inventory", "measured"]


@dataclass(frozen=True, slots=True)
class Holding:
    """One kind of record kept: how many, how big, the oldest and the newest."""

    kind: str
    """What it is, for the screens' words: ``log_session``, ``checkpoints``, ``files``, ``recordings``…"""
    count: int
    bytes: int
    oldest: dt.datetime | None
    newest: dt.datetime | None
    items: int | None = None
    """What ``count`` is made of where that says more (a sitting's log: its events)."""


def _kept_until(oldest: dt.datetime | None, years: int) -> str | None:
    if oldest is None:
        return None
    day = oldest.date()
    try:
        return day.replace(year=day.year + years).isoformat()
    except ValueError:  # 29 February, and the year it is kept to is no leap year
        return day.replace(year=day.year + years, day=28).isoformat()


async def _core_holdings(core: Core) -> list[Holding]:
    async with core.database.acquire() as conn:
        logs = await conn.fetch(
            """SELECT s.kind, count(DISTINCT e.stream) AS streams, count(*) AS events,
                      coalesce(sum(octet_length(e.leaf)), 0) AS bytes, min(e.at) AS oldest, max(e.at) AS newest
               FROM events e JOIN streams s ON s.id = e.stream GROUP BY s.kind ORDER BY s.kind"""
        )
        checkpoints = await conn.fetchrow(
            """SELECT count(*) AS count, coalesce(sum(octet_length(note)), 0) AS bytes,
                      min(created_at) AS oldest, max(created_at) AS newest FROM checkpoints"""
        )
        cosignatures = await conn.fetchrow(
            """SELECT count(*) AS count, coalesce(sum(octet_length(line)), 0) AS bytes,
                      min(cosigned_at) AS oldest, max(cosigned_at) AS newest FROM cosignatures"""
        )
    found = [
        Holding(f"log_{r['kind']}", int(r["streams"]), int(r["bytes"]), r["oldest"], r["newest"], int(r["events"]))
        for r in logs
    ]
    for kind, row in (("checkpoints", checkpoints), ("cosignatures", cosignatures)):
        assert row is not None
        found.append(Holding(kind, int(row["count"]), int(row["bytes"]), row["oldest"], row["newest"]))
    return found


def finished_files(folder: Path) -> Iterator[Path]:
    """The files under ``folder``, without those being written (``*.part``, renamed when done); none when it
    does not exist."""
    if folder.is_dir():
        yield from (p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part"))


def folder_holding(kind: str, folder: Path, *, counted: str | None = None) -> Holding:
    """The files under ``folder`` (those being written left out): ``count`` is how many of them are named
    ``counted`` (e.g. one ``recording.mp4`` a sitting), or all of them; the times are their modification times."""
    size, count, files = 0, 0, 0
    oldest: float | None = None
    newest: float | None = None
    for path in finished_files(folder):
        stat = path.stat()
        size += stat.st_size
        files += 1
        count += counted is None or path.name == counted
        oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
        newest = stat.st_mtime if newest is None else max(newest, stat.st_mtime)

    def when(seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)

    return Holding(kind, count, size, when(oldest), when(newest), files)


def _disks(paths: Iterable[Path]) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for path in paths:
        existing = next((p for p in [path, *path.parents] if p.exists()), None)
        if existing is None:
            continue
        device = existing.stat().st_dev
        if device in seen:
            continue
        usage = shutil.disk_usage(existing)
        seen[device] = {"path": str(path), "total": usage.total, "free": usage.free}
    return list(seen.values())


@dataclass
class _Measured:
    database: object
    at: float = 0.0
    found: dict[str, Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_MEASURED: dict[int, _Measured] = {}
"""By database (a process serves one; a test run opens many, the last few kept)."""
MEASURE_SECONDS = 300.0
"""How long a measurement is shown before it is made again: it reads the whole log and walks every recording's
segments (a five-year archive holds about a million files), so a panel opened often costs one pass in five
minutes, and requests that come while one runs wait for it rather than start their own."""


async def measured(core: Core, years: int, *, fresh: bool = False) -> dict[str, Any]:
    """``inventory``, made at most every ``MEASURE_SECONDS`` per database (``fresh``: now, unless one runs)."""
    cached = _MEASURED.get(id(core.database))
    if cached is None or cached.database is not core.database:
        cached = _MEASURED[id(core.database)] = _Measured(core.database)
        while len(_MEASURED) > 4:
            del _MEASURED[next(iter(_MEASURED))]
    started = time.monotonic()
    async with cached.lock:
        if cached.found is None or cached.at < (started if fresh else started - MEASURE_SECONDS):
            cached.found = await inventory(core, years)
            cached.at = time.monotonic()
        return cached.found


async def inventory(core: Core, years: int) -> dict[str, Any]:
    """What is kept, for ``GET /api/v1/storage``."""
    holdings: list[Holding] = await _core_holdings(core)
    for extension in installed():
        more = getattr(extension, "holdings", None)
        if more is not None:
            found: Sequence[Holding] = await more(core)
            holdings.extend(found)
    async with core.database.acquire() as conn:
        database_bytes = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    folders = kept_folders(core.settings)
    disk_paths = [*folders.values()]
    if not core.settings.database_url:
        disk_paths.insert(0, core.settings.data_dir / "postgres")  # the embedded server's files
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "retention_years": years,
        "deleted_by_kvorum": False,
        "database_bytes": database_bytes,
        "holdings": [
            {
                "kind": h.kind,
                "count": h.count,
                "items": h.items,
                "bytes": h.bytes,
                "oldest": h.oldest.isoformat() if h.oldest else None,
                "newest": h.newest.isoformat() if h.newest else None,
                "kept_until": _kept_until(h.oldest, years),
            }
            for h in holdings
        ],
        "disks": await asyncio.to_thread(_disks, disk_paths),
    }
