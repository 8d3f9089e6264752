"""The demo's own two witnesses (``kvorum demo``): ``kvorum witness serve`` in processes beside the demo
server, their folders under the demo's data folder, following the demo council and listed in its
settings (2 of 2 needed), so a newcomer sees cosigned checkpoints and can try a receipt.

They are named ``demo-witness-1`` and ``demo-witness-2`` and prove nothing: they run on the council's own
machine. A real council's witnesses are run by others (a faction, an NGO, the regional archive), as
docs/witness.md says.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from session_server.witness.state import WitnessFolder

__all__ = ["DEMO_WITNESSES", "DemoWitness", "demo_witnesses", "forget_demo_witnesses"]

DEMO_WITNESSES = ("demo-witness-1", "demo-witness-2")
FIRST_PORT_OFFSET = 731
"""The demo witnesses listen on the server's port + 731 and + 732 (8731, 8732 for the demo on 8000)."""


@dataclass(frozen=True, slots=True)
class DemoWitness:
    """One demo witness as the council lists it."""

    name: str
    url: str
    key: str


def _folder(data_dir: Path) -> Path:
    return data_dir / "demo-witnesses"


def forget_demo_witnesses(data_dir: Path) -> None:
    """Erase the demo witnesses with the demo council (``kvorum demo --reset``): they would refuse its new
    history, as any witness refuses a rewritten one."""
    shutil.rmtree(_folder(data_dir), ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def demo_witnesses(data_dir: Path, server_port: int, origin: str, council_key: str) -> Iterator[list[DemoWitness]]:
    """Start the two demo witnesses following the council ``origin`` signed by ``council_key``; stop them
    on exit."""
    processes: list[subprocess.Popen[bytes]] = []
    listed = []
    try:
        for number, name in enumerate(DEMO_WITNESSES):
            path = _folder(data_dir) / name
            folder = WitnessFolder.open(path) if (path / "witness.json").exists() else WitnessFolder.init(path, name)
            if council_key not in [v.vkey for v in folder.logs.get(origin, [])]:
                folder.follow(origin, council_key)
            port = server_port + FIRST_PORT_OFFSET + number if server_port else _free_port()
            command = [sys.executable, "-m", "session_server", "witness", "serve", str(path), "--port", str(port)]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            url = f"http://127.0.0.1:{port}"
            listed.append(DemoWitness(name, url, folder.signer.verifier.vkey))
        for witness in listed:
            _wait(witness.url)
        yield listed
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def _wait(url: str) -> None:
    """Until the witness answers (it is asked again later if it is slow to start)."""
    for _ in range(250):
        try:
            if httpx.get(url + "/", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.02)
