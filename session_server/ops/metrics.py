"""``/metrics`` (issue 21): what a council's IT staff watch on a sitting day, in the Prometheus exposition
format, through the official ``prometheus-client`` library — on a port of its own, never on the public path.

``KVORUM_METRICS_ADDRESS=127.0.0.1:9464`` serves ``GET /metrics`` there (off when unset). Each server
process has its own registry and its own port (one process per node, as Kvorum runs): Prometheus scrapes
each node, and sums or compares them itself — no multi-process directory is needed.

Counted as they happen (``Metrics``): every command by type and outcome, with its latency; sign-ins by
outcome (throttled ones included); hub resyncs (a subscriber too slow told to catch up); webhook deliveries
and failures; witness cosignatures and failures. Read at each scrape (``_Scrape``): the database pool's use,
the fan-out's subscribers and backlog (how late the oldest waiting event is), each consumer's events behind,
failing and parked, the broker's state, and on a video node its ingests, viewers and encoders, and each
broadcast's ingest, WebRTC and HLS viewers, pictures encoded and packets slow viewers did not get.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Final

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from session_server.domain.events import parse_time

__all__ = ["METRICS", "Metrics", "serve_metrics"]

log = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""A command's seconds from arrival to its durable commit: a ballot takes a few milliseconds."""


