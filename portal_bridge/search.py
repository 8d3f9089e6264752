"""Search over decisions and agenda items: ``GET /api/v1/search?q=…``, and the portal's ``/search``.

Every word of the query must match a word of the text: one with the same dictionary form («зміни»
finds «змін», «бюджету» finds «бюджет»: PostgreSQL's ispell dictionary over Debian's hunspell-uk), or
one it begins («бюдж» finds «бюджету»). The SQL is migration 0011's: ``kvorum_search_terms`` (a
text's terms) and ``kvorum_search_query`` (the words' query). Without the dictionary on the server
only prefixes match, as the migration warns.

A row's terms are computed by the first search that meets it (``search_terms`` is NULL until then):
loading the dictionary costs a server process about 0.6 s and 60 MB, which only the processes that
search should pay, not every one that writes a document. Agenda items are kept in ``agenda_items``
by the ``search`` consumer of the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge.pages import PUBLIC_DOCUMENTS
from session_server.domain.session_events import ItemAdded, ItemRemoved, ItemUpdated, SessionScheduled
from session_server.extensions import Consumer, core_of
from session_server.http.openapi import described, query_parameter, ref
from session_server.http.responses import ApiError, JSONResponse
from session_server.store.events import StoredEvent

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_APOSTROPHES = re.compile(r"['’ʼ`]")


def words(text: str) -> list[str]:
    """The words of a query, lower-cased, apostrophes dropped, at most 10; letters and digits only, so
    no tsquery syntax can pass."""
    return _WORD.findall(_APOSTROPHES.sub("", text.lower()))[:10]


_INDEXED = frozenset(kind.type for kind in (SessionScheduled, ItemAdded, ItemUpdated, ItemRemoved))
"""The event types the agenda index reads."""


class AgendaIndex(Consumer):
    """Keeps ``agenda_items`` equal to every session's agenda."""

    name = "search"
    wake_on = frozenset({"session.scheduled", "item.added", "item.updated", "item.removed"})

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE agenda_items")

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        session = stream.removeprefix("session:")
        for event in events:
            if event.type not in _INDEXED:  # only what it indexes is parsed (see StoredEvent.of)
                continue
            match event.data:
                case SessionScheduled(agenda=agenda):
                    for item in agenda:
                        await _upsert(conn, session, item["id"], item["number"], item["title"], item["draft"])
                case ItemAdded() as added:
                    await _upsert(conn, session, added.item, added.number, added.title, added.draft)
                case ItemUpdated() as updated:
                    for column, value in updated.changes().items():  # number, title, draft: the event's own fields
                        await conn.execute(
                            f"UPDATE agenda_items SET {column} = $3 WHERE session = $1 AND item = $2",
                            session,
                            updated.item,
                            value,
                        )
                case ItemRemoved(item=item):
                    await conn.execute("DELETE FROM agenda_items WHERE session = $1 AND item = $2", session, item)


async def _upsert(conn: Any, session: str, item: str, number: str, title: str, draft: str | None) -> None:
    await conn.execute(
        """INSERT INTO agenda_items (session, item, number, title, draft) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (session, item) DO UPDATE SET number = EXCLUDED.number, title = EXCLUDED.title,
               draft = EXCLUDED.draft""",
        session,
        item,
        number,
        title,
        draft,
    )


_FILL = (
    """UPDATE documents SET search_terms = kvorum_search_terms(number || ' ' || title || ' ' || body)
       WHERE id IN (SELECT id FROM documents WHERE search_terms IS NULL FOR UPDATE SKIP LOCKED)""",
    """UPDATE agenda_items SET search_terms = kvorum_search_terms(number || ' ' || title)
       WHERE (session, item) IN (SELECT session, item FROM agenda_items WHERE search_terms IS NULL
                                 FOR UPDATE SKIP LOCKED)""",
)
_DOCUMENTS = f"""
    SELECT id, number, title, status, decision_number FROM documents, kvorum_search_query($1::text[]) AS q
    WHERE search_terms @@ q AND {PUBLIC_DOCUMENTS} ORDER BY ts_rank(search_terms, q) DESC, number LIMIT 50"""
