"""What every benchmark needs: a PostgreSQL to use, a fresh database, a server process, CPU accounting."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

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
    from session_server.store.database import embedded_postgres

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


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to ``database`` (by its process title).

    Unlike ``Cpu.postgres`` this leaves out other databases' backends and is per process, so a
    backend that exits between two readings is left out instead of making the difference negative.
    """
    marker = f" {database} ".encode()
    found: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    title = Path(entry.path, "cmdline").read_bytes()
                    if title.startswith(b"postgres:") and marker in title:
                        found[int(entry.name)] = _proc_cpu(entry.name)[1]
    return found


def process_cpu(pid: int) -> float:
    """User+system CPU seconds used so far by a process (0 once it is gone)."""
    return _proc_cpu(pid)[1]


def raise_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it); return it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    """Resident memory of a process (``VmRSS``, KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# ---- helper processes --------------------------------------------------------------------------


class JsonChild:
    """``python -m MODULE``, told what to do with one JSON object per line on its stdin, answering likewise."""

    def __init__(self, module: str, proc: asyncio.subprocess.Process) -> None:
        self.module, self.proc = module, proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def start(cls, module: str, *args: str) -> JsonChild:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=1 << 24
        )
        return cls(module, proc)

    async def ask(self, command: dict[str, Any], within: float = READY_SECONDS) -> dict[str, Any]:
        """Send ``command``; its answer, which must come ``within`` seconds."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(orjson.dumps(command) + b"\n")
        await self.proc.stdin.drain()
        return await self.read(within)

    async def read(self, within: float = READY_SECONDS) -> dict[str, Any]:
        """The next line the child writes (it must come ``within`` seconds)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(within):
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"python -m {self.module} exited with {await self.proc.wait()}")
        answer: dict[str, Any] = orjson.loads(line)
        return answer

    async def stop(self) -> None:
        """Close its stdin (it exits by itself), else SIGTERM, else SIGKILL."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        for signal_name in ("", "terminate", "kill"):
            if signal_name:
                with contextlib.suppress(ProcessLookupError):
                    getattr(self.proc, signal_name)()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.proc.wait()
                    return


def bounded(low: float, high: float, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def check(raw: str) -> Any:
        value = kind(raw)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return check


def run_on_fastest_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run a benchmark's main coroutine on uvloop when it is installed (uvicorn[standard] brings it)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def start_profiler(output: Path | None, pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of process ``pid`` for ``seconds``, if asked for (.txt raw, .json speedscope, else SVG)."""
    if output is None:
        return None
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        raise SystemExit(f"--py-spy needs {exe}: .venv/bin/pip install py-spy")
    fmt = {".txt": "raw", ".json": "speedscope"}.get(output.suffix, "flamegraph")
    command = [str(exe), "record", "--pid", str(pid), "--duration", str(math.ceil(seconds)), "--rate", "200"]
    command += ["--nonblocking", "--format", fmt, "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