class Metrics:
    """The counters and histograms the server updates as things happen (one registry per process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "kvorum_commands",
            "Commands decided, by type and outcome (ok, or the refusal's code, or error)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "kvorum_command_seconds",
            "Seconds from a command's arrival to its durable commit (or refusal), by type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sign_ins = Counter(
            "kvorum_sign_ins",
            "Sign-ins by outcome (ok, wrong_password, disabled, throttled)",
            ["outcome"],
            registry=self.registry,
        )
        self.resyncs = Counter(
            "kvorum_hub_resyncs",
            "Subscribers too slow for the fan-out, told to catch up from their last event",
            registry=self.registry,
        )
        self.webhooks = Counter(
            "kvorum_webhook_deliveries",
            "Webhook deliveries by outcome (delivered, failed, parked)",
            ["outcome"],
            registry=self.registry,
        )
        self.cosignatures = Counter(
            "kvorum_witness_cosignatures",
            "Witness cosignatures by witness and outcome (stored, failed)",
            ["witness", "outcome"],
            registry=self.registry,
        )

        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def command(self, type_: str, outcome: str, seconds: float) -> None:
        """One command decided: its count and latency (each label pair's children looked up once)."""
        children = self._children.get((type_, outcome))
        if children is None:
            children = (self.commands.labels(type_, outcome), self.command_seconds.labels(type_))
            self._children[(type_, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)


METRICS: Final = Metrics()
"""This process's metrics (a server runs one node per process)."""


class _Scrape(Collector):
    """What is read at each scrape from the running services (filled in by ``refresh`` just before)."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)

    async def refresh(self, state: Mapping[str, Any]) -> None:
        families: list[Metric] = []
        node = state.get("node")
        if node is not None:
            pool = node.pool
            used = GaugeMetricFamily("kvorum_db_pool_connections", "PostgreSQL pool connections", labels=["state"])
            used.add_metric(["open"], pool.get_size())
            used.add_metric(["idle"], pool.get_idle_size())
            used.add_metric(["max"], pool.get_max_size())
            families.append(used)
            hub = getattr(node, "hub", None)
            if hub is not None:
                families.append(
                    GaugeMetricFamily(
                        "kvorum_fanout_subscribers", "Screens following sittings live", value=hub.subscribers
                    )
                )
                queued, longest, oldest = hub.backlog()
                lag = (
                    0.0 if oldest is None else max(0.0, (dt.datetime.now(dt.UTC) - parse_time(oldest)).total_seconds())
                )
                families += [
                    GaugeMetricFamily("kvorum_fanout_queued", "Events waiting in the screens' queues", value=queued),
                    GaugeMetricFamily(
                        "kvorum_fanout_longest_queue", "Events waiting for the screen furthest behind", value=longest
                    ),
                    GaugeMetricFamily(
                        "kvorum_fanout_lag_seconds",
                        "Age of the oldest event still waiting to reach a screen (0: every screen is current)",
                        value=lag,
                    ),
                ]
            broker = getattr(node, "broker", None)
            if broker is not None:
                connected = 1.0 if getattr(broker, "connected", True) else 0.0  # an in-memory broker is always up
                families.append(
                    GaugeMetricFamily(
                        "kvorum_broker_up", "Whether the node reaches the broker (1) or not (0)", value=connected
                    )
                )
        consumers = state.get("consumers")
        if consumers is not None:
            with contextlib.suppress(Exception):  # a database away or slow: the pool's figures still say so
                async with asyncio.timeout(2):
                    status = await consumers.status()
                behind = GaugeMetricFamily(
                    "kvorum_consumer_behind", "Events a consumer has not handled yet", labels=["consumer"]
                )
                failing = GaugeMetricFamily("kvorum_consumer_failing", "Events a consumer retries", labels=["consumer"])
                parked = GaugeMetricFamily("kvorum_consumer_parked", "Events a consumer parked", labels=["consumer"])
                for c in status["consumers"]:
                    behind.add_metric([c["name"]], c["behind"])
                    failing.add_metric([c["name"]], c["failing"])
                    parked.add_metric([c["name"]], c["parked"])
                families += [behind, failing, parked]
        studio = state.get("studio")
        stats: dict[str, int] = {}
        if studio is not None and hasattr(studio, "stats"):
            with contextlib.suppress(Exception):
                stats = studio.stats()
        if stats:
            for name, value in stats.items():
                families.append(
                    GaugeMetricFamily(f"kvorum_video_{name}", f"The video node's {name.replace('_', ' ')}", value=value)
                )
        if studio is not None and hasattr(studio, "sessions"):
            with contextlib.suppress(Exception):
                families += _video_sessions(studio.sessions())
        self.families = families


def _video_sessions(sessions: Iterable[Mapping[str, Any]]) -> list[Metric]:
    """Each broadcast on this node: its ingest, viewers, encoded pictures (their rate is the frame rate) and
    the packets viewers that fell behind did not get."""
    up = GaugeMetricFamily(
        "kvorum_video_ingest_up",
        "Whether a broadcast has its publisher or camera (1) or waits for one (0)",
        labels=["session"],
    )
    viewers = GaugeMetricFamily(
        "kvorum_video_session_viewers", "A broadcast's viewers by kind (webrtc, hls)", labels=["session", "kind"]
    )
    frames = CounterMetricFamily("kvorum_video_frames", "Pictures encoded for a broadcast", labels=["session"])
    dropped = CounterMetricFamily(
        "kvorum_video_viewer_dropped_packets",
        "Packets not sent to viewers that fell behind (or joined between keyframes)",
        labels=["session"],
    )
    for one in sessions:
        session = str(one["session"])
        up.add_metric([session], 1 if one["ingest"] else 0)
        viewers.add_metric([session, "webrtc"], one["webrtc"])
        viewers.add_metric([session, "hls"], one["hls"])
        frames.add_metric([session], one["frames"])
        dropped.add_metric([session], one["dropped"])
    return [up, viewers, frames, dropped]


def _app(state: Mapping[str, Any]) -> Starlette:
    scrape = _Scrape()
    METRICS.registry.register(scrape)

    async def metrics(request: Request) -> Response:
        await scrape.refresh(state)
        return Response(generate_latest(METRICS.registry), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(routes=[Route("/metrics", metrics)])
    app.state.unregister = lambda: METRICS.registry.unregister(scrape)
    return app


class _Beside(uvicorn.Server):
    """A server beside the node's own: the process's signals stay the main server's to handle."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_metrics(address: tuple[str, int] | None, state: Mapping[str, Any]) -> AsyncIterator[int | None]:
    """Serve ``/metrics`` on ``address`` (host, port) while the node runs; yields the port (None: off)."""
    if address is None:
        yield None
        return
    # the socket bound here: a port already taken is an error naming it, not uvicorn's exit of the process
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(f"KVORUM_METRICS_ADDRESS {address[0]}:{address[1]}: {exc.strerror or exc}") from None
    app = _app(state)
    # log_config None: uvicorn leaves the process's logging (plain or JSON, redacted) as it is
    config = uvicorn.Config(app, log_config=None, lifespan="off")
    server = _Beside(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="metrics")
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the metrics server stopped as it started")
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    log.info("metrics on http://%s:%d/metrics", address[0], port)
    try:
        yield port
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        app.state.unregister()
