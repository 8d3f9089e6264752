"""``kvorum verify`` over a generated ledger of 100,000 events, signed ballots among them.

``python -m benchmarks.verify [--events 100000] [--deputies 450] [--unsigned-share 0.0]``

The ledger is made in-process by the real pure domain (``decide``/``evolve``), the real store
format (``voting.canonical.seal``) and the real checkpoint signer, no server: a council of
``--deputies`` deputies, each with an enrolled soft authenticator; one session where all register;
then votes, each opened, voted by every deputy (a WebAuthn-signed ballot; ``--unsigned-share`` of
the votes on a demo council's unsigned path is not offered: a council signs all or none), closed,
with a checkpoint signed at each close as the server does, until the session holds ``--events``.

Measured: the baseline, SHA-256 of every leaf's bytes alone (the least any verifier must do); then
``kvorum verify <file>`` in this process (read, parse, audit: chain, Merkle roots, checkpoints,
consistency proofs, every signature, every rule, every tally). Target: ≥ 20,000 events/s.

Then the two parts it overlaps, each alone: the ordered pass (everything but the signature checks,
which must run in order in one process) and the signature checks (a sample on one core, for all the
ballots on every core). ``kvorum verify`` can go no faster than the slower of the ordered pass and
both parts shared by all cores: that ceiling is printed too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import hashlib
import io
import itertools
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks._authenticator import Tablet
from benchmarks._harness import bounded, say
from session_server.domain.audit import audit
from session_server.domain.commands import COMMAND_ADAPTER
from session_server.domain.council import CouncilState, decide_council, evolve_council
from session_server.domain.events import format_time
from session_server.domain.roles import Actor, Context, Role
from session_server.domain.session import SessionState, decide, evolve
from session_server.store.events import StoredEvent
from voting.ballot import Assertion, PreparedAssertion, ballot_bytes, check_signature, from_b64url, nonce_for
from voting.canonical import GENESIS, seal
from voting.checkpoint import Checkpoint, NoteSigner
from voting.merkle import MerkleTree

TARGET = 20_000.0
ORIGIN_HOST = "kvorum.bench"
COUNCIL, SESSION = "bench", "bench-s1"
ADMIN = Actor("admin", Role.ADMIN)
CHAIR = Actor("chair", Role.CHAIR)


def _trusting(ballot: bytes, assertion: Assertion, credential: Any, rp_id: str, origins: Sequence[str]) -> int:
    """Generation only: the tablets' signatures are good, skip re-checking them here (the verifier will)."""
    return int.from_bytes(assertion.authenticator_data[33:37], "big")


