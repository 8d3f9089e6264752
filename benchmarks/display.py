"""The chamber display: from the server's ``vote.closed`` to the result on the screen; the tablet's first load.

``python -m benchmarks.display [--votes 30] [--ballots 18] [--loads 10] [--sealed] [--committee] [--database-url URL]``

With ``--sealed`` the council seals results until each close (issue 17): the ballots are commitments, and
the close records every opening before ``vote.closed``; the target is the same. With ``--committee`` a
standing committee (7 members, deputies 20–26) sits on the same node all the while (issue 19): over a
connection of its own its chair opens votes on its conclusion, its members vote and the chair closes
them, one after another with no pause, while the plenary's rounds are measured; each of its closes is timed
to its result on the committee's own display (``/display/budget-c8-s1``, a second page) in the same way,
and both displays' p95 are held to the same target.

A fresh database (as in ``benchmarks.ballots``), the demo council «voznesensk» seeded in-process, then
``python -m session_server serve`` on a loopback port. Headless Chromium (flags from NOTES.md) opens
``/display/c8-s45`` at 1920×1080 and waits until it is connected. Over HTTP (``benchmarks._http``) the
chair opens the session and registration, 18 deputies register (quorum), item i1 starts; then
``--votes`` rounds, one after another: vote.open with a unique subject, ``--ballots`` unsigned ballots
(the demo council takes them), the display shows the vote and its count, then vote.close.

Per round, t0 is the ``vote.closed`` event's ``at`` (the server's clock, the same machine's) from the
close command's reply, and:

- display: before vote.close is sent, a MutationObserver in the page is armed; it stamps
  ``performance.timeOrigin + performance.now()`` when ``#roll-call[data-vote="uk:<vote>"]`` is set
  and ``#results-panel`` is shown (display.js fills the totals and outcome just before, in the same
  task); latency = that − t0. Also stamped: the next animation frame (the frame that paints it), and
  when the page's EventSource dispatched the ``vote.closed`` message (an init script wraps
  EventSource to add a stamping listener first), splitting the time into transport and rendering;
- baseline, same run: a raw SSE client in this process (an ``asyncio.Protocol`` stamping in
  ``data_received``) follows ``/api/v1/sessions/c8-s45/stream``; floor = its ``vote.closed``
  arrival − t0: the transport without a page;
- the close command's HTTP reply − t0.

Then the tablet's first load, ``--loads`` times, each in a fresh browser context (empty cache):
``/tablet`` until the sign-in form is shown (``#sign-in`` loses ``hidden``: its handler is wired
before that), from navigation start, and the bytes transferred by every response of the load
(Playwright's ``request.sizes()``; Chromium sends ``Accept-Encoding: gzip, deflate, br, zstd``) and
the same bodies decoded. Targets: display p95 ≤ 100 ms; tablet < 150 KB (1 KB = 1,000 bytes of
response bodies) and interactive < 1 s, medians. The last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
from playwright.async_api import Page, async_playwright

from benchmarks import _display_page as in_page
from benchmarks._display_page import SESSION, STEP_SECONDS
from benchmarks._harness import (
    HOST,
    ServerProcess,
    bounded,
    free_port,
    fresh_database,
    ms,
    percentile,
    postgres_server,
    redacted,
    run_on_fastest_loop,
    say,
)
from benchmarks._http import HttpConnection, connect, request_bytes

QUORUM = 18  # of 34: just over half
TARGET_DISPLAY_MS = 100.0
TARGET_TABLET_KB = 150.0
TARGET_TABLET_S = 1.0


def wall(at: str) -> float:
    """Seconds since the epoch of an RFC 3339 time such as ``2026-11-20T10:00:00.123Z``."""
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def spread(values: Sequence[float]) -> str:
    if not values:
        return "no samples"
    return f"p50 {ms(percentile(values, 50))}, p95 {ms(percentile(values, 95))}, max {ms(max(values))}"


# ---- the council over HTTP ---------------------------------------------------------------------


@dataclass(slots=True)
class Api:
    """One keep-alive connection to the server, used by whoever's token is passed."""

    conn: HttpConnection
    authority: str

    async def call(self, path: str, body: dict[str, Any], token: str = "") -> tuple[dict[str, Any], float]:
        """POST ``body``; ``(reply, wall-clock time its last byte arrived)``; anything but 200/201 raises."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = request_bytes("POST", path, self.authority, headers=headers, body=orjson.dumps(body))
        async with asyncio.timeout(STEP_SECONDS):
            response = await self.conn.request(request)
        arrived = response.at + (time.time() - time.perf_counter())
        if response.status not in (200, 201):
            raise RuntimeError(f"{body.get('type', path)} refused: {response.status} {response.body[:200]!r}")
        reply: dict[str, Any] = orjson.loads(response.body)
        return reply, arrived

    async def login(self, username: str) -> str:
        reply, _ = await self.call("/api/v1/auth/login", {"username": username, "password": "demo"})
        return str(reply["access_token"])

    async def command(self, token: str, body: dict[str, Any], session: str = SESSION) -> tuple[dict[str, Any], float]:
        return await self.call(f"/api/v1/sessions/{session}/commands", body, token)


class SseFloor(asyncio.Protocol):
    """A plain SSE client: the wall-clock time each ``vote.closed`` frame reached this process."""

    def __init__(self, authority: str) -> None:
        self.authority = authority
        self.arrivals: dict[str, float] = {}
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._raw = bytearray()  # the chunked body not yet decoded
        self._sse = bytearray()  # decoded, not yet a whole frame
        self._head = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        request = f"GET /api/v1/sessions/{SESSION}/stream HTTP/1.1\r\nHost: {self.authority}\r\n"
        cast(asyncio.Transport, transport).write((request + "Accept: text/event-stream\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        at = time.time()
        self._raw += data
        if self._head:
            end = self._raw.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._raw[: self._raw.find(b"\r\n")])
            if b" 200 " not in status or b"chunked" not in self._raw[:end].lower():
                self.open.set_exception(RuntimeError(f"the stream answered {status!r}"))
                return
            del self._raw[: end + 4]
            self._head = False
            self.open.set_result(None)
        while (line := self._raw.find(b"\r\n")) >= 0:  # Transfer-Encoding: chunked
            size = int(bytes(self._raw[:line]).split(b";")[0], 16)
            if len(self._raw) < line + 2 + size + 2:
                break
            self._sse += self._raw[line + 2 : line + 2 + size]
            del self._raw[: line + 2 + size + 2]
        while (end := self._sse.find(b"\n\n")) >= 0:
            frame = bytes(self._sse[:end])
            del self._sse[: end + 2]
            if b"\nevent: vote.closed\n" in b"\n" + frame + b"\n":
                found = re.search(rb"^data: (.*)$", frame, re.MULTILINE)
                if found is not None:
                    self.arrivals[str(orjson.loads(found[1])["payload"]["vote"])] = at

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(exc or RuntimeError("the stream closed"))


# ---- the rounds --------------------------------------------------------------------------------


@dataclass(slots=True)
class Rounds:
    display: list[float] = field(default_factory=list)  # t0 → DOM shows the result
    frame: list[float] = field(default_factory=list)  # t0 → the next animation frame
    page_sse: list[float] = field(default_factory=list)  # t0 → the page's EventSource dispatched it
    render: list[float] = field(default_factory=list)  # EventSource dispatch → DOM
    floor: list[float] = field(default_factory=list)  # t0 → the plain SSE client had it
    reply: list[float] = field(default_factory=list)  # t0 → the close command's HTTP reply
    errors: list[str] = field(default_factory=list)


async def one_round(
    n: int, api: Api, chair: str, deputies: Sequence[str], page: Page, floor: SseFloor, out: Rounds
) -> None:
    subject = f"Питання №{n} (benchmark)"
    body = {"id": f"open-{n}", "type": "vote.open", "item": "i1", "subject": subject, "seconds": 600}
    opened, _ = await api.command(chair, body | {"rule": "majority_of_composition"})
    vote = str(opened["events"][0]["payload"]["vote"])
    for i, token in enumerate(deputies):
        choice = ("for", "for", "against", "abstain")[(i + n) % 4]
        await api.command(token, {"id": f"b{n}-{i}", "type": "ballot.cast", "vote": vote, "choice": choice})
    # The display has the vote and every ballot, so the close is the only thing it has to show.
    await in_page.wait_showing(page, subject, len(deputies))
    await in_page.arm(page, vote)
    closed, replied = await api.command(chair, {"id": f"close-{n}", "type": "vote.close", "vote": vote})
    event = next(e for e in closed["events"] if e["type"] == "vote.closed")
    t0 = wall(str(event["at"]))
    shown = await in_page.shown(page, vote)
    out.display.append(shown["dom"] / 1000 - t0)
    out.frame.append(shown["frame"] / 1000 - t0)
    out.reply.append(replied - t0)
    if shown["sse"] is not None:
        out.page_sse.append(shown["sse"] / 1000 - t0)
        out.render.append((shown["dom"] - shown["sse"]) / 1000)
    if vote in floor.arrivals:
        out.floor.append(floor.arrivals[vote] - t0)
    else:
        out.errors.append(f"the plain SSE client had no vote.closed for {vote} when the display showed it")


# ---- the run -----------------------------------------------------------------------------------


COMMITTEE = "budget-c8-s1"
COMMITTEE_MEMBERS = [f"d{n}" for n in range(20, 27)]


async def committee_sits(api: Api, page: Page, stop: asyncio.Event, shown: list[float], sitting: asyncio.Event) -> None:
    """The committee's sitting beside the plenary: its chair opens it and registration, its members register,
    item 1 is taken up, then conclusion votes one after another until ``stop``, each close timed to its result
    on the committee's own display (``page``) as the plenary's are: ``shown`` gets each latency."""
    tokens = [await api.login(f"deputy{m[1:]}") for m in COMMITTEE_MEMBERS]
    chair = tokens[0]
    for type_ in ("session.open", "registration.open"):
        await api.command(chair, {"id": f"c-{type_}", "type": type_}, COMMITTEE)
    for i, token in enumerate(tokens):
        await api.command(token, {"id": f"c-here-{i}", "type": "presence.register"}, COMMITTEE)
    await api.command(chair, {"id": "c-item", "type": "item.start", "item": "i1"}, COMMITTEE)
    sitting.set()  # the plenary's rounds begin now, with the committee voting beside them
    n = 0
    while not stop.is_set():
        n += 1
        body: dict[str, Any] = {"id": f"c-open-{n}", "type": "vote.open", "item": "i1", "subject": f"Висновок {n}"}
        body |= {"seconds": 600, "kind": "conclusion", "recommendation": "support"}
        opened, _ = await api.command(chair, body, COMMITTEE)
        vote = str(opened["events"][0]["payload"]["vote"])
        for i, token in enumerate(tokens):
            ballot = {"id": f"c-b{n}-{i}", "type": "ballot.cast", "vote": vote, "choice": "for"}
            await api.command(token, ballot, COMMITTEE)
        await in_page.wait_showing(page, str(body["subject"]), len(tokens))
        await in_page.arm(page, vote)
        closed, _ = await api.command(chair, {"id": f"c-close-{n}", "type": "vote.close", "vote": vote}, COMMITTEE)
        event = next(e for e in closed["events"] if e["type"] == "vote.closed")
        shown.append((await in_page.shown(page, vote))["dom"] / 1000 - wall(str(event["at"])))


async def seed(url: str, tmp: Path, *, sealed: bool, committee: bool = False) -> None:
    from session_server import demo
    from session_server.application import SYSTEM, council_stream
    from session_server.config import Settings
    from session_server.domain.commands import CouncilConfigure
    from session_server.node import Node

    async with Node.open(Settings(database_url=url, data_dir=tmp)) as kvorum:
        await demo.seed(kvorum)
        # sealed: every vote sealed until its close (the close also opens every ballot), "counts" so that the
        # display shows how many have voted (the benchmark waits for that); else ballots as cast
        seal = CouncilConfigure(id="results", type="council.configure", results="counts" if sealed else "live")
        await kvorum.application.execute(council_stream(demo.COUNCIL_ID), seal, SYSTEM)
        if committee:
            from session_server.application import session_stream
            from session_server.domain.commands import AgendaItemIn, CommitteeCreate, SessionSchedule

            members = COMMITTEE_MEMBERS
            create = CommitteeCreate(
                id="committee",
                type="committee.create",
                committee="budget",
                name="Постійна комісія з питань бюджету",
                composition=len(members),
                members=members,
                chair=members[0],
            )
            await kvorum.application.execute(council_stream(demo.COUNCIL_ID), create, SYSTEM)
            schedule = SessionSchedule(
                id="committee-sitting",
                type="session.schedule",
                number=1,
                convocation=8,
                date="2026-12-10",
                title="Засідання комісії",
                agenda=[AgendaItemIn(number="1", title="Про бюджет", draft="ПР-102")],
                committee="budget",
            )
            await kvorum.application.execute(session_stream(COMMITTEE), schedule, SYSTEM)


async def steer(api: Api) -> tuple[str, list[str]]:
    """Log in the chair and a quorum; open the session and registration, register, start item i1."""
    chair = await api.login("chair")
    deputies = [await api.login(f"deputy{i:02d}") for i in range(1, QUORUM + 1)]
    await api.command(chair, {"id": "open", "type": "session.open"})
    await api.command(chair, {"id": "reg", "type": "registration.open"})
    for i, token in enumerate(deputies):
        await api.command(token, {"id": f"here-{i}", "type": "presence.register"})
    await api.command(chair, {"id": "item", "type": "item.start", "item": "i1"})
    return chair, deputies


def report_rounds(rounds: Rounds) -> tuple[float, float]:
    """Print the rounds' figures; ``(display p95, floor p95)``."""
    say(f"vote.closed (the event's `at`) → …, {len(rounds.display)} votes:")
    say(f"  result in the display's DOM     {spread(rounds.display)}")
    say(f"  … its next animation frame      {spread(rounds.frame)}")
    say(f"  page's EventSource dispatched   {spread(rounds.page_sse)}")
    say(f"  dispatch → DOM (display.js)     {spread(rounds.render)}")
    say(f"  plain SSE client (the floor)    {spread(rounds.floor)}")
    say(f"  close command's HTTP reply      {spread(rounds.reply)}")
    p95 = percentile(rounds.display, 95) if rounds.display else float("nan")
    floor95 = percentile(rounds.floor, 95) if rounds.floor else float("nan")
    say(f"  ratio display p95 ÷ floor p95   {p95 / floor95:.2f}")
    return p95, floor95


