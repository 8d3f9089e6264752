"""The baseline of ``benchmarks.fanout``: the bare ``websockets`` library's ``broadcast()`` from a minimal server.

``python -m benchmarks._bare_server --port P --head H --template JSON``

It speaks just enough of Kvorum's protocol for the same subscribers to work unchanged: it ignores
``auth``, answers ``{"type": "sync"}`` with the event ``H`` (as Kvorum answers ``since = H - 1``)
and from then on the connection receives every broadcast. It is configured as ``kvorum serve``
configures uvicorn: 64 KiB messages, pings every 20 s, permessage-deflate offered with the same
window bits and memory level, a listen backlog of 2048, uvloop when installed.

Driven over stdin (by ``BareServer``), one JSON command per line, one JSON reply per line on stdout:

- ``{"op": "stream", "rate", "count"}``: ``count`` events shaped like ``--template`` (a Kvorum
  event; ``seq`` and ``at`` are replaced), ``rate`` per second on a fixed schedule, each with ``at``
  = the time just before ``broadcast()``; reply ``{"op": "streamed", "last"}``.

It ends when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve

from benchmarks._harness import HOST, JsonChild, free_port


def rfc3339(moment: datetime) -> str:
    """As Kvorum writes ``at``: UTC, milliseconds (truncated), ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Bare:
    """The server's state: the last ``seq`` and the connections that asked to sync."""

    def __init__(self, head: int, template: dict[str, Any]) -> None:
        self.head = head
        self.template = template
        self.synced: set[ServerConnection] = set()

    def event(self, seq: int) -> str:
        event = self.template | {"seq": seq, "at": rfc3339(datetime.now(UTC))}
        return orjson.dumps({"type": "event", "event": event}).decode()

    async def handler(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                try:
                    kind = orjson.loads(message).get("type")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if kind == "sync" and connection not in self.synced:
                    await connection.send(self.event(self.head))
                    self.synced.add(connection)
        finally:
            self.synced.discard(connection)

    async def stream(self, rate: float, count: int) -> int:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            self.head += 1
            broadcast(self.synced, self.event(self.head))
        return self.head


class BareServer:
    """The parent's handle on ``python -m benchmarks._bare_server``."""

    def __init__(self, child: JsonChild, port: int) -> None:
        self.child, self.port = child, port

    @property
    def pid(self) -> int:
        return self.child.pid

    @classmethod
    async def start(cls, head: int, template: dict[str, Any]) -> BareServer:
        port = free_port()
        argv = ["--port", str(port), "--head", str(head), "--template", orjson.dumps(template).decode()]
        child = await JsonChild.start("benchmarks._bare_server", *argv)
        try:
            await child.read()  # {"op": "ready"}
        except BaseException:
            await child.stop()
            raise
        return cls(child, port)

    async def stream(self, rate: float, count: int) -> int:
        """Broadcast ``count`` events at ``rate`` per second; the last ``seq``."""
        answer = await self.child.ask({"op": "stream", "rate": rate, "count": count}, count / rate + 60)
        return int(answer["last"])

    async def stop(self) -> None:
        await self.child.stop()


async def run(port: int, head: int, template: dict[str, Any]) -> None:
    bare = Bare(head, template)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with serve(bare.handler, HOST, port, max_size=64 * 1024, ping_interval=20.0, ping_timeout=20.0, backlog=2048):

        def reply(message: dict[str, Any]) -> None:
            sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
            sys.stdout.flush()

        reply({"op": "ready"})
        while line := await reader.readline():
            command = orjson.loads(line)
            if command["op"] == "stream":
                last = await bare.stream(float(command["rate"]), int(command["count"]))
                reply({"op": "streamed", "last": last})
            else:
                reply({"op": "error", "message": f"unknown op {command['op']!r}"})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._bare_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--head", type=int, required=True)
    parser.add_argument("--template", type=orjson.loads, required=True, help="a Kvorum event as JSON")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args.port, args.head, args.template))
    else:
        uvloop.run(run(args.port, args.head, args.template))


if __name__ == "__main__":
    main()
