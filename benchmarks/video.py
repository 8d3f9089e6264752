"""Live video: the server's CPU per WebRTC viewer, glass-to-glass latency, the HLS live edge; Kvorum vs MediaRelay.

``python -m benchmarks.video [--sizes 1,10,25,50] [--baseline-sizes 1,2,3,5,10,25] [--seconds 8] [--quick]
[--probes 1] [--crowd-processes 2] [--noise soft|full] [--database-url URL]``

A fresh database ``kvorum_bench_<random>`` (as in ``benchmarks.ballots``, dropped at the end) with the
demo council; the operator's token is minted in-process. Every process below is a child of this one:

- the server: ``kvorum serve`` (``session_server.cli``), its single encode at 1.5 Mbit/s;
- a publisher: the counter camera of ``benchmarks._video_peers`` at 1280×720, 30 fps, over WHIP (aiortc
  sends it as VP8); by default over gentle noise (``CounterTrack(..., noise=(112, 144))``), ``--noise full``
  for full-range noise;
- the viewers, over WHEP: ``--probes`` of them, in a process of their own, decode every frame and read
  the publisher's stamp from it (glass-to-glass = decoded at − drawn at, one clock); the rest, in
  ``--crowd-processes`` processes, run aiortc's whole receive path (ICE, DTLS, SRTP, RTP, jitter
  buffer, RTCP) but their decoder is replaced by one that counts frames and bytes and decodes
  nothing, so 50 receivers do not take the cores the server is measured on;
- the baseline, afterwards, in Kvorum's place: a minimal aiortc server (Starlette on uvicorn) that
  takes the same publisher and gives each viewer ``MediaRelay().subscribe(track, buffered=False)``,
  so aiortc encodes once per viewer (VP8, its default, at the bitrate its congestion control picks).

For every N the viewers join (keeping those before), settle, and over ``--seconds`` the server's CPU
(utime + stime of its process from /proc, all threads) is read, and so are the machine's (/proc/stat),
the clients' own, and the frame rate and bitrate each viewer received. The increment per viewer is
(CPU at the last unsaturated N − CPU at the first) ÷ the difference in N. A step is saturated when
the machine is ≥ 90 % busy or the server uses ≥ 1.8 cores: the machine then caps it, so the
baseline stops growing there, and a slope that has to use such a step is shown as a lower bound (≥).

The HLS live edge is measured at the largest N: the newest segment of ``index.m3u8`` is fetched and
decoded and its last picture's stamp read; edge = the playlist's arrival − that stamp. A standard
player starts three target durations before the playlist's end: player delay ≈ edge + 3 × target.
Every peer connection's ICE candidates are on 127.0.0.1 and no STUN server is asked
(``loopback_only``), so all traffic stays on loopback.

Targets: ≤ 2 % of a core per extra viewer; glass-to-glass p50 ≤ 300 ms; HLS ≤ 8 s behind.

The peers' processes are in ``benchmarks._video_clients``, the baseline server in
``benchmarks._video_baseline``; this module orchestrates, measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import uvicorn

from benchmarks._harness import (
    HOST,
    JsonChild,
    ServerProcess,
    bounded,
    free_port,
    fresh_database,
    percentile,
    postgres_server,
    process_cpu,
    redacted,
    run_on_fastest_loop,
    say,
)
from benchmarks._video_baseline import baseline_app
from benchmarks._video_clients import FPS, HEIGHT, WIDTH, loopback_only, serve_peers
from benchmarks._video_peers import read_cells

BITRATE_KBPS = 1500
TARGET_PER_VIEWER = 0.02  # of one core
TARGET_P50_MS = 300.0
TARGET_BEHIND_S = 8.0
SATURATED_MACHINE = 0.9  # share of all cores busy
SATURATED_SERVER = 1.8  # cores
HLS_SAMPLES = 5


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ---- the servers, as children -------------------------------------------------------------------


class ChildServer(ServerProcess):
    """``python -m benchmarks.video --child ROLE`` as a server on ``KVORUM_PORT``, its output in ``log``."""

    def __init__(self, role: str, env: dict[str, str], log: Path) -> None:
        self.port, self.log = int(env["KVORUM_PORT"]), log
        with log.open("wb") as out:
            command = [sys.executable, "-m", "benchmarks.video", "--child", role]
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


# ---- measuring ------------------------------------------------------------------------------------


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(slots=True)
class Step:
    """What one N measured."""

    n: int
    server: float = 0.0  # cores
    machine: float = 0.0  # share of all cores busy
    fps: float = 0.0  # frames a second each viewer received
    kbps: float = 0.0  # what each viewer received
    sent_fps: float = 0.0
    connected: int = 0
    latencies: list[float] = field(default_factory=list)
    clients: list[float] = field(default_factory=list)  # cores: publisher, probes, crowd processes

    @property
    def saturated(self) -> bool:
        return self.machine >= SATURATED_MACHINE or self.server >= SATURATED_SERVER

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


@dataclass(slots=True)
class Clients:
    """The publisher's, the probes' and the crowd's processes."""

    publisher: JsonChild
    probes: JsonChild
    crowd: list[JsonChild]
    probe_count: int

    @property
    def all(self) -> list[JsonChild]:
        return [self.publisher, self.probes, *self.crowd]

    async def ask(self, child: JsonChild, command: dict[str, Any], within: float = 90.0) -> dict[str, Any]:
        answer = await child.ask(command, within)
        if "error" in answer:
            raise RuntimeError(f"{command['do']}: {answer['error']}")
        return answer

    async def watch(self, base: str, session: str, n: int) -> None:
        """N viewers in all: the probes first, the rest spread over the crowd."""
        probes = min(n, self.probe_count)
        rest = n - probes
        shares = [rest // len(self.crowd) + (i < rest % len(self.crowd)) for i in range(len(self.crowd))]
        await asyncio.gather(
            *(
                self.ask(child, {"do": "watch", "base": base, "session": session, "count": count})
                for child, count in zip([self.probes, *self.crowd], [probes, *shares], strict=True)
                if count
            )
        )


async def measure(clients: Clients, server_pid: int, base: str, session: str, n: int, args: argparse.Namespace) -> Step:
    """N viewers watch; after they settle, the CPU of everyone over ``args.seconds``."""
    await clients.watch(base, session, n)
    await asyncio.sleep(args.settle)
    await asyncio.gather(*(clients.ask(c, {"do": "mark"}) for c in clients.all))
    began, server, (busy, total) = time.perf_counter(), process_cpu(server_pid), machine_ticks()
    await asyncio.sleep(args.seconds)
    reports = await asyncio.gather(*(clients.ask(c, {"do": "report"}) for c in clients.all))
    wall, used, (busy_now, total_now) = time.perf_counter() - began, process_cpu(server_pid) - server, machine_ticks()
    publisher, probes, *crowd = reports
    step = Step(n, server=used / wall, machine=(busy_now - busy) / max(1, total_now - total))
    step.sent_fps = publisher["sent"] / publisher["wall"]
    viewers = [r for r in (probes, *crowd) if r["viewers"]]
    step.connected = sum(r["connected"] for r in viewers)
    step.fps = sum(r["frames"] / r["wall"] for r in viewers) / max(1, n)
    step.kbps = sum(r["bytes"] * 8 / 1000 / r["wall"] for r in viewers) / max(1, n)
    step.latencies = [float(ms) for ms in probes["latencies"]]
    step.clients = [r["cpu"] / r["wall"] for r in reports]
    return step


def last_stamp(segment: bytes) -> int:
    """The stamp drawn into the last picture of an MPEG-TS segment."""
    last = None
    with av.open(io.BytesIO(segment), "r", format="mpegts") as container:
        for frame in container.decode(video=0):
            last = frame
    if not isinstance(last, av.VideoFrame):
        raise RuntimeError("the segment holds no picture")
    return read_cells(last.to_ndarray(format="gray"))[1]


async def live_edge(base: str, session: str, samples: int) -> list[tuple[float, float]]:
    """(seconds the newest HLS picture is behind, the playlist's target duration), a few times over a segment."""
    found = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(samples):
            playlist = await client.get(f"/live/{session}/index.m3u8")
            arrived = time.time()
            playlist.raise_for_status()
            lines = playlist.text.splitlines()
            target = next(float(x.split(":", 1)[1]) for x in lines if x.startswith("#EXT-X-TARGETDURATION:"))
            newest = [x for x in lines if x and not x.startswith("#")][-1]
            segment = await client.get(f"/live/{session}/{newest}")
            stamp = await asyncio.to_thread(last_stamp, segment.content)
            found.append((((int(arrived * 1000) - stamp) % 2**32) / 1000, target))
            await asyncio.sleep(0.7)  # another moment of the 2 s segment cycle
    return found


# ---- output ---------------------------------------------------------------------------------------


def row(step: Step, previous: Step | None) -> str:
    increment = "" if previous is None else f"{(step.server - previous.server) / (step.n - previous.n):+.1%}"
    latency = f"{step.p(50):5.0f} {step.p(95):5.0f}" if step.latencies else "    –     –"
    clients = "/".join(f"{c:.0%}" for c in step.clients)
    warning = "  SATURATED" if step.saturated else ""
    return (
        f"  {step.n:>3} {step.connected:>3}  {step.server:6.2f} {increment:>7}  {step.machine:5.0%}  "
        f"{step.sent_fps:4.1f} {step.fps:4.1f} {step.kbps:6.0f}   {latency}   {clients}{warning}"
    )


def header() -> None:
    say("    N  ok  server  per +1   machine  sent  got  kbit/s  g2g ms p50   p95   clients (pub/probes/crowd…)")


@dataclass(frozen=True, slots=True)
class Slope:
    """Server cores per extra viewer between two steps; only a lower bound if the last was saturated."""

    per_viewer: float
    low: int
    high: int
    bound: bool

    def __str__(self) -> str:
        return f"{'≥ ' if self.bound else ''}{self.per_viewer:+.2%} of a core (N {self.low}→{self.high})"


def slope(steps: Sequence[Step]) -> Slope:
    """From the first step to the last unsaturated one (to the last step if only the first is unsaturated)."""
    calm = [s for s in steps if not s.saturated]
    first, last = (calm[0], calm[-1]) if len(calm) >= 2 else (steps[0], steps[-1])
    return Slope((last.server - first.server) / (last.n - first.n), first.n, last.n, last.saturated)


@dataclass(slots=True)
class Sweep:
    """One server's steps; for Kvorum, the HLS samples (seconds behind, target duration) too."""

    steps: list[Step] = field(default_factory=list)
    hls: list[tuple[float, float]] = field(default_factory=list)


async def sweep(
    name: str, clients: Clients, server: ServerProcess, token: str, sizes: Sequence[int], args: argparse.Namespace
) -> Sweep:
    """Publish to ``server``, measure every N (the baseline stops once saturated), then leave."""
    from session_server.demo import SESSION_ID

    base = f"http://{server.authority}"
    publish = {"do": "publish", "base": base, "session": SESSION_ID, "token": token, "noise": args.noise}
    await clients.ask(clients.publisher, publish)
    await asyncio.sleep(args.settle)
    say()
    say(name)
    header()
    done = Sweep()
    steps = done.steps
    try:
        for n in sizes:
            steps.append(await measure(clients, server.pid, base, SESSION_ID, n, args))
            say(row(steps[-1], steps[-2] if len(steps) > 1 else None))
            if name != "kvorum" and steps[-1].saturated and n != sizes[-1]:
                say(f"  the machine is saturated: N above {n} is not measured")
                break
        if name == "kvorum":
            done.hls = await live_edge(base, SESSION_ID, args.hls_samples)
            shown = ", ".join(f"{edge:.1f}" for edge, _ in done.hls)
            edge, target = max(done.hls)
            mean = sum(e for e, _ in done.hls) / len(done.hls)
            say(
                f"  HLS at N = {steps[-1].n}: newest picture behind by {shown} s (mean {mean:.1f}, max {edge:.1f}); "
                f"target duration {target:.0f} s, so a player ≈ {mean + 3 * target:.1f} s (at most "
                f"{edge + 3 * target:.1f} s) behind"
            )
    finally:
        await asyncio.gather(*(clients.ask(c, {"do": "leave"}) for c in clients.all), return_exceptions=True)
    return done


def summary(ours: Sweep, theirs: Sweep) -> str:
    """The last line: Kvorum's figures against the targets, and the baseline's."""
    per, bare = slope(ours.steps), slope(theirs.steps)
    p50, p95 = max(s.p(50) for s in ours.steps), max(s.p(95) for s in ours.steps)
    edge, target = max(ours.hls)
    player = edge + 3 * target
    cpu = "/".join(f"{s.server:.2f}" for s in ours.steps)
    sizes = "/".join(str(s.n) for s in ours.steps)
    at_least = "≥ " if bare.bound else ""
    ratio = bare.per_viewer / per.per_viewer
    parts = [
        f"video: kvorum server {cpu} cores at N = {sizes}",
        f"{per.per_viewer:+.1%} of a core per viewer [≤ {TARGET_PER_VIEWER:.0%} "
        f"{met(per.per_viewer <= TARGET_PER_VIEWER)}]",
        f"glass-to-glass p50 ≤ {p50:.0f} ms, p95 ≤ {p95:.0f} ms "
        f"[p50 ≤ {TARGET_P50_MS:.0f} ms {met(p50 <= TARGET_P50_MS)}]",
        f"HLS edge ≤ {edge:.1f} s [≤ {TARGET_BEHIND_S:.0f} s {met(edge <= TARGET_BEHIND_S)}], "
        f"a player ≤ {player:.1f} s [{met(player <= TARGET_BEHIND_S)}]",
        f"MediaRelay {at_least}{bare.per_viewer:+.1%} per viewer, {at_least}{ratio:.0f}× Kvorum",
    ]
    return "; ".join(parts)


# ---- the run --------------------------------------------------------------------------------------


async def operator_token(url: str, tmp: Path) -> str:
    """Seed the demo council; a day's access token for its video operator."""
    from session_server import demo
    from session_server.config import Settings
    from session_server.node import Node

    async with Node.open(Settings(database_url=url, data_dir=tmp, access_token_seconds=86400)) as kvorum:
        await demo.seed(kvorum)
        operator = next(u for u in await kvorum.accounts.list() if u.username == "operator")
        return kvorum.access.issue(operator)


async def run(args: argparse.Namespace) -> int:
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-video-")))
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        token = await operator_token(url, tmp)
        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_BROKER_URL="memory://")
        env |= {"KVORUM_DATA_DIR": str(tmp / "server"), "KVORUM_VIDEO_BITRATE_KBPS": str(BITRATE_KBPS)}

        start = JsonChild.start
        publisher = await start("benchmarks.video", "--child", "peers")
        stack.push_async_callback(publisher.stop)
        probes = await start("benchmarks.video", "--child", "peers")
        stack.push_async_callback(probes.stop)
        crowd = []
        for _ in range(args.crowd_processes):
            crowd.append(await start("benchmarks.video", "--child", "peers", "--discard"))
            stack.push_async_callback(crowd[-1].stop)
        clients = Clients(publisher, probes, crowd, args.probes)

        say(f"Kvorum video: {WIDTH}×{HEIGHT} at {FPS} fps, {BITRATE_KBPS / 1000:g} Mbit/s; {args.seconds:g} s per N")
        say(f"  database  {redacted(url)} ({origin}); demo council, the operator publishes over WHIP")
        say(
            f"  clients   a publisher, {args.probes} decoding probe(s), the rest in {args.crowd_processes} process(es) "
            "that do not decode"
        )
        say(f"  machine   {os.cpu_count()} cores, Python {platform.python_version()}, aiortc and PyAV {av.__version__}")
        say(
            "  columns   ok: viewers connected; server, per +1: cores; machine: all cores busy; sent: publisher fps; "
            "got: fps per viewer; kbit/s per viewer; g2g: glass-to-glass at the probes"
        )

        sweeps: dict[str, Sweep] = {}
        for name, sizes in (("kvorum", args.sizes), ("baseline: aiortc MediaRelay", args.baseline_sizes)):
            role = "kvorum" if name == "kvorum" else "baseline"
            server = ChildServer(role, env | {"KVORUM_PORT": str(free_port())}, tmp / f"{role}.log")
            try:
                await server.ready()
                sweeps[role] = await sweep(name, clients, server, token, sizes, args)
            finally:
                await asyncio.to_thread(server.stop)

        per, bare = slope(sweeps["kvorum"].steps), slope(sweeps["baseline"].steps)
        ratio = f"{'≥ ' if bare.bound else ''}{bare.per_viewer / per.per_viewer:.1f}"
        say()
        say(f"server CPU per extra viewer: Kvorum {per}, MediaRelay {bare}; MediaRelay ÷ Kvorum {ratio}")
        say(summary(sweeps["kvorum"], sweeps["baseline"]))
        return 0
    return 1  # unreachable: the stack does not swallow exceptions


