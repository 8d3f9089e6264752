"""From the commit of ``vote.closed`` to a checkpoint cosigned by K of the council's N witnesses, and what a
witness pays per checkpoint.

``python -m benchmarks.witness [--votes 100] [--ballots 18] [--checkpoints 2000] [--database-url URL]``

1. **Latency.** The demo council on one ``kvorum serve`` (a fresh database) with three witnesses, each
   ``kvorum witness serve`` in a process of its own on this machine, listed with 2 needed. ``--votes``
   votes are opened, voted and closed one after another over HTTP; after each close a poller asks every
   5 ms for ``…/ledger/witnesses`` until a checkpoint covering the close has 2 cosignatures. Latency from
   the ``vote.closed`` event's ``at`` (the server's clock, the same machine). Baseline in the same run:
   ``GET /healthz`` round trips. Target: p99 ≤ 500 ms.
2. **A witness's cost per checkpoint**: ``voting.witness.decide`` (the log's signature checked, the
   consistency proof from the previous checkpoint of a 100,000-leaf tree verified, the cosignature made),
   and the same through the witness's folder (its SQLite transaction, committed to disk), against a bare
   Ed25519 signature of the same checkpoint body in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks._harness import (
    HOST,
    ServerProcess,
    bounded,
    free_port,
    fresh_database,
    ms,
    percentile,
    postgres_server,
    run_on_fastest_loop,
    say,
)
from benchmarks._sitting import SESSION, DemoSitting, line
from benchmarks.publish import epoch, seed

TARGET_P99 = 0.5
POLL = 0.005
NEEDED = 2


def witness_cost(checkpoints: int, tmp: Path) -> None:
    """Part 2: per checkpoint, in this process."""
    from session_server.witness.state import WitnessFolder
    from voting.checkpoint import Checkpoint, NoteSigner
    from voting.cosignature import CosignatureSigner
    from voting.merkle import MerkleTree
    from voting.witness import AddCheckpoint, Latest, decide

    origin = "kvorum.bench/council/s1"
    log = NoteSigner("kvorum.bench", Ed25519PrivateKey.generate())
    leaves = 100_000
    tree = MerkleTree([b"event %d" % n for n in range(leaves)])
    sizes = [leaves - checkpoints + n for n in range(checkpoints + 1)]
    bodies = []
    for old, new in itertools.pairwise(sizes):
        note = log.sign(Checkpoint(origin, new, tree.root(new)))
        proof = tree.consistency_proof(old, new)
        lines = [f"old {old}".encode()] + [base64.b64encode(h) for h in proof]
        bodies.append(b"\n".join(lines) + b"\n\n" + note.encode())
    logs = {"kvorum.bench/council": [log.verifier]}
    signer = CosignatureSigner("bench-witness", Ed25519PrivateKey.generate())

    key = Ed25519PrivateKey.generate()
    plain = [Checkpoint(origin, s, tree.root(s)).body() for s in sizes[1:]]
    began = time.perf_counter()
    for body in plain:
        key.sign(body)
    bare = (time.perf_counter() - began) / len(plain)

    latest = Latest(sizes[0], tree.root(sizes[0]))
    began = time.perf_counter()
    for body in bodies:
        request = AddCheckpoint.parse(body)
        assert isinstance(request, AddCheckpoint)
        answer = decide(request, logs, latest, signer, now=1_800_000_000)
        assert answer.status == 200 and answer.latest is not None, answer.body
        latest = answer.latest
    pure = (time.perf_counter() - began) / len(bodies)

    folder = WitnessFolder.init(tmp / "cost-witness", "bench-witness")
    folder.follow("kvorum.bench/council", log.vkey)
    first = log.sign(Checkpoint(origin, sizes[0], tree.root(sizes[0]))).encode()
    assert folder.add_checkpoint(b"old 0\n\n" + first, 1).status == 200
    began = time.perf_counter()
    for body in bodies:
        assert folder.add_checkpoint(body, 1_800_000_000).status == 200
    stored = (time.perf_counter() - began) / len(bodies)
    say(f"baseline: a bare Ed25519 signature of a checkpoint body: {bare * 1e6:.1f} µs")
    say(
        f"a witness per checkpoint ({checkpoints} checkpoints of a {leaves:,}-leaf log): the rules (log signature"
        f" checked, consistency proof verified, cosignature made) {pure * 1e6:.1f} µs = {pure / bare:.1f}× the bare"
        f" signature; with its SQLite transaction committed {stored * 1e6:.1f} µs = {stored / bare:.1f}×"
    )


class Witnesses:
    """Three ``kvorum witness serve`` processes following the council."""

    def __init__(self, tmp: Path, origin: str, council_key: str) -> None:
        from session_server.witness.state import WitnessFolder

        self.procs: list[subprocess.Popen[bytes]] = []
        self.listed: list[dict[str, str]] = []
        for n in (1, 2, 3):
            path = tmp / f"witness{n}"
            folder = WitnessFolder.init(path, f"bench-witness-{n}")
            folder.follow(origin, council_key)
            port = free_port()
            command = [sys.executable, "-m", "session_server", "witness", "serve", str(path), "--port", str(port)]
            self.procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            url = f"http://{HOST}:{port}"
            self.listed.append({"name": f"bench-witness-{n}", "url": url, "key": folder.signer.verifier.vkey})

    async def ready(self) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            for witness in self.listed:
                for _ in range(500):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(witness["url"] + "/")).status_code == 200:
                            break
                    await asyncio.sleep(0.02)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)


async def council_key(url: str, tmp: Path) -> str:
    from session_server.config import Settings
    from session_server.node import Node

    async with Node.open(Settings(database_url=url, data_dir=tmp)) as kvorum:
        return kvorum.ledger.signer.vkey


async def run(args: argparse.Namespace) -> int:
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-witness-")))
        witness_cost(args.checkpoints, tmp)
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        await seed(url, tmp)
        witnesses = Witnesses(tmp, "kvorum.localhost/voznesensk", await council_key(url, tmp))
        stack.callback(witnesses.stop)
        await witnesses.ready()
        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_PORT=str(free_port()))
        env |= {"KVORUM_DATA_DIR": str(tmp / "server"), "KVORUM_WITNESS_RETRY_SECONDS": "1"}
        server = ServerProcess(env, tmp / "server.log")
        stack.callback(server.stop)
        await server.ready()
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://{server.authority}", timeout=30))
        say(
            f"Kvorum witness: {args.votes} votes × {args.ballots} ballots, 3 witnesses in their own processes,"
            f" {NEEDED} needed, {origin} PostgreSQL"
        )
        sitting = DemoSitting(client, args.ballots)
        await sitting.sign_in("admin")
        body = {"id": "w", "type": "council.configure", "witnesses": witnesses.listed, "witnesses_needed": NEEDED}
        configured = await client.post("/api/v1/council/commands", json=body, headers=sitting.tokens["admin"])
        if configured.status_code != 200:
            raise RuntimeError(f"council.configure refused: {configured.text}")
        await sitting.open()
        healthz = await sitting.healthz()

        cosigned = []
        for k in range(1, args.votes + 1):
            vote, closed = await sitting.vote(k)
            t0, seq = epoch(str(closed["at"])), int(closed["seq"])
            deadline = time.time() + 30
            while time.time() < deadline:
                status = (await client.get(f"/api/v1/sessions/{SESSION}/ledger/witnesses")).json()
                done = [c for c in status["checkpoints"] if c["size"] >= seq and len(c["cosigned_by"]) >= NEEDED]
                if done:
                    cosigned.append(time.time() - t0)
                    break
                await asyncio.sleep(POLL)
            else:
                raise TimeoutError(f"the close of {vote} was not cosigned by {NEEDED} witnesses within 30 s")

        say(f"baseline: GET /healthz round trip, {len(healthz)} requests: {line(healthz)}")
        say(f"vote.closed → checkpoint with {NEEDED} of 3 cosignatures: {line(cosigned)}")
        p99 = percentile(cosigned, 99)
        verdict = "met" if p99 <= TARGET_P99 else "NOT met"
        say(
            f"witness: vote.closed → {NEEDED}-of-3 cosigned checkpoint p99 {ms(p99)} [≤ {TARGET_P99 * 1000:g} ms"
            f" {verdict}], {p99 / percentile(healthz, 99):.0f}× the /healthz p99 {ms(percentile(healthz, 99))}"
        )
        return 0
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.witness", description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=bounded(1, 1000, int), default=100, help="votes (default 100)")
    parser.add_argument("--ballots", type=bounded(1, 34, int), default=18, help="ballots per vote (default 18)")
    parser.add_argument("--checkpoints", type=bounded(10, 100_000, int), default=2000, help="for the cost (2000)")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    args = parser.parse_args(argv)
    return run_on_fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
