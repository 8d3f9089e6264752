"""The event store: hash-chained streams of events in PostgreSQL.

Every append runs in a transaction that first locks the stream's head row (``SELECT … FOR
UPDATE``). Appenders in any number of processes therefore take turns per stream, each sees the
head its predecessor committed, and ``seq`` stays 1, 2, 3… without gaps. Events are only visible,
and only acknowledged, after that transaction commits. One transaction may append the events of
many commands (group commit: one WAL flush for the whole batch).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import orjson

from session_server.domain.events import Event, parse_event
from session_server.store.database import Statement
from voting.canonical import GENESIS, seal, verify_chain

E = TypeVar("E", bound=Event)

# One primary-key probe per id. `id = ANY($2)` looks equivalent, but asyncpg's cached generic plan
# then scans all of the stream's commands and filters them: slower with every command ever run.
# LIMIT 1 (free: the id is unique) keeps the planner from flattening the probe into a hash join.
RECORDED_COMMANDS = """
    SELECT c.id, c.actor, c.last_seq, c.event_count
    FROM unnest($2::text[]) AS wanted (id)
    CROSS JOIN LATERAL (SELECT id, actor, last_seq, event_count FROM commands
                        WHERE stream = $1 AND id = wanted.id LIMIT 1) AS c"""

LOCK_HEAD = "SELECT head_seq, head_hash FROM streams WHERE id = $1 FOR UPDATE"

READ_AFTER = "SELECT leaf FROM events WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3"

# One round trip: the events, the command records, whatever else the transaction writes (``also``,
# see ``Appending.also``) and the new head.
_FLUSH = """
    WITH appended AS (
        INSERT INTO events (stream, seq, type, actor, at, hash, leaf)
        SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[], $7::bytea[])
    ), recorded AS (
        INSERT INTO commands (stream, id, actor, last_seq, event_count)
        SELECT $1, * FROM unnest($8::text[], $9::text[], $10::bigint[], $11::int[])
    ){also}
    UPDATE streams SET head_seq = $12, head_hash = $13 WHERE id = $1"""
FLUSH = _FLUSH.format(also="")
ALSO_FIRST_PARAMETER = 14
"""The number of the first parameter of a statement given to ``Appending.also``."""


def flush_with(*also: str) -> str:
    """The append's statement that also runs each of ``also`` (data-modifying statements), in one round trip."""
    return _FLUSH.format(also="".join(f", also{n} AS ({statement})" for n, statement in enumerate(also)))


NOTHING_APPENDED: tuple[Any, ...] = ("", [], [], [], [], [], [], [], [], [], [], 0, b"")
"""Arguments of :data:`FLUSH` that write nothing."""

HOT_STATEMENTS: list[Statement] = [
    (LOCK_HEAD, ("",)),
    (RECORDED_COMMANDS, ("", [""])),
    (READ_AFTER, ("", 0, 1)),
    (FLUSH, NOTHING_APPENDED),
]
"""An append's statements, with arguments that match nothing (see ``session_server.store.database.warm``)."""


class StoreError(Exception):
    """Base of the store's errors; ``code`` is stable."""

    code = "store_error"


class StreamNotFound(StoreError):
    """The stream has no head row: nothing was ever appended to it."""

    code = "stream_not_found"


