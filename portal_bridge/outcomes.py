"""The durable consumer that takes each decision's outcome from the session log.

When an agenda item is finished (``item.finished``), the last closed vote on it decides: the draft
named by the item (``draft`` = the document's registry number) is recorded as adopted, with the next
decision number of the convocation, or as rejected. The consumer keeps its position per session
stream in ``consumer_positions``; it runs on one node at a time (an advisory lock), catches up after
downtime from the stored positions, and is idempotent: the document command's id is derived from
the session and the vote, so handling an event twice records the outcome once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from portal_bridge.consumers import Consumer
from portal_bridge.decisions import Documents
from portal_bridge.document_commands import DocumentRecordOutcome
from session_server.domain.errors import DomainError
from session_server.domain.roles import Actor, Role
from session_server.store.events import EventStore, StoredEvent

log = logging.getLogger(__name__)

NAME = "outcomes"
CONSUMER = Actor(username="system", role=Role.ADMIN)


class Outcomes(Consumer):
    """Follow every session stream; record decisions' outcomes on their documents."""

    name = NAME
    wake_on = frozenset({"item.finished"})

    def __init__(self, store: EventStore, documents: Documents) -> None:
        super().__init__(store)
        self.documents = documents

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        """Its effect is a command on the draft's own stream, committed by the documents service; the
        command's id is made from the vote, so handling the event again after a crash replays it."""
        finished = [e for e in events if e.type == "item.finished"]
        if not finished:
            return
        history = await self.store.read(stream, conn=conn)  # the agenda and the votes are needed from the start
        for event in finished:
            await self._item_finished(conn, history, event)

    async def _item_finished(
        self, conn: asyncpg.Connection, history: Sequence[StoredEvent], finished: StoredEvent
    ) -> None:
        item = finished.payload["item"]
        scheduled = next(e for e in history if e.type == "session.scheduled")
        session = str(scheduled.payload["session"])
        draft = next((i["draft"] for i in scheduled.payload["agenda"] if i["id"] == item), None)
        for e in history:  # the agenda may have been edited before the session opened
            if e.seq < finished.seq and e.type in ("item.added", "item.updated") and e.payload["item"] == item:
                draft = e.payload.get("draft", draft)
        opened = {  # the votes on the item's draft: not the procedural vote that put the item on the agenda
            e.payload["vote"]: e.payload["item"]
            for e in history
            if e.type == "vote.opened" and e.seq < finished.seq and "purpose" not in e.payload
        }
        closed = [
            e
            for e in history
            if e.type == "vote.closed" and e.seq < finished.seq and opened.get(e.payload["vote"]) == item
        ]
        if not draft or not closed:
            return
        row = await conn.fetchrow(
            "SELECT id FROM documents WHERE number = $1 AND session = $2 AND status = 'scheduled'", draft, session
        )
        if row is None:
            return
        last = closed[-1].payload
        adopted = last["tally"]["outcome"] == "adopted"
        number = await self._next_decision_number(conn, int(scheduled.payload["convocation"])) if adopted else None
        command = DocumentRecordOutcome(
            id=f"outcome-{session}-{last['vote']}",
            type="document.record_outcome",
            session=session,
            vote=last["vote"],
            outcome="adopted" if adopted else "rejected",
            decision_number=number,
        )
        try:
            await self.documents.execute(str(row["id"]), command, CONSUMER)
        except DomainError as exc:
            log.warning("recording the outcome of %s on %s refused: %s", last["vote"], row["id"], exc)

    async def _next_decision_number(self, conn: asyncpg.Connection, convocation: int) -> str:
        """The next decision number: a running number across the council's decisions, then the convocation."""
        count = await conn.fetchval("SELECT count(*) FROM documents WHERE decision_number IS NOT NULL")
        roman = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
        suffix = roman[convocation] if convocation < len(roman) else str(convocation)
        return f"{int(count) + 1}-{suffix}"
