"""The open data's read model (``od_motions``: one row per closed vote; ``od_votings``: one per member per
vote), as the pages, the feeds and the open data endpoints read it. The ``opendata`` consumer writes it
(``portal_bridge.opendata``)."""

from __future__ import annotations

from typing import Any

import orjson

from portal_bridge.pages import PUBLIC_DOCUMENTS
from session_server.extensions import Database

__all__ = ["OpenDataRows"]

_MOTIONS = f"""
    SELECT data, (SELECT id FROM documents WHERE number = m.data ->> 'projectNumber' AND {PUBLIC_DOCUMENTS}
                  ORDER BY id LIMIT 1) AS document
    FROM od_motions m
    WHERE ($1::text IS NULL OR session = $1) AND ($2::int IS NULL OR (data ->> 'convocation')::int = $2)
    ORDER BY session, position"""


class OpenDataRows:
    """Queries of the open data's tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def motions(
        self, session: str | None = None, convocation: int | None = None
    ) -> list[tuple[dict[str, Any], str | None]]:
        """Each closed vote's motion (of a sitting, or a convocation, or all), in order, with the id of its
        draft's public page (None while the draft is not public)."""
        rows = await self.database.fetch(_MOTIONS, session, convocation)
        return [(orjson.loads(r["data"]), r["document"]) for r in rows]

    async def votings(self, session: str | None = None, convocation: int | None = None) -> list[dict[str, Any]]:
        """Each member's line of each closed vote (of a sitting, or a convocation, or all), in order."""
        rows = await self.database.fetch(
            """SELECT v.data FROM od_votings v JOIN od_motions m ON m.uid = v.motion_uid
               WHERE ($1::text IS NULL OR m.session = $1)
                 AND ($2::int IS NULL OR (m.data ->> 'convocation')::int = $2)
               ORDER BY m.session, m.position, v.ordinal""",
            session,
            convocation,
        )
        return [orjson.loads(r["data"]) for r in rows]

    async def motion(self, uid: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One vote's motion (None when not published yet) and its roll call in order."""
        row = await self.database.fetchrow("SELECT data FROM od_motions WHERE uid = $1", uid)
        rows = await self.database.fetch("SELECT data FROM od_votings WHERE motion_uid = $1 ORDER BY ordinal", uid)
        return (orjson.loads(row["data"]) if row else None), [orjson.loads(r["data"]) for r in rows]

    async def member_votes(self, member: str, limit: int = 500) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
        """A member's lines, newest vote first: ``(their voting row, the motion, the sitting)``."""
        rows = await self.database.fetch(
            """SELECT v.data, m.data AS motion, m.session FROM od_votings v JOIN od_motions m ON m.uid = v.motion_uid
               WHERE v.voter_id = $1 ORDER BY m.session DESC, m.position DESC LIMIT $2""",
            member,
            limit,
        )
        return [(orjson.loads(r["data"]), orjson.loads(r["motion"]), r["session"]) for r in rows]
