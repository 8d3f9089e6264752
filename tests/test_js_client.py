"""The reference JavaScript client (web/kvorum-client.js) in headless Chromium against the real server.

The page is web/client-test.html, served by the app at ``/static/``, so the page and the socket
share an origin. Its harness (web/client-test.js) records every socket the client opened and what
it sent, and can put the network "offline" (new sockets then go to a port that refuses them).
Sockets are dropped or doctored from outside with Playwright's WebSocket routing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import rfc8785
from browser_support import Browser, Page, WebSocketRoute  # skips the module without a browser
from conftest import Demo, outlive

SESSION = "c8-s45"
WAIT_MS = 10_000
SOCKETS = re.compile(r"/ws/sessions/")


@pytest.fixture
async def page(browser: Browser, demo_council: Demo) -> AsyncIterator[Page]:
    """A blank page; ``load`` opens the test page (route sockets before it, as routing needs)."""
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[Exception] = []
    page.on("pageerror", lambda error: errors.append(error))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def load(page: Page, demo: Demo) -> None:
    await page.goto(f"{demo.server.url}/static/client-test.html")
    await page.wait_for_function("window.kvorumTest !== undefined", timeout=WAIT_MS)


async def start(page: Page, demo: Demo, user: str, **options: Any) -> None:
    """Load the page and start a client on the demo session as ``user``."""
    await load(page, demo)
    await page.evaluate(
        "([token, session, options]) => { kvorumTest.token = token; kvorumTest.start(session, options); }",
        [await demo.token(user), SESSION, options],
    )


async def until(page: Page, condition: str, arg: Any = None) -> None:
    """Wait until ``condition`` (a JS expression over ``client``, ``log``, ``arg``) holds in the page."""
    await page.wait_for_function(
        f"(arg) => {{ const t = kvorumTest, client = t.client, log = t.log; return {condition}; }}",
        arg=arg,
        timeout=WAIT_MS,
    )


async def js(page: Page, expression: str, arg: Any = None) -> Any:
    """Evaluate ``expression`` (over ``client``, ``log``, ``arg``) in the page."""
    return await page.evaluate(
        f"(arg) => {{ const t = kvorumTest, client = t.client, log = t.log; return {expression}; }}", arg
    )


async def server_chain(demo: Demo) -> tuple[list[dict[str, Any]], str]:
    """The session's events as the HTTP API serves them, checked in Python, and the head hash."""
    response = await demo.client.get(f"/api/v1/sessions/{SESSION}/events", params={"limit": 5000})
    events: list[dict[str, Any]] = response.json()["events"]
    prev = bytes(32)
    for n, event in enumerate(events, start=1):
        assert event["seq"] == n
        body = {k: v for k, v in event.items() if k != "hash"}
        digest = hashlib.sha256(prev + rfc8785.dumps(body)).hexdigest()
        assert digest == event["hash"]
        prev = bytes.fromhex(digest)
    return events, prev.hex()


async def test_a_fresh_client_gets_the_snapshot_then_every_event_in_order(page: Page, demo_council: Demo) -> None:
    demo = demo_council
    await start(page, demo, "deputy01")
    await until(page, "log.snapshots.length === 1 && client.status === 'open'")
    assert await js(page, "t.sockets[0].sent.slice(1, 3)") == [{"type": "sync", "since": 0}, {"type": "ping"}]
    assert await js(page, "[client.snapshotSeq, client.state.status, client.state.agenda.length]") == [
        1,
        "scheduled",
        5,
    ]
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    for n in range(1, 6):
        await demo.ok(f"deputy{n:02d}", "presence.register")
    head = await demo.head()
    await until(page, "client.lastSeq === arg", head)
    events, head_hash = await server_chain(demo)
    assert await js(page, "log.seqs") == list(range(2, head + 1))
    assert await js(page, "client.events") == events[1:]
    assert await js(page, "client.lastHash") == head_hash
    assert await js(page, "log.errors") == []
    assert await js(page, "log.status") == ["connecting", "open"]


