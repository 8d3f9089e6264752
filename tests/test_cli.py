"""The ``kvorum`` command as an operator runs it: real processes, real databases."""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from cli_support import KVORUM, _env, _run
from conftest import _with_database, free_port


@pytest.fixture
async def empty_database(pg_server_url: str) -> AsyncIterator[str]:
    name = f"kvorum_cli_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(pg_server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrate_applies_each_migration_once(empty_database: str, tmp_path: Path) -> None:
    env = _env(KVORUM_DATABASE_URL=empty_database, KVORUM_DATA_DIR=str(tmp_path))
    # --check lists what would run before an upgrade, changes nothing, and exits 1 while something would
    code, checked, err = await _run("migrate", "--check", env=env)
    assert code == 1, err
    assert "would apply 0001_event_store" in checked and "would apply portal/" in checked
    code, again, _ = await _run("migrate", "--check", env=env)
    assert (code, again) == (1, checked)  # nothing was applied
    code, out, err = await _run("migrate", env=env)
    assert code == 0, err
    assert "applied 0001_event_store" in out and "applied 0002_accounts" in out
    assert out.replace("applied", "would apply") == checked  # what it said would run, in that order
    code, out, _ = await _run("migrate", env=env)
    assert code == 0 and out.strip() == "schema is up to date"
    code, out, _ = await _run("migrate", "--check", env=env)
    assert code == 0 and out.strip() == "schema is up to date"


async def test_users_are_added_listed_and_refused_with_one_line(empty_database: str, tmp_path: Path) -> None:
    env = _env(KVORUM_DATABASE_URL=empty_database, KVORUM_DATA_DIR=str(tmp_path))
    code, out, err = await _run(
        "user", "add", "olena", "--role", "secretary", "--name", "Олена", env=env, stdin="s3cret-and-long\n"
    )
    assert code == 0, err
    code, out, _ = await _run("user", "list", env=env)
    assert code == 0 and "olena" in out and "secretary" in out
    code, out, err = await _run("user", "add", "olena", "--role", "deputy", env=env, stdin="other-and-long\n")
    assert code == 1 and err.strip() == "kvorum: user 'olena' already exists"
    code, _, err = await _run("user", "add", "Bad Name", "--role", "deputy", env=env, stdin="secret\n")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "username" in err
    code, _, err = await _run("user", "passwd", "nobody", env=env, stdin="secret-and-long\n")
    assert code == 1 and err.strip() == "kvorum: no user 'nobody'"
    code, _, err = await _run("user", "add", "ivan", "--role", "deputy", env=env, stdin="short-pw\n")
    assert code == 1 and err.strip() == "kvorum: password: at least 12 characters"
    for command, said in (
        (("disable", "olena"), "olena disabled; its sign-ins and access tokens were revoked"),
        (("enable", "olena"), "olena enabled"),
        (("role", "olena", "chair"), "olena is now chair; its sign-ins and access tokens were revoked"),
        (("unlock", "olena"), "olena may sign in again at once"),
    ):
        code, out, err = await _run("user", *command, env=env)
        assert (code, out.strip()) == (0, said), err
    code, out, _ = await _run("user", "list", env=env)
    assert "chair" in out and "(disabled)" not in out
    code, _, err = await _run("user", "role", "nobody", "chair", env=env)
    assert code == 1 and err.strip() == "kvorum: no user 'nobody'"
    code, _, err = await _run("user", "add", "x1", "--role", "emperor", env=env, stdin="secret\n")
    assert code == 2 and "invalid choice" in err


