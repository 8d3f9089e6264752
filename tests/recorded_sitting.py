"""A small council's whole day with every kind of council and sitting event, run under a fixed clock and
fixed entropy so that its log comes out the same, byte for byte, every time.

``tests/fixtures/recorded-sitting.jsonl`` holds that log as it was first recorded (one ledger leaf a
line): the events on the wire and in the ledger are a public format, and a change to how events are
made or read must leave every byte of it as it was (``test_recorded_sitting``). The same events are
the one fixture set that both folds, Python's ``evolve`` and the screens' ``session-state.js``, are
held to.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_bridge.decisions import Documents, document_stream
from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER
from portal_bridge.documents import digest
from session_server.application import Application, council_stream, session_stream
from session_server.config import Settings
from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER
from session_server.domain.roles import Actor, Role
from session_server.extensions import Core
from session_server.ledger.trees import Ledger
from session_server.store.events import StoredEvent
from session_server.store.sittings import SittingRows

FIXTURE = Path(__file__).parent / "fixtures" / "recorded-sitting.jsonl"
COUNCIL = "golden"
SESSION = "g-s1"
DOCUMENT = "pr-1"
SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
"""The mayor's signing key: fixed, so that its (deterministic) Ed25519 signatures are recorded too."""
SIGNER_KEY_ID = "mayor-2026"

ADMIN = Actor("admin", Role.ADMIN)
SECRETARY = Actor("secretary", Role.SECRETARY)
CHAIR = Actor("chair", Role.CHAIR, "mayor")
OPERATOR = Actor("operator", Role.OPERATOR)
DEPUTIES = {member: Actor(f"deputy{member[1:]}", Role.DEPUTY, member) for member in ("d1", "d2", "d3", "d4", "d5")}


