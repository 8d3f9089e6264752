"""The portal's record of each member: the sittings attended and the conflicts of interest declared.

Kept by the ``members`` consumer from ``presence.registered`` and ``conflict.declared``, so a deputy's
page reads two small tables instead of converting every stored event to ``jsonb`` on every view.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from session_server.domain.session_events import ConflictDeclared, PresenceRegistered
from session_server.extensions import Consumer
from session_server.store.events import StoredEvent


class MemberRecord(Consumer):
    """Keeps ``member_attendance`` and ``member_conflicts`` equal to the sittings' logs."""

    name = "members"
    wake_on = frozenset({"presence.registered", "conflict.declared"})

    async def reset(self, conn: asyncpg.Connection) -> None:
        await conn.execute("TRUNCATE member_attendance, member_conflicts")

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        session = stream.removeprefix("session:")
        attended = {(r.deputy, session) for e in events if (r := e.of(PresenceRegistered))}
        if attended:
            await conn.executemany(
                "INSERT INTO member_attendance (member, session) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                sorted(attended),
            )
        conflicts = [
            (session, e.seq, d.deputy, d.item, d.reason, e.at) for e in events if (d := e.of(ConflictDeclared))
        ]
        if conflicts:
            await conn.executemany(
                """INSERT INTO member_conflicts (session, seq, member, item, reason, at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                conflicts,
            )


async def attended(pool: asyncpg.Pool, member: str, committee: str | None = None) -> int:
    """The number of the council's plenary sittings at which ``member`` registered, or with ``committee`` of
    that committee's sittings."""
    count: int = await pool.fetchval(
        """SELECT count(*) FROM member_attendance a JOIN sessions s ON s.id = a.session
           WHERE a.member = $1 AND s.committee IS NOT DISTINCT FROM $2""",
        member,
        committee,
    )
    return count


async def conflicts(pool: asyncpg.Pool, member: str) -> list[dict[str, str]]:
    """The member's declared conflicts, by sitting and order: ``session``, ``item``, ``reason``, ``at``."""
    rows = await pool.fetch(
        "SELECT session, item, reason, at FROM member_conflicts WHERE member = $1 ORDER BY session, seq", member
    )
    return [dict(r) for r in rows]
