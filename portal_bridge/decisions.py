"""Decision documents over the event store: one stream per document, one transaction per command.

Documents change a few times in their life, so there is no group commit here: each command locks
its stream's head, folds the (short) stream, is decided by ``portal_bridge.documents`` against the
council's settings (holidays, the mayor, the signer keys), and commits its events together with the
``documents`` read-model row and the command record that makes a retry idempotent.

A signed decision is read back with its signature verified again (``check``), the same way
``kvorum verify`` checks a decision's export (``session_server.domain.decision_audit``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal_bridge.document_commands import DocumentCommandModel
from portal_bridge.documents import DocumentState, decide_document, evolve_document
from portal_bridge.signatures import ed25519_check
from portal_bridge.signing import verify_signature
from session_server.domain.council import CouncilState
from session_server.domain.decision_audit import DECISION_EXPORT_FORMAT
from session_server.domain.errors import DomainError
from session_server.domain.events import format_time
from session_server.domain.roles import Actor, Context
from session_server.http.ledger_routes import export_stream
from session_server.ledger.trees import Ledger, b64
from session_server.service import Sessions, council_stream, utcnow
from session_server.store.events import EventStore, StoredEvent, StreamNotFound
from voting.decision import DeviceKeys

__all__ = ["DocumentResult", "Documents", "document_stream"]

log = logging.getLogger(__name__)

MAX_FILE = 50 * 2**20


def document_stream(document_id: str) -> str:
    """The stream id of a decision document."""
    return f"document:{document_id}"


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """What a document command did: the stream's head and the events appended (none on a replay)."""

    seq: int
    events: Sequence[StoredEvent]
    replayed: bool = False


def _signature_check(council: CouncilState) -> Any:
    keys = {k: Ed25519PublicKey.from_public_bytes(base64.b64decode(v)) for k, v in council.signer_keys.items()}
    return ed25519_check(keys)


def _devices(council: CouncilState) -> DeviceKeys:
    return DeviceKeys(council.id, council.rp_id, council.origins, council.credentials)


