"""The ``sessions`` read model: one row per plenary sitting, written with every append to its stream
(``session_server.application.sitting``), read for listings, the sitting a page follows, and the
votes whose time is up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg
import orjson

__all__ = ["EVERY_BODY", "SittingRows", "sealed_openings"]

# The sitting a page without a session id follows: the open one (the plenary's before a committee's), else
# the plenary's next scheduled, else its newest; a committee's only when the council has no such sitting.
# A sitting scheduled for a day already past (a typo, or one never held) is not "the next one".
CURRENT_SESSION = """
    SELECT id FROM sessions
    ORDER BY status = 'open' DESC, committee IS NULL DESC, (status = 'scheduled' AND date >= current_date) DESC,
             CASE WHEN status = 'scheduled' AND date >= current_date THEN date END ASC, date DESC, number DESC
    LIMIT 1"""


EVERY_BODY: Final = "*"
"""The sittings of every body: the plenary's and every committee's (no committee id has a ``*``)."""


def _of_body(body: str | None) -> tuple[list[str], list[Any]]:
    """The ``WHERE`` condition (none, or one) and its arguments for the sittings of ``body``."""
    if body == EVERY_BODY:
        return [], []
    if body is None:
        return ["committee IS NULL"], []
    return ["committee = $1"], [body]


OPENINGS = "SELECT seq, opening FROM sealed_ballots WHERE stream = $1 AND seq = ANY($2::bigint[])"


class SittingRows:
    """Queries of the ``sessions`` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def listed(self) -> list[dict[str, Any]]:
        """Every sitting, newest first: ``id, council, number, convocation, date (ISO), title, status, seq,
        committee`` (None for the council's plenary)."""
        rows = await self.pool.fetch(
            """SELECT id, council, number, convocation, date, title, status, seq, committee
               FROM sessions ORDER BY date DESC, number DESC"""
        )
        return [dict(r, date=r["date"].isoformat()) for r in rows]

    async def with_status(self, status: str, *, newest_first: bool = False, limit: int | None = None) -> list[Any]:
        """``id, title, date`` of the sittings with ``status`` (``open``, ``scheduled``, ``closed``), by date."""
        order = "date DESC, number DESC" if newest_first else "date, number"
        return list(
            await self.pool.fetch(
                f"SELECT id, title, date FROM sessions WHERE status = $1 ORDER BY {order} LIMIT $2", status, limit
            )
        )

    async def count(self, *, held_only: bool = False, body: str | None = EVERY_BODY) -> int:
        """How many sittings there are (``held_only``: opened at some time, not just scheduled) of ``body``:
        None for the council's plenary, a committee's id for its, ``EVERY_BODY`` for all."""
        where, args = _of_body(body)
        if held_only:
            where.append("status <> 'scheduled'")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        value: int = await self.pool.fetchval(f"SELECT count(*) FROM sessions{clause}", *args)
        return value

    async def page(self, limit: int, offset: int, *, body: str | None = EVERY_BODY) -> list[Any]:
        """``id, title, date, status`` of a page of ``body``'s sittings (as ``count`` says it), newest first."""
        where, args = _of_body(body)
        clause = f"WHERE {where[0]} " if where else ""
        n = len(args)
        return list(
            await self.pool.fetch(
                f"""SELECT id, title, date, status FROM sessions {clause}
                    ORDER BY date DESC, number DESC LIMIT ${n + 1} OFFSET ${n + 2}""",
                *args,
                limit,
                offset,
            )
        )

    async def titles(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """The title of each sitting of ``ids`` (every sitting when None)."""
        if ids is None:
            rows = await self.pool.fetch("SELECT id, title FROM sessions")
        else:
            rows = await self.pool.fetch("SELECT id, title FROM sessions WHERE id = ANY($1::text[])", list(ids))
        return {r["id"]: r["title"] for r in rows}

    async def current(self) -> str | None:
        """The sitting a page follows: the open one, else the next scheduled from today, else the newest."""
        value: str | None = await self.pool.fetchval(CURRENT_SESSION)
        return value

    async def votes_due(self, before: datetime) -> list[tuple[str, str]]:
        """``(sitting, vote)`` of every open vote whose closing time is not after ``before``, earliest first."""
        rows = await self.pool.fetch(
            "SELECT id, open_vote FROM sessions WHERE vote_closes_at <= $1 ORDER BY vote_closes_at", before
        )
        return [(r["id"], r["open_vote"]) for r in rows]

    async def open_without_deadline(self) -> list[str]:
        """Open sittings whose row does not say yet whether a vote is open (rows from before it was kept)."""
        rows = await self.pool.fetch("SELECT id FROM sessions WHERE status = 'open' AND vote_closes_at IS NULL")
        return [r["id"] for r in rows]

    async def keep_deadline(self, sitting: str, vote: str, closes_at: str, seq: int) -> None:
        """Record the open vote and its closing time, unless the row has moved on from ``seq``."""
        await self.pool.execute(
            """UPDATE sessions SET open_vote = $2, vote_closes_at = $3::text::timestamptz
               WHERE id = $1 AND seq = $4""",
            sitting,
            vote,
            closes_at,
            seq,
        )

    async def openings(self, session: str, seqs: Sequence[int]) -> dict[int, Any]:
        """The kept openings of the sealed ballots at ``seqs`` in ``session``'s stream (``sealed_openings``)."""
        return await sealed_openings(self.pool, session, seqs)


async def sealed_openings(db: asyncpg.Pool | asyncpg.Connection, session: str, seqs: Sequence[int]) -> dict[int, Any]:
    """The kept openings of the sealed ballots at ``seqs`` in ``session``'s stream, by seq (never served as
    such: the close publishes them all, a member's own view shows the member's own)."""
    rows = await db.fetch(OPENINGS, f"session:{session}", list(seqs))
    return {row["seq"]: orjson.loads(row["opening"]) for row in rows}
