"""Commands in, committed events out: the council and session aggregates over the event store.

Each stream has at most one batch in flight per process. Commands that arrive while it commits
queue up and go together into the next transaction (group commit): the head row is locked, the
cached state caught up with anything other processes appended, each command decided against the
state left by the ones before it, and all their events written and committed at once. Only then
are the callers answered and the listeners told. A command id that already acted on the stream is
answered with its first result and decides nothing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from session_server.domain.commands import BallotCast, CouncilCommand, SessionCommand, VoteClose
from session_server.domain.council import CouncilState, decide_council, evolve_council
from session_server.domain.errors import DomainError
from session_server.domain.events import format_time
from session_server.domain.roles import Actor, Context, Role
from session_server.domain.session import SessionState, decide, evolve
from session_server.store.database import Statement
from session_server.store.events import HOT_STATEMENTS as APPEND_STATEMENTS
from session_server.store.events import NOTHING_APPENDED, Appending, EventStore, StoredEvent, StreamNotFound, flush_with
from voting.ballot import Assertion, BallotRefused, Credential, ballot_bytes, verify_assertion

log = logging.getLogger(__name__)

SYSTEM = Actor(username="system", role=Role.ADMIN, member=None)
"""The actor of what the server does by itself, such as closing a vote when its time is up."""

MAX_BATCH = 1000
CLOSE_AFTER = timedelta(milliseconds=50)
"""A vote is closed this long after its ``closes_at``, so a ballot stamped at the last instant is decided first."""
SWEEP_SECONDS = 1.0
"""How often every node looks for votes whose time is up (a vote closes within this of its time, whichever
node opened it, or of the database's return)."""
Listener = Callable[[Sequence[StoredEvent]], None]


APPEND_WITH_SESSION_ROW = flush_with(
    """INSERT INTO sessions (id, council, number, convocation, date, title, status, seq, open_vote, vote_closes_at)
       VALUES ($14, $15, $16, $17, $18::text::date, $19, $20, $21, $22, $23::text::timestamptz)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq, open_vote = EXCLUDED.open_vote,
           vote_closes_at = EXCLUDED.vote_closes_at"""
)
"""An append that also writes the read model's row of its session, in the same round trip."""

HOT_STATEMENTS: list[Statement] = [
    *APPEND_STATEMENTS,
    (APPEND_WITH_SESSION_ROW, (*NOTHING_APPENDED, "", "", 0, 0, "2000-01-01", "", "", 0, None, None)),
]
"""What a command runs in the database, with arguments that change nothing once rolled back
(see ``session_server.store.database.warm``)."""


def council_stream(council_id: str) -> str:
    """The stream id of a council."""
    return f"council:{council_id}"


def session_stream(session_id: str) -> str:
    """The stream id of a plenary session."""
    return f"session:{session_id}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did: the stream's head after it and the events it appended (none on a no-op)."""

    seq: int
    events: Sequence[StoredEvent]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _Verified:
    """A ballot signature checked before its batch: what was checked and the answer."""

    ballot: bytes
    assertion: Assertion
    credential: Credential
    rp_id: str
    origins: tuple[str, ...]
    sign_count: int

    def check(
        self, ballot: bytes, assertion: Assertion, credential: Credential, rp_id: str, origins: Sequence[str]
    ) -> int:
        """The earlier answer if ``decide`` asks exactly the same question, else the check itself."""
        if (ballot, assertion, credential, rp_id, tuple(origins)) == (
            self.ballot,
            self.assertion,
            self.credential,
            self.rp_id,
            self.origins,
        ):
            return self.sign_count
        return verify_assertion(ballot, assertion, credential, rp_id=rp_id, origins=origins)


@dataclass(slots=True)
class _Pending:
    command: SessionCommand | CouncilCommand
    actor: Actor
    verified: _Verified | None = None
    future: asyncio.Future[CommandResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


async def _caught_up(tx: Appending, state: Any, evolve_fn: Callable[[Any, StoredEvent], Any]) -> Any:
    """``state`` advanced by whatever other processes committed before we locked the head."""
    if state is None and tx.base_seq == 0:
        return None
    if state is not None and state.seq == tx.base_seq:  # nobody else appended: no read needed
        return state
    for event in await tx.events_after(state.seq if state is not None else 0):
        state = evolve_fn(state, event)
    return state


class Sessions:
    """The council and its sessions: decide commands, group-commit their events, serve current state."""

    def __init__(self, store: EventStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self.listeners: list[Listener] = []
        self._councils: dict[str, CouncilState] = {}
        self._sessions: dict[str, SessionState] = {}
        self._queues: dict[str, list[_Pending]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions committed so far (each may carry many commands)."""

    # ---- reading -------------------------------------------------------------------------

    async def council_id(self) -> str | None:
        """The id of this installation's council (the first one created), if any."""
        value: str | None = await self.store.pool.fetchval(
            "SELECT substr(id, 9) FROM streams WHERE kind = 'council' ORDER BY created_at, id LIMIT 1"
        )
        return value

    async def council(self, council_id: str, *, conn: asyncpg.Connection | None = None) -> CouncilState:
        """The council's current state; DomainError("council_not_found") if it does not exist."""
        state = self._councils.get(council_id)
        events = await self.store.read(council_stream(council_id), after=state.seq if state else 0, conn=conn)
        state = self._councils.get(council_id)  # another task may have advanced it meanwhile
        for event in events:
            if state is None or event.seq == state.seq + 1:
                state = evolve_council(state, event)
        if state is None:
            raise DomainError("council_not_found", f"no council {council_id!r}")
        self._councils[council_id] = state
        return state

    async def session(self, session_id: str) -> tuple[SessionState, CouncilState]:
        """A session's current committed state and its council; DomainError("session_not_found")."""
        stream = session_stream(session_id)
        state = self._sessions.get(stream)
        events = await self.store.read(stream, after=state.seq if state else 0)
        state = self._sessions.get(stream)
        if events:
            state = state.clone() if state else None
            for event in events:
                if state is None or event.seq == state.seq + 1:
                    state = evolve(state, event)
            if state is not None:
                self._remember(stream, state)
        if state is None:
            raise DomainError("session_not_found", f"no session {session_id!r}")
        return state, await self.council(state.council)

    def _remember(self, stream: str, state: SessionState) -> None:
        current = self._sessions.get(stream)
        if current is None or current.seq <= state.seq:
            self._sessions[stream] = state

    # ---- commands ------------------------------------------------------------------------

    async def execute(self, stream: str, command: SessionCommand | CouncilCommand, actor: Actor) -> CommandResult:
        """Decide and commit ``command`` on ``stream`` (``council:…`` or ``session:…``).

        Returns after the events are durable. Raises DomainError when the rules refuse it (nothing
        is appended), StoreError when the database failed (nothing is appended either).
        """
        pending = _Pending(command, actor)
        if isinstance(command, BallotCast) and command.assertion is not None:
            pending.verified = self._preverify(stream, command, actor)
        self._queues.setdefault(stream, []).append(pending)
        if stream not in self._workers:
            self._workers[stream] = asyncio.create_task(self._drain(stream), name=f"commit {stream}")
        return await asyncio.shield(pending.future)

    def _preverify(self, stream: str, command: BallotCast, actor: Actor) -> _Verified | None:
        """Check a ballot's signature against the state as cached now, before it joins a batch.

        The signature check is the costly part of a signed ballot. Done here, it overlaps the commit
        of the batch in flight instead of lengthening the next one; ``decide`` still makes every check
        in order and uses this answer only if it asks exactly the same question. None when it cannot
        tell yet. (Not in worker threads: ECDSA releases the GIL, but each thread then waits up to the
        5 ms switch interval to take it back from the busy event loop — measured slower.)
        """
        state = self._sessions.get(stream)
        if state is None or actor.member is None or command.nonce is None or command.assertion is None:
            return None
        council = self._councils.get(state.council)
        vote = state.votes.get(command.vote)
        if council is None or vote is None:
            return None
        try:
            assertion = Assertion.from_json(command.assertion)
        except BallotRefused:
            return None
        credential = council.credentials.get(assertion.credential)
        if credential is None:
            return None
        ballot = ballot_bytes(
            council=council.id,
            session=state.id,
            vote=vote.id,
            item=vote.item,
            deputy=actor.member,
            choice=command.choice.value,
            nonce=command.nonce,
        )
        try:
            sign_count = verify_assertion(ballot, assertion, credential, rp_id=council.rp_id, origins=council.origins)
        except BallotRefused:
            return None  # decide refuses it with the right code, in the right order
        return _Verified(ballot, assertion, credential, council.rp_id, council.origins, sign_count)

    async def _drain(self, stream: str) -> None:
        try:
            queue = self._queues[stream]
            while queue:
                batch, queue[:] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                try:
                    await self._commit(stream, batch)
                except StreamNotFound:
                    kind, _, name = stream.partition(":")
                    missing = DomainError(f"{kind}_not_found", f"no {kind} {name!r}")
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(missing)
                except Exception as exc:  # the transaction failed: nobody's command acted
                    if stream.startswith("session:"):
                        self._sessions.pop(stream, None)
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(exc)
        finally:
            del self._workers[stream]
            if not self._queues.get(stream):
                self._queues.pop(stream, None)
            elif stream not in self._workers:  # arrived during the final await
                self._workers[stream] = asyncio.create_task(self._drain(stream), name=f"commit {stream}")

    async def _commit(self, stream: str, batch: list[_Pending]) -> None:
        is_session = stream.startswith("session:")
        kind = "session" if is_session else "council"
        creates = any(p.command.type in ("session.schedule", "council.create") for p in batch)
        async with self.store.appending(stream, kind=kind if creates else None) as tx:
            prior = await tx.recorded_commands(sorted({p.command.id for p in batch}))
            if is_session:
                answers, session = await self._decide_session(tx, stream, batch, prior)
            else:
                cached = copy.deepcopy(self._councils.get(stream.removeprefix("council:")))
                council = await _caught_up(tx, cached, evolve_council)
                answers, council = await self._decide_batch(tx, batch, prior, council, decide_council, evolve_council)
        # Committed: from here on the events exist for everyone, and nothing below may report otherwise.
        self.batches += 1
        if is_session:
            if session is not None:
                self._remember(stream, session)
        elif council is not None:
            self._councils[council.id] = council
        replays: list[tuple[_Pending, int, int]] = []
        for p, answer in zip(batch, answers, strict=True):
            if p.future.done():
                continue
            if isinstance(answer, BaseException):
                p.future.set_exception(answer)
            elif isinstance(answer, tuple):
                replays.append((p, *answer))
            else:
                p.future.set_result(answer)
        self._after_commit(stream, tx.pending)
        for p, last_seq, count in replays:  # an earlier result of the same command id, read back
            try:
                events = await self.store.read(stream, after=last_seq - count, limit=count) if count else []
            except Exception as exc:
                p.future.set_exception(exc)
            else:
                p.future.set_result(CommandResult(last_seq, events, replayed=True))

    def _after_commit(self, stream: str, events: Sequence[StoredEvent]) -> None:
        """Tell the listeners and arm vote timers; a failure here is logged, the commit stands."""
        if not events:
            return
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:
                log.exception("event listener failed")
        if stream.startswith("session:"):
            try:
                self._schedule_timers(stream, events)
            except Exception:
                log.exception("arming vote timers for %s failed", stream)

    def _check_replay(
        self, p: _Pending, prior: dict[str, tuple[str, int, int]], seen: dict[str, tuple[str, CommandResult]]
    ) -> CommandResult | tuple[int, int] | DomainError | None:
        """The first result of a command id seen before (in the store or earlier in this batch)."""
        cid = p.command.id
        result: CommandResult | tuple[int, int]
        if cid in prior:
            owner, last_seq, count = prior[cid]
            result = (last_seq, count)
        elif cid in seen:
            owner, result = seen[cid]
        else:
            return None
        if owner != p.actor.username:
            return DomainError("command_id_reused", f"command id {cid!r} was already used by another user")
        return result

    async def _decide_session(
        self, tx: Appending, stream: str, batch: list[_Pending], prior: dict[str, tuple[str, int, int]]
    ) -> tuple[list[Any], SessionState | None]:
        cached = self._sessions.get(stream)
        state = await _caught_up(tx, cached.clone() if cached else None, evolve)
        council_id = state.council if state else await self.council_id()
        if council_id is None:
            refused = DomainError("council_not_found", "create the council first (kvorum demo)")
            return [refused] * len(batch), state
        council = await self.council(council_id, conn=tx.conn)

        def decide_here(s: SessionState | None, command: Any, ctx: Context) -> list[Any]:
            return decide(s, council, command, ctx)

        answers, state = await self._decide_batch(tx, batch, prior, state, decide_here, evolve)
        if state is not None:
            vote = state.open_vote
            tx.also(
                APPEND_WITH_SESSION_ROW,
                state.id,
                state.council,
                state.number,
                state.convocation,
                state.date,
                state.title,
                state.status,
                state.seq,
                vote.id if vote else None,
                vote.closes_at if vote else None,
            )
        return answers, state

    async def _decide_batch(
        self,
        tx: Appending,
        batch: list[_Pending],
        prior: dict[str, tuple[str, int, int]],
        state: Any,
        decide_fn: Callable[[Any, Any, Context], list[Any]],
        evolve_fn: Callable[[Any, StoredEvent], Any],
    ) -> tuple[list[Any], Any]:
        """Decide each command against the state the ones before it left; append what they decided.

        ``state`` must be caught up with the locked head (see ``_caught_up``).
        """
        answers: list[Any] = []
        seen: dict[str, tuple[str, CommandResult]] = {}
        for p in batch:
            replay = self._check_replay(p, prior, seen)
            if replay is not None:
                answers.append(replay)
                continue
            entropy = os.urandom(16) if p.command.type == "vote.open" else b""
            ctx = Context(actor=p.actor, at=self.clock(), entropy=entropy)
            if p.verified is not None:
                ctx = replace(ctx, check_assertion=p.verified.check)
            try:
                decided = decide_fn(state, p.command, ctx)
            except DomainError as exc:
                answers.append(exc)
                continue
            except Exception as exc:  # a bug in the rules: fail this command, not its batch-mates
                log.exception("deciding %s %s failed", p.command.type, p.command.id)
                answers.append(exc)
                continue
            at = format_time(ctx.at)
            appended = [tx.append(e.type, e.payload, actor=p.actor.username, at=at) for e in decided]
            for event in appended:
                state = evolve_fn(state, event)
            tx.record_command(p.command.id, p.actor.username, len(appended))
            result = CommandResult(tx.head_seq, appended)
            seen[p.command.id] = (p.actor.username, result)
            answers.append(result)
        return answers, state

    # ---- vote timers ---------------------------------------------------------------------

    def _schedule_timers(self, stream: str, events: Sequence[StoredEvent]) -> None:
        for event in events:
            vote = str(event.payload.get("vote", ""))
            if event.type == "vote.opened":
                closes_at = datetime.fromisoformat(str(event.payload["closes_at"]).replace("Z", "+00:00"))
                delay = max(0.0, (closes_at - self.clock()).total_seconds())
                key = (stream, vote)
                self._timers[key] = asyncio.create_task(self._close_later(stream, vote, delay), name=f"close {vote}")
            elif event.type in ("vote.closed", "vote.cancelled"):
                timer = self._timers.pop((stream, vote), None)
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
        """Close every vote, of any node, whose time is up; how many this node closed.

        The command id is the timer's (``auto-close-<vote>``), so when several nodes (or a node's
        own timer) close one vote at once, one closes it and the others get the same answer.
        """
        due = await self.store.pool.fetch(
            "SELECT id, open_vote FROM sessions WHERE vote_closes_at <= $1 ORDER BY vote_closes_at",
            self.clock() - CLOSE_AFTER,
        )
        closed = 0
        for row in due:
            closed += await self._close_vote(session_stream(row["id"]), row["open_vote"])
        return closed

    async def _close_vote(self, stream: str, vote: str) -> int:
        command = VoteClose(id=f"auto-close-{vote}", type="vote.close", vote=vote)
        try:
            result = await self.execute(stream, command, SYSTEM)
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
        rows = await self.store.pool.fetch("SELECT id FROM sessions WHERE status = 'open' AND vote_closes_at IS NULL")
        for row in rows:
            state, _ = await self.session(row["id"])
            if state.open_vote is not None:
                await self.store.pool.execute(
                    """UPDATE sessions SET open_vote = $2, vote_closes_at = $3::text::timestamptz
                       WHERE id = $1 AND seq = $4""",
                    state.id,
                    state.open_vote.id,
                    state.open_vote.closes_at,
                    state.seq,
                )

    async def close(self) -> None:
        """Stop timers and wait for batches in flight."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        timers = list(self._timers.values())
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        workers = list(self._workers.values())
        await asyncio.gather(*workers, return_exceptions=True)
