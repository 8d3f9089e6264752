"""The decision documents as residents see them (the ``documents`` read model, public rows only): the
queries behind the portal's home and decisions pages, the decisions feed and a sitting's page. The
documents' own life and files are ``portal_bridge.decisions.Documents``."""

from __future__ import annotations

from typing import Any, Final

from portal_bridge.pages import PUBLIC_DOCUMENTS
from session_server.extensions import Database

__all__ = ["PublicDocuments"]

_PAGE: Final = f"""
    SELECT id, number, title, status, decision_number, coalesce(decision_published_on, published_on) AS day
    FROM documents WHERE {PUBLIC_DOCUMENTS}
    ORDER BY decision_published_on DESC NULLS LAST, published_on DESC NULLS LAST, number DESC
    LIMIT $1 OFFSET $2"""


class PublicDocuments:
    """Queries of the public rows of ``documents``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def count(self) -> int:
        """How many documents residents see (published drafts and decisions)."""
        value: int = await self.database.fetchval(f"SELECT count(*) FROM documents WHERE {PUBLIC_DOCUMENTS}")
        return value

    async def page(self, limit: int, offset: int) -> list[Any]:
        """A page of them, the newest published first: ``id, number, title, status, decision_number, day``."""
        return list(await self.database.fetch(_PAGE, limit, offset))

    async def decisions(self, limit: int) -> list[Any]:
        """The newest published decisions: ``id, number, title, decision_number, decision_published_on`` (that
        date also as ``day``)."""
        return list(
            await self.database.fetch(
                """SELECT id, number, title, decision_number, decision_published_on,
                          decision_published_on AS day FROM documents
                   WHERE status = 'published' ORDER BY decision_published_on DESC, id LIMIT $1""",
                limit,
            )
        )

    async def by_number(self) -> dict[str, str]:
        """The id of each public document by its registry number (a sitting's page links its drafts)."""
        rows = await self.database.fetch(f"SELECT id, number FROM documents WHERE {PUBLIC_DOCUMENTS}")
        return {r["number"]: r["id"] for r in rows}