class StoreUnavailable(StoreError):
    """PostgreSQL refused or dropped the transaction; nothing was appended."""

    code = "store_unavailable"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed: what clients receive and what the ledger's leaf encodes."""

    stream: str
    seq: int
    type: str
    payload: Mapping[str, Any]
    actor: str
    at: str
    hash: str
    leaf: bytes
    known: Event | None = field(default=None, compare=False, repr=False)
    """The typed event, when the appender had it (or once ``data`` parsed it)."""

    @property
    def data(self) -> Event:
        """The typed event (``session_server.domain.events``), parsed at most once."""
        known = self.known
        if known is None:
            known = parse_event(self.type, self.payload)
            object.__setattr__(self, "known", known)
        return known

    def of(self, kind: builtins.type[E]) -> E | None:
        """The typed event if it is of ``kind``, else None. Only an event of that type is parsed, so one a
        reader does not care about never fails it (an older version's event missing a field, say)."""
        if self.type != kind.type:
            return None
        data = self.data
        return data if isinstance(data, kind) else None

    def as_dict(self) -> dict[str, Any]:
        """The event as served: ``{"stream", "seq", "type", "payload", "actor", "at", "hash"}``."""
        return {
            "stream": self.stream,
            "seq": self.seq,
            "type": self.type,
            "payload": self.payload,
            "actor": self.actor,
            "at": self.at,
            "hash": self.hash,
        }

    @classmethod
    def from_leaf(cls, leaf: bytes) -> StoredEvent:
        """Parse the canonical bytes written by the store."""
        data = orjson.loads(leaf)
        return cls(
            stream=data["stream"],
            seq=data["seq"],
            type=data["type"],
            payload=data["payload"],
            actor=data["actor"],
            at=data["at"],
            hash=data["hash"],
            leaf=leaf,
        )


