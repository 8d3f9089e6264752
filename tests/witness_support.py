"""Witnesses as their operators run them, for the tests: ``kvorum witness init|follow|serve`` in real
processes, each with its own folder and port, stopped and started again from its folder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import free_port


def kvorum(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``kvorum`` command line in a process of its own."""
    return subprocess.run([sys.executable, "-m", "session_server", *args], capture_output=True, text=True, timeout=60)


class WitnessProcess:
    """``kvorum witness serve FOLDER`` on a port of its own."""

    def __init__(self, folder: Path, name: str | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.vkey = ""
        if name is not None:
            made = kvorum("witness", "init", str(folder), "--name", name)
            assert made.returncode == 0, made.stderr
            self.vkey = made.stdout.strip()

    def follow(self, origin: str, key: str) -> None:
        followed = kvorum("witness", "follow", str(self.folder), origin, key)
        assert followed.returncode == 0, followed.stderr

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "session_server",
            "witness",
            "serve",
            str(self.folder),
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):  # until it answers (or 10 s)
            try:
                if httpx.get(self.url + "/", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.02)
        raise AssertionError("the witness did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
