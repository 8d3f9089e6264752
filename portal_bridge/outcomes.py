"""The durable consumer that takes each decision's outcome from the session log.

When an agenda item is finished (``item.finished``), the vote that settled its draft decides: its vote «в
цілому» or «за основу та в цілому» (the one held again, where the council decided a re-vote), or a
failed «за основу» (``session_server.domain.votes.Consideration``); for votes opened without a kind, the
last closed one. The draft named by the item (``draft`` = the document's registry number) is recorded
as adopted, with the next decision number of the convocation and the amendments the council adopted
(the document makes the consolidated text of them), or as rejected. Each closed amendment vote is
recorded on the draft's amendments as it closes, and each closed conclusion vote of a standing committee's
sitting as the committee's conclusion on the draft its item names. The consumer keeps its
position per session stream in ``consumer_positions``; it runs on one node at a time (an advisory
lock), catches up after downtime from the stored positions, and is idempotent: the document command's id is derived from
the session and the vote, so handling an event twice records the outcome once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from portal_bridge.decisions import Documents
from portal_bridge.document_commands import (
    AmendmentRecordOutcome,
    ConclusionRecord,
    DocumentCommandModel,
    DocumentRecordOutcome,
)
from portal_bridge.ukrainian import roman
from session_server.domain.errors import DomainError
from session_server.domain.roles import Actor, Role
from session_server.domain.session_events import ItemFinished, VoteClosed
from session_server.domain.session_state import SessionState
from session_server.domain.votes import Consideration
from session_server.extensions import Consumer, Core
from session_server.store.events import StoredEvent
from voting.tally import Outcome

log = logging.getLogger(__name__)

NAME = "outcomes"
CONSUMER = Actor(username="system", role=Role.ADMIN)


class Outcomes(Consumer):
    """Follow every session stream; record decisions' outcomes on their documents."""

    name = NAME
    wake_on = frozenset({"item.finished", "vote.closed"})

    def __init__(self, core: Core, documents: Documents) -> None:
        super().__init__(core)
        self.documents = documents

    async def handle(self, conn: asyncpg.Connection, stream: str, events: Sequence[StoredEvent]) -> None:
        """Its effect is a command on the draft's own stream, committed by the documents service; the
        command's id is made from the vote, so handling the event again after a crash replays it."""
        finished = [d.item for e in events if (d := e.of(ItemFinished))]
        closed = [c.vote for e in events if (c := e.of(VoteClosed))]
        if not finished and not closed:
            return
        # The sitting as it stands: a finished item is never taken up again, so its votes are all closed and
        # its draft is the one it had when it was finished (the agenda is fixed once the sitting opens).
        state: SessionState = await self.application.current(stream)
        for vote in closed:
            await self._amendment_voted(conn, state, vote)
            await self._conclusion_voted(conn, state, vote)
        for item in finished:
            await self._item_finished(conn, state, item)

    async def _draft(self, conn: asyncpg.Connection, state: SessionState, item_id: str) -> str | None:
        """The id of the document on the item's agenda in this sitting, if any."""
        item = state.agenda.get(item_id)
        if item is None or not item.draft:
            return None
        found = await conn.fetchval(
            "SELECT id FROM documents WHERE number = $1 AND session = $2 AND status = 'scheduled'", item.draft, state.id
        )
        return None if found is None else str(found)

    async def _conclusion_voted(self, conn: asyncpg.Connection, state: SessionState, vote_id: str) -> None:
        """A committee's conclusion vote, recorded on the draft its item names (registry number), whatever
        the draft's status: the plenary then sees it beside the item."""
        vote = state.votes.get(vote_id)
        if state.committee is None or vote is None or vote.kind != "conclusion" or vote.tally is None:
            return
        item = state.agenda.get(vote.item)
        if item is None or not item.draft or vote.recommendation is None:
            return
        document = await conn.fetchval("SELECT id FROM documents WHERE number = $1", item.draft)
        if document is None:
            return
        command = ConclusionRecord(
            id=f"conclusion-{state.id}-{vote.id}",
            type="conclusion.record",
            committee=state.committee,
            session=state.id,
            vote=vote.id,
            recommendation=vote.recommendation,  # type: ignore[arg-type]  # one of the Recommendation values
            adopted=vote.tally.outcome is Outcome.ADOPTED,
            text=vote.subject,
            amendments=list(vote.amendments),
        )
        await self._record(str(document), command, f"conclusion {vote.id}")

    async def _amendment_voted(self, conn: asyncpg.Connection, state: SessionState, vote_id: str) -> None:
        vote = state.votes.get(vote_id)
        if vote is None or vote.kind != "amendment" or not vote.amendments or vote.tally is None:
            return  # (a conclusion's amendments are proposed to the plenary, not decided by its vote)
        document = await self._draft(conn, state, vote.item)
        if document is None:
            return
        command = AmendmentRecordOutcome(
            id=f"amendment-{state.id}-{vote.id}",
            type="amendment.record_outcome",
            session=state.id,
            vote=vote.id,
            amendments=list(vote.amendments),
            outcome="adopted" if vote.tally.outcome is Outcome.ADOPTED else "rejected",
        )
        await self._record(document, command, f"amendment vote {vote.id}")

    async def _item_finished(self, conn: asyncpg.Connection, state: SessionState, item_id: str) -> None:
        # the votes on the item's draft: not the procedural vote that put the item on the agenda
        closed = [v for v in state.votes.values() if v.item == item_id and v.purpose is None and v.status == "closed"]
        document = await self._draft(conn, state, item_id)
        if document is None or not closed:
            return
        amendments: list[str] = []
        if any(v.kind is not None for v in closed):
            # Votes of a kind: the draft is settled by its vote «в цілому» (or «за основу та в цілому»), as
            # held again where the council so decided, or by a failed «за основу»; else it is not decided.
            consideration = Consideration.of(state, item_id)
            settled = consideration.outcome
            if settled is None:
                return
            last = settled
            amendments = consideration.adopted_amendments
        else:
            last = closed[-1]  # votes from before kinds: the last closed decides (one vote is open at a time)
        adopted = last.tally is not None and last.tally.outcome is Outcome.ADOPTED
        number = await self._next_decision_number(conn, state.convocation) if adopted else None
        command = DocumentRecordOutcome(
            id=f"outcome-{state.id}-{last.id}",
            type="document.record_outcome",
            session=state.id,
            vote=last.id,
            outcome="adopted" if adopted else "rejected",
            decision_number=number,
            amendments=amendments if adopted else [],
        )
        await self._record(document, command, f"the outcome of {last.id}")

    async def _record(self, document: str, command: DocumentCommandModel, what: str) -> None:
        """Record on the draft; a refusal is logged, not raised: the draft's own rules have the last word (a
        draft decided or withdrawn meanwhile), and the sitting's log must not stall on it."""
        try:
            await self.documents.execute(document, command, CONSUMER)
        except DomainError as exc:
            log.warning("recording %s on %s refused: %s", what, document, exc)

    async def _next_decision_number(self, conn: asyncpg.Connection, convocation: int) -> str:
        """The next decision number: a running number across the council's decisions, then the convocation."""
        count = await conn.fetchval("SELECT count(*) FROM documents WHERE decision_number IS NOT NULL")
        return f"{int(count) + 1}-{roman(convocation)}"
