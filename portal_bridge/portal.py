"""The residents' portal, server-rendered (Jinja2), Ukrainian, no JavaScript.

``/`` sessions (upcoming, live, past) and published decisions; ``/sessions/{id}`` the agenda with
each vote's result and roll call and how to verify them; ``/decisions/{id}`` a decision's text,
files, the mayor's signature checked, its vote and history; ``/deputies/{id}`` a member's faction,
attendance, voting record and declared conflicts; ``/search?q=`` decisions and agenda items.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from portal_bridge.documents import digest
from portal_bridge.pages import council_of, templates
from portal_bridge.search import find, words
from session_server.app import PAGE_HEADERS
from session_server.domain.council import CouncilState
from session_server.domain.session import to_public
from session_server.http import ApiError

STATUS = {"scheduled": "заплановано", "open": "триває", "closed": "завершено"}
DOCUMENT_STATUS = {
    "registered": "зареєстровано",
    "published_draft": "проєкт оприлюднено",
    "scheduled": "у порядку денному",
    "adopted": "прийнято",
    "rejected": "не прийнято",
    "signed": "підписано міським головою",
    "published": "оприлюднено",
}
HISTORY = {
    "draft.registered": "проєкт зареєстровано",
    "draft.attached": "додано файл",
    "draft.published": "проєкт оприлюднено",
    "draft.scheduled": "включено до порядку денного",
    "decision.adopted": "рішення прийнято",
    "decision.rejected": "рішення не прийнято",
    "decision.signed": "підписано міським головою",
    "decision.published": "рішення оприлюднено",
    "execution.assigned": "поставлено на контроль",
    "execution.reported": "звіт про виконання",
}
LINES = {"for": "за", "against": "проти", "abstain": "утримався", "not_voted": "не голосував", "absent": "відсутній"}


def _page(name: str, **context: Any) -> Response:
    return HTMLResponse(templates().get_template(name).render(**context), headers=PAGE_HEADERS)


async def home(request: Request) -> Response:
    """Sessions by status and the published decisions."""
    council = await council_of(request)
    pool = request.app.state.kvorum.pool
    rows = [
        dict(r)
        for r in await pool.fetch("SELECT id, title, date, status FROM sessions ORDER BY date DESC, number DESC")
    ]
    groups = [
        ("Засідання наживо", [r for r in rows if r["status"] == "open"]),
        ("Заплановані засідання", [r for r in rows if r["status"] == "scheduled"]),
        ("Минулі засідання", [r for r in rows if r["status"] == "closed"]),
    ]
    decisions = await pool.fetch(
        """SELECT id, title, decision_number FROM documents WHERE status = 'published'
           ORDER BY decision_published_on DESC, id LIMIT 50"""
    )
    return _page("home.html", council=council, groups=groups, decisions=decisions)


async def session_page(request: Request) -> Response:
    """The agenda with each vote's result and roll call, and how to verify them."""
    state, council = await request.app.state.kvorum.sessions.session(request.path_params["session"])
    public = to_public(state, council)
    numbers = {
        d["number"]: d["id"] for d in await request.app.state.kvorum.pool.fetch("SELECT id, number FROM documents")
    }
    items = []
    for item in public["agenda"]:
        votes = []
        for vote in (v for v in public["votes"] if v["item"] == item["id"]):
            lines = [(m, LINES[line]) for m, line in (vote["roll_call"] or {}).items()]
            status_text = "голосування триває" if vote["status"] == "open" else f"скасовано: {vote['reason']}"
            votes.append({**vote, "lines": lines, "status_text": status_text})
        items.append({**item, "votes": votes, "document": numbers.get(item["draft"] or "")})
    names = {d.id: d.name for d in council.deputies.values()}
    base = str(request.base_url).rstrip("/")
    return _page(
        "session.html", council=council, s=public, status=STATUS[public["status"]], items=items, names=names, base=base
    )


