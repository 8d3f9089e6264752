"""The parent's handle on the subscriber processes of ``benchmarks.fanout`` (``benchmarks._fanout_client``):
start them, have them connect, mark and collect, and merge what they received."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from dataclasses import dataclass, field

from benchmarks._fanout_client import BUCKET
from benchmarks._harness import JsonChild

__all__ = ["Collected", "Connected", "Subscribers"]


@dataclass(slots=True)
class Collected:
    """What the subscribers of every process received during one stream."""

    histogram: Counter[int] = field(default_factory=Counter)
    subscribers: int = 0
    complete: int = 0  # subscribers that received every event, in order, and are still open
    min_received: int = 0
    gapped: int = 0
    closed: Counter[str] = field(default_factory=Counter)
    others: Counter[str] = field(default_factory=Counter)  # messages that were not events, by type
    messages: int = 0
    payload_bytes: int = 0
    cpu: list[float] = field(default_factory=list)  # each process's CPU, share of one core

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile (``q`` in 0..100) of the latencies, seconds (the bucket's upper edge)."""
        total = sum(self.histogram.values())
        if not total:
            return math.nan
        rank, seen = max(1, math.ceil(total * q / 100)), 0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen >= rank:
                return (bucket + 1) / BUCKET
        return math.nan


@dataclass(slots=True)
class Connected:
    synced: int = 0
    failures: Counter[str] = field(default_factory=Counter)


class Subscribers:
    """The parent's handle on the subscriber processes (``python -m benchmarks._fanout_client``)."""

    def __init__(self, children: list[JsonChild]) -> None:
        self.children = children

    @classmethod
    async def start(
        cls, processes: int, *, kind: str, port: int, path: str, since: int, token: str, deflate: bool
    ) -> Subscribers:
        argv = ["--kind", kind, "--port", str(port), "--path", path, "--since", str(since), "--token", token]
        argv += [] if deflate else ["--no-deflate"]
        return cls([await JsonChild.start("benchmarks._fanout_client", *argv) for _ in range(processes)])

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in self.children]

    async def connect(self, count: int, concurrency: int, *, first_only: bool = False) -> Connected:
        """``count`` more subscribers, spread over the processes (or all in the first), each in sync."""
        children = self.children[:1] if first_only else self.children
        shares = [count // len(children) + (i < count % len(children)) for i in range(len(children))]
        per = max(1, concurrency // len(children))
        within = 60 + count / 20  # at least 20 handshakes a second, or give up
        answers = await asyncio.gather(
            *(
                c.ask({"op": "connect", "count": n, "concurrency": per}, within)
                for c, n in zip(children, shares, strict=True)
            )
        )
        connected = Connected()
        for answer in answers:
            connected.synced += answer["synced"]
            connected.failures.update(answer["failures"])
        return connected

    async def mark(self) -> None:
        """Start counting CPU for the stream."""
        await asyncio.gather(*(c.ask({"op": "mark"}) for c in self.children))

    async def collect(self, last: int, within: float) -> Collected:
        """Wait (at most ``within`` seconds) for every subscriber to have event ``last``; merge what they saw."""
        answers = await asyncio.gather(
            *(c.ask({"op": "collect", "last": last, "timeout": within}, within + 60) for c in self.children)
        )
        got = Collected(min_received=min(a["min_received"] for a in answers))
        for a in answers:
            got.histogram.update({int(bucket): n for bucket, n in a["histogram"].items()})
            got.subscribers += a["subscribers"]
            got.complete += a["complete"]
            got.gapped += a["gapped"]
            got.closed.update(a["closed"])
            got.others.update(a["others"])
            got.messages += a["messages"]
            got.payload_bytes += a["payload_bytes"]
            got.cpu.append(a["cpu"] / a["wall"] if a["wall"] else 0.0)
        return got

    async def close(self) -> None:
        """Close every subscriber and end the processes."""
        with contextlib.suppress(RuntimeError, TimeoutError, BrokenPipeError, ConnectionResetError):
            await asyncio.gather(*(c.ask({"op": "close"}) for c in self.children))
        await asyncio.gather(*(c.stop() for c in self.children))
