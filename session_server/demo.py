"""The demo council: «Вознесенська міська рада» with 34 fictional deputies, its mayor and a session.

Seeded only by ``kvorum demo``. Seeding is idempotent: every command has a fixed id, so running the
demo again replays instead of adding anything twice, and existing accounts are left alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from session_server.application import SYSTEM, council_stream, session_stream
from session_server.domain.commands import (
    AgendaItemIn,
    CommitteeCreate,
    CouncilConfigure,
    CouncilCreate,
    DeputyAdd,
    DeputyUpdate,
    Gender,
    SecretQuestion,
    SessionSchedule,
    WitnessSetting,
)
from session_server.domain.errors import DomainError
from session_server.identity.accounts import AccountError, hash_password
from session_server.node import Node
from session_server.witness.demo import DemoWitness
from voting.rules import Rule

COUNCIL_ID = "voznesensk"
COUNCIL_NAME = "Вознесенська міська рада"
COMPOSITION = 34
PASSWORD = "demo"
SESSION_ID = "c8-s45"

# Fictional people: no name here belongs to a real deputy.
_FACTIONS = (
    ("Громада", 10),
    ("Розвиток", 9),
    ("Рідне місто", 8),
    ("Народний контроль", 4),
    (None, 3),  # позафракційні
)
_NAMES: tuple[tuple[str, Gender], ...] = (
    ("Олена Бондар", "female"),
    ("Андрій Ковальчук", "male"),
    ("Ірина Мельник", "female"),
    ("Сергій Шевчук", "male"),
    ("Наталія Кравець", "female"),
    ("Віктор Олійник", "male"),
    ("Тетяна Лисенко", "female"),
    ("Олег Гончаренко", "male"),
    ("Юлія Ткаченко", "female"),
    ("Дмитро Поліщук", "male"),
    ("Оксана Марченко", "female"),
    ("Василь Руденко", "male"),
    ("Галина Савчук", "female"),
    ("Ігор Мороз", "male"),
    ("Людмила Панченко", "female"),
    ("Роман Кузьменко", "male"),
    ("Світлана Левченко", "female"),
    ("Микола Харченко", "male"),
    ("Марія Білик", "female"),
    ("Петро Онищенко", "male"),
    ("Ганна Сидоренко", "female"),
    ("Юрій Гаврилюк", "male"),
    ("Валентина Костенко", "female"),
    ("Богдан Остапенко", "male"),
    ("Лариса Яковенко", "female"),
    ("Артем Демченко", "male"),
    ("Катерина Науменко", "female"),
    ("Євген Тимошенко", "male"),
    ("Алла Власенко", "female"),
    ("Тарас Литвиненко", "male"),
    ("Вікторія Зінченко", "female"),
    ("Максим Приходько", "male"),
    ("Надія Кириленко", "female"),
    ("Олександр Фесенко", "male"),
)
MAYOR_NAME = "Михайло Степаненко"
MAYOR_GENDER: Gender = "male"

AGENDA = (
    (
        "1",
        "Про затвердження міської програми «Електронне урядування у виконавчих органах Вознесенської міської "
        "ради — ефективна влада для мешканців на 2011–2015 роки»",
        "ПР-101",
    ),
    ("2", "Про внесення змін до міського бюджету на 2026 рік", "ПР-102"),
    ("3", "Про затвердження Положення про громадський бюджет (бюджет участі) міста Вознесенська", "ПР-103"),
    ("4", "Про надання дозволу на розроблення проєкту землеустрою щодо відведення земельної ділянки", "ПР-104"),
    ("5", "Про звернення депутатів міської ради щодо ремонту мосту через Південний Буг", None),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One account the demo creates."""

    username: str
    role: str
    member: str | None
    name: str


def deputies() -> list[tuple[str, str, str | None]]:
    """``(member id, name, faction)`` of the 34 demo deputies."""
    return [(member, name, faction) for member, name, faction, _ in roster()[:-1]]


def roster() -> list[tuple[str, str, str | None, Gender]]:
    """``(member id, name, faction, gender)`` of the 34 demo deputies, then the mayor (member ``mayor``)."""
    out: list[tuple[str, str, str | None, Gender]] = []
    names = iter(_NAMES)
    for faction, size in _FACTIONS:
        for _ in range(size):
            name, gender = next(names)
            out.append((f"d{len(out) + 1:02d}", name, faction, gender))
    assert len(out) == COMPOSITION
    return [*out, ("mayor", MAYOR_NAME, None, MAYOR_GENDER)]


