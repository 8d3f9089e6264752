"""The ``kvorum`` command run as a real process with an environment of its own: for the command-line tests
and the open data's rebuild from the command line."""

from __future__ import annotations

import asyncio
import os
import sys

KVORUM = [sys.executable, "-m", "session_server"]


def _env(**over: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVORUM_")}
    env.update({k: v for k, v in over.items() if v is not None})
    return env


async def _run(*args: str, env: dict[str, str], stdin: str | None = None, seconds: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *KVORUM,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else b""), seconds)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
