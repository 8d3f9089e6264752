"""What every benchmark needs: a PostgreSQL to use, a fresh database, a server process, CPU accounting."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from benchmarks._http import HttpError, connect, request_bytes

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
READY_SECONDS = 60


def say(line: str = "") -> None:
    print(line, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


# ---- database ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def postgres_server(given: str | None, tmp: Path) -> AsyncIterator[tuple[str, str]]:
    """``(url, where it came from)`` of a server to create the benchmark database on."""
    if given:
        yield given, "given"
        return
    try:
        conn = await asyncpg.connect(DEFAULT_SERVER, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        pass
    else:
        await conn.close()
        yield DEFAULT_SERVER, "local server"
        return
    from session_server.database import embedded_postgres

    with embedded_postgres(_embedded_dir(tmp)) as url:
        yield url, "embedded"


def _embedded_dir(tmp: Path) -> Path:
    data = tmp / "pg"
    data.mkdir()
    for path in (tmp, data):
        path.chmod(0o755)  # the embedded server may run as another user when we are root
    return data


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """Create ``kvorum_bench_<random>`` on the server; drop it (forcibly) on exit."""
    name = f"kvorum_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_database(server_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ---- the server process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``python -m session_server serve`` on a loopback port; stopped with SIGINT."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = int(env["KVORUM_PORT"])
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "session_server", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def authority(self) -> str:
        return f"{HOST}:{self.port}"

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        probe = request_bytes("GET", "/readyz", f"{HOST}:{self.port}")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, HttpError, TimeoutError):
                conn = await connect(HOST, self.port)
                try:
                    async with asyncio.timeout(5):
                        response = await conn.request(probe)
                    if response.status == 200:
                        return
                finally:
                    conn.close()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {READY_SECONDS} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# ---- CPU accounting ----------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int | str) -> tuple[str, float]:
    """``(command name, user+system CPU seconds)`` of a process from /proc, or ("", 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", 0.0
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return name, (int(rest[11]) + int(rest[12])) / _TICK


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU seconds used so far by this process, the server and every ``postgres`` process."""

    at: float
    client: float
    server: float
    postgres: float

    @classmethod
    def now(cls, server_pid: int) -> Cpu:
        pg = 0.0
        with contextlib.suppress(OSError):
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    name, used = _proc_cpu(entry.name)
                    pg += used if name == "postgres" else 0.0
        return cls(time.perf_counter(), time.process_time(), _proc_cpu(server_pid)[1], pg)

    def since(self, start: Cpu) -> str:
        wall = self.at - start.at
        parts = [("client", self.client - start.client), ("server", self.server - start.server)]
        parts.append(("postgres", self.postgres - start.postgres))
        shown = ", ".join(f"{name} {used / wall:.0%}" for name, used in parts)
        return f"cpu, % of one core: {shown} (every postgres process on the machine)"


def bounded(low: float, high: float, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def check(raw: str) -> Any:
        value = kind(raw)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return check
