"""Server-rendered pages for residents (Jinja2, no JavaScript): the session's minutes."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from portal_bridge.minutes import build
from session_server.app import PAGE_HEADERS
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.service import session_stream


async def council_of(request: Request) -> CouncilState:
    """This installation's council; 404 ``council_not_found`` before there is one."""
    sessions = request.app.state.kvorum.sessions
    council_id = await sessions.council_id()
    if council_id is None:
        raise DomainError("council_not_found", "no council yet")
    council: CouncilState = await sessions.council(council_id)
    return council


@functools.cache
def templates() -> Environment:
    """The page templates (``portal_bridge/templates``), HTML-escaped."""
    return Environment(
        loader=PackageLoader("portal_bridge", "templates"), autoescape=select_autoescape(), auto_reload=False
    )


async def minutes(request: Request) -> Response:
    """``/sessions/{session}/minutes``: the minutes as HTML with a print stylesheet."""
    kvorum = request.app.state.kvorum
    session_id = request.path_params["session"]
    events = await kvorum.store.read(session_stream(session_id))
    if not events:
        raise DomainError("session_not_found", f"no session {session_id!r}")
    council = await kvorum.sessions.council(str(events[0].payload["council"]))
    html = templates().get_template("minutes.html").render(m=build(events, council))
    return HTMLResponse(html, headers=PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    """The portal's pages at the site's root."""
    return [Route("/sessions/{session}/minutes", minutes)]