_ITEMS = """
    SELECT session, item, number, title, draft FROM agenda_items, kvorum_search_query($1::text[]) AS q
    WHERE search_terms @@ q ORDER BY ts_rank(search_terms, q) DESC, session, number LIMIT 50"""
# Without the dictionary's files (removed after migration 0011 created it): prefixes, on 0008's indexes.
_PREFIX_DOCUMENTS = f"""
    SELECT id, number, title, status, decision_number FROM documents, to_tsquery('simple', $1) AS q
    WHERE kvorum_search_text(number || ' ' || title || ' ' || body) @@ q AND {PUBLIC_DOCUMENTS}
    ORDER BY ts_rank(kvorum_search_text(number || ' ' || title || ' ' || body), q) DESC, number LIMIT 50"""
_PREFIX_ITEMS = """
    SELECT session, item, number, title, draft FROM agenda_items, to_tsquery('simple', $1) AS q
    WHERE kvorum_search_text(number || ' ' || title) @@ q
    ORDER BY ts_rank(kvorum_search_text(number || ' ' || title), q) DESC, session, number LIMIT 50"""


@dataclass(frozen=True, slots=True)
class Found:
    """What a search found, best first (at most 50 of each), and the query PostgreSQL ran."""

    query: str
    documents: list[dict[str, Any]]
    items: list[dict[str, Any]]


async def item_numbers(database: Any) -> dict[tuple[str, str], str]:
    """Every agenda item's number, by ``(sitting, item)``, as the search index keeps them."""
    rows = await database.fetch("SELECT session, item, number FROM agenda_items")
    return {(r["session"], r["item"]): r["number"] for r in rows}


async def find(pool: Any, terms: list[str]) -> Found:
    """Decisions and agenda items matching every one of ``terms`` (from :func:`words`); a draft only once
    it is published (``pages.PUBLIC_DOCUMENTS``): search answers anyone."""
    async with pool.acquire() as conn:
        try:
            for statement in _FILL:
                await conn.execute(statement)
            query = await conn.fetchval("SELECT kvorum_search_query($1::text[])::text", terms)
            documents = await conn.fetch(_DOCUMENTS, terms)
            items = await conn.fetch(_ITEMS, terms)
        except asyncpg.ConfigFileError as exc:  # the dictionary's files are gone from the server
            log.error("the search dictionary cannot be read (%s): searching by word prefixes only", exc)
            query = " & ".join(f"{w}:*" for w in terms)
            documents = await conn.fetch(_PREFIX_DOCUMENTS, query)
            items = await conn.fetch(_PREFIX_ITEMS, query)
    return Found(query, [dict(r) for r in documents], [dict(r) for r in items])


@described(
    "Decisions and agenda items whose words begin with every word of q, best first",
    query=[
        query_parameter(
            "q",
            "words (prefixes) to find; apostrophes are ignored, hyphens split words",
            required=True,
            schema={"type": "string"},
        )
    ],
    ok=(200, "At most 50 of each"),
    returns=ref("SearchResults"),
    errors_=(400,),
    reasons={400: "q holds no word"},
)
async def search(request: Request) -> Response:
    """``{"query", "documents": [...], "items": [...]}``, best matches first (at most 50 of each)."""
    terms = words(request.query_params.get("q", ""))
    if not terms:
        raise ApiError(400, "invalid_parameter", "q must hold at least one word", field="q")
    found = await find(core_of(request).database, terms)
    return JSONResponse({"query": found.query, "documents": found.documents, "items": found.items})


def routes() -> list[BaseRoute]:
    """``/search`` under ``/api/v1``."""
    return [Route("/search", search)]
