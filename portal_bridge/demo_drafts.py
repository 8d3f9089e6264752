"""The demo council's drafts (``kvorum demo``): each draft on the demo plenary's agenda registered with a
short text, published a month ago for residents, put on its item, and sent to the standing committees
the core's demo names (``session_server.demo.COMMITTEES``), so that a newcomer runs a committee's sitting
and sees its conclusion beside the plenary's item."""

from __future__ import annotations

from datetime import date, timedelta

from portal_bridge.decisions import Documents
from portal_bridge.document_commands import (
    DocumentCommandModel,
    DocumentPublishDraft,
    DocumentRegister,
    DocumentSchedule,
    DraftAssign,
)
from session_server import demo
from session_server.application import SYSTEM, session_stream
from session_server.domain.session_state import SessionState
from session_server.extensions import Core

__all__ = ["seed_demo_drafts"]

TEXTS = {
    "ПР-101": (
        "1. Затвердити міську програму «Електронне урядування» (додається).\n"
        "2. Фінансувати програму з міського бюджету в межах видатків на відповідний рік.\n"
        "3. Контроль покласти на постійну комісію з питань регламенту, депутатської діяльності та етики."
    ),
    "ПР-102": (
        "1. Внести зміни до міського бюджету на 2026 рік (додаток 1).\n"
        "2. Збільшити видатки на ремонт шкіл на 10 млн грн.\n"
        "3. Фінансовому управлінню внести відповідні зміни до розпису бюджету."
    ),
    "ПР-103": (
        "1. Затвердити Положення про громадський бюджет міста Вознесенська (додається).\n"
        "2. Визначити обсяг громадського бюджету — 1 % видатків загального фонду.\n"
        "3. Рішення набирає чинності з 1 січня 2027 року."
    ),
    "ПР-104": (
        "1. Надати дозвіл на розроблення проєкту землеустрою щодо відведення земельної ділянки площею 0,10 га.\n"
        "2. Проєкт землеустрою подати на затвердження в установленому порядку."
    ),
}


def _document_id(number: str) -> str:
    """«ПР-101» → ``pr-101``."""
    return "pr-" + "".join(ch for ch in number if ch.isdigit())


async def seed_demo_drafts(core: Core, *, today: date | None = None) -> None:
    """Register, publish, schedule and send to committees the demo plenary's drafts (no-op for what exists:
    each command has a fixed id, so a second run replays it)."""
    documents = Documents(core)
    sitting: SessionState = await core.application.current(session_stream(demo.SESSION_ID))
    day = today or date.today()
    sent = {d: [(c.id, True)] for c in demo.COMMITTEES for d in c.leads}
    for committee in demo.COMMITTEES:
        for draft in committee.opinions:
            sent.setdefault(draft, []).append((committee.id, False))
    for item in sitting.agenda.values():
        if not item.draft or item.draft not in TEXTS:
            continue
        document = _document_id(item.draft)
        commands: list[DocumentCommandModel] = [
            DocumentRegister(
                id=f"demo-{document}-register",
                type="document.register",
                document=document,
                number=item.draft,
                title=item.title,
                initiator="Виконавчий комітет міської ради",
                rapporteur="Олена Бондар",
                text=TEXTS[item.draft],
            ),
            DocumentPublishDraft(
                id=f"demo-{document}-publish",
                type="document.publish_draft",
                date=(day - timedelta(days=30)).isoformat(),
            ),
            DocumentSchedule(
                id=f"demo-{document}-schedule",
                type="document.schedule",
                session=demo.SESSION_ID,
                item=item.id,
                date=sitting.date,
            ),
            *(
                DraftAssign(id=f"demo-{document}-to-{c}", type="draft.assign", committee=c, lead=lead)
                for c, lead in sent.get(item.draft, [])
            ),
        ]
        for command in commands:
            await documents.execute(document, command, SYSTEM)
