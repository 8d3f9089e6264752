"""``kvorum backup`` and ``kvorum restore``, the whole round trip: a council with two finished sittings, each
with its recording, backed up by the command while the server runs, restored into an empty database and data
folder (the embedded default, and a server named by URL), served again — and then every sitting's ledger
verifies against the keys and checkpoints published before the backup, the portal shows the same pages and the
recordings are the same bytes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from cli_support import _env, _run
from conftest import Demo, RunningServer, eventually, new_database, running
from video_support import counter_file

from session_server import demo
from session_server.cli import main
from session_server.config import Settings

SITTINGS = (demo.SESSION_ID, "c8-s46")
PUBLIC_URL = "https://rada.example.ua"  # links in pages name the site, not the port a test server listens on
QUORUM = [f"deputy{n:02d}" for n in range(1, 19)]


def _pages(session: str) -> list[str]:
    return [
        f"/sessions/{session}",
        f"/sessions/{session}/minutes",
        f"/api/v1/sessions/{session}",
        f"/api/v1/sessions/{session}/events",
        f"/api/v1/sessions/{session}/chapters",
        f"/api/v1/sessions/{session}/broadcast",
        f"/live/{session}/recording.mp4",
        f"/live/{session}/recording.m3u8",
    ]


PAGES = [
    "/",
    "/sessions",
    "/deputies",
    "/deputies/d01",
    "/decisions",
    "/decisions.atom",
    "/opendata/popolo.json",
    "/opendata/ua835/votings.json",
    "/opendata/ua835/deputies.csv",
    *(page for session in SITTINGS for page in _pages(session)),
]


@pytest.fixture
def folders() -> Iterator[tuple[Path, Path, Path]]:
    """A data folder to back up, one to restore into, and the backup's: readable by the embedded server's
    own user where the suite runs as root (pytest's own temporary folders are not)."""
    with tempfile.TemporaryDirectory(prefix="kvorum-backup-") as tmp:
        Path(tmp).chmod(0o755)
        yield Path(tmp, "served"), Path(tmp, "restored"), Path(tmp, "backup")


def _settings(data_dir: Path, url: str | None) -> Settings:
    return Settings(
        database_url=url, data_dir=data_dir, host="127.0.0.1", port=0, checkpoint_seconds=1, public_url=PUBLIC_URL
    )


async def _finished_sitting(council: Demo, session: str, camera: Path) -> int:
    """Open, a broadcast from the camera, registration, a vote, the close; the close's seq once the recording
    is joined."""
    if session != demo.SESSION_ID:
        schedule = {
            "id": f"schedule-{session}",
            "type": "session.schedule",
            "number": 46,
            "convocation": 8,
            "date": dt.date.today().isoformat(),
            "title": "46 сесія Вознесенської міської ради VIII скликання",
            "agenda": [{"id": "i1", "number": "1", "title": "Про звіт про виконання бюджету громади"}],
        }
        scheduled = await council.client.post(
            "/api/v1/sessions", json=schedule, headers=await council.headers("secretary")
        )
        assert scheduled.status_code == 201 and scheduled.json()["session"] == session, scheduled.text
    staff = await council.headers("operator")
    put = await council.client.put(
        f"/api/v1/sessions/{session}/video", json={"source": "camera", "camera_url": str(camera)}, headers=staff
    )
    assert put.status_code == 200, put.text
    await council.ok("chair", "session.open", session=session)
    started = await council.client.post(f"/api/v1/sessions/{session}/broadcast/camera", headers=staff)
    assert started.status_code == 201, started.text
    await council.ok("secretary", "registration.open", session=session)
    await asyncio.gather(*(council.ok(u, "presence.register", session=session) for u in QUORUM))
    await council.ok("secretary", "registration.close", session=session)
    await council.ok("chair", "item.start", session=session, item="i1")
    await council.ok(
        "chair",
        "vote.open",
        session=session,
        item="i1",
        subject="в цілому",
        rule="majority_of_composition",
        seconds=600,
    )
    vote = "v1"  # each sitting numbers its votes from 1
    await asyncio.gather(*(council.ok(u, "ballot.cast", session=session, vote=vote, choice="for") for u in QUORUM))
    await council.ok("chair", "vote.close", session=session, vote=vote)
    await council.ok("chair", "item.finish", session=session, item="i1")
    studio = council.server.state.studio
    await eventually(lambda: len(list(studio.folder(session).glob("seg-*.ts"))) >= 2, "two segments of the broadcast")
    stopped = await council.client.delete(f"/api/v1/sessions/{session}/broadcast/camera", headers=staff, timeout=30)
    assert stopped.status_code == 204, stopped.text

    async def joined() -> bool:
        status = (await council.client.get(f"/api/v1/sessions/{session}/broadcast")).json()
        return bool(status["recording"])

    await eventually(joined, "the joined recording", seconds=30)
    closed = await council.ok("chair", "session.close", session=session)
    return int(closed["seq"])


async def _settled(server: RunningServer) -> None:
    """Every consumer has caught up with the log (the portal's pages and open data are written by them)."""

    async def caught_up() -> bool:
        status = await server.state.consumers.status()
        return all(c["behind"] == 0 and c["failing"] == 0 and c["parked"] == 0 for c in status["consumers"])

    await eventually(caught_up, "the consumers catching up", seconds=30)


async def _read_pages(client: httpx.AsyncClient) -> dict[str, bytes]:
    pages = {}
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
        pages[path] = response.content
    return pages


async def _published(client: httpx.AsyncClient, closes: dict[str, int], folder: Path) -> list[str]:
    """The checkpoint keys, and each sitting's checkpoint covering its close, saved as a resident would."""
    for session, seq in closes.items():

        async def covered(session: str = session, seq: int = seq) -> bool:
            sizes = (await client.get(f"/api/v1/sessions/{session}/ledger/checkpoints")).json()["sizes"]
            return bool(sizes) and sizes[-1] >= seq

        await eventually(covered, f"a checkpoint covering {session}'s close")
        text = (await client.get(f"/api/v1/sessions/{session}/ledger/checkpoint")).text
        (folder / f"{session}.checkpoint").write_text(text, encoding="utf-8")
    return (await client.get("/.well-known/kvorum/keys")).text.splitlines()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("where", ["embedded", "server URL"])
async def test_two_finished_sittings_with_their_recordings_survive_a_backup_and_a_restore(
    where: str, folders: tuple[Path, Path, Path], pg_server_url: str, database_url: str
) -> None:
    served, restored, backup = folders
    published = served / "published"
    published.mkdir(parents=True)
    camera = served / "camera.mp4"
    counter_file(camera, 30)
    async with contextlib.AsyncExitStack() as stack:
        target_url = None if where == "embedded" else await stack.enter_async_context(new_database(pg_server_url))
        source_url = None if where == "embedded" else database_url

        async with (
            running(_settings(served, source_url)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            await demo.seed(server.kvorum)
            council = Demo(server, client, {})
            closes = {session: await _finished_sitting(council, session, camera) for session in SITTINGS}
            keys = await _published(client, closes, published)
            await _settled(server)
            before = await _read_pages(client)
            # The backup, by the command, while this server serves.
            code, out, err = await _run(
                "backup",
                str(backup),
                env=_env(KVORUM_DATA_DIR=str(served), KVORUM_DATABASE_URL=source_url),
                seconds=120,
            )
            assert code == 0, err
            assert "2 sittings" in out, out
            # It is still serving, and what it serves is what the backup holds.
            assert (await client.get("/api/v1/sessions/c8-s46")).status_code == 200

        # Checkable where Kvorum is not installed (an off-site copy): coreutils' sha256sum reads SHA256SUMS.
        sums = await asyncio.create_subprocess_exec("sha256sum", "--check", "--quiet", "SHA256SUMS", cwd=backup)
        assert await sums.wait() == 0
        manifest = orjson.loads((backup / "manifest.json").read_bytes())
        recordings = {e["path"] for e in manifest["files"] if e["path"].endswith("recording.mp4")}
        assert recordings == {f"files/video/{s}/recording.mp4" for s in SITTINGS}
        restore_env = _env(KVORUM_DATA_DIR=str(restored), KVORUM_DATABASE_URL=target_url)
        code, out, err = await _run("restore", str(backup), env=restore_env, seconds=120)
        assert code == 0, err
        assert out.startswith(f"restored from {backup}") and "2 sittings" in out, out

        async with (
            running(_settings(restored, target_url)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            await _settled(server)
            after = await _read_pages(client)
            assert [p for p in PAGES if before[p] != after[p]] == []
            for session in SITTINGS:
                checkpoint = published / f"{session}.checkpoint"
                arguments = ["verify", f"{server.url}/api/v1/sessions/{session}", "--checkpoint", str(checkpoint)]
                for key in keys:
                    arguments += ["--key", key]
                assert await asyncio.to_thread(main, arguments) == 0, session

        # A second restore into what is no longer empty is refused, naming it, and changes nothing: the video
        # folder, and (given an empty folder) the database.
        code, out, err = await _run("restore", str(backup), env=restore_env, seconds=120)
        assert code == 2 and err.count("\n") == 1, err
        assert f"{restored / 'video'} is not empty" in err
        if target_url is not None:
            elsewhere = _env(KVORUM_DATA_DIR=str(restored.parent / "elsewhere"), KVORUM_DATABASE_URL=target_url)
            code, out, err = await _run("restore", str(backup), env=elsewhere, seconds=120)
            assert code == 2 and "the database at KVORUM_DATABASE_URL is not empty" in err, err
            assert not (restored.parent / "elsewhere" / "video").exists()  # nothing was left half-way


async def test_a_damaged_or_unfinished_backup_is_refused_before_anything_is_restored(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    (backup / "files" / "video" / "s1").mkdir(parents=True)
    segment = backup / "files" / "video" / "s1" / "seg-00001.ts"
    segment.write_bytes(b"frames")
    (backup / "database.dump").write_bytes(b"PGDMP")
    env = _env(KVORUM_DATA_DIR=str(tmp_path / "data"))
    code, _out, err = await _run("restore", str(backup), env=env)
    assert code == 2 and "has no manifest.json" in err and err.count("\n") == 1

    from session_server.ops.backup import _sum

    entries = [
        {"path": "database.dump", "size": 5, "sha256": _sum(backup / "database.dump")},
        {"path": "files/video/s1/seg-00001.ts", "size": 6, "sha256": _sum(segment)},
    ]
    manifest = {
        "format": "kvorum-backup/1",
        "created": "2026-12-04T10:00:00+00:00",
        "folders": {"video": "files/video"},
    }
    (backup / "manifest.json").write_bytes(orjson.dumps({**manifest, "files": entries}))
    code, out, _err = await _run("restore", "--check", str(backup), env=env)
    assert code == 0 and "is whole: 2 files" in out
    segment.write_bytes(b"frameS")  # one bit of one file changed
    code, _out, err = await _run("restore", str(backup), env=env)
    assert code == 2 and "files/video/s1/seg-00001.ts does not match its SHA-256" in err
    segment.unlink()
    code, _out, err = await _run("restore", "--check", str(backup), env=env)
    assert code == 2 and "seg-00001.ts is missing" in err
    assert not (tmp_path / "data").exists()  # nothing was started or written


async def test_a_backup_that_cannot_write_says_why_in_one_line(tmp_path: Path, database_url: str) -> None:
    env = _env(KVORUM_DATA_DIR=str(tmp_path / "data"), KVORUM_DATABASE_URL=database_url)
    code, _out, err = await _run("backup", "/proc/kvorum-backup", env=env)  # a file system that takes no folder
    assert code == 2 and err.startswith("kvorum: backup: /proc/kvorum-backup:") and err.count("\n") == 1, err


async def test_a_backup_goes_into_a_new_folder_only(tmp_path: Path, database_url: str) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("not a backup")
    env = _env(KVORUM_DATA_DIR=str(tmp_path / "data"), KVORUM_DATABASE_URL=database_url)
    code, _out, err = await _run("backup", str(taken), env=env)
    assert code == 2 and "is not empty" in err and err.count("\n") == 1
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]


def test_a_database_password_goes_to_pg_dump_in_its_environment_not_on_its_command_line() -> None:
    from session_server.ops.backup import _connection

    dbname, env = _connection("postgresql://kvorum:s%40cret@db.example.ua:5432/kvorum?sslmode=require")
    assert dbname == "postgresql://kvorum@db.example.ua:5432/kvorum?sslmode=require"  # what `ps` would show
    assert env["PGPASSWORD"] == "s@cret"
    assert (
        _connection("postgresql:///postgres?host=/run/postgresql")[0] == "postgresql:///postgres?host=/run/postgresql"
    )


async def test_a_manifest_that_is_not_a_backups_is_refused_in_one_line(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "database.dump").write_bytes(b"PGDMP")
    env = _env(KVORUM_DATA_DIR=str(tmp_path / "data"))
    for files, says in (
        ([{"path": "database.dump"}], "does not list its folders and files"),
        ([{"path": "../../etc/passwd", "size": 1, "sha256": "0" * 64}], "lists no database.dump"),
        (
            [
                {"path": "database.dump", "size": 5, "sha256": "0" * 64},
                {"path": "elsewhere/x", "size": 1, "sha256": "0" * 64},
            ],
            "lists a file in no folder of the backup: elsewhere/x",
        ),
        (
            [
                {"path": "database.dump", "size": 5, "sha256": "0" * 64},
                {"path": "files/video/../../../outside", "size": 1, "sha256": "0" * 64},
            ],
            "names a file outside the backup",
        ),
        (  # inside the backup when read, but /etc/cron.d/x when written into the video folder
            [
                {"path": "database.dump", "size": 5, "sha256": "0" * 64},
                {"path": "files/video//etc/cron.d/x", "size": 1, "sha256": "0" * 64},
            ],
            "names a file outside the backup",
        ),
    ):
        folders = {"video": "files/video"}
        manifest = {"format": "kvorum-backup/1", "created": "2026-12-04T10:00", "folders": folders, "files": files}
        (backup / "manifest.json").write_bytes(orjson.dumps(manifest))
        code, _out, err = await _run("restore", "--check", str(backup), env=env)
        assert code == 2 and says in err and err.count("\n") == 1, err
    manifest["folders"] = {"video": "/etc"}  # a folder named by the manifest itself
    (backup / "manifest.json").write_bytes(orjson.dumps(manifest))
    code, _out, err = await _run("restore", "--check", str(backup), env=env)
    assert code == 2 and "names a folder other than files/<name>" in err
