"""The portal's home page and its index pages: every sitting, every decision and published
draft, every member.

Each index is paged by ``?page=N`` (``pages.paging``: a number out of range is a 400 page naming the
range) and says how many there are with the noun agreeing («1 засідання», «34 депутати»). Members are
listed as the council orders them: the mayor apart, then each faction in the council's order, then
the deputies of no faction.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from portal_bridge.document_rows import PublicDocuments
from portal_bridge.pages import council_of, paging, render
from session_server.extensions import core_of

SESSIONS_PER_PAGE: Final = 20
DOCUMENTS_PER_PAGE: Final = 20
DEPUTIES_PER_PAGE: Final = 50
STATUS: Final = {"scheduled": "заплановано", "open": "триває", "closed": "завершено"}
DOCUMENT_STATUS: Final = {
    "registered": "зареєстровано",
    "published_draft": "проєкт оприлюднено",
    "scheduled": "у порядку денному",
    "adopted": "прийнято",
    "rejected": "не прийнято",
    "signed": "підписано міським головою",
    "published": "оприлюднено",
}
UNAFFILIATED: Final = "Позафракційні"


async def home(request: Request) -> Response:
    """Sittings live, upcoming and past; the newest published decisions; the council's composition."""
    council = await council_of(request)
    sittings = core_of(request).sittings
    live = await sittings.with_status("open")
    upcoming = await sittings.with_status("scheduled", limit=5)
    past = await sittings.with_status("closed", newest_first=True, limit=5)
    sessions = await sittings.count(body=None)  # as /sessions lists them: the plenary's
    public = PublicDocuments(core_of(request).database)
    decisions = await public.decisions(10)
    documents = await public.count()
    mayor = council.deputies.get(council.mayor or "")
    return render(
        "home.html",
        council=council,
        section="home",
        live=live,
        upcoming=upcoming,
        past=past,
        sessions=sessions,
        decisions=decisions,
        documents=documents,
        mayor=mayor,
        members=sum(1 for d in council.deputies.values() if not d.mayor),
    )


async def sessions(request: Request) -> Response:
    """``/sessions``: the council's plenary sittings, newest first, 20 a page (each committee's are on its page)."""
    council = await council_of(request)
    sittings = core_of(request).sittings
    at = paging(request, await sittings.count(body=None), SESSIONS_PER_PAGE)
    rows = await sittings.page(at.size, at.offset, body=None)
    listed = [{**dict(r), "status_text": STATUS.get(r["status"], r["status"])} for r in rows]
    return render("sessions.html", council=council, section="sessions", sessions=listed, at=at)


async def decisions(request: Request) -> Response:
    """``/decisions``: every decision and published draft, the newest published decisions first, 20 a page."""
    council = await council_of(request)
    public = PublicDocuments(core_of(request).database)
    at = paging(request, await public.count(), DOCUMENTS_PER_PAGE)
    rows = await public.page(at.size, at.offset)
    listed = [{**dict(r), "status_text": DOCUMENT_STATUS.get(r["status"], r["status"])} for r in rows]
    return render("decisions.html", council=council, section="decisions", documents=listed, at=at)


async def deputies(request: Request) -> Response:
    """``/deputies``: the mayor, then the deputies by faction in the council's order, 50 a page."""
    council = await council_of(request)
    mayor = council.deputies.get(council.mayor or "")
    grouped = council.by_faction(council.deputies)
    ordered = [(faction, council.deputies[member]) for faction, members in grouped for member in members]
    at = paging(request, len(ordered), DEPUTIES_PER_PAGE)
    sizes = {faction: len(members) for faction, members in grouped}
    shown: list[tuple[str | None, list[Any]]] = []
    for faction, deputy in ordered[at.offset : at.offset + at.size]:
        if not shown or shown[-1][0] != faction:
            shown.append((faction, []))
        shown[-1][1].append(deputy)
    return render(
        "deputies.html",
        council=council,
        section="deputies",
        mayor=mayor if at.number == 1 else None,
        groups=[(faction, sizes[faction], members) for faction, members in shown],
        total=len(ordered),
        at=at,
    )