def accounts() -> list[DemoAccount]:
    """Every demo account: admin, secretary, operator (the video), chair (the mayor), deputy01…deputy34."""
    people = [
        DemoAccount("admin", "admin", None, "Адміністратор системи"),
        DemoAccount("secretary", "secretary", None, "Секретар ради"),
        DemoAccount("operator", "operator", None, "Оператор трансляції"),
        DemoAccount("chair", "chair", "mayor", MAYOR_NAME),
    ]
    people += [DemoAccount(f"deputy{member[1:]}", "deputy", member, name) for member, name, _ in deputies()]
    return people


async def seed(kvorum: Node, *, today: date | None = None) -> None:
    """Create the demo council, its accounts and a scheduled session (no-op for what exists)."""
    sessions = kvorum.application
    stream = council_stream(COUNCIL_ID)
    await sessions.execute(
        stream,
        CouncilCreate(
            id="demo-council",
            type="council.create",
            council=COUNCIL_ID,
            name=COUNCIL_NAME,
            composition=COMPOSITION,
            rules=list(Rule),
            first_ballot_final=False,
            # A demo council takes unsigned ballots so anyone can try it without enrolling a device;
            # the server warns about it at start, and the public state and verifier report it.
            demo=True,
            signed_ballots=False,
            rp_id=kvorum.settings.rp_id,
            origins=list(kvorum.settings.webauthn_origins),
        ),
        SYSTEM,
    )
    members = roster()
    await asyncio.gather(
        *(
            sessions.execute(
                stream,
                DeputyAdd(
                    id=f"demo-{member}",
                    type="deputy.add",
                    deputy=member,
                    name=name,
                    faction=faction,
                    mayor=member == "mayor",
                    gender=gender,
                ),
                SYSTEM,
            )
            for member, name, faction, gender in members
        )
    )
    # A demo seeded before genders were recorded gets them now (each correction once, by its fixed id).
    council = await sessions.council(COUNCIL_ID)
    for member, _, _, gender in members:
        if council.deputies[member].gender is None:
            update = DeputyUpdate(id=f"demo-gender-{member}", type="deputy.update", deputy=member, gender=gender)
            try:
                await sessions.execute(stream, update, SYSTEM)
            except DomainError as exc:
                if exc.code != "invalid_command":
                    raise
    digest = await asyncio.to_thread(hash_password, PASSWORD)  # one hash: every demo account has this password
    for account in accounts():
        try:
            await kvorum.accounts.add(
                account.username,
                PASSWORD,
                account.role,
                member=account.member,
                display_name=account.name,
                password_hash=digest,
                demo=True,
            )
        except AccountError as exc:
            if exc.code != "user_exists":
                raise
    await _secret_questions(sessions)
    day = today or date.today()
    await sessions.execute(
        session_stream(SESSION_ID),
        SessionSchedule(
            id="demo-session",
            type="session.schedule",
            session_id=SESSION_ID,
            number=45,
            convocation=8,
            date=day.isoformat(),
            title="45 сесія Вознесенської міської ради VIII скликання",
            agenda=[
                AgendaItemIn(id=f"i{number}", number=number, title=title, draft=draft)
                for number, title, draft in AGENDA
            ],
        ),
        SYSTEM,
    )


SECRET_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("secretary", "Обрання секретаря ради", "п. 4 ч. 1 ст. 26 Закону України «Про місцеве самоврядування в Україні»"),
    (
        "mayor-termination",
        "Дострокове припинення повноважень міського голови",
        "ч. 2 ст. 79 Закону України «Про місцеве самоврядування в Україні»",
    ),
)
"""The demo council's questions for secret ballots, each with the article it rests on (a council's own list
follows the law and its rules: the secretary keeps it with ``council.configure``)."""


async def _secret_questions(sessions: Any) -> None:
    """List the demo's questions for secret ballots once (a fixed id: a second seed replays it)."""
    questions = [SecretQuestion(question=q, title=title, citation=citation) for q, title, citation in SECRET_QUESTIONS]
    command = CouncilConfigure(id="demo-secret-questions", type="council.configure", secret_questions=questions)
    await sessions.execute(council_stream(COUNCIL_ID), command, SYSTEM)


async def list_witnesses(kvorum: Node, witnesses: Sequence[DemoWitness]) -> None:
    """List the demo witnesses in the council's settings, both needed (once per set of addresses and keys)."""
    wanted = [WitnessSetting(name=w.name, url=w.url, key=w.key) for w in witnesses]
    council = await kvorum.application.council(COUNCIL_ID)
    if [(w.name, w.url, w.key) for w in council.witnesses] == [(w.name, w.url, w.key) for w in wanted]:
        return
    digest = hashlib.sha256("".join(f"{w.name} {w.url} {w.key}\n" for w in wanted).encode()).hexdigest()[:16]
    command = CouncilConfigure(
        id=f"demo-witnesses-{digest}",
        type="council.configure",
        witnesses=wanted,
        witnesses_needed=len(wanted),
    )
    await kvorum.application.execute(council_stream(COUNCIL_ID), command, SYSTEM)