class Documents:
    """Decide and commit document commands; read documents and their files."""

    def __init__(self, store: EventStore, sessions: Sessions, ledger: Ledger | None = None) -> None:
        self.store = store
        self.sessions = sessions
        self.ledger = ledger
        """Signs the council ledger's checkpoint for an export (``export``); optional elsewhere."""
        self.listeners: list[Callable[[Sequence[StoredEvent]], None]] = []
        """Told of every commit's events (after the commit)."""

    async def _council(self) -> CouncilState:
        council_id = await self.sessions.council_id()
        if council_id is None:
            raise DomainError("council_not_found", "create the council first")
        return await self.sessions.council(council_id)

    async def document(self, document_id: str) -> DocumentState:
        """The document's current state; DomainError("document_not_found").

        A signed one's ``signature`` carries ``check``, a ``portal_bridge.signing.Verification``: verified
        again against the council's ledger as it stood at the signing, so a page shows only what anyone
        can re-check.
        """
        state: DocumentState | None = None
        events = await self.store.read(document_stream(document_id))
        for event in events:
            state = evolve_document(state, event)
        if state is None:
            raise DomainError("document_not_found", f"no document {document_id!r}")
        if state.signature is not None:
            council = await self._council()
            council_events = await self.store.read(council_stream(council.id))
            check = verify_signature([e.as_dict() for e in events], [e.as_dict() for e in council_events])
            if not check.verified:
                log.warning("the signature of document %r does not verify: %s", document_id, check.problem)
            state.signature["check"] = check
        return state

    async def export(self, document_id: str) -> dict[str, Any]:
        """The self-contained file ``kvorum verify`` checks for a decision: its events, the council's
        ledger up to a freshly signed checkpoint, and the checkpoint keys (``kvorum-decision-v1``)."""
        if self.ledger is None:
            raise RuntimeError("Documents.export needs the ledger")
        events = await self.store.read(document_stream(document_id))
        if not events:
            raise DomainError("document_not_found", f"no document {document_id!r}")
        council = await self._council()
        return {
            "format": DECISION_EXPORT_FORMAT,
            "council": council.id,
            "document": document_id,
            "keys": self.ledger.vkeys(),
            "document_events": [b64(e.leaf) for e in events],
            "council_ledger": await export_stream(self.ledger, council_stream(council.id)),
        }

    async def execute(self, document_id: str, command: DocumentCommandModel, actor: Actor) -> DocumentResult:
        """Decide and commit one command; a command id seen before returns its first result."""
        if command.type == "document.register" and getattr(command, "document", None) != document_id:
            raise DomainError("invalid_command", "the document id in the body and in the path differ")
        council = await self._council()
        stream = document_stream(document_id)
        kind = "document" if command.type == "document.register" else None
        try:
            async with self.store.appending(stream, kind=kind) as tx:
                prior = await tx.recorded_commands([command.id])
                if command.id in prior:
                    owner, last_seq, count = prior[command.id]
                    if owner != actor.username:
                        raise DomainError("command_id_reused", f"command id {command.id!r} was used by another user")
                    replay = (last_seq, count)
                else:
                    replay = None
                    state: DocumentState | None = None
                    for event in await tx.events_after(0):
                        state = evolve_document(state, event)
                    ctx = Context(actor=actor, at=utcnow())
                    decided = decide_document(
                        state,
                        command,
                        ctx,
                        holidays=[date.fromisoformat(d) for d in council.holidays],
                        mayor=council.mayor,
                        check_signature=_signature_check(council),
                        devices=_devices(council),
                    )
                    at = format_time(ctx.at)
                    for new in decided:
                        state = evolve_document(state, tx.append(new.type, new.payload, actor=actor.username, at=at))
                    tx.record_command(command.id, actor.username, len(decided))
                    if state is not None:
                        await _write_read_model(tx.conn, state)
        except StreamNotFound:
            raise DomainError("document_not_found", f"no document {document_id!r}") from None
        if replay is None and tx.pending:
            for listener in self.listeners:
                try:
                    listener(tx.pending)
                except Exception:
                    log.exception("a document listener failed")
        if replay is not None:
            last_seq, count = replay
            events = await self.store.read(stream, after=last_seq - count, limit=count) if count else []
            return DocumentResult(last_seq, events, replayed=True)
        return DocumentResult(tx.head_seq, tx.pending)

    async def list(self) -> list[dict[str, Any]]:
        """Every document's row of the read model, newest registry number first."""
        rows = await self.store.pool.fetch(
            """SELECT id, number, title, status, published_on, session, item, decision_number, seq
               FROM documents ORDER BY number DESC"""
        )
        return [dict(r, published_on=r["published_on"].isoformat() if r["published_on"] else None) for r in rows]

    async def store_file(self, content: bytes, media_type: str) -> str:
        """Keep a file by its SHA-256 (idempotent); return the hex digest."""
        digest = hashlib.sha256(content).digest()
        await self.store.pool.execute(
            """INSERT INTO files (sha256, media_type, size, content) VALUES ($1, $2, $3, $4)
               ON CONFLICT (sha256) DO NOTHING""",
            digest,
            media_type,
            len(content),
            content,
        )
        return digest.hex()

    async def file(self, sha256_hex: str) -> tuple[bytes, str] | None:
        """``(content, media type)`` of a stored file, or None."""
        row = await self.store.pool.fetchrow(
            "SELECT content, media_type FROM files WHERE sha256 = $1", bytes.fromhex(sha256_hex)
        )
        return None if row is None else (bytes(row["content"]), str(row["media_type"]))


async def _write_read_model(conn: Any, state: DocumentState) -> None:
    await conn.execute(
        """INSERT INTO documents (id, number, title, status, published_on, session, item, decision_number, seq,
                                  decision_published_on, body)
           VALUES ($1, $2, $3, $4, $5::text::date, $6, $7, $8, $9, $10::text::date, $11)
           ON CONFLICT (id) DO UPDATE SET number = EXCLUDED.number, title = EXCLUDED.title,
               status = EXCLUDED.status, published_on = EXCLUDED.published_on, session = EXCLUDED.session,
               item = EXCLUDED.item, decision_number = EXCLUDED.decision_number, seq = EXCLUDED.seq,
               decision_published_on = EXCLUDED.decision_published_on, body = EXCLUDED.body""",
        state.id,
        state.number,
        state.title,
        state.status,
        state.published_on,
        state.session,
        state.item,
        state.decision_number,
        state.seq,
        state.decision_published_on,
        state.text,
    )