def _parse_at(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


class Appending:
    """One locked append transaction on one stream; obtained from ``EventStore.appending``."""

    def __init__(self, conn: asyncpg.Connection, stream: str, head_seq: int, head_hash: bytes) -> None:
        self.conn = conn
        self.stream = stream
        self.base_seq = head_seq
        self.head_seq = head_seq
        self.head_hash = head_hash
        self.pending: list[StoredEvent] = []
        self._commands: list[tuple[str, str, int, int]] = []
        self._also: Statement | None = None

    def append(
        self, type: str, payload: Mapping[str, Any], *, actor: str, at: str, data: Event | None = None
    ) -> StoredEvent:
        """Chain one event after the current head (in memory; written when the transaction ends).

        ``data``: the typed event whose payload this is, handed on so that nobody parses it again."""
        seq = self.head_seq + 1
        digest, leaf = seal(self.head_hash, stream=self.stream, seq=seq, type=type, payload=payload, actor=actor, at=at)
        event = StoredEvent(self.stream, seq, type, payload, actor, at, digest, leaf, data)
        self.pending.append(event)
        self.head_seq = seq
        self.head_hash = bytes.fromhex(digest)
        return event

    def record_command(self, command_id: str, actor: str, event_count: int) -> None:
        """Remember that ``command_id`` acted now, appending the last ``event_count`` events."""
        self._commands.append((command_id, actor, self.head_seq, event_count))

    def also(self, query: str, *args: Any) -> None:
        """Run ``query`` when the events are written, in the same round trip (if anything is written).

        ``query`` comes from :func:`flush_with` (prepared once per connection, so build it once); its
        own parameters start at :data:`ALSO_FIRST_PARAMETER`. A read model kept in step with the
        stream costs no extra round trip while the head is locked.
        """
        self._also = (query, args)

    async def events_after(self, seq: int) -> list[StoredEvent]:
        """Committed events after ``seq`` (up to the locked head), read inside this transaction."""
        rows = await self.conn.fetch(
            "SELECT leaf FROM events WHERE stream = $1 AND seq > $2 ORDER BY seq", self.stream, seq
        )
        return [StoredEvent.from_leaf(r["leaf"]) for r in rows]

    async def recorded_commands(self, ids: Sequence[str]) -> dict[str, tuple[str, int, int]]:
        """For the ids among ``ids`` that already acted on this stream: ``id -> (actor, last_seq, count)``."""
        if not ids:
            return {}
        rows = await self.conn.fetch(
            RECORDED_COMMANDS,
            self.stream,
            list(ids),
        )
        return {r["id"]: (r["actor"], r["last_seq"], r["event_count"]) for r in rows}

    async def _flush(self) -> None:
        if not self.pending and not self._commands:
            return
        query, also = self._also or (FLUSH, ())
        await self.conn.execute(
            query,
            self.stream,
            [e.seq for e in self.pending],
            [e.type for e in self.pending],
            [e.actor for e in self.pending],
            [_parse_at(e.at) for e in self.pending],
            [bytes.fromhex(e.hash) for e in self.pending],
            [e.leaf for e in self.pending],
            [c[0] for c in self._commands],
            [c[1] for c in self._commands],
            [c[2] for c in self._commands],
            [c[3] for c in self._commands],
            self.head_seq,
            self.head_hash,
            *also,
        )


class EventStore:
    """Append to and read streams in PostgreSQL through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def appending(self, stream: str, *, kind: str | None = None) -> AsyncIterator[Appending]:
        """Lock ``stream``'s head for one transaction; commit the appended events when the block ends.

        With ``kind`` given, a stream that does not exist yet is created; without it, a missing stream
        raises StreamNotFound. An exception inside the block rolls everything back.
        """
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if kind is not None:
                    await conn.execute(
                        "INSERT INTO streams (id, kind) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", stream, kind
                    )
                head = await conn.fetchrow(LOCK_HEAD, stream)
                if head is None:
                    raise StreamNotFound(f"no stream {stream!r}")
                tx = Appending(conn, stream, head["head_seq"], bytes(head["head_hash"]))
                yield tx
                await tx._flush()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreUnavailable(f"append to {stream!r} failed: {exc}") from exc

    async def append(
        self, stream: str, events: Iterable[tuple[str, Mapping[str, Any]]], *, actor: str, at: str, kind: str
    ) -> list[StoredEvent]:
        """Append ``(type, payload)`` pairs in one transaction and return them as committed."""
        async with self.appending(stream, kind=kind) as tx:
            for type_, payload in events:
                tx.append(type_, payload, actor=actor, at=at)
        return tx.pending

    async def read(
        self, stream: str, *, after: int = 0, limit: int | None = None, conn: asyncpg.Connection | None = None
    ) -> list[StoredEvent]:
        """Events of ``stream`` with ``seq > after`` in order (one index range scan on the primary key)."""
        rows = await (conn or self.pool).fetch(READ_AFTER, stream, after, limit)
        return [StoredEvent.from_leaf(r["leaf"]) for r in rows]

    async def heads(self, streams: Sequence[str]) -> dict[str, int]:
        """The last committed ``seq`` of each of ``streams`` that exists."""
        rows = await self.pool.fetch("SELECT id, head_seq FROM streams WHERE id = ANY($1::text[])", list(streams))
        return {r["id"]: int(r["head_seq"]) for r in rows}

    async def hash_at(self, stream: str, seq: int) -> str | None:
        """The hex hash of event ``seq`` of ``stream`` (what a snapshot at ``seq`` chains on from)."""
        value: str | None = await self.pool.fetchval(
            "SELECT encode(hash, 'hex') FROM events WHERE stream = $1 AND seq = $2", stream, seq
        )
        return value

    async def first_of_kind(self, kind: str) -> str | None:
        """The id of the first stream of ``kind`` created (without its ``kind:`` prefix), if any."""
        value: str | None = await self.pool.fetchval(
            "SELECT substr(id, length($1) + 2) FROM streams WHERE kind = $1 ORDER BY created_at, id LIMIT 1", kind
        )
        return value

    async def answers(self) -> None:
        """Raise unless the database answers now (``/readyz``)."""
        await self.pool.fetchval("SELECT 1")

    async def head(self, stream: str) -> int | None:
        """The last committed ``seq`` of ``stream`` (0 when empty), or None when it does not exist."""
        value: int | None = await self.pool.fetchval("SELECT head_seq FROM streams WHERE id = $1", stream)
        return value

    async def verify(self, stream: str, *, batch: int = 5000) -> int:
        """Re-check ``stream``'s whole hash chain from the stored leaves; return how many events it holds.

        Raises ``voting.canonical.ChainBroken`` naming the first event that does not chain.
        """
        prev, after, total = GENESIS, 0, 0
        while True:
            events = [orjson.loads(e.leaf) for e in await self.read(stream, after=after, limit=batch)]
            if not events:
                return total
            total += verify_chain(events, prev_hash=prev, first_seq=after + 1)
            prev, after = bytes.fromhex(events[-1]["hash"]), events[-1]["seq"]