def _signature_ok(state: Any, council: CouncilState) -> bool:
    signature = state.signature
    key = council.signer_keys.get(signature["key_id"]) if signature else None
    if signature is None or key is None or signature["algorithm"] != "ed25519":
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key))
        public.verify(base64.b64decode(signature["signature"]), digest(state))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return bool(signature["digest"] == digest(state).hex())


async def decision_page(request: Request) -> Response:
    """A decision: text, files, the signature checked here, its vote and history."""
    council = await council_of(request)
    state = await request.app.state.documents.document(request.path_params["document"])
    vote = votings = None
    if state.session and state.vote:
        pool = request.app.state.kvorum.pool
        uid = f"{state.session}-{state.vote}"
        row = await pool.fetchrow("SELECT data FROM od_motions WHERE uid = $1", uid)
        vote = orjson.loads(row["data"]) if row else None
        rows = await pool.fetch("SELECT data FROM od_votings WHERE motion_uid = $1 ORDER BY ordinal", uid)
        votings = [orjson.loads(r["data"]) for r in rows]
    view = {
        **{k: getattr(state, k) for k in ("id", "number", "title", "initiator", "rapporteur", "text", "session")},
        "decision_number": state.decision_number,
        "attachments": state.attachments,
        "signature": state.signature,
        "history": [{"at": at[:16].replace("T", " "), "label": HISTORY.get(t, t)} for t, at in state.history],
    }
    return _page(
        "decision.html",
        council=council,
        d=view,
        status=DOCUMENT_STATUS[state.status],
        signature_ok=_signature_ok(state, council),
        vote=vote,
        votings=votings,
        base=str(request.base_url).rstrip("/"),
    )


async def deputy_page(request: Request) -> Response:
    """A member: faction, attendance, voting record, declared conflicts."""
    council = await council_of(request)
    member = request.path_params["deputy"]
    deputy = council.deputies.get(member)
    if deputy is None:
        raise ApiError(404, "not_found", f"{member!r} is not a member of the council")
    pool = request.app.state.kvorum.pool
    votes = [
        {**orjson.loads(r["data"]), **orjson.loads(r["motion"])}
        for r in await pool.fetch(
            """SELECT v.data, m.data AS motion FROM od_votings v JOIN od_motions m ON m.uid = v.motion_uid
               WHERE v.voter_id = $1 ORDER BY m.session DESC, m.position DESC LIMIT 500""",
            member,
        )
    ]
    sessions = await pool.fetchval("SELECT count(*) FROM sessions WHERE status <> 'scheduled'")
    attended = await pool.fetchval(
        """SELECT count(DISTINCT stream) FROM events
           WHERE type = 'presence.registered' AND convert_from(leaf, 'UTF8')::jsonb -> 'payload' ->> 'deputy' = $1""",
        member,
    )
    conflicts = [
        {"session": r["stream"].removeprefix("session:"), **orjson.loads(r["payload"])}
        for r in await pool.fetch(
            """SELECT stream, convert_from(leaf, 'UTF8')::jsonb -> 'payload' AS payload FROM events
               WHERE type = 'conflict.declared' AND convert_from(leaf, 'UTF8')::jsonb -> 'payload' ->> 'deputy' = $1
               ORDER BY stream, seq""",
            member,
        )
    ]
    return _page(
        "deputy.html",
        council=council,
        deputy=deputy,
        votes=votes,
        sessions=sessions,
        attended=attended,
        conflicts=conflicts,
    )


async def search_page(request: Request) -> Response:
    """Search results as a page."""
    council = await council_of(request)
    text = request.query_params.get("q", "")
    terms = words(text)
    documents: list[Any] = []
    items: list[Any] = []
    if terms:
        found = await find(request.app.state.kvorum.pool, terms)
        documents, items = found.documents, found.items
    error = None if terms else "Введіть хоча б одне слово."
    return _page("search.html", council=council, query=text, documents=documents, items=items, error=error)


def routes() -> list[BaseRoute]:
    """The portal's pages at the site's root."""
    return [
        Route("/", home),
        Route("/sessions/{session}", session_page),
        Route("/decisions/{document}", decision_page),
        Route("/deputies/{deputy}", deputy_page),
        Route("/search", search_page),
    ]