async def test_unreachable_database_and_bad_settings_exit_with_one_line(tmp_path: Path) -> None:
    code, _, err = await _run("migrate", env=_env(KVORUM_DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"))
    assert code == 1 and err.startswith("kvorum: cannot connect to PostgreSQL") and len(err.strip().splitlines()) == 1
    code, _, err = await _run("serve", env=_env(KVORUM_PORT="eighty", KVORUM_DATA_DIR=str(tmp_path)))
    assert code == 2 and err.strip() == "kvorum: KVORUM_PORT must be a whole number, got 'eighty'"


async def _wait_ready(url: str, proc: asyncio.subprocess.Process, seconds: float = 90) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(int(seconds * 10)):
            if proc.returncode is not None:
                raise AssertionError(f"kvorum exited with {proc.returncode} before it was ready")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("kvorum did not become ready")


async def test_demo_on_the_embedded_database_serves_the_council_and_stops_it(tmp_path: Path) -> None:
    """What `make demo` does on a machine with nothing but Python."""
    port = free_port()
    data = tmp_path / "data"
    env = _env(KVORUM_DATA_DIR=str(data), KVORUM_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        *KVORUM, "demo", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        async with httpx.AsyncClient(base_url=url) as client:
            council = (await client.get("/api/v1/council")).json()
            assert council["name"] == "Вознесенська міська рада" and council["composition"] == 34
            assert len(council["deputies"]) == 35 and sum(d["mayor"] for d in council["deputies"]) == 1
            sessions = (await client.get("/api/v1/sessions")).json()["sessions"]
            # the plenary, and the sitting of each of its three standing committees the day after
            assert sorted(s["id"] for s in sessions) == ["budget-c8-s1", "c8-s45", "land-c8-s1", "regulations-c8-s1"]
            assert [c["id"] for c in council["committees"]] == ["budget", "land", "regulations"]
            assert (await client.get("/api/v1/documents/pr-101")).json()["committees"] == {"regulations": True}
            state = (await client.get("/api/v1/sessions/c8-s45")).json()["state"]
            assert "Електронне урядування" in state["agenda"][0]["title"]
            login = await client.post("/api/v1/auth/login", json={"username": "deputy34", "password": "demo"})
            assert login.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert proc.returncode == 0, out
    assert "deputy01 … deputy34" in out and "/api/v1/sessions/c8-s45" in out
    assert not (data / "postgres" / "postmaster.pid").exists(), "the embedded PostgreSQL was left running"

    # a second start reuses the data: the demo seeds nothing twice; SIGTERM (systemd, docker) stops
    # it as cleanly as Ctrl-C, embedded PostgreSQL included
    proc = await asyncio.create_subprocess_exec(
        *KVORUM, "demo", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await _wait_ready(url, proc)
        async with httpx.AsyncClient(base_url=url) as client:
            assert len((await client.get("/api/v1/council")).json()["deputies"]) == 35
            assert (await client.get("/api/v1/sessions/c8-s45")).json()["seq"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert proc.returncode == 0, out
    assert not (data / "postgres" / "postmaster.pid").exists(), "SIGTERM left the embedded PostgreSQL running"


async def test_serve_does_not_create_demo_accounts(empty_database: str, tmp_path: Path) -> None:
    port = free_port()
    env = _env(KVORUM_DATABASE_URL=empty_database, KVORUM_DATA_DIR=str(tmp_path), KVORUM_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(*KVORUM, "serve", env=env, stderr=asyncio.subprocess.DEVNULL)
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", proc)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            login = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "demo"})
            assert login.status_code == 401
            assert (await client.get("/api/v1/council")).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


async def test_the_demo_resets_to_a_fresh_council_but_never_erases_a_real_one(
    empty_database: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _env(KVORUM_DATABASE_URL=empty_database, KVORUM_DATA_DIR=str(tmp_path), KVORUM_PORT=str(port))

    async def demo(*extra: str) -> int:
        """Start the demo, open its sitting, stop it; the sitting's head seq as it was found."""
        proc = await asyncio.create_subprocess_exec(
            *KVORUM, "demo", *extra, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            await _wait_ready(url, proc)
            async with httpx.AsyncClient(base_url=url) as client:
                seq = int((await client.get("/api/v1/sessions/c8-s45")).json()["seq"])
                login = await client.post("/api/v1/auth/login", json={"username": "chair", "password": "demo"})
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                body = {"id": secrets.token_hex(4), "type": "session.open"}
                await client.post("/api/v1/sessions/c8-s45/commands", json=body, headers=headers)
            return seq
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)

    assert await demo() == 1
    assert await demo() == 2  # the sitting stays open across restarts
    assert await demo("--reset") == 1  # afresh: scheduled again, as seeded

    conn = await asyncpg.connect(empty_database)  # now say a real council's events are in it
    try:
        await conn.execute(
            "ALTER TABLE events DISABLE TRIGGER events_kept"
        )  # as only the tables' owner or a superuser could
        await conn.execute(
            """UPDATE events SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), '"demo":true', '"demo":false'),
                                                   'UTF8') WHERE type = 'council.created'"""
        )
    finally:
        await conn.close()
    code, _, err = await _run("demo", "--reset", env=env)
    assert code == 2 and err.strip() == "kvorum: this database holds the council 'voznesensk', not a demo: not erased"
