"""The public ledger: each stream as an RFC 9162 Merkle tree, signed checkpoints, proofs and receipts.

A leaf is an event's canonical bytes exactly as stored (``events.leaf``); leaf index = seq − 1. The
council's Ed25519 key signs checkpoints as C2SP signed notes whose origin line names the council
and the session (``<KVORUM_LEDGER_ORIGIN>/<council>/<session>``; the council stream's own is
``<KVORUM_LEDGER_ORIGIN>/<council>``). A checkpoint is signed after every commit that closes a
vote or the session, within ``KVORUM_CHECKPOINT_SECONDS`` of any other commit, and on demand for
a receipt. Checkpoints are stored, so every node serves the same ones; keys are never deleted, only
retired, so a checkpoint stays verifiable after a rotation. A checkpoint is served with the
cosignature lines of the witnesses that have cosigned it so far (``ledger.witnessing``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from session_server.domain.council_events import CredentialEnrolled, CredentialRevoked
from session_server.domain.session_events import SessionClosed, VoteCancelled, VoteClosed
from session_server.store.events import StoredEvent
from voting.checkpoint import Checkpoint, NoteSigner
from voting.merkle import MerkleTree

log = logging.getLogger(__name__)

TREES_CACHED = 64
"""Streams whose Merkle trees stay in memory (≈ 15 MB for 100,000 events); older ones are rebuilt."""

# Events after which a checkpoint is signed at once (the results residents will check).
_SIGN_NOW = (VoteClosed, VoteCancelled, SessionClosed, CredentialEnrolled, CredentialRevoked)


class LedgerError(Exception):
    """A ledger request that cannot be answered: ``code`` is stable, the HTTP edge maps it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that an event is in the ledger: its leaf, index and inclusion proof under a signed checkpoint."""

    index: int
    leaf: bytes
    size: int
    hashes: list[bytes]
    checkpoint: str

    def as_dict(self) -> dict[str, object]:
        """JSON form (base64 leaf and hashes)."""
        return {
            "index": self.index,
            "leaf": b64(self.leaf),
            "size": self.size,
            "hashes": [b64(h) for h in self.hashes],
            "checkpoint": self.checkpoint,
        }


def b64(data: bytes) -> str:
    """Standard base64 with padding, as the ledger format uses."""
    return base64.b64encode(data).decode("ascii")


class Ledger:
    """Merkle trees of the streams (cached per process), checkpoint keys, signing and proofs."""

    def __init__(self, pool: asyncpg.Pool, *, origin: str, interval: float = 60.0) -> None:
        self.pool = pool
        self.origin = origin
        self.interval = interval
        self._trees: OrderedDict[str, MerkleTree] = OrderedDict()  # least recently used first
        self._locks: dict[str, asyncio.Lock] = {}
        self._signers: list[tuple[NoteSigner, bool]] = []  # (signer, retired), oldest first
        self._dirty: set[str] = set()
        self._urgent: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._signed: list[Callable[[str], None]] = []

    def on_signed(self, listener: Callable[[str], None]) -> None:
        """Tell ``listener`` the stream of every checkpoint this node signs (the witnesses are asked then)."""
        self._signed.append(listener)

    # ---- keys ------------------------------------------------------------------------------

    async def load_keys(self) -> None:
        """Read the checkpoint keys; create the first one if there is none."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kvorum ledger keys'))")
            rows = await conn.fetch("SELECT name, private_key, retired_at FROM ledger_keys ORDER BY created_at")
            if not any(r["retired_at"] is None for r in rows):
                await self._insert_key(conn)
                rows = await conn.fetch("SELECT name, private_key, retired_at FROM ledger_keys ORDER BY created_at")
        self._signers = [
            (
                NoteSigner(r["name"], Ed25519PrivateKey.from_private_bytes(bytes(r["private_key"]))),
                r["retired_at"] is not None,
            )
            for r in rows
        ]

    async def _insert_key(self, conn: asyncpg.Connection) -> None:
        key = Ed25519PrivateKey.generate()
        signer = NoteSigner(self.origin, key)
        await conn.execute(
            "INSERT INTO ledger_keys (key_id, name, private_key, public_key) VALUES ($1, $2, $3, $4)",
            signer.key_id.hex(),
            signer.name,
            key.private_bytes_raw(),
            key.public_key().public_bytes_raw(),
        )

    async def rotate_key(self) -> str:
        """Retire the signing key and make a new one; return the new verifier key. Old checkpoints still verify."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kvorum ledger keys'))")
            await conn.execute("UPDATE ledger_keys SET retired_at = now() WHERE retired_at IS NULL")
            await self._insert_key(conn)
        await self.load_keys()
        return self.signer.vkey

    @property
    def signer(self) -> NoteSigner:
        """The key that signs new checkpoints (the newest unretired one)."""
        live = [s for s, retired in self._signers if not retired]
        if not live:
            raise RuntimeError("Ledger.load_keys() was not awaited")
        return live[-1]

    def vkeys(self) -> list[str]:
        """Every verifier key ever used, oldest first (C2SP vkey text)."""
        return [s.vkey for s, _ in self._signers]

    # ---- trees -----------------------------------------------------------------------------

    async def origin_of(self, stream: str) -> str:
        """The checkpoint origin line of a stream."""
        kind, _, name = stream.partition(":")
        if kind == "council":
            return f"{self.origin}/{name}"
        council = await self.pool.fetchval("SELECT council FROM sessions WHERE id = $1", name)
        if council is None:
            raise LedgerError("session_not_found", f"no session {name!r}")
        return f"{self.origin}/{council}/{name}"

    async def tree(self, stream: str) -> MerkleTree:
        """The stream's Merkle tree, caught up with every committed event."""
        lock = self._locks.setdefault(stream, asyncio.Lock())
        async with lock:
            tree = self._trees.get(stream)
            if tree is None:
                tree = self._trees[stream] = MerkleTree()
                while len(self._trees) > TREES_CACHED:  # rebuilt from the store when asked again
                    self._trees.popitem(last=False)
            self._trees.move_to_end(stream)
            rows = await self.pool.fetch(
                "SELECT leaf FROM events WHERE stream = $1 AND seq > $2 ORDER BY seq", stream, len(tree)
            )
            for row in rows:
                tree.append(bytes(row["leaf"]))
            return tree

    async def leaves(self, stream: str, start: int, end: int) -> list[bytes]:
        """The exact leaf bytes of indexes ``start`` … ``end - 1``."""
        rows = await self.pool.fetch(
            "SELECT leaf FROM events WHERE stream = $1 AND seq > $2 AND seq <= $3 ORDER BY seq", stream, start, end
        )
        return [bytes(r["leaf"]) for r in rows]

    # ---- checkpoints -----------------------------------------------------------------------

    async def sign(self, stream: str) -> str:
        """Sign (or find) the checkpoint at the stream's current size and return the note."""
        tree = await self.tree(stream)
        size = len(tree)
        existing = await self.pool.fetchval(
            "SELECT note FROM checkpoints WHERE stream = $1 AND size = $2", stream, size
        )
        if existing is not None:
            return str(existing)
        checkpoint = Checkpoint(await self.origin_of(stream), size, tree.root(size))
        signer = self.signer
        note = signer.sign(checkpoint)
        # Another node may sign the same size at once; the first stored note is the one served.
        inserted = await self.pool.execute(
            """INSERT INTO checkpoints (stream, size, root, note, key_id) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (stream, size) DO NOTHING""",
            stream,
            size,
            checkpoint.root,
            note,
            signer.key_id.hex(),
        )
        if inserted == "INSERT 0 1":
            for listener in self._signed:
                listener(stream)
        return await self.checkpoint(stream, size)

    async def checkpoint(self, stream: str, size: int | None = None) -> str:
        """The latest signed checkpoint, or the one at ``size``, with the witnesses' cosignatures so far;
        LedgerError("no_checkpoint") if none."""
        asked = size
        if size is None:
            size = await self.pool.fetchval("SELECT max(size) FROM checkpoints WHERE stream = $1", stream)
        note = await self.pool.fetchval(
            """SELECT c.note || coalesce((SELECT string_agg(w.line, '' ORDER BY w.cosigned_at, w.witness)
                                          FROM cosignatures w WHERE w.stream = c.stream AND w.size = c.size), '')
               FROM checkpoints c WHERE c.stream = $1 AND c.size = $2""",
            stream,
            size,
        )
        if note is None:
            which = "yet" if asked is None else f"at size {asked}"
            raise LedgerError("no_checkpoint", f"no checkpoint of this ledger {which}")
        return str(note)

    async def cosigners(self, stream: str, latest: int = 50) -> list[tuple[int, list[str]]]:
        """The stream's last ``latest`` checkpoints, ascending, each with the keys of the witnesses that
        cosigned it so far (``ledger.witnessing`` stores a cosignature only once it verifies)."""
        rows = await self.pool.fetch(
            """SELECT c.size, array_remove(array_agg(w.witness ORDER BY w.cosigned_at), NULL) AS witnesses
               FROM checkpoints c LEFT JOIN cosignatures w ON w.stream = c.stream AND w.size = c.size
               WHERE c.stream = $1 GROUP BY c.size ORDER BY c.size DESC LIMIT $2""",
            stream,
            latest,
        )
        return [(int(r["size"]), list(r["witnesses"])) for r in reversed(rows)]

    async def checkpoint_sizes(self, stream: str) -> list[int]:
        """The sizes of every stored checkpoint, ascending."""
        rows = await self.pool.fetch("SELECT size FROM checkpoints WHERE stream = $1 ORDER BY size", stream)
        return [int(r["size"]) for r in rows]

    async def inclusion(self, stream: str, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        tree = await self.tree(stream)
        if not 0 <= index < size <= len(tree):
            raise LedgerError("bad_range", f"need 0 <= index < size <= {len(tree)}, got index={index} size={size}")
        return tree.inclusion_proof(index, size)

    async def consistency(self, stream: str, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof between the trees of ``old`` and ``new`` leaves."""
        tree = await self.tree(stream)
        if not 0 <= old <= new <= len(tree):
            raise LedgerError("bad_range", f"need 0 <= from <= to <= {len(tree)}, got from={old} to={new}")
        return tree.consistency_proof(old, new)

    async def receipt(self, stream: str, seq: int, under: int | None = None) -> Receipt:
        """A receipt for the event ``seq`` under the checkpoint of size ``under``, else the first that covers
        it: signed now if none covers it yet."""
        sizes = await self.checkpoint_sizes(stream)
        covering = [s for s in sizes if s >= seq and (under is None or s == under)]
        note = await self.checkpoint(stream, covering[0]) if covering else await self.sign(stream)
        size = covering[0] if covering else int(note.split("\n")[1])
        if not 1 <= seq <= size:
            raise LedgerError("bad_range", f"no event {seq} in this ledger")
        [leaf] = await self.leaves(stream, seq - 1, seq)
        return Receipt(seq - 1, leaf, size, await self.inclusion(stream, seq - 1, size), note)

    # ---- signing after commits ---------------------------------------------------------------

    def on_commit(self, events: Sequence[StoredEvent]) -> None:
        """Listener: mark the stream for the next periodic checkpoint, or sign at once after a result."""
        stream = events[0].stream
        self._dirty.add(stream)
        if any(isinstance(e.data, _SIGN_NOW) for e in events):
            self._urgent.add(stream)
            self._wake.set()

    async def start(self) -> None:
        """Start signing checkpoints in the background."""
        self._task = asyncio.create_task(self._run(), name="ledger checkpoints")

    async def close(self) -> None:
        """Sign what is pending, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self._sign_pending(self._dirty)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_tick):
                    await self._wake.wait()
            self._wake.clear()
            if loop.time() >= next_tick:
                next_tick = loop.time() + self.interval
                streams = set(self._dirty)
            else:
                streams = set(self._urgent)
            try:
                await self._sign_pending(streams)
            except Exception:
                log.exception("signing checkpoints failed; retrying at the next tick")

    async def _sign_pending(self, streams: set[str]) -> None:
        for stream in sorted(streams):
            self._dirty.discard(stream)
            self._urgent.discard(stream)
            try:
                await self.sign(stream)
            except Exception:
                self._dirty.add(stream)
                raise
