"""What every page for residents shares (Jinja2, no JavaScript): the templates, the council, paging,
and errors as pages in the portal's style; and the session's minutes.

A page handler is wrapped in :func:`page`: an unknown sitting, decision or deputy is a 404 page, a
bad query parameter a 400 page naming it, and a database that cannot be reached a 503 page, each in
Ukrainian with the portal's header and navigation. The JSON API keeps its JSON errors.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from portal_bridge import ukrainian
from portal_bridge.decisions import documents_of
from portal_bridge.minutes import build, quoted
from session_server.application import session_stream
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.session_state import SessionState
from session_server.extensions import core_of
from session_server.http.responses import PAGE_HEADERS, RETRY_AFTER, ApiError
from session_server.store.database import unreachable

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

UNPUBLISHED: Final = "registered"
"""The status of a draft the secretary has registered but not yet published («Оприлюднити проєкт»,
``draft.published``): it is the staff's alone. Residents see a document from its publication on —
the portal, search, the open data; only the staff's ``/api/v1/documents`` lists it before."""
PUBLIC_DOCUMENTS: Final = f"status <> '{UNPUBLISHED}'"
"""The documents residents see, as a condition on the ``documents`` table."""


async def council_of(request: Request) -> CouncilState:
    """This installation's council; 404 ``council_not_found`` before there is one."""
    sessions = core_of(request).application
    council_id = await sessions.council_id()
    if council_id is None:
        raise DomainError("council_not_found", "no council yet")
    council: CouncilState = await sessions.council(council_id)
    return council


@functools.cache
def templates() -> Environment:
    """The page templates (``portal_bridge/templates``), HTML-escaped, with the Ukrainian helpers."""
    env = Environment(
        loader=PackageLoader("portal_bridge", "templates"), autoescape=select_autoescape(), auto_reload=False
    )
    env.globals.update(
        count=ukrainian.count,
        deputies=ukrainian.deputies,
        long_date=ukrainian.long_date,
        quoted=quoted,
        roll_call_line=ukrainian.roll_call_line,
    )
    return env


def render(name: str, *, status_code: int = 200, **context: Any) -> Response:
    """The template ``name`` as a page with the strict policy."""
    return HTMLResponse(templates().get_template(name).render(**context), status_code=status_code, headers=PAGE_HEADERS)


class PageError(Exception):
    """A page that cannot be shown, with what to tell the resident (Ukrainian)."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.title = title
        self.text = text


# The catalogue of the portal's error pages.
NOT_FOUND: Final = {
    "session_not_found": ("Засідання не знайдено", "Такого засідання немає. Усі засідання — у переліку засідань."),
    "document_not_found": ("Документ не знайдено", "Такого рішення чи проєкту немає. Усі вони — у переліку рішень."),
    "council_not_found": ("Портал ще не налаштовано", "Раду ще не створено, тож показати поки нічого."),
}
DEPUTY_NOT_FOUND: Final = ("Депутата не знайдено", "Такого члена ради немає. Усі депутати — у переліку депутатів.")
PAGE_NOT_FOUND: Final = ("Сторінку не знайдено", "За цією адресою нічого немає. Можливо, адресу набрано з помилкою.")
UNAVAILABLE: Final = (
    "Сервіс тимчасово недоступний",
    "Сервер не може зараз прочитати дані ради. Спробуйте ще раз за хвилину.",
)


def page(handler: Handler) -> Handler:
    """``handler`` with its errors shown as pages (400, 404, 503) instead of the API's JSON."""

    @functools.wraps(handler)
    async def serve(request: Request) -> Response:
        try:
            return await handler(request)
        except PageError as exc:
            return await _error(request, exc.status, exc.title, exc.text)
        except DomainError as exc:
            if exc.code not in NOT_FOUND:
                raise
            return await _error(request, 404, *NOT_FOUND[exc.code])
        except ApiError as exc:
            if exc.status != 404:
                raise
            return await _error(request, 404, *PAGE_NOT_FOUND)
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning("database unreachable on %s: %r", request.url.path, exc)
            page = render("error.html", status_code=503, council=None, title=UNAVAILABLE[0], text=UNAVAILABLE[1])
            page.headers.update(RETRY_AFTER)
            return page

    return serve


async def _error(request: Request, status: int, title: str, text: str) -> Response:
    try:
        council: CouncilState | None = await council_of(request)
    except Exception:  # the error page shows even when the council cannot be read
        council = None
    return render("error.html", status_code=status, council=council, title=title, text=text)


@dataclass(frozen=True, slots=True)
class Paging:
    """One page of a list: which, how many, and the links to the others."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list takes (at least one, even when empty)."""
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The 1-based position of the first row shown."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    def links(self) -> list[int | None]:
        """Page numbers to link: the first, the last and two either side of this one; None for a gap."""
        near = range(max(1, self.number - 2), min(self.pages, self.number + 2) + 1)
        out: list[int | None] = []
        previous = 0
        for n in sorted({1, self.pages, *near}):
            if n - previous > 1:
                out.append(None)
            out.append(n)
            previous = n
        return out


def paging(request: Request, total: int, size: int) -> Paging:
    """The page ``?page=N`` asks for (1 when absent), checked against ``total`` rows; PageError 400 otherwise."""
    pages = max(1, math.ceil(total / size))
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= pages):
        raise PageError(
            400,
            "Такої сторінки немає",
            f"Номер сторінки (page) має бути цілим числом від 1 до {pages}: "
            f"у переліку {ukrainian.count(pages, 'сторінка', 'сторінки', 'сторінок')}.",
        )
    return Paging(int(raw), size, total)


async def minutes(request: Request) -> Response:
    """``/sessions/{session}/minutes``: the minutes as HTML with a print stylesheet."""
    core = core_of(request)
    session_id = request.path_params["session"]
    events = await core.events.read(session_stream(session_id))
    if not events:
        raise DomainError("session_not_found", f"no session {session_id!r}")
    council = await core.application.council(str(events[0].payload["council"]))
    documents = documents_of(request)
    # the drafts considered at this sitting (scheduled at it, or on a committee's agenda by registry number):
    # the amendment votes name their amendments, and a committee's conclusions those they propose
    state: SessionState = await core.application.current(session_stream(session_id))
    on_agenda = {item.draft for item in state.agenda.values() if item.draft}
    considered = [
        row["id"]
        for row in await documents.list()
        if row["session"] == session_id or (state.committee is not None and row["number"] in on_agenda)
    ]
    drafts = {d.number: d for d in [await documents.document(i) for i in considered]}
    html = templates().get_template("minutes.html").render(m=build(events, council, drafts))
    return HTMLResponse(html, headers=PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    """The portal's pages at the site's root."""
    return [Route("/sessions/{session}/minutes", page(minutes))]