def child(role: str, discard: bool) -> int:
    """``--child ROLE``: the Kvorum server, the baseline server, or a process of peers."""
    if role == "peers":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us by closing stdin
        return run_on_fastest_loop(serve_peers(discard))
    loopback_only()
    if role == "kvorum":
        from session_server.cli import main as kvorum

        return kvorum(["serve"])
    uvicorn.run(baseline_app(), host=HOST, port=int(os.environ["KVORUM_PORT"]), log_level="warning")
    return 0


def sizes(raw: str) -> list[int]:
    values = [int(v) for v in raw.split(",") if v.strip()]
    if len(values) < 2 or values != sorted(set(values)) or not all(1 <= v <= 100 for v in values):
        raise argparse.ArgumentTypeError("at least two increasing viewer counts between 1 and 100")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.video", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=sizes, default=[1, 10, 25, 50], help="Kvorum's viewer counts")
    parser.add_argument("--baseline-sizes", type=sizes, default=[1, 2, 3, 5, 10, 25], help="the baseline's")
    parser.add_argument("--probes", type=bounded(1, 2, int), default=1, help="viewers that decode (default 1)")
    parser.add_argument("--seconds", type=bounded(2, 60, float), default=8.0, help="measured per N (default 8)")
    parser.add_argument("--settle", type=bounded(1, 30, float), default=3.0, help="wait after viewers join")
    parser.add_argument("--crowd-processes", type=bounded(1, 8, int), default=2, help="non-decoding viewers' processes")
    parser.add_argument(
        "--noise", choices=["soft", "full"], default="soft", help="the picture's noise: grey ± 16 levels or full range"
    )
    parser.add_argument("--quick", action="store_true", help="N = 1, 10 and 1, 2; 4 s each")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    parser.add_argument("--child", choices=["kvorum", "baseline", "peers"], help=argparse.SUPPRESS)
    parser.add_argument("--discard", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.discard)
    if args.quick:
        args.sizes, args.baseline_sizes, args.seconds, args.settle = [1, 10], [1, 2], 4.0, 2.0
    args.hls_samples = 2 if args.quick else HLS_SAMPLES
    return run_on_fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
