"""Search over decisions and agenda items: ``GET /api/v1/search?q=…``.

Each word of the query must begin a word of the text (prefix matching on PostgreSQL's 'simple'
configuration, which works for Ukrainian without a dictionary: «бюдж» finds «бюджет», «бюджету»).
Agenda items are kept in ``agenda_items`` by the ``search`` consumer of the log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from portal_bridge.consumers import Consumer
from session_server.http import ApiError, JSONResponse
from session_server.store import StoredEvent

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_APOSTROPHES = re.compile(r"['’ʼ`]")


def tsquery(text: str) -> str | None:
    """A safe prefix query: every word of ``text`` as ``word:*``, all required; None if no words."""
    words = _WORD.findall(_APOSTROPHES.sub("", text.lower()))[:10]
    return " & ".join(f"{w}:*" for w in words) or None


class AgendaIndex(Consumer):
    """Keeps ``agenda_items`` equal to every session's agenda."""

    name = "search"
    wake_on = frozenset({"session.scheduled", "item.added", "item.updated", "item.removed"})

    async def reset(self) -> None:
        await self.store.pool.execute("TRUNCATE agenda_items")

    async def handle(self, stream: str, events: Sequence[StoredEvent]) -> None:
        session = stream.removeprefix("session:")
        async with self.store.pool.acquire() as conn, conn.transaction():
            for event in events:
                p = event.payload
                if event.type == "session.scheduled":
                    for item in p["agenda"]:
                        await _upsert(conn, session, item["id"], item["number"], item["title"], item["draft"])
                elif event.type == "item.added":
                    await _upsert(conn, session, p["item"], p["number"], p["title"], p["draft"])
                elif event.type == "item.updated":
                    sets = {k: p[k] for k in ("number", "title", "draft") if k in p}
                    for column, value in sets.items():  # column names from this fixed list only
                        await conn.execute(
                            f"UPDATE agenda_items SET {column} = $3 WHERE session = $1 AND item = $2",
                            session,
                            p["item"],
                            value,
                        )
                elif event.type == "item.removed":
                    await conn.execute("DELETE FROM agenda_items WHERE session = $1 AND item = $2", session, p["item"])


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


async def find(pool: Any, query: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decisions and agenda items matching ``query`` (a ``tsquery``), best first, at most 50 of each."""
    documents = await pool.fetch(
        """SELECT id, number, title, status, decision_number FROM documents
           WHERE kvorum_search_text(number || ' ' || title || ' ' || body) @@ to_tsquery('simple', $1)
           ORDER BY ts_rank(kvorum_search_text(number || ' ' || title || ' ' || body), to_tsquery('simple', $1)) DESC,
                    number LIMIT 50""",
        query,
    )
    items = await pool.fetch(
        """SELECT session, item, number, title, draft FROM agenda_items
           WHERE kvorum_search_text(number || ' ' || title) @@ to_tsquery('simple', $1)
           ORDER BY ts_rank(kvorum_search_text(number || ' ' || title), to_tsquery('simple', $1)) DESC,
                    session, number LIMIT 50""",
        query,
    )
    return [dict(r) for r in documents], [dict(r) for r in items]


async def search(request: Request) -> Response:
    """``{"query", "documents": [...], "items": [...]}``, best matches first (at most 50 of each)."""
    query = tsquery(request.query_params.get("q", ""))
    if query is None:
        raise ApiError(400, "invalid_parameter", "q must hold at least one word")
    documents, items = await find(request.app.state.kvorum.pool, query)
    return JSONResponse({"query": query, "documents": documents, "items": items})


def routes() -> list[BaseRoute]:
    """``/search`` under ``/api/v1``."""
    return [Route("/search", search)]