class FixedClock:
    """Noon on a fixed day, one second later at each reading."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return datetime(2026, 11, 24, 10, 0, tzinfo=UTC) + timedelta(seconds=next(self._ticks))


class FixedEntropy:
    """Bytes 0, 1, 2… on the first call, 1, 2, 3… on the next: never random, never twice the same."""

    def __init__(self) -> None:
        self._calls = itertools.count()

    def __call__(self, size: int) -> bytes:
        start = next(self._calls)
        return bytes((start + i) % 256 for i in range(size))


async def run(application: Application) -> list[StoredEvent]:
    """Run the day through ``application`` (made with ``FixedClock`` and ``FixedEntropy``); its whole log."""
    ids = (f"c{n}" for n in itertools.count(1))

    async def council(actor: Actor, type_: str, **fields: Any) -> None:
        command = COUNCIL_COMMAND_ADAPTER.validate_python({"id": next(ids), "type": type_, **fields})
        await application.execute(council_stream(COUNCIL), command, actor)

    async def sitting(actor: Actor, type_: str, **fields: Any) -> list[StoredEvent]:
        command = SESSION_COMMAND_ADAPTER.validate_python({"id": next(ids), "type": type_, **fields})
        return list((await application.execute(session_stream(SESSION), command, actor)).events)

    await council(
        ADMIN,
        "council.create",
        council=COUNCIL,
        name="Тестова міська рада",
        composition=6,
        rules=["majority_of_composition", "two_thirds_of_composition", "majority_of_registered"],
        first_ballot_final=False,
        demo=True,
        signed_ballots=False,
        results="live",  # as councils were made when the day was recorded: ballots seen as cast
        rp_id="localhost",
        origins=["http://localhost:8000"],
    )
    roster = [
        ("d1", "Ірина Мельник", "Слуга народу", "female"),
        ("d2", "Андрій Ковальчук", "Слуга народу", "male"),
        ("d3", "Марія Білик", "Європейська солідарність", "female"),
        ("d4", "Олег Шевчук", "Європейська солідарність", "male"),
        ("d5", "Ганна Бондар", None, "female"),
        ("d6", "Петро Ткач", None, "male"),
    ]
    for member, name, faction, gender in roster:
        await council(ADMIN, "deputy.add", deputy=member, name=name, faction=faction, mayor=False, gender=gender)
    await council(
        ADMIN, "deputy.add", deputy="mayor", name="Олена Сидоренко", faction=None, mayor=True, gender="female"
    )
    await council(SECRETARY, "deputy.update", deputy="d2", faction="Європейська солідарність")
    await council(
        ADMIN,
        "council.configure",
        holidays=["2026-12-25"],
        factions=["Слуга народу", "Європейська солідарність"],
        procedural_rule="majority_of_registered",
        signer_keys={SIGNER_KEY_ID: base64.b64encode(SIGNER.public_key().public_bytes_raw()).decode()},
    )
    await council(ADMIN, "credential.enroll", deputy="d1", credential="Y3JlZC1kMQ", public_key="cHVibGljLWtleQ")
    await council(SECRETARY, "credential.revoke", credential="Y3JlZC1kMQ", reason="планшет загублено")

    await sitting(
        SECRETARY,
        "session.schedule",
        session_id=SESSION,
        number=1,
        convocation=8,
        date="2026-11-24",
        title="1 сесія Тестової міської ради VIII скликання",
        agenda=[
            {"id": "i1", "number": "1", "title": "Про бюджет громади на 2027 рік", "draft": "ПР-1"},
            {"id": "i2", "number": "2", "title": "Про сквер на вулиці Соборній"},
        ],
    )
    await sitting(SECRETARY, "item.add", item="i3", number="3", title="Про звернення до уряду")
    await sitting(SECRETARY, "item.update", item="i2", title="Про сквер на вулиці Соборності")
    await sitting(SECRETARY, "item.remove", item="i3")
    await sitting(CHAIR, "session.open")
    await sitting(SECRETARY, "registration.open")
    for actor in [*DEPUTIES.values(), CHAIR]:
        await sitting(actor, "presence.register")
    await sitting(SECRETARY, "registration.close")
    await sitting(DEPUTIES["d5"], "presence.leave")

    await sitting(CHAIR, "item.start", item="i1")
    await sitting(DEPUTIES["d2"], "speaker.request")
    await sitting(CHAIR, "speaker.grant", deputy="d2", seconds=120)
    await sitting(CHAIR, "speaker.finish")
    await sitting(DEPUTIES["d3"], "conflict.declare", item="i1", reason="моя родина володіє ділянкою")
    opened = await sitting(
        CHAIR, "vote.open", item="i1", subject="в цілому", rule="majority_of_composition", seconds=60
    )
    vote = opened[0].payload["vote"]
    for member, choice in (("d1", "for"), ("d2", "for"), ("d4", "against")):
        await sitting(DEPUTIES[member], "ballot.cast", vote=vote, choice=choice)
    await sitting(CHAIR, "ballot.cast", vote=vote, choice="for")
    await sitting(DEPUTIES["d4"], "ballot.cast", vote=vote, choice="for")  # changed before the close
    await sitting(CHAIR, "vote.close", vote=vote)
    cancelled = await sitting(
        CHAIR, "vote.open", item="i1", subject="повторно", rule="majority_of_registered", seconds=30
    )
    await sitting(CHAIR, "vote.cancel", vote=cancelled[0].payload["vote"], reason="помилка у формулюванні")
    await sitting(CHAIR, "item.finish", item="i1")

    proposal = {"number": "4", "title": "Про перейменування вулиці", "draft": "ПР-4"}
    opened = await sitting(
        CHAIR,
        "vote.open",
        subject="про включення до порядку денного",
        rule="majority_of_registered",
        seconds=30,
        purpose="agenda_add",
        proposal=proposal,
    )
    vote = opened[0].payload["vote"]
    for actor in (DEPUTIES["d1"], DEPUTIES["d2"], DEPUTIES["d3"], CHAIR):
        await sitting(actor, "ballot.cast", vote=vote, choice="for")
    await sitting(CHAIR, "vote.close", vote=vote)

    await decision(application, ids)

    await sitting(OPERATOR, "broadcast.start", source="whip")
    await sitting(ADMIN, "broadcast.interrupt", reason="зв'язок з камерою втрачено")
    await sitting(OPERATOR, "broadcast.start", source="camera")
    await sitting(OPERATOR, "broadcast.stop")
    await sitting(CHAIR, "session.close")
    return [
        *await application.store.read(council_stream(COUNCIL)),
        *await application.store.read(session_stream(SESSION)),
        *await application.store.read(document_stream(DOCUMENT)),
    ]


async def decision(application: Application, ids: Iterator[str]) -> None:
    """A draft's whole life as a decision document: registered, published, scheduled (late, with the
    override), adopted, signed by the mayor, published, its execution assigned and reported."""

    async def document(actor: Actor, type_: str, **fields: Any) -> None:
        command = DOCUMENT_COMMAND_ADAPTER.validate_python({"id": next(ids), "type": type_, **fields})
        await documents.execute(DOCUMENT, command, actor)

    documents = Documents(extension_core(application))
    await document(
        SECRETARY,
        "document.register",
        document=DOCUMENT,
        number="ПР-1",
        title="Про бюджет громади на 2027 рік",
        initiator="Виконавчий комітет",
        rapporteur="Ірина Мельник",
        text="Затвердити бюджет громади на 2027 рік.\nДодаток 1 — доходи.",
    )
    await document(SECRETARY, "document.attach", name="dodatok-1.pdf", sha256="ab" * 32, size=1024)
    await document(SECRETARY, "document.publish_draft", date="2026-11-20")
    await document(
        SECRETARY,
        "document.schedule",
        session=SESSION,
        item="i1",
        date="2026-11-24",
        override_reason="бюджетний процес",
    )
    await document(
        ADMIN, "document.record_outcome", session=SESSION, vote="v1", outcome="adopted", decision_number="1-VIII"
    )
    state = await application.current(document_stream(DOCUMENT))
    await document(
        CHAIR,
        "document.sign",
        algorithm="ed25519",
        key_id=SIGNER_KEY_ID,
        signature=base64.b64encode(SIGNER.sign(digest(state))).decode(),
    )
    await document(SECRETARY, "document.publish", date="2026-11-25")
    await document(SECRETARY, "execution.assign", unit="Фінансове управління", deadline="2027-01-31")
    await document(SECRETARY, "execution.report", status="done", note="виконано")


def extension_core(application: Application, ledger: Ledger | None = None) -> Core:
    """The face the portal is given, over the application's own store."""
    pool = application.store.pool
    return Core(Settings(), application, application.store, pool, SittingRows(pool), ledger)


