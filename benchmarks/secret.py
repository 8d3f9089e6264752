"""Secret ballots (issue 20): what the tablet, the server and an auditor each spend on one.

``python -m benchmarks.secret [--ballots 450] [--browser-ballots 30] [--checks 200]``

1. **The tablet**: headless Chromium (Debian's, flags from NOTES.md) loads web/secret-ballot.js from a plain
   local file server and encrypts ``--browser-ballots`` ballots with their proofs under a commission key:
   p50/p95 per ballot against the 300 ms target; baseline, the same ballot made by the server's code
   (libsodium through PyNaCl) in this process, and the ratio.
2. **The server's check**: ``voting.secret.check_ballot`` (every proof) per second, against the signed-ballot
   figure in the same run — ``voting.ballot.verify_assertion`` of an ES256 WebAuthn assertion per second —
   and the ratio (a signed secret ballot costs both).
3. **The count**: a sitting of ``--ballots`` deputies (the pure domain, ``session.decide`` and ``evolve``, as
   the server runs it under the sitting's lock) whose commission of 3 (2 needed) made its key; every deputy
   casts an encrypted ballot; then, with the two members' partial decryptions made in between (their
   tablets' work, not timed), the time from ``vote.close`` to the published count: the product of all
   ballots, both decryptions checked, the counts combined — target ≤ 2 s.
4. **kvorum verify** of that vote: the audit decides every ballot, the close and both decryptions again —
   the same rules, timed over the same events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import random
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from benchmarks._authenticator import Tablet
from benchmarks._display_page import CHROMIUM, CHROMIUM_ARGS
from benchmarks._harness import bounded, ms, percentile, say
from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER
from session_server.domain.commission import commission_context, vote_context
from session_server.domain.council import CouncilState, decide_council, evolve_council
from session_server.domain.events import RecordedEvent, format_time
from session_server.domain.roles import Actor, Context, Role
from session_server.domain.session import SessionState, decide, evolve
from voting import commission as cm
from voting import group as g
from voting import secret as sb
from voting.ballot import Assertion, Credential, b64url, ballot_bytes, from_b64url, verify_assertion

WEB = Path(__file__).resolve().parent.parent / "web"
TARGET_TABLET_MS = 300
TARGET_COUNT_S = 2.0
T0 = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
ENTROPY = bytes(range(16))


# ---- 1. the tablet -----------------------------------------------------------------------------


@contextlib.contextmanager
def web_server() -> Iterator[str]:
    """web/ over plain HTTP on a loopback port (modules as JavaScript); its base URL."""

    class Files(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.extensions_map = {**self.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript"}
            super().__init__(*args, **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Files, directory=str(WEB))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


ENCRYPT_IN_PAGE = """async ([key, count]) => {
  const sb = await import("/secret-ballot.js");
  const options = ["for", "against", "abstain"];
  sb.encryptBallot(key, "for", "warm/up/v0", "d00");  // the module and its tables, once
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    sb.encryptBallot(key, options[i % 3], "voznesensk/c8-s45/v1", `d${i}`);
    times.push(performance.now() - started);
  }
  return times;
}"""


async def tablet(key: bytes, count: int) -> list[float]:
    """Milliseconds per ballot, encrypted with its proofs in Chromium."""
    with web_server() as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{base}/favicon.svg")
                times: list[float] = await page.evaluate(ENCRYPT_IN_PAGE, [b64url(key), count])
                say(f"  browser   {CHROMIUM} {browser.version}, headless; web/secret-ballot.js from {base}")
                return times
            finally:
                await browser.close()


# ---- 2. the server's check --------------------------------------------------------------------


def rate(work: Any, items: Sequence[Any]) -> float:
    """Items per second ``work`` gets through."""
    started = time.perf_counter()
    for item in items:
        work(item)
    return len(items) / (time.perf_counter() - started)


def signed_ballots(count: int) -> tuple[list[tuple[bytes, Assertion]], Credential]:
    """``count`` ES256 WebAuthn assertions over ballots, from one soft authenticator."""
    device = Tablet("http://localhost:8000")
    credential_id, cose = device.create_directly("localhost", b"d01")
    credential = Credential(credential_id, "d01", from_b64url(cose))
    made = []
    for n in range(count):
        data = ballot_bytes(
            council="voznesensk", session="c8-s45", vote="v1", item="i1", deputy="d01", choice="for", nonce=f"n{n}"
        )
        made.append((data, Assertion.from_json(device.sign(data))))
    return made, credential


# ---- 3 and 4. the count, and its audit ---------------------------------------------------------


class Sitting:
    """A plenary sitting through the pure domain: validate → decide → evolve, as the server does."""

    def __init__(self, deputies: int) -> None:
        self.members = [f"d{n:03d}" for n in range(1, deputies + 1)]
        self.council = self._council()
        self.state: SessionState | None = None
        self.seq = 0
        self.log: list[RecordedEvent] = []

    def _council(self) -> CouncilState:
        admin = Context(Actor("root", Role.ADMIN, None), T0)
        questions = [{"question": "secretary", "title": "Обрання секретаря ради", "citation": "п. 4 ч. 1 ст. 26"}]
        commands: list[dict[str, Any]] = [
            {"type": "council.create", "council": "vz", "name": "Рада", "composition": len(self.members)},
            *({"type": "deputy.add", "deputy": d, "name": d.upper()} for d in self.members),
            {"type": "council.configure", "secret_questions": questions},
        ]
        commands[0] |= {"demo": True, "signed_ballots": False, "results": "live"}
        state: CouncilState | None = None
        for n, raw in enumerate(commands, start=1):
            command = COUNCIL_COMMAND_ADAPTER.validate_python({"id": f"k{n}", **raw})
            for event in decide_council(state, command, admin):
                state = evolve_council(state, RecordedEvent(event.type, event.payload, n, format_time(T0)))
        assert state is not None
        return state

    def decide(self, who: str, type_: str, **fields: Any) -> list[Any]:
        staff = {"chair": Actor("chair", Role.CHAIR, None), "secretary": Actor("secretary", Role.SECRETARY, None)}
        actor = staff.get(who) or Actor(f"u-{who}", Role.DEPUTY, who)
        command = SESSION_COMMAND_ADAPTER.validate_python({"id": f"c{self.seq}", "type": type_, **fields})
        return decide(self.state, self.council, command, Context(actor, T0, entropy=ENTROPY))

    def apply(self, events: Sequence[Any]) -> None:
        for event in events:
            self.seq += 1
            recorded = RecordedEvent(event.type, event.payload, self.seq, format_time(T0))
            self.log.append(recorded)
            self.state = evolve(self.state, recorded)

    def do(self, who: str, type_: str, **fields: Any) -> None:
        self.apply(self.decide(who, type_, **fields))


def count_run(deputies: int) -> dict[str, float]:
    """Seconds: the close to the published count, and the audit of the vote (its ballots, close, decryptions)."""
    sitting = Sitting(deputies)
    agenda = [{"id": "i1", "number": "1", "title": "Про обрання секретаря ради"}]
    sitting.do(
        "secretary", "session.schedule", number=1, convocation=8, date="2026-12-10", title="1 сесія", agenda=agenda
    )
    sitting.do("chair", "session.open")
    sitting.do("chair", "registration.open")
    for member in sitting.members:
        sitting.do(member, "presence.register")
    sitting.do("chair", "item.start", item="i1")
    commission = sitting.members[:3]
    sitting.do("chair", "commission.elect", members=commission, threshold=2)
    assert sitting.state is not None
    context = commission_context("vz", sitting.state.id, 1)
    made = {m: cm.commit(context, i, 2) for i, m in enumerate(commission, start=1)}
    for m, (_, published) in made.items():
        sitting.do(m, "commission.commit", published=published)
    commitments = [cm.check_commitment(context, published, 2) for _, published in made.values()]
    deals = {secret.index: cm.deal(context, secret, commitments) for secret, _ in made.values()}
    for m, (secret, _) in made.items():
        sitting.do(m, "commission.deal", published=deals[secret.index])
    for m, (secret, _) in made.items():
        assert cm.receive(context, secret, commitments, deals) == []
        sitting.do(m, "commission.ready", published=cm.ready(context, secret))
    fields = {"item": "i1", "subject": "Обрання", "kind": "basis_and_whole", "seconds": 900}
    sitting.do("chair", "vote.open", secret=True, question="secretary", **fields)
    key = from_b64url(str(sitting.state.votes["v1"].key))
    ballots_context = vote_context("vz", sitting.state.id, "v1")
    choices = [random.choice(sb.OPTIONS) for _ in sitting.members]
    started_at = len(sitting.log)
    for member, choice in zip(sitting.members, choices, strict=True):
        sitting.do(member, "ballot.cast", vote="v1", encrypted=sb.encrypt_ballot(key, choice, ballots_context, member))

    # the close to the published count, the members' partial decryptions made in between (their tablets')
    started = time.perf_counter()
    closing = sitting.decide("chair", "vote.close", vote="v1")
    elapsed = time.perf_counter() - started
    sitting.apply(closing)
    vote = sitting.state.votes["v1"]
    assert vote.product is not None
    product = [sb.Ciphertext(from_b64url(p["a"]), from_b64url(p["b"])) for p in vote.product]
    partials = {}
    for m in commission[:2]:
        secret = made[m][0]
        assert secret.share is not None
        partials[m] = sb.partial(secret.share, secret.index, product, ballots_context)
    for m in commission[:2]:
        started = time.perf_counter()
        events = sitting.decide(m, "decryption.share", vote="v1", decryption=partials[m])
        elapsed += time.perf_counter() - started
        sitting.apply(events)
    tally = sitting.state.votes["v1"].tally
    assert tally is not None
    assert [tally.for_, tally.against, tally.abstain] == [choices.count(o) for o in sb.OPTIONS]

    # the audit of the vote: each of its events decided again against the sitting as it stood (replayed here)
    replay = Sitting.__new__(Sitting)
    replay.members, replay.council, replay.state, replay.seq, replay.log = sitting.members, sitting.council, None, 0, []
    for event in sitting.log[:started_at]:
        replay.apply([event])
    audited = 0.0
    for event in sitting.log[started_at:]:
        p = event.payload
        started = time.perf_counter()
        match event.type:
            case "ballot.encrypted":
                replay.decide(p["deputy"], "ballot.cast", vote=p["vote"], encrypted=p["encrypted"])
            case "vote.tallying":
                replay.decide("chair", "vote.close", vote=p["vote"])
            case "decryption.shared":
                replay.decide(p["member"], "decryption.share", vote=p["vote"], decryption=p["decryption"])
        audited += time.perf_counter() - started
        replay.apply([event])
    return {"count": elapsed, "audit": audited}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.secret", description=__doc__.split("\n")[0])
    parser.add_argument("--ballots", type=bounded(3, 450, int), default=450, help="deputies voting (default 450)")
    parser.add_argument("--browser-ballots", type=bounded(1, 200, int), default=30, help="ballots in Chromium")
    parser.add_argument("--checks", type=bounded(10, 2000, int), default=200, help="ballots checked per figure")
    args = parser.parse_args(argv)
    say("Kvorum secret ballots (issue 20): the tablet, the server's check, the count, its audit")
    key = g.base(g.random_scalar())

    times = asyncio.run(tablet(key, args.browser_ballots))
    python = []
    for n in range(args.browser_ballots):
        started = time.perf_counter()
        sb.encrypt_ballot(key, sb.OPTIONS[n % 3], "voznesensk/c8-s45/v1", f"d{n}")
        python.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    base50 = statistics.median(python)
    met = "met" if p95 <= TARGET_TABLET_MS else "NOT met"
    say(
        f"1. tablet: encryption with proofs p50 {p50:.1f} ms, p95 {p95:.1f} ms [≤ {TARGET_TABLET_MS} ms {met}];"
        f" the server's code p50 {base50:.2f} ms; ratio p50 {p50 / base50:.1f}"
    )

    made = [
        sb.encrypt_ballot(key, random.choice(sb.OPTIONS), "voznesensk/c8-s45/v1", f"d{n}") for n in range(args.checks)
    ]
    checked = rate(
        lambda pair: sb.check_ballot(key, pair[1], "voznesensk/c8-s45/v1", f"d{pair[0]}"), list(enumerate(made))
    )
    signed, credential = signed_ballots(args.checks)
    origins = ["http://localhost:8000"]
    verified = rate(
        lambda pair: verify_assertion(pair[0], pair[1], credential, rp_id="localhost", origins=origins), signed
    )
    say(
        f"2. server: secret ballots checked {checked:,.0f}/s (every proof); signed ballots verified {verified:,.0f}/s"
        f" (ES256, the same run); ratio {checked / verified:.2f}"
    )

    result = count_run(args.ballots)
    met = "met" if result["count"] <= TARGET_COUNT_S else "NOT met"
    say(
        f"3. count: vote.close → published count, {args.ballots} ballots, 2 of 3 decryptions:"
        f" {ms(result['count'])} [≤ {TARGET_COUNT_S:g} s {met}]"
    )
    audited = ms(result["audit"])
    say(f"4. kvorum verify of that vote ({args.ballots} ballots, the close, the decryptions decided again): {audited}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