class Stream:
    """Events appended with the store's exact leaf format, in memory."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.events: list[StoredEvent] = []
        self.head = GENESIS

    def append(self, type_: str, payload: Any, actor: str, at: str) -> StoredEvent:
        seq = len(self.events) + 1
        digest, leaf = seal(self.head, stream=self.stream, seq=seq, type=type_, payload=payload, actor=actor, at=at)
        event = StoredEvent(self.stream, seq, type_, payload, actor, at, digest, leaf)
        self.events.append(event)
        self.head = bytes.fromhex(digest)
        return event


class Generator:
    def __init__(self, deputies: int) -> None:
        self.clock = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        self.members = [f"d{n:03d}" for n in range(1, deputies + 1)]
        self.council_stream = Stream(f"council:{COUNCIL}")
        self.session_stream = Stream(f"session:{SESSION}")
        self.council: CouncilState | None = None
        self.session: SessionState | None = None
        self.tablets: dict[str, Tablet] = {}
        self.commands = itertools.count(1)
        self.checkpoint_sizes: list[int] = []

    def tick(self) -> Context:
        self.clock += timedelta(milliseconds=1)
        return Context(CHAIR, self.clock)

    def council_do(self, fields: dict[str, Any]) -> None:
        command: Any = COMMAND_ADAPTER.validate_python({"id": f"c{next(self.commands)}", **fields})
        at = self.tick().at
        for e in decide_council(self.council, command, Context(ADMIN, at)):
            self.council = evolve_council(
                self.council, self.council_stream.append(e.type, e.payload, "admin", format_time(at))
            )

    def session_do(self, actor: Actor, fields: dict[str, Any], **ctx: Any) -> list[StoredEvent]:
        command: Any = COMMAND_ADAPTER.validate_python({"id": f"s{next(self.commands)}", **fields})
        assert self.council is not None
        context = Context(actor, self.tick().at, **ctx)
        out = []
        for e in decide(self.session, self.council, command, context):
            event = self.session_stream.append(e.type, e.payload, actor.username, format_time(context.at))
            self.session = evolve(self.session, event)
            out.append(event)
        return out

    def build(self, events: int) -> None:
        composition = len(self.members)
        self.council_do(
            {"type": "council.create", "council": COUNCIL, "name": "Рада (benchmark)", "composition": composition}
        )
        for m in self.members:
            self.council_do({"type": "deputy.add", "deputy": m, "name": f"Депутат {m}", "faction": "F"})
            tablet = Tablet("http://localhost:8000")
            credential, public_key = tablet.create_directly("localhost", m.encode())
            self.tablets[m] = tablet
            self.council_do(
                {"type": "credential.enroll", "deputy": m, "credential": credential, "public_key": public_key}
            )
        schedule = {"type": "session.schedule", "session_id": SESSION, "number": 1, "convocation": 9}
        schedule |= {"date": "2026-11-24", "title": "Benchmark", "agenda": [{"id": "i1", "number": "1", "title": "T"}]}
        self.session_do(ADMIN, schedule)
        for fields in ({"type": "session.open"}, {"type": "registration.open"}):
            self.session_do(CHAIR, fields)
        for m in self.members:
            self.session_do(Actor(f"u{m}", Role.DEPUTY, m), {"type": "presence.register"})
        self.session_do(CHAIR, {"type": "item.start", "item": "i1"})
        for number in itertools.count(1):
            if len(self.session_stream.events) + composition + 2 > events:
                break
            opened = self.session_do(
                CHAIR,
                {
                    "type": "vote.open",
                    "item": "i1",
                    "subject": f"№{number}",
                    "rule": "majority_of_composition",
                    "seconds": 900,
                },
                entropy=os.urandom(16),
            )[0]
            seed = str(opened.payload["nonce_seed"])
            for i, m in enumerate(self.members):
                choice = ("for", "against", "abstain")[(i + number) % 3]
                nonce = nonce_for(seed, m, 0)
                data = ballot_bytes(
                    council=COUNCIL,
                    session=SESSION,
                    vote=str(opened.payload["vote"]),
                    item="i1",
                    deputy=m,
                    choice=choice,
                    nonce=nonce,
                )
                cast: dict[str, Any] = {"type": "ballot.cast", "vote": opened.payload["vote"], "choice": choice}
                cast["nonce"] = nonce
                cast["assertion"] = self.tablets[m].sign(data)
                self.session_do(Actor(f"u{m}", Role.DEPUTY, m), cast, check_assertion=_trusting)
            self.session_do(CHAIR, {"type": "vote.close", "vote": opened.payload["vote"]})
            self.checkpoint_sizes.append(len(self.session_stream.events))

    def export(self, signer: NoteSigner) -> dict[str, Any]:
        def ledger(stream: Stream, origin: str, sizes: list[int]) -> dict[str, Any]:
            leaves = [e.leaf for e in stream.events]
            tree = MerkleTree(leaves)
            sizes = sorted(set(sizes) | {len(leaves)})
            return {
                "origin": origin,
                "leaves": [base64.b64encode(leaf).decode() for leaf in leaves],
                "checkpoints": [signer.sign(Checkpoint(origin, s, tree.root(s))) for s in sizes],
                "consistency": [
                    {"from": a, "to": b, "hashes": [base64.b64encode(h).decode() for h in tree.consistency_proof(a, b)]}
                    for a, b in itertools.pairwise(sizes)
                ],
            }

        return {
            "format": "kvorum-ledger-v1",
            "session": SESSION,
            "council": COUNCIL,
            "keys": [signer.vkey],
            "session_ledger": ledger(self.session_stream, f"{ORIGIN_HOST}/{COUNCIL}/{SESSION}", self.checkpoint_sizes),
            "council_ledger": ledger(self.council_stream, f"{ORIGIN_HOST}/{COUNCIL}", []),
        }


class Dropped:
    """A signature sink that checks nothing: to time the ordered pass alone."""

    def add(self, index: int, prepared: PreparedAssertion) -> None:
        pass

    def first_failure(self, before: int | None = None) -> tuple[int, str] | None:
        return None

    def discard(self) -> None:
        pass


def ordered_pass(path: Path) -> float:
    """Seconds the audit takes without checking a signature (as the CLI runs it: no cycle collection)."""
    export = orjson.loads(path.read_bytes())
    gc.disable()
    try:
        began = time.perf_counter()
        audit(export, signatures=Dropped())
        return time.perf_counter() - began
    finally:
        gc.enable()


def one_signature(generator: Generator, sample: int = 2000) -> float:
    """Seconds one core takes per ballot signature check, over a sample of the ledger's ballots."""
    assert generator.council is not None
    keys = {c.id: c.public_key for c in generator.council.credentials.values()}
    jobs = []
    for event in itertools.islice((e for e in generator.session_stream.events if e.type == "ballot.cast"), sample):
        assertion = event.payload["assertion"]
        signed = from_b64url(assertion["authenticator_data"])
        signed += hashlib.sha256(from_b64url(assertion["client_data_json"])).digest()
        jobs.append((keys[assertion["credential"]], from_b64url(assertion["signature"]), signed))
    for job in jobs:  # each key decoded once, as the verifier does
        check_signature(*job)
    began = time.perf_counter()
    for job in jobs:
        check_signature(*job)
    return (time.perf_counter() - began) / len(jobs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--events", type=bounded(1000, 2_000_000, int), default=100_000, help="session events (default 100,000)"
    )
    parser.add_argument("--deputies", type=bounded(10, 1000, int), default=450, help="deputies (default 450)")
    args = parser.parse_args(argv)
    from session_server.cli import main as kvorum

    say(f"Kvorum verify: a generated ledger of about {args.events:,} session events, {args.deputies} deputies")
    say(f"  machine   {os.cpu_count()} cores, Python {platform.python_version()}")
    began = time.perf_counter()
    generator = Generator(args.deputies)
    generator.build(args.events)
    export = generator.export(NoteSigner(ORIGIN_HOST, Ed25519PrivateKey.generate()))
    events = len(generator.session_stream.events) + len(generator.council_stream.events)
    ballots = sum(1 for e in generator.session_stream.events if e.type == "ballot.cast")
    say(
        f"  generated {len(generator.session_stream.events):,} session + {len(generator.council_stream.events):,} "
        f"council events ({ballots:,} WebAuthn-signed ballots, {len(generator.checkpoint_sizes)} votes, "
        f"{len(export['session_ledger']['checkpoints'])} checkpoints) in {time.perf_counter() - began:.1f} s"
    )
    with tempfile.TemporaryDirectory(prefix="kvorum-verify-") as tmp:
        path = Path(tmp) / "ledger.json"
        path.write_bytes(orjson.dumps(export))
        say(f"  file      {path.stat().st_size / 2**20:.1f} MiB")
        leaves = [e.leaf for e in generator.session_stream.events + generator.council_stream.events]
        began = time.perf_counter()
        for leaf in leaves:
            hashlib.sha256(leaf).digest()
        base = time.perf_counter() - began
        say(f"baseline: SHA-256 of each leaf alone: {base * 1000:.0f} ms, {events / base:,.0f} events/s")
        out = io.StringIO()
        began = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = kvorum(["verify", str(path)])
        spent = time.perf_counter() - began
        for line in out.getvalue().splitlines()[:3]:
            say(f"  {line}")
        rate = events / spent
        say(
            f"kvorum verify: exit {code}, {spent:.2f} s, {rate:,.0f} events/s ({ballots / spent:,.0f} signed ballots/s)"
        )
        alone = ordered_pass(path)
    cores = os.cpu_count() or 1
    signature = one_signature(generator)
    signatures = ballots * signature / cores
    say(f"  the ordered pass alone (no signature checked): {alone:.2f} s, {alone / events * 1e6:.0f} µs/event")
    say(
        f"  one signature check: {signature * 1e6:.0f} µs on one core; all {ballots:,} on {cores} cores: "
        f"{signatures:.2f} s, {events / signatures:,.0f} events/s"
    )
    ceiling = events / max(alone, alone / cores + signatures)
    say(f"  ceiling here: the slower of the ordered pass and both parts on {cores} cores: {ceiling:,.0f} events/s")
    verdict = "met" if code == 0 and rate >= TARGET else "NOT met"
    say(
        f"verify: {events:,} events in {spent:.2f} s = {rate:,.0f} events/s [≥ {TARGET:,.0f} {verdict}], "
        f"baseline hashing {events / base:,.0f} events/s, ratio {rate / (events / base):.3f}, "
        f"ceiling here {ceiling:,.0f} events/s" + ("" if code == 0 else "; VERIFY FAILED")
    )
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
