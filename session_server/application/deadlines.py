"""Votes close when their time is up, whichever node opened them and whatever happened to it.

The node that commits ``vote.opened`` arms a timer. Every node also looks each second for votes
whose ``closes_at`` has passed (the ``sessions`` row keeps the open vote and its deadline), so a
vote closes although its node died or the database was away at the moment. All of them close it
with the same command id (``auto-close-<vote>``): one acts, the others get its answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from session_server.application.service import SYSTEM, Application, session_stream
from session_server.domain.commands import VoteClose
from session_server.domain.errors import DomainError
from session_server.domain.events import parse_time
from session_server.domain.session_events import VoteCancelled, VoteClosed, VoteOpened
from session_server.store.events import StoredEvent
from session_server.store.sittings import SittingRows

__all__ = ["CLOSE_AFTER", "SWEEP_SECONDS", "VoteDeadlines"]

log = logging.getLogger(__name__)

CLOSE_AFTER = timedelta(milliseconds=50)
"""A vote is closed this long after its ``closes_at``, so a ballot stamped at the last instant is decided first."""
SWEEP_SECONDS = 1.0
"""How often every node looks for votes whose time is up (a vote closes within this of its time, whichever
node opened it, or of the database's return)."""


class VoteDeadlines:
    """Closes the votes of every sitting when their time is up (timers here, a sweep across nodes)."""

    def __init__(self, application: Application, rows: SittingRows) -> None:
        self.application = application
        self.rows = rows
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stop_listening = application.listen(self._on_commit, kinds=("session",))

    def _on_commit(self, events: Sequence[StoredEvent]) -> None:
        clock = self.application.clock
        for event in events:
            match event.data:
                case VoteOpened(vote=vote, closes_at=closes_at):
                    delay = max(0.0, (parse_time(closes_at) - clock()).total_seconds())
                    self._timers[(event.stream, vote)] = asyncio.create_task(
                        self._close_later(event.stream, vote, delay), name=f"close {vote}"
                    )
                case VoteClosed(vote=vote) | VoteCancelled(vote=vote):
                    timer = self._timers.pop((event.stream, vote), None)
                    if timer is not None and timer is not asyncio.current_task():
                        timer.cancel()

    async def _close_later(self, stream: str, vote: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay + CLOSE_AFTER.total_seconds())
            await self._close_vote(stream, vote)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("closing vote %s of %s when its time was up failed", vote, stream)
        finally:
            self._timers.pop((stream, vote), None)

    async def start(self) -> None:
        """Fill in the deadlines of votes left open before they were kept, and watch every deadline."""
        await self._record_open_votes()
        self._sweeper = asyncio.create_task(self._sweep(), name="vote deadlines")

    async def close_overdue_votes(self) -> int:
        """Close every vote, of any node, whose time is up; how many this node closed."""
        closed = 0
        for sitting, vote in await self.rows.votes_due(self.application.clock() - CLOSE_AFTER):
            closed += await self._close_vote(session_stream(sitting), vote)
        return closed

    async def _close_vote(self, stream: str, vote: str) -> int:
        command = VoteClose(id=f"auto-close-{vote}", type="vote.close", vote=vote)
        try:
            result = await self.application.execute(stream, command, SYSTEM)
        except DomainError:  # already closed or cancelled by the chair
            return 0
        return 0 if result.replayed else 1

    async def _sweep(self) -> None:
        failing = False
        while True:
            try:
                await self.close_overdue_votes()
            except Exception as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("closing votes whose time is up failed; retrying every %.0f s: %r", SWEEP_SECONDS, exc)
                failing = True
            else:
                if failing:
                    log.info("closing votes whose time is up works again")
                failing = False
            # while failing, look again sooner: the first query after the database returns may still
            # meet a connection the outage broke, and the vote must close within a second or two
            await asyncio.sleep(SWEEP_SECONDS / 4 if failing else SWEEP_SECONDS)

    async def _record_open_votes(self) -> None:
        for sitting in await self.rows.open_without_deadline():
            state, _ = await self.application.session(sitting)
            if state.open_vote is not None:
                await self.rows.keep_deadline(state.id, state.open_vote.id, state.open_vote.closes_at, state.seq)

    async def close(self) -> None:
        """Stop the sweep and the timers (awaited)."""
        self._stop_listening()
        tasks = [t for t in (self._sweeper, *self._timers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sweeper = None
        self._timers.clear()
