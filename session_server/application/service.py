"""Commands in, committed events out: one command path for every kind of record.

Each stream has at most one batch in flight per process. Commands that arrive while it commits
queue up and go together into the next transaction (group commit): the head row is locked, the
cached state caught up with anything other processes appended, each command decided against the
state left by the ones before it, the read model written, and all their events committed at once.
Only then are the callers answered and the listeners told. A command id that already acted on the
stream is answered with its first result and decides nothing. Which rules decide is the stream's
kind's business (``session_server.application.aggregates``); the path is the same for all.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from session_server.application.aggregates import Aggregate, Drafts
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError, Refusal
from session_server.domain.events import Event, format_time
from session_server.domain.roles import Actor, AssertionCheck, Context, Role
from session_server.domain.session import SessionState
from session_server.ops.logs import COMMAND, SITTING
from session_server.ops.metrics import METRICS
from session_server.store.events import Appending, EventStore, StoredEvent, StreamNotFound

__all__ = ["SYSTEM", "Application", "CommandResult", "Listener", "council_stream", "session_stream", "utcnow"]

log = logging.getLogger(__name__)

QUIET = frozenset({"ballot.cast", "presence.register", "presence.leave", "speaker.request"})
"""Commands not logged when they go through: hundreds a vote; refused ones are."""

SYSTEM = Actor(username="system", role=Role.ADMIN, member=None)
"""The actor of what the server does by itself, such as closing a vote when its time is up."""

MAX_BATCH = 1000
Listener = Callable[[Sequence[StoredEvent]], None]


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


@dataclass(slots=True)
class _Pending:
    command: Any
    actor: Actor
    check: AssertionCheck | None = None
    future: asyncio.Future[CommandResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(frozen=True, slots=True)
class _Listening:
    listener: Listener
    kinds: frozenset[str] | None


async def _caught_up(tx: Appending, state: Any, aggregate: Aggregate) -> Any:
    """``state`` advanced by whatever other processes committed before we locked the head."""
    if state is None and tx.base_seq == 0:
        return None
    if state is not None and state.seq == tx.base_seq:  # nobody else appended: no read needed
        return state
    for event in await tx.events_after(state.seq if state is not None else 0):
        state = aggregate.evolve(state, event)
    return state


class Application:
    """Runs the commands of every registered kind of record and serves their current states.

    The clock and the entropy of decisions come from here (``clock``, ``entropy``), so tests can fix
    them; the rules never read either themselves.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.store = store
        self.clock = clock
        self.entropy = entropy
        self._aggregates: dict[str, Aggregate] = {}
        self._listening: list[_Listening] = []
        self._states: dict[str, Any] = {}
        self._queues: dict[str, list[_Pending]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._drafts: Drafts | None = None
        self.batches = 0
        """Transactions committed so far (each may carry many commands)."""

    # ---- registrations -------------------------------------------------------------------

    def register(self, aggregate: Aggregate) -> None:
        """Run the commands of ``aggregate.kind``'s streams from now on.

        Registering the same aggregate again changes nothing; another one for a kind taken is refused.
        """
        existing = self._aggregates.get(aggregate.kind)
        if existing is aggregate:
            return
        if existing is not None:
            raise ValueError(f"the kind {aggregate.kind!r} is registered already")
        self._aggregates[aggregate.kind] = aggregate

    def listen(self, listener: Listener, *, kinds: Collection[str] | None = None) -> Callable[[], None]:
        """Tell ``listener`` each commit's events (of ``kinds`` only, when given); returns how to stop."""
        entry = _Listening(listener, frozenset(kinds) if kinds is not None else None)
        self._listening.append(entry)
        return lambda: self._listening.remove(entry)

    def _aggregate(self, stream: str) -> Aggregate:
        kind = stream.partition(":")[0]
        aggregate = self._aggregates.get(kind)
        if aggregate is None:
            raise ValueError(f"no kind of record {kind!r} is registered (stream {stream!r})")
        return aggregate

    def provide_drafts(self, drafts: Drafts | None) -> None:
        """Decide amendment votes against ``drafts`` from now on (the extension that keeps drafts)."""
        self._drafts = drafts

    @property
    def drafts(self) -> Drafts | None:
        """The drafts' amendments, where an extension provides them."""
        return self._drafts

    # ---- reading -------------------------------------------------------------------------

    async def council_id(self) -> str | None:
        """The id of this installation's council (the first one created), if any."""
        return await self.store.first_of_kind("council")

    def forget(self, stream: str) -> None:
        """Drop this process's state of ``stream``: the next reader folds it again from the store (as a
        restarted node would)."""
        self._states.pop(stream, None)

    def cached(self, stream: str) -> Any:
        """The state of ``stream`` as last seen by this process, or None."""
        return self._states.get(stream)

    async def current(self, stream: str, *, conn: asyncpg.Connection | None = None) -> Any:
        """The committed state of ``stream``; ``DomainError("<kind>_not_found")`` when it has no events."""
        aggregate = self._aggregate(stream)
        cached = self._states.get(stream)
        events = await self.store.read(stream, after=cached.seq if cached is not None else 0, conn=conn)
        state = self._states.get(stream)  # another task may have advanced it meanwhile
        if events:
            state = aggregate.clone(state) if state is not None else None
            for event in events:
                if state is None or event.seq == state.seq + 1:
                    state = aggregate.evolve(state, event)
            if state is not None:
                self._remember(stream, state)
        if state is None:
            kind, _, name = stream.partition(":")
            raise DomainError(f"{kind}_not_found", f"no {kind} {name!r}")
        return state

    async def council(self, council_id: str, *, conn: asyncpg.Connection | None = None) -> CouncilState:
        """The council's current state; DomainError("council_not_found") if it does not exist."""
        state: CouncilState = await self.current(council_stream(council_id), conn=conn)
        return state

    async def session(self, session_id: str) -> tuple[SessionState, CouncilState]:
        """A session's current committed state and its council; DomainError("session_not_found")."""
        state: SessionState = await self.current(session_stream(session_id))
        return state, await self.council(state.council)

    def _remember(self, stream: str, state: Any) -> None:
        current = self._states.get(stream)
        if current is None or current.seq <= state.seq:
            self._states[stream] = state

    # ---- commands ------------------------------------------------------------------------

    async def execute(self, stream: str, command: Any, actor: Actor) -> CommandResult:
        """Decide and commit ``command`` on ``stream`` (``<kind>:<id>`` of a registered kind).

        Returns after the events are durable. Raises DomainError when the rules refuse it (nothing
        is appended), StoreError when the database failed (nothing is appended either).
        """
        started = time.perf_counter()
        outcome = "error"
        kind, _, name = stream.partition(":")
        tokens = (
            COMMAND.set(str(getattr(command, "id", ""))),
            SITTING.set(name if kind == "session" else SITTING.get()),
        )
        try:
            aggregate = self._aggregate(stream)
            pending = _Pending(command, actor, aggregate.prepare(self, stream, command, actor))
            self._queues.setdefault(stream, []).append(pending)
            if stream not in self._workers:
                self._workers[stream] = asyncio.create_task(
                    self._drain(stream), name=f"commit {stream}", context=contextvars.Context()
                )  # a context of its own: no request's or command's ids in what it and its tasks log
            result = await asyncio.shield(pending.future)
            outcome = "ok"
            return result
        except Refusal as refused:
            outcome = refused.code
            raise
        finally:
            type_ = str(getattr(command, "type", "unknown"))
            METRICS.command(type_, outcome, time.perf_counter() - started)
            if type_ not in QUIET or outcome != "ok":  # a line per event of interest, not per ballot counted
                log.info("%s %s on %r: %s", type_, getattr(command, "id", ""), stream, outcome)
            COMMAND.reset(tokens[0])
            SITTING.reset(tokens[1])

    async def _drain(self, stream: str) -> None:
        try:
            queue = self._queues[stream]
            while queue:
                batch, queue[:] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                try:
                    await self._commit(stream, batch)
                except StreamNotFound:
                    kind, _, name = stream.partition(":")
                    self._refuse(batch, DomainError(f"{kind}_not_found", f"no {kind} {name!r}"))
                except DomainError as refused:  # what the batch needed to be decided is missing
                    self._refuse(batch, refused)
                except Exception as exc:  # the transaction failed: nobody's command acted
                    self._states.pop(stream, None)
                    self._refuse(batch, exc)
        finally:
            del self._workers[stream]
            if not self._queues.get(stream):
                self._queues.pop(stream, None)
            elif stream not in self._workers:  # arrived during the final await
                self._workers[stream] = asyncio.create_task(
                    self._drain(stream), name=f"commit {stream}", context=contextvars.Context()
                )  # a context of its own: no request's or command's ids in what it and its tasks log

    @staticmethod
    def _refuse(batch: list[_Pending], exc: BaseException) -> None:
        for p in batch:
            if not p.future.done():
                p.future.set_exception(exc)

    async def _commit(self, stream: str, batch: list[_Pending]) -> None:
        aggregate = self._aggregate(stream)
        creates = any(p.command.type in aggregate.creating for p in batch)
        async with self.store.appending(stream, kind=aggregate.kind if creates else None) as tx:
            prior = await tx.recorded_commands(sorted({p.command.id for p in batch}))
            cached = self._states.get(stream)
            state = await _caught_up(tx, aggregate.clone(cached) if cached is not None else None, aggregate)
            facts = await aggregate.facts(self, state, tx.conn, [p.command for p in batch])
            answers, state = self._decide_batch(tx, batch, prior, state, aggregate, facts)
            if state is not None and tx.pending:
                await aggregate.record(tx, state)
        # Committed: from here on the events exist for everyone, and nothing below may report otherwise.
        self.batches += 1
        if state is not None:
            self._remember(stream, state)
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
        self._tell(aggregate.kind, tx.pending)
        for p, last_seq, count in replays:  # an earlier result of the same command id, read back
            try:
                events = await self.store.read(stream, after=last_seq - count, limit=count) if count else []
            except Exception as exc:
                p.future.set_exception(exc)
            else:
                p.future.set_result(CommandResult(last_seq, events, replayed=True))

    def _tell(self, kind: str, events: Sequence[StoredEvent]) -> None:
        """Tell the listeners; a failure here is logged, the commit stands."""
        if not events:
            return
        for entry in list(self._listening):
            if entry.kinds is not None and kind not in entry.kinds:
                continue
            try:
                entry.listener(events)
            except Exception:
                log.exception("event listener failed")

    @staticmethod
    def _check_replay(
        p: _Pending, prior: dict[str, tuple[str, int, int]], seen: dict[str, tuple[str, CommandResult]]
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

    def _decide_batch(
        self,
        tx: Appending,
        batch: list[_Pending],
        prior: dict[str, tuple[str, int, int]],
        state: Any,
        aggregate: Aggregate,
        facts: Any,
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
            ctx = Context(actor=p.actor, at=self.clock(), entropy=self.entropy(16))
            if p.check is not None:
                ctx = replace(ctx, check_assertion=p.check)
            try:
                decided = aggregate.decide(state, p.command, ctx, facts)
            except DomainError as exc:
                answers.append(exc)
                continue
            except Exception as exc:  # a bug in the rules: fail this command, not its batch-mates
                log.exception("deciding %s %s failed", p.command.type, p.command.id)
                answers.append(exc)
                continue
            at = format_time(ctx.at)
            appended = [
                tx.append(e.type, e.payload, actor=p.actor.username, at=at, data=e if isinstance(e, Event) else None)
                for e in decided
            ]
            for event in appended:
                state = aggregate.evolve(state, event)
            tx.record_command(p.command.id, p.actor.username, len(appended))
            result = CommandResult(tx.head_seq, appended)
            seen[p.command.id] = (p.actor.username, result)
            answers.append(result)
        return answers, state

    async def close(self) -> None:
        """Wait for the batches in flight."""
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