async def test_a_dropped_client_reconnects_and_resumes_from_its_last_seq(page: Page, demo_council: Demo) -> None:
    demo = demo_council
    await start(page, demo, "deputy02")
    await until(page, "log.snapshots.length === 1")
    await demo.ok("chair", "session.open")
    await until(page, "client.lastSeq === 2")
    await js(page, "(t.offline = true, t.dropSocket())")
    await until(page, "client.status !== 'open' && t.sockets.length >= 2")  # it is trying, and failing
    await demo.ok("secretary", "registration.open")  # while the tablet is offline
    for n in (2, 3, 4):
        await demo.ok(f"deputy{n:02d}", "presence.register")
    users = {u.username: u for u in await demo.server.kvorum.accounts.list()}
    refreshed = demo.server.kvorum.access.issue(users["deputy02"])
    await js(page, "(t.token = arg, t.offline = false)", refreshed)
    head = await demo.head()
    await until(page, "client.lastSeq === arg && client.status === 'open'", head)
    _, head_hash = await server_chain(demo)
    assert await js(page, "log.seqs") == list(range(2, head + 1))  # each exactly once
    assert await js(page, "client.lastHash") == head_hash
    assert await js(page, "log.snapshots") == [1]  # resumed, not started afresh
    assert await js(page, "t.sockets.at(-1).sent.filter(m => m.type !== 'ping')") == [
        {"type": "auth", "token": refreshed},
        {"type": "sync", "since": 2},
    ]
    assert await js(page, "log.errors") == []


def doctor_first_connection(page_side: WebSocketRoute, doctor: Any, connections: list[int]) -> None:
    """Relay one routed socket to the server; on the first connection pass server messages through ``doctor``."""
    connections.append(len(connections) + 1)
    first = len(connections) == 1
    server = page_side.connect_to_server()

    def from_server(message: str | bytes) -> None:
        data = json.loads(message)
        if first:
            data = doctor(data)
        if data is not None:
            page_side.send(json.dumps(data))

    server.on_message(from_server)


def forge_registration(data: dict[str, Any]) -> dict[str, Any]:
    if data["type"] == "event" and data["event"]["seq"] == 4:
        data["event"]["payload"]["deputy"] = "d08"  # someone else registered; the hash is left as it was
    return data


def lose_seq_3(data: dict[str, Any]) -> dict[str, Any] | None:
    return None if data["type"] == "event" and data["event"]["seq"] == 3 else data


@pytest.mark.parametrize(
    ("doctor", "reason", "refused_seq"),
    [(forge_registration, "broken_chain", 4), (lose_seq_3, "out_of_order", 4)],
    ids=["forged-payload", "missing-seq"],
)
async def test_an_event_that_does_not_chain_is_refused_and_fetched_again(
    page: Page, demo_council: Demo, doctor: Any, reason: str, refused_seq: int
) -> None:
    demo = demo_council
    connections: list[int] = []
    await page.route_web_socket(SOCKETS, lambda ws: doctor_first_connection(ws, doctor, connections))
    await start(page, demo, "deputy01")
    await until(page, "log.snapshots.length === 1")
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await demo.ok("deputy07", "presence.register")
    await until(page, "client.lastSeq === 4 && log.errors.length > 0")
    [error] = await js(page, "log.errors")
    assert error["reason"] == reason and error["event"]["seq"] == refused_seq
    good_seq = refused_seq - 1 if reason == "broken_chain" else 2
    assert error["lastSeq"] == good_seq  # the client stayed at the last good event
    assert await js(page, "t.sockets.at(-1).sent[1]") == {"type": "sync", "since": good_seq}
    assert len(connections) == 2
    events, head_hash = await server_chain(demo)
    assert await js(page, "log.seqs") == [2, 3, 4]
    assert await js(page, "client.events") == events[1:]
    assert await js(page, "client.events.at(-1).payload") == {"deputy": "d07"}
    assert await js(page, "client.lastHash") == head_hash