def report_loads(loads: Sequence[in_page.Load]) -> tuple[float, float]:
    """Print the tablet loads' figures; ``(median KB of bodies transferred, median seconds to interactive)``."""
    kb = statistics.median(x.body for x in loads) / 1000
    ready = statistics.median(x.interactive for x in loads)
    fastest, slowest = min(x.interactive for x in loads), max(x.interactive for x in loads)
    say(f"tablet first load (/tablet until #sign-in is shown), {len(loads)} fresh contexts, median:")
    say(f"  interactive {ms(ready)} (min {ms(fastest)}, max {ms(slowest)})")
    say(
        f"  transferred {kb:.1f} KB of bodies + {statistics.median(x.headers for x in loads) / 1000:.1f} KB "
        f"of headers; decoded {statistics.median(x.decoded for x in loads) / 1000:.1f} KB; {loads[-1].responses} "
        f"responses, {loads[-1].gzipped} with Content-Encoding (Accept-Encoding: {loads[-1].accept})"
    )
    return kb, ready


async def run(args: argparse.Namespace) -> int:
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvorum-bench-")))
        server_url, origin = await stack.enter_async_context(postgres_server(args.database_url, tmp))
        url = await stack.enter_async_context(fresh_database(server_url))
        await seed(url, tmp, sealed=args.sealed, committee=args.committee)
        env = dict(os.environ, KVORUM_DATABASE_URL=url, KVORUM_HOST=HOST, KVORUM_PORT=str(free_port()))
        env |= {"KVORUM_DATA_DIR": str(tmp / "server"), "KVORUM_ACCESS_TOKEN_SECONDS": "3600"}
        server = ServerProcess(env, tmp / "server.log")
        stack.callback(server.stop)
        await server.ready()
        base = f"http://{server.authority}"
        say(f"Kvorum display: {args.votes} votes of {args.ballots} ballots, {args.loads} tablet loads")
        sealing = "; results sealed until each close (--sealed)" if args.sealed else ""
        say(f"  database  {redacted(url)} ({origin}); demo council «voznesensk» seeded in-process{sealing}")
        say(f"  server    python -m session_server serve, pid {server.pid}, {server.authority}")

        api = Api(await connect(HOST, server.port), server.authority)
        stack.callback(api.conn.close)
        chair, deputies = await steer(api)
        say(f"  steering  chair and {QUORUM} deputies logged in; session.open, registration.open, register, item i1")
        loop = asyncio.get_running_loop()
        transport, floor = await loop.create_connection(lambda: SseFloor(server.authority), HOST, server.port)
        stack.callback(transport.close)
        await asyncio.wait_for(floor.open, STEP_SECONDS)

        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(executable_path=in_page.CHROMIUM, args=in_page.CHROMIUM_ARGS)
        stack.push_async_callback(browser.close)
        say(f"  browser   {in_page.CHROMIUM} {browser.version}, headless; display at 1920×1080")
        errors: list[str] = []
        page = await in_page.open_display(browser, base, errors)
        say(f"  clocks    {await in_page.clocks(page)}")
        say()

        stop = asyncio.Event()
        committee_shown: list[float] = []
        if args.committee:  # the committee sits on the same node, over a connection of its own, its own display
            committee_api = Api(await connect(HOST, server.port), server.authority)
            stack.callback(committee_api.conn.close)
            committee_page = await in_page.open_display(browser, base, errors, COMMITTEE)
            sitting = asyncio.Event()
            committee = asyncio.create_task(
                committee_sits(committee_api, committee_page, stop, committee_shown, sitting)
            )
            await asyncio.wait_for(sitting.wait(), 60)
        rounds = Rounds()
        for n in range(1, args.votes + 1):
            try:
                await one_round(n, api, chair, deputies[: args.ballots], page, floor, rounds)
            except (RuntimeError, TimeoutError) as exc:
                rounds.errors.append(f"round {n}: {exc!r}")
                break
            await asyncio.sleep(args.pause)
        if args.committee:
            stop.set()
            await committee
            committee_p95 = percentile(committee_shown, 95) if committee_shown else float("nan")
            committee_ok = bool(committee_shown) and committee_p95 * 1000 <= TARGET_DISPLAY_MS
            say(
                f"the committee's sitting meanwhile: {len(committee_shown)} conclusion votes closed on the same node;"
                f" on its own display p95 {ms(committee_p95)} [≤ {TARGET_DISPLAY_MS:g} ms {met(committee_ok)}]"
            )
        p95, floor95 = report_rounds(rounds)
        say()
        kb, ready = report_loads([await in_page.tablet_load(browser, base) for _ in range(args.loads)])
        say()

        errors = rounds.errors + errors
        for error in errors[:5]:
            say(f"error: {error}")
        display_ok = bool(rounds.display) and p95 * 1000 <= TARGET_DISPLAY_MS
        say(
            f"display: vote.closed → result on the display p95 {ms(p95)} "
            f"[≤ {TARGET_DISPLAY_MS:g} ms {met(display_ok)}] (SSE floor p95 {ms(floor95)}, ratio {p95 / floor95:.2f}); "
            f"tablet first load {kb:.1f} KB [< {TARGET_TABLET_KB:g} KB {met(kb < TARGET_TABLET_KB)}], "
            f"interactive {ms(ready)} [< {TARGET_TABLET_S:g} s {met(ready < TARGET_TABLET_S)}]"
            + (f"; {len(errors)} ERRORS" if errors else "")
        )
        return 1 if errors else 0
    return 1  # unreachable: the stack does not swallow exceptions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.display", description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=bounded(1, 200, int), default=30, help="votes to close (default 30)")
    parser.add_argument(
        "--ballots", type=bounded(0, QUORUM, int), default=QUORUM, help=f"ballots per vote (default {QUORUM})"
    )
    parser.add_argument("--loads", type=bounded(1, 50, int), default=10, help="tablet first loads (default 10)")
    parser.add_argument("--pause", type=bounded(0, 5, float), default=0.2, help="seconds between votes (default 0.2)")
    parser.add_argument("--sealed", action="store_true", help="the council seals results until each close")
    parser.add_argument("--committee", action="store_true", help="a standing committee sits on the same node meanwhile")
    parser.add_argument("--database-url", default=os.environ.get("KVORUM_DATABASE_URL"), help="PostgreSQL server")
    return run_on_fastest_loop(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
