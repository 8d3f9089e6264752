"""``kvorum backup DIR`` and ``kvorum restore DIR``: everything a council keeps, in one folder, checkable.

A backup folder holds

- ``database.dump``: the whole database in ``pg_dump``'s custom format (the event log, ledgers and their
  checkpoints, accounts and keys, the portal's read models, the files attached to drafts);
- ``files/<name>/…``: the folders of files the installed extensions keep beside the database
  (``session_server.extensions.kept_folders``: the video's recordings and segments);
- ``manifest.json``: what it is (format, time, Kvorum's version, the server's, the migrations applied) and
  every file's size and SHA-256; written last, so a folder without it is a backup that did not finish;
- ``SHA256SUMS``: the same sums for ``sha256sum -c`` on a machine without Kvorum (an off-site copy).

The server may run meanwhile: ``pg_dump`` reads one consistent snapshot without stopping anyone, and the
files are copied after it. Kvorum never deletes or rewrites a finished file (segments and recordings are
written under a temporary name and renamed), so every file the dumped database names is in the folder;
files newer than the snapshot may be too, which does no harm. Files being written (``*.part``) are left out.

A restore checks every sum first, then fills an empty database (the embedded one in a new data folder, or
the one ``KVORUM_DATABASE_URL`` names) in one transaction, then empty file folders. ``pg_dump`` and
``pg_restore`` are the newest found of the embedded server's (the ``pgserver`` wheel's, PostgreSQL 16) and
those on ``PATH`` or under ``/usr/lib/postgresql``: a dump can be read by a ``pg_restore`` as new as the
``pg_dump`` that wrote it, and a ``pg_dump`` must be as new as the server it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import orjson

from session_server.config import Settings
from session_server.extensions import kept_folders
from session_server.ops.retention import finished_files
from session_server.store.database import embedded_postgres

FORMAT = "kvorum-backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
FILES = "files"
_FOLDER = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a backup or restore did, for its one line of output."""

    folder: Path
    database_bytes: int
    files: int
    file_bytes: int
    sittings: int
    events: int

    def line(self, verb: str) -> str:
        return (
            f"{verb} {self.folder}: the database ({_size(self.database_bytes)}; {self.sittings} sittings, "
            f"{self.events} events) and {files(self.files)} ({_size(self.file_bytes)})"
        )


def files(count: int) -> str:
    """«1 file», «3 files»."""
    return f"{count} file" if count == 1 else f"{count} files"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"


# --- PostgreSQL's tools -----------------------------------------------------------------------------------

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out)
    return int(found.group(1)) if found else None


def pg_tool(name: str, at_least: int = 0) -> tuple[str, int]:
    """``name`` (``pg_dump``, ``pg_restore``) and its major version: the oldest found that is at least
    ``at_least`` — for a dump, the server's own version, so that the dump stays readable by that version's
    ``pg_restore`` (a newer ``pg_dump`` writes an archive older ones refuse); BackupError if none is."""
    candidates: list[str] = []
    # Found, not imported: importing pgserver warns about XDG_RUNTIME_DIR where no embedded server is wanted.
    embedded = importlib.util.find_spec("pgserver")
    for location in (embedded and embedded.submodule_search_locations) or ():
        candidates.append(str(Path(location) / "pginstall" / "bin" / name))
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if on_path := shutil.which(name):
        candidates.append(on_path)
    found = sorted((major, path) for path in candidates if (major := _tool_major(path)) is not None)
    if not found:
        raise BackupError(f"no {name} found: install PostgreSQL's client tools (Debian: postgresql-client)")
    usable = [(major, path) for major, path in found if major >= at_least]
    if not usable:
        raise BackupError(
            f"the newest {name} found is PostgreSQL {found[-1][0]}'s, older than needed ({at_least}): "
            f"install postgresql-client-{at_least}"
        )
    major, path = usable[0]
    return path, major