async def test_the_chain_check_refuses_doctored_events(page: Page, demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    events, head_hash = await server_chain(demo)
    await load(page, demo)
    check = """async ({events, doctor}) => {
        const {verifyNext, ZERO_HASH} = kvorumTest;
        events = structuredClone(events);
        if (doctor === "hash") events[1].hash = events[0].hash;
        if (doctor === "at") events[2].at = "2026-01-01T00:00:00.000Z";
        if (doctor === "skip") events.splice(1, 1);
        if (doctor === "fraction") events[2].payload.seconds = 1.5;
        let seq = 0, hash = ZERO_HASH;
        try {
            for (const event of events) [seq, hash] = [event.seq, await verifyNext(seq, hash, event)];
        } catch (exc) {
            return {refused: exc.reason, seq, hash};
        }
        return {seq, hash};
    }"""
    assert await page.evaluate(check, {"events": events, "doctor": None}) == {"seq": 3, "hash": head_hash}
    for doctor, reason, stopped_at in [
        ("hash", "broken_chain", 1),
        ("at", "broken_chain", 2),
        ("skip", "out_of_order", 1),
        ("fraction", "bad_event", 2),
    ]:
        result = await page.evaluate(check, {"events": events, "doctor": doctor})
        assert result == {"refused": reason, "seq": stopped_at, "hash": events[stopped_at - 1]["hash"]}, doctor


async def test_a_command_sent_while_offline_is_sent_on_reconnect_and_acknowledged_once(
    page: Page, demo_council: Demo
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await start(page, demo, "secretary")
    await until(page, "client.lastSeq === 2 && client.status === 'open'")
    await js(page, "(t.offline = true, t.dropSocket())")
    await until(page, "client.status !== 'open' && t.sockets.length >= 2")
    await js(
        page,
        "void client.send({id: 'open-reg', type: 'registration.open'}).then(a => t.acked = a, e => t.failed = e)",
    )
    assert await js(page, "[...client.unacknowledged.keys()]") == ["open-reg"]
    assert await demo.head() == 2  # nothing reached the server
    await js(page, "t.offline = false")
    await until(page, "t.acked !== undefined || t.failed !== undefined")
    assert await js(page, "[t.acked, t.failed === undefined]") == [{"id": "open-reg", "seq": 3}, True]
    await until(page, "client.lastSeq === 3")
    assert await js(page, "log.acks") == [{"id": "open-reg", "seq": 3}]
    assert await js(page, "client.unacknowledged.size") == 0
    events, _ = await server_chain(demo)
    assert [e["type"] for e in events].count("registration.opened") == 1
    assert (await demo.state())["state"]["registration_open"] is True


async def test_a_command_whose_ack_was_lost_is_resent_and_acts_once(page: Page, demo_council: Demo) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    lost: list[dict[str, Any]] = []

    def route(page_side: WebSocketRoute) -> None:
        server = page_side.connect_to_server()

        async def from_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data["type"] == "ack" and not lost:  # committed, but the tablet never hears of it
                lost.append(data)
                await page_side.close()
                await server.close()
                return
            page_side.send(message)

        server.on_message(from_server)

    await page.route_web_socket(SOCKETS, route)
    await start(page, demo, "deputy07")
    await until(page, "client.lastSeq === 3 && client.status === 'open'")
    await js(page, "void client.send({id: 'here-d07', type: 'presence.register'}).then(a => t.acked = a)")
    await until(page, "t.acked !== undefined")
    head = await demo.head()
    assert lost == [{"type": "ack", "id": "here-d07", "seq": head}]
    assert await js(page, "t.acked") == {"id": "here-d07", "seq": head}
    assert await js(page, "log.acks.length") == 1
    sent = await js(page, "t.sockets.map(s => s.sent.filter(m => m.type === 'command').map(m => m.command.id))")
    assert sent == [["here-d07"], ["here-d07"]]  # it really was sent twice
    events, head_hash = await server_chain(demo)
    assert [e["payload"] for e in events if e["type"] == "presence.registered"] == [{"deputy": "d07"}]
    await until(page, "client.lastSeq === arg", head)
    assert await js(page, "client.lastHash") == head_hash


@pytest.mark.parametrize("how", ["resync-message", "close-4000"])
async def test_a_resync_reconnects_at_once(page: Page, demo_council: Demo, how: str) -> None:
    demo = demo_council
    connections: list[int] = []

    async def route(page_side: WebSocketRoute) -> None:
        connections.append(len(connections) + 1)
        server = page_side.connect_to_server()
        if len(connections) > 1:
            return

        async def from_server(message: str | bytes) -> None:
            page_side.send(message)
            if json.loads(message)["type"] == "snapshot":
                if how == "resync-message":
                    page_side.send(json.dumps({"type": "resync"}))
                else:
                    await page_side.close(code=4000, reason="too far behind")

        server.on_message(from_server)

    await page.route_web_socket(SOCKETS, route)
    # With a minute's backoff only the immediate path can reconnect within the wait.
    await start(page, demo, "deputy01", minDelay=60_000, maxDelay=60_000)
    await until(page, "log.snapshots.length === 1")
    await demo.ok("chair", "session.open")
    await until(page, "client.lastSeq === 2 && t.sockets.length === 2")
    assert await js(page, "t.sockets[1].sent[1]") == {"type": "sync", "since": 1}
    assert await js(page, "log.seqs") == [2]


JCS_CASES: list[Any] = [
    # RFC 8785 §3.2.3: sorted by UTF-16 code units, so U+1F600 (D83D DE00) comes before U+FB33.
    {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\x80": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    },
    {"10": 1, "9": 2, "a": [], "": {}},  # JS puts integer-like keys first; JCS sorts them as strings
    'quote " backslash \\ slash / tab \t newline \n nul \x00 unit separator \x1f del \x7f',
    "\u2028\u2029 line separators, \u00e9 and e\u0301, Київ, \U0001f600",
    [None, True, False, 0, -1, 9007199254740991, -9007199254740991, "", [], {}],
    {"payload": {"vote": "v1", "choice": "for", "deputies": ["d01", "d02"]}, "seq": 42, "type": "ballot.cast"},
]


async def test_the_page_canonicalises_json_as_python_rfc8785_does(page: Page, demo_council: Demo) -> None:
    await load(page, demo_council)
    for value in JCS_CASES:
        got = await page.evaluate("v => Array.from(new TextEncoder().encode(kvorumTest.canonicalize(v)))", value)
        assert bytes(got) == rfc8785.dumps(value), value
    refused = await page.evaluate(
        """() => [1.5, 2 ** 60, "\\ud800 alone", undefined, new Date(0)].map(v => {
            try { kvorumTest.canonicalize({v}); return "accepted"; } catch (exc) { return exc.name; }
        })"""
    )
    assert refused == ["TypeError"] * 5


async def test_a_command_refused_for_an_expired_token_goes_through_on_the_same_socket_with_a_fresh_one(
    page: Page, demo_council: Demo
) -> None:
    demo = demo_council
    users = {u.username: u for u in await demo.server.kvorum.accounts.list()}
    short = await demo.short_token("chair")
    await load(page, demo)
    await page.evaluate("([t, s]) => { kvorumTest.token = t; kvorumTest.start(s); }", [short, SESSION])
    await until(page, "log.snapshots.length === 1 && client.status === 'open'")
    await outlive(short)
    fresh = demo.server.kvorum.access.issue(users["chair"])
    await js(page, "t.token = arg", fresh)  # what the page's Auth would hand out now
    await page.evaluate("kvorumTest.client.send({id: 'open-1', type: 'session.open'}).then(a => kvorumTest.opened = a)")
    await until(page, "t.opened !== undefined")
    assert await js(page, "t.opened.id") == "open-1"
    assert await js(page, "t.sockets.length") == 1  # no reconnect, no reload: re-authenticated in place
    sent = await js(page, "t.sockets[0].sent.filter(m => m.type !== 'ping').map(m => m.type)")
    assert sent == ["auth", "sync", "command", "auth", "command"]
    assert await js(page, "t.sockets[0].sent.filter(m => m.type === 'auth').at(-1).token") == fresh
    assert await js(page, "log.errors") == []
    assert (await demo.state())["state"]["status"] == "open"


async def test_a_silent_link_is_shown_as_lost_within_a_few_seconds_and_the_client_reconnects(
    page: Page, demo_council: Demo
) -> None:
    demo = demo_council
    silent = {"on": False}

    def relay(page_side: WebSocketRoute) -> None:
        server = page_side.connect_to_server()
        # a cut Wi-Fi: nothing arrives, and nothing tells the socket so
        server.on_message(lambda message: None if silent["on"] else page_side.send(message))

    await page.route_web_socket(SOCKETS, relay)
    await start(page, demo, "deputy01", pingInterval=300, deadAfter=1200)
    await until(page, "client.status === 'open'")
    await until(page, "t.sockets[0].sent.filter(m => m.type === 'ping').length >= 3")  # pings while quiet
    assert await js(page, "client.status") == "open"  # answered: the light is right to be green
    silent["on"] = True
    started = asyncio.get_running_loop().time()
    await until(page, "log.status.at(-1) !== 'open'")
    assert asyncio.get_running_loop().time() - started < 5  # the cut shows within seconds, not minutes
    assert "silent" in await js(page, "log.errors.map(e => e.reason)")
    silent["on"] = False
    await demo.ok("chair", "session.open")
    await until(page, "client.status === 'open' && client.lastSeq === 2")
    assert await js(page, "t.sockets.length") >= 2  # a new connection, resumed from its last seq
