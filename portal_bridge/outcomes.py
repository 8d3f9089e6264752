"""The durable consumer that takes each decision's outcome from the session log.

When an agenda item is finished (``item.finished``), the last closed vote on it decides: the draft
named by the item (``draft`` = the document's registry number) is recorded as adopted, with the next
decision number of the convocation, or as rejected. The consumer keeps its position per session
stream in ``consumer_positions``; it runs on one node at a time (an advisory lock), catches up after
downtime from the stored positions, and is idempotent: the document command's id is derived from
the session and the vote, so handling an event twice records the outcome once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from portal_bridge.decisions import Documents
from portal_bridge.document_commands import DocumentRecordOutcome
from session_server.domain.errors import DomainError
from session_server.domain.roles import Actor, Role
from session_server.store import EventStore, StoredEvent

log = logging.getLogger(__name__)

NAME = "outcomes"
CONSUMER = Actor(username="system", role=Role.ADMIN)
_LOCK = "kvorum consumer outcomes"


class Outcomes:
    """Follow every session stream; record decisions' outcomes on their documents."""

    def __init__(self, store: EventStore, documents: Documents, *, interval: float = 5.0) -> None:
        self.store = store
        self.documents = documents
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def on_commit(self, events: Sequence[StoredEvent]) -> None:
        """Listener: a finished item wakes the consumer at once."""
        if any(e.type == "item.finished" for e in events):
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="consumer outcomes")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception:
                log.exception("the outcomes consumer failed; it retries")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def catch_up(self) -> int:
        """Handle every session event after the stored positions; return how many events were read."""
        async with self.store.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", _LOCK):
                return 0  # another node is handling them
            try:
                streams = await conn.fetch(
                    """SELECT s.id, coalesce(p.seq, 0) AS seq FROM streams s
                       LEFT JOIN consumer_positions p ON p.consumer = $1 AND p.stream = s.id
                       WHERE s.kind = 'session' AND s.head_seq > coalesce(p.seq, 0)""",
                    NAME,
                )
                handled = 0
                for row in streams:
                    handled += await self._follow(row["id"], row["seq"])
                return handled
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", _LOCK)

    async def _follow(self, stream: str, after: int) -> int:
        events = await self.store.read(stream, after=after)
        if not any(e.type == "item.finished" for e in events):
            await self._save(stream, events[-1].seq if events else after)
            return len(events)
        history = await self.store.read(stream)  # the votes and agenda are needed from the start
        for event in events:
            if event.type == "item.finished":
                await self._item_finished(history, event)
            await self._save(stream, event.seq)
        return len(events)

    async def _save(self, stream: str, seq: int) -> None:
        await self.store.pool.execute(
            """INSERT INTO consumer_positions (consumer, stream, seq) VALUES ($1, $2, $3)
               ON CONFLICT (consumer, stream) DO UPDATE SET seq = EXCLUDED.seq""",
            NAME,
            stream,
            seq,
        )

    async def _item_finished(self, history: Sequence[StoredEvent], finished: StoredEvent) -> None:
        item = finished.payload["item"]
        scheduled = next(e for e in history if e.type == "session.scheduled")
        session = str(scheduled.payload["session"])
        draft = next((i["draft"] for i in scheduled.payload["agenda"] if i["id"] == item), None)
        for e in history:  # the agenda may have been edited before the session opened
            if e.seq < finished.seq and e.type in ("item.added", "item.updated") and e.payload["item"] == item:
                draft = e.payload.get("draft", draft)
        opened = {
            e.payload["vote"]: e.payload["item"] for e in history if e.type == "vote.opened" and e.seq < finished.seq
        }
        closed = [
            e
            for e in history
            if e.type == "vote.closed" and e.seq < finished.seq and opened.get(e.payload["vote"]) == item
        ]
        if not draft or not closed:
            return
        row = await self.store.pool.fetchrow(
            "SELECT id FROM documents WHERE number = $1 AND session = $2 AND status = 'scheduled'", draft, session
        )
        if row is None:
            return
        last = closed[-1].payload
        adopted = last["tally"]["outcome"] == "adopted"
        number = await self._next_decision_number(int(scheduled.payload["convocation"])) if adopted else None
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

    async def _next_decision_number(self, convocation: int) -> str:
        """The next decision number: a running number across the council's decisions, then the convocation."""
        count = await self.store.pool.fetchval("SELECT count(*) FROM documents WHERE decision_number IS NOT NULL")
        roman = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
        suffix = roman[convocation] if convocation < len(roman) else str(convocation)
        return f"{int(count) + 1}-{suffix}"