@dataclass(frozen=True, slots=True)
class DemoCommittee:
    """One of the demo council's standing committees: its officers are its first three members."""

    id: str
    name: str
    members: tuple[str, ...]
    leads: tuple[str, ...]
    """The drafts (registry numbers) it is the lead committee on."""
    opinions: tuple[str, ...] = ()
    """The drafts it gives its opinion on."""

    @property
    def drafts(self) -> tuple[str, ...]:
        """What its sitting examines, in the plenary's order."""
        return tuple(sorted({*self.leads, *self.opinions}))


COMMITTEES = (
    DemoCommittee(
        "budget",
        "Постійна комісія з питань бюджету, фінансів та соціально-економічного розвитку",
        tuple(f"d{n:02d}" for n in range(1, 8)),
        leads=("ПР-102", "ПР-103"),
    ),
    DemoCommittee(
        "land",
        "Постійна комісія з питань земельних відносин, містобудування та будівництва",
        tuple(f"d{n:02d}" for n in range(8, 15)),
        leads=("ПР-104",),
    ),
    DemoCommittee(
        "regulations",
        "Постійна комісія з питань регламенту, депутатської діяльності та етики",
        tuple(f"d{n:02d}" for n in range(15, 22)),
        leads=("ПР-101",),
        opinions=("ПР-103",),
    ),
)
"""The demo council's three committees, 7 seats each; each examines the plenary's drafts it is sent."""


async def seed_committees(kvorum: Node, *, today: date | None = None) -> None:
    """The demo council's committees and one scheduled sitting of each, the day after the plenary (no-op
    for what exists): a newcomer opens one as its chair (deputy01, deputy08, deputy15) and concludes."""
    titles = {draft: title for _, title, draft in AGENDA if draft}
    day = (today or date.today()) + timedelta(days=1)
    council = await kvorum.application.council(COUNCIL_ID)
    for committee in COMMITTEES:
        if committee.id not in council.committees:
            chair, deputy_chair, secretary = committee.members[:3]
            create = CommitteeCreate(
                id=f"demo-committee-{committee.id}",
                type="committee.create",
                committee=committee.id,
                name=committee.name,
                composition=len(committee.members),
                members=list(committee.members),
                chair=chair,
                deputy_chair=deputy_chair,
                secretary=secretary,
            )
            await kvorum.application.execute(council_stream(COUNCIL_ID), create, SYSTEM)
        schedule = SessionSchedule(
            id=f"demo-committee-sitting-{committee.id}",
            type="session.schedule",
            number=1,
            convocation=8,
            date=day.isoformat(),
            title=f"Засідання {committee.name.replace('Постійна комісія', 'постійної комісії', 1)}",
            agenda=[
                AgendaItemIn(id=f"i{n}", number=str(n), title=titles[draft], draft=draft)
                for n, draft in enumerate(committee.drafts, start=1)
            ],
            committee=committee.id,
        )
        await kvorum.application.execute(session_stream(schedule.target_session_id), schedule, SYSTEM)


class DemoResetRefused(Exception):
    """The database holds a council that is not the demo council: a reset would erase it."""


async def reset(url: str, video_folder: Path | None = None) -> None:
    """Erase the demo council's data so the next seeding starts afresh (``kvorum demo --reset``).

    Refuses (``DemoResetRefused``) when the database holds any council that is not a demo council:
    a council's record is kept for years by law, and a typo in a database URL must never erase it.
    The schema is dropped and migrated again on the next start; the demo's video recordings go too.
    """
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('public.events') IS NOT NULL"):
            leaves = await conn.fetch("SELECT leaf FROM events WHERE type = 'council.created'")
            councils = [orjson.loads(row["leaf"])["payload"] for row in leaves]
            real = [c.get("council") for c in councils if not c.get("demo", False)]
            if real:
                raise DemoResetRefused(f"this database holds the council {real[0]!r}, not a demo: not erased")
        async with conn.transaction():
            await conn.execute("DROP SCHEMA public CASCADE")
            await conn.execute("CREATE SCHEMA public")
    finally:
        await conn.close()
    if video_folder is not None:
        await asyncio.to_thread(shutil.rmtree, video_folder, ignore_errors=True)