def _connection(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its password, and the environment that gives it to libpq (``PGPASSWORD``): a command
    line is visible to every user of the host (``ps``), the environment only to its owner."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.netloc.rsplit("@", 1)[1]
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{parts.path}{query}", env  # "//" kept where the host is empty


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=6 * 3600, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[:400] or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


# --- files ------------------------------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target`` (under a temporary name, then renamed); its size and SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reading, partial.open("wb") as writing:
        while chunk := reading.read(_CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            size += len(chunk)
        writing.flush()
        os.fsync(writing.fileno())
    shutil.copystat(source, partial)
    os.replace(partial, target)
    return size, digest.hexdigest()


def _sum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reading:
        while chunk := reading.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _empty(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


# --- the database -----------------------------------------------------------------------------------------


async def _counts(url: str) -> tuple[int, int, int, list[list[Any]]]:
    """The server's major version, the sittings and events the database holds, and the migrations applied."""
    conn = await asyncpg.connect(url)
    try:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return major, 0, 0, []
        sittings = await conn.fetchval("SELECT count(*) FROM sessions")
        events = await conn.fetchval("SELECT count(*) FROM events")
        rows = await conn.fetch("SELECT component, version, name FROM schema_migrations ORDER BY component, version")
        return major, int(sittings), int(events), [[r["component"], r["version"], r["name"]] for r in rows]
    finally:
        await conn.close()


async def _objects(url: str) -> int:
    """How many tables, sequences, views and other relations the database holds outside PostgreSQL's own."""
    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval(
            """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"""
        )
        return int(count)
    finally:
        await conn.close()


def _where(settings: Settings) -> str:
    return "the database at KVORUM_DATABASE_URL" if settings.database_url else f"{settings.data_dir}/postgres"


# --- backup and restore -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The URL of the database ``settings`` name: the server's, or the embedded one's while it runs (joined if a
    node runs it already, which keeps it running after)."""
    if settings.database_url:
        yield settings.database_url
        return
    folder = settings.data_dir
    if os.geteuid() == 0 and folder.exists() and folder.stat().st_uid != 0:
        # as root, pgserver would hand the running server's folder to a user of its own: the node's next start fails
        raise BackupError(f"{folder} belongs to another user: run this as that user (e.g. sudo -u kvorum kvorum …)")
    with embedded_postgres(folder) as url:
        yield url


def backup(settings: Settings, target: Path) -> Summary:
    """Write a backup of everything ``settings`` point at into ``target`` (missing or empty)."""
    if not _empty(target):
        raise BackupError(f"{target} is not empty: a backup goes into a new folder (e.g. kvorum-$(date +%F))")
    folders = kept_folders(settings)
    target.mkdir(parents=True, exist_ok=True)
    with _database(settings) as url:
        major, sittings, events, applied = asyncio.run(_counts(url))
        # The snapshot first: every file it names exists by then, and files are never taken away.
        dbname, env = _connection(url)
        tool, tool_major = pg_tool("pg_dump", major)
        _run([tool, "--format=custom", f"--file={target / DUMP}", f"--dbname={dbname}"], "pg_dump", env)
    entries: list[dict[str, Any]] = [
        {"path": DUMP, "size": (target / DUMP).stat().st_size, "sha256": _sum(target / DUMP)}
    ]
    for name, folder in sorted(folders.items()):
        for path in sorted(finished_files(folder)):  # in name order: each session's playlists before its segments
            relative = Path(FILES, name, path.relative_to(folder))
            try:
                size, digest = _copy(path, target / relative)
            except FileNotFoundError:
                continue  # renamed away meanwhile (a playlist replaced): its new version is copied in its turn
            entries.append({"path": relative.as_posix(), "size": size, "sha256": digest})
    manifest = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kvorum": _version(),
        "database": {
            "file": DUMP,
            "server_major": major,
            "pg_dump_major": tool_major,  # a pg_restore at least this new reads it
            "sittings": sittings,
            "events": events,
        },
        "migrations": applied,
        "folders": {name: f"{FILES}/{name}" for name in sorted(folders)},
        "files": entries,
    }
    (target / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    lines = [f"{e['sha256']}  {e['path']}\n" for e in entries]
    lines.append(f"{_sum(target / MANIFEST)}  {MANIFEST}\n")
    (target / SUMS).write_text("".join(lines), encoding="utf-8")
    file_entries = entries[1:]
    return Summary(
        target, int(entries[0]["size"]), len(file_entries), sum(int(e["size"]) for e in file_entries), sittings, events
    )


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking that every file it lists is there with its size and SHA-256."""
    try:
        manifest: dict[str, Any] = orjson.loads((source / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a Kvorum backup, or one that did not finish") from None
    except orjson.JSONDecodeError as exc:
        raise BackupError(f"{source / MANIFEST} is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a {FORMAT} manifest")
    try:
        folders = dict(manifest["folders"])
        listed = [(str(e["path"]), int(e["size"]), str(e["sha256"])) for e in manifest["files"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupError(f"{source / MANIFEST} does not list its folders and files as a backup's does") from None
    if any(not _FOLDER.fullmatch(str(name)) or prefix != f"{FILES}/{name}" for name, prefix in folders.items()):
        raise BackupError(f"{source / MANIFEST} names a folder other than {FILES}/<name>")
    prefixes = tuple(f"{prefix}/" for prefix in folders.values())
    if DUMP not in {name for name, _, _ in listed}:
        raise BackupError(f"{source / MANIFEST} lists no {DUMP}")
    for name, _size, _sha256 in listed:  # its shape first, then its contents
        if name != DUMP and not name.startswith(prefixes):
            raise BackupError(f"{source / MANIFEST} lists a file in no folder of the backup: {name}")
        # read from the backup and written into a folder: a plain relative path, nothing that climbs out
        parts = name.split("/")
        if name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in name:
            raise BackupError(f"{source / MANIFEST} names a file outside the backup: {name}")
    for name, size, sha256 in listed:
        path = source / name
        if not path.is_file():
            raise BackupError(f"the backup is incomplete: {name} is missing")
        if path.stat().st_size != size or _sum(path) != sha256:
            raise BackupError(f"the backup is damaged: {name} does not match its SHA-256 in {MANIFEST}")
    return manifest


def restore(settings: Settings, source: Path) -> Summary:
    """Restore the backup in ``source`` into the empty database and file folders ``settings`` point at.

    The files are copied first, each folder's into a new folder beside it; then the database is restored in
    one transaction; then the folders are renamed into place. A failure before the last step leaves the
    database and the folders as they were (empty), so the restore can simply be run again."""
    manifest = read_manifest(source)
    folders = kept_folders(settings)
    for name in manifest["folders"]:
        if name not in folders:
            raise BackupError(f"the backup holds {name!r} files, which no installed part of Kvorum keeps")
        if not _empty(folders[name]):
            raise BackupError(f"{folders[name]} is not empty: a restore fills an empty folder")
    needed = int(manifest.get("database", {}).get("pg_dump_major", 0))
    files = [e for e in manifest["files"] if e["path"] != DUMP]
    staged = {name: folders[name].with_name(f".{folders[name].name}.restoring") for name in manifest["folders"]}
    try:
        for name, prefix in manifest["folders"].items():
            shutil.rmtree(staged[name], ignore_errors=True)  # a restore that stopped half-way before
            for entry in (e for e in files if e["path"].startswith(f"{prefix}/")):
                _copy(source / entry["path"], staged[name] / entry["path"][len(prefix) + 1 :])
        with _database(settings) as url:
            if asyncio.run(_objects(url)):
                raise BackupError(f"{_where(settings)} is not empty: a restore fills an empty database")
            dbname, env = _connection(url)
            tool, _major = pg_tool("pg_restore", needed)
            options = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", f"--dbname={dbname}"]
            _run([tool, *options, str(source / DUMP)], "pg_restore", env)
            _major, sittings, events, _applied = asyncio.run(_counts(url))
        for name, folder in staged.items():
            if folders[name].exists():
                folders[name].rmdir()  # empty, as checked
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(folder, folders[name])
    finally:
        for folder in staged.values():
            shutil.rmtree(folder, ignore_errors=True)
    return Summary(
        source,
        (source / DUMP).stat().st_size,
        len(files),
        sum(int(e["size"]) for e in files),
        sittings,
        events,
    )


def _version() -> str:
    try:
        return version("kvorum")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout that was never installed
        return "unknown"
