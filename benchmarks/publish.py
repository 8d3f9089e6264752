"""From the commit of ``vote.closed`` to the roll call being served by the portal and the open data.

``python -m benchmarks.publish [--votes 100] [--ballots 18] [--database-url URL]``

The demo council on one ``kvorum serve`` (a fresh database); the session is opened, 18 deputies
register, and ``--votes`` votes are opened, voted and closed one after another over HTTP. After each
close two pollers ask, every 5 ms, for the open-data motions of the session
(``/opendata/ua835/motions.json?session=…``) and for the portal's session page (``/sessions/…``)
until the new vote's result is there. Latency is measured from the ``vote.closed`` event's ``at``
(the server's clock, the same machine). Baseline in the same run: ``GET /healthz`` round trips.
Target: p99 ≤ 1 s for both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import httpx

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

TARGET_P99 = 1.0
POLL = 0.005


async def seed(url: str, tmp: Path) -> None:
    from session_server import demo
    from session_server.config import Settings
    from session_server.node import Node

    async with Node.open(Settings(database_url=url, data_dir=tmp)) as kvorum:
        await demo.seed(kvorum)


def epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


async def until(client: httpx.AsyncClient, path: str, needle: str, deadline: float) -> float:
    """Poll ``path`` until its body holds ``needle``; the wall time it first did."""
    while time.time() < deadline:
        response = await client.get(path)
        if needle in response.text:
            return time.time()
        await asyncio.sleep(POLL)
    raise TimeoutError(f"{needle!r} never appeared at {path}")


async def run(args: argparse.Namespace) -> int:
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-publish-")))
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        await seed(url, tmp)
        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_PORT=str(free_port()))
        env["KVORUM_DATA_DIR"] = str(tmp / "server")
        server = ServerProcess(env, tmp / "server.log")
        stack.callback(server.stop)
        await server.ready()
        base = f"http://{server.authority}"
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30))
        say(f"Kvorum publish: {args.votes} votes × {args.ballots} ballots, demo council, {origin} PostgreSQL")

        sitting = DemoSitting(client, args.ballots)
        await sitting.sign_in()
        await sitting.open()
        healthz = await sitting.healthz()

        opendata, portal, acks = [], [], []
        for k in range(1, args.votes + 1):
            vote, closed = await sitting.vote(k)
            acked = time.time()
            t0 = epoch(str(closed["at"]))
            deadline = acked + 30
            got_data, got_page = await asyncio.gather(
                until(client, f"/opendata/ua835/motions.json?session={SESSION}", f'"{SESSION}-{vote}"', deadline),
                until(client, f"/sessions/{SESSION}", f"«№{k}»: ", deadline),
            )
            acks.append(acked - t0)
            opendata.append(got_data - t0)
            portal.append(got_page - t0)

        say(f"baseline: GET /healthz round trip, {len(healthz)} requests: {line(healthz)}")
        say(f"vote.close acknowledged after vote.closed's at: {line(acks)}")
        say(f"open data has the roll call: {line(opendata)}")
        say(f"portal page has the result:  {line(portal)}")
        worst = max(percentile(opendata, 99), percentile(portal, 99))
        verdict = "met" if worst <= TARGET_P99 else "NOT met"
        say(
            f"publish: vote.closed → open data p99 {ms(percentile(opendata, 99))}, portal page p99 "
            f"{ms(percentile(portal, 99))} [≤ {TARGET_P99 * 1000:g} ms {verdict}], "
            f"baseline /healthz p99 {ms(percentile(healthz, 99))}"
        )
        return 0
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publish", description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=bounded(1, 1000, int), default=100, help="votes (default 100)")
    parser.add_argument("--ballots", type=bounded(1, 34, int), default=18, help="ballots per vote (default 18)")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    args = parser.parse_args(argv)
    return run_on_fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