def recorded() -> list[bytes]:
    """The leaves of the day as first recorded."""
    return [line.encode() for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


EXPORT = FIXTURE.with_name("recorded-sitting.ledger.json")
DECISION_EXPORT = FIXTURE.with_name("recorded-decision.json")


async def record(database_url: str) -> None:
    """Write both fixtures anew from a fresh database: only when a deliberate, versioned change of the
    event format says so (``python tests/recorded_sitting.py postgresql://…/empty_database``)."""
    import asyncpg
    import orjson

    from session_server.application import core_application
    from session_server.extensions import migrations
    from session_server.http.ledger_routes import EXPORT_FORMAT, export_stream
    from session_server.ledger.trees import Ledger
    from session_server.store.events import EventStore
    from session_server.store.schema import migrate

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await migrate(conn, migrations())
        application = core_application(EventStore(pool), clock=FixedClock(), entropy=FixedEntropy())
        events = await run(application)
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text("".join(e.leaf.decode() + "\n" for e in events), encoding="utf-8")
        ledger = Ledger(pool, origin="golden.example/kvorum")
        await ledger.load_keys()
        export = {
            "format": EXPORT_FORMAT,
            "session": SESSION,
            "council": COUNCIL,
            "keys": ledger.vkeys(),
            "session_ledger": await export_stream(ledger, session_stream(SESSION)),
            "council_ledger": await export_stream(ledger, council_stream(COUNCIL)),
        }
        EXPORT.write_bytes(orjson.dumps(export, option=orjson.OPT_INDENT_2) + b"\n")
        decision_export = await Documents(extension_core(application, ledger)).export(DOCUMENT)
        DECISION_EXPORT.write_bytes(orjson.dumps(decision_export, option=orjson.OPT_INDENT_2) + b"\n")
    finally:
        await pool.close()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(record(sys.argv[1]))
