"""Decision documents: a kind of record (``document:<id>`` streams) run by the core's application.

``Document`` registers the kind: its commands are decided by ``portal_bridge.documents`` against the
council's settings (holidays, the mayor, the signer keys, the enrolled devices), read once per batch,
and its ``documents`` read-model row is written in the transaction of the events. Idempotency, group
commit, the state cache and the listeners are the application's, as for every kind.

A signed decision is read back with its signature verified again (``check``), the same way
``kvorum verify`` checks a decision's export (``portal_bridge.decision_audit``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import HTTPConnection

from portal_bridge.decision_audit import DECISION_EXPORT_FORMAT
from portal_bridge.document_commands import DocumentCommandModel
from portal_bridge.documents import DocumentState, decide_document, evolve_document
from portal_bridge.signatures import ed25519_check
from portal_bridge.signing import verify_signature
from session_server.application import CommandResult, Kind, Reader, council_stream
from session_server.domain.council import CouncilState
from session_server.domain.errors import DomainError
from session_server.domain.events import Event, NewEvent
from session_server.domain.roles import Actor, Context
from session_server.extensions import Core
from session_server.http.ledger_routes import export_stream
from session_server.ledger.trees import b64
from session_server.store.events import Appending, StoredEvent
from voting.amendments import Amendment
from voting.decision import DeviceKeys

__all__ = ["DOCUMENT", "Document", "DocumentResult", "Documents", "document_stream"]

log = logging.getLogger(__name__)

MAX_FILE = 50 * 2**20


def document_stream(document_id: str) -> str:
    """The stream id of a decision document."""
    return f"document:{document_id}"


DocumentResult = CommandResult
"""What a document command did (the application's ``CommandResult``)."""


def _signature_check(council: CouncilState) -> Any:
    keys = {k: Ed25519PublicKey.from_public_bytes(base64.b64decode(v)) for k, v in council.signer_keys.items()}
    return ed25519_check(keys)


def _devices(council: CouncilState) -> DeviceKeys:
    return DeviceKeys(council.id, council.rp_id, council.origins, council.credentials)


@dataclass(frozen=True, slots=True)
class _CouncilFacts:
    """What a document's decision needs from the council, read once per batch."""

    holidays: list[date]
    mayor: str | None
    check_signature: Any
    devices: DeviceKeys
    members: frozenset[str]
    committees: frozenset[str]


class Document(Kind):
    """A decision document: decided by ``portal_bridge.documents`` against the council's settings."""

    kind = "document"
    creating = frozenset({"document.register"})

    def evolve(self, state: DocumentState | None, event: StoredEvent) -> DocumentState:
        return evolve_document(state, event)

    async def facts(
        self, reader: Reader, state: DocumentState | None, conn: Any, commands: Sequence[Any]
    ) -> _CouncilFacts:
        council_id = await reader.council_id()
        if council_id is None:
            raise DomainError("council_not_found", "create the council first")
        council: CouncilState = await reader.current(council_stream(council_id), conn=conn)
        return _CouncilFacts(
            holidays=[date.fromisoformat(d) for d in council.holidays],
            mayor=council.mayor,
            check_signature=_signature_check(council),
            devices=_devices(council),
            members=frozenset(council.deputies),
            committees=frozenset(council.committees),
        )

    def decide(
        self, state: DocumentState | None, command: Any, ctx: Context, facts: _CouncilFacts
    ) -> Sequence[Event | NewEvent]:
        return decide_document(
            state,
            command,
            ctx,
            holidays=facts.holidays,
            mayor=facts.mayor,
            check_signature=facts.check_signature,
            devices=facts.devices,
            members=facts.members,
            committees=facts.committees,
        )

    async def record(self, tx: Appending, state: DocumentState) -> None:
        await _write_read_model(tx.conn, state)


DOCUMENT = Document()
"""The registration of the document kind (one per process; registering it again changes nothing)."""


def documents_of(connection: HTTPConnection) -> Documents:
    """The app's documents service (in its lifespan state, ``PortalExtension.open``)."""
    documents: Documents = connection.state.documents
    return documents


class Documents:
    """Run document commands through the application; read documents and their files."""

    def __init__(self, core: Core) -> None:
        self.events = core.events
        self.database = core.database
        self.application = core.application
        self.application.register(DOCUMENT)
        self.application.provide_drafts(self)  # a sitting decides amendment votes against the drafts here
        self.ledger = core.ledger
        """Signs the council ledger's checkpoint for an export (``export``); optional elsewhere."""

    async def _council(self) -> CouncilState:
        council_id = await self.application.council_id()
        if council_id is None:
            raise DomainError("council_not_found", "create the council first")
        return await self.application.council(council_id)

    async def document(self, document_id: str) -> DocumentState:
        """The document's current state; DomainError("document_not_found").

        A signed one's ``signature`` carries ``check``, a ``portal_bridge.signing.Verification``: verified
        again against the council's ledger as it stood at the signing, so a page shows only what anyone
        can re-check.
        """
        state: DocumentState | None = None
        events = await self.events.read(document_stream(document_id))
        for event in events:
            state = evolve_document(state, event)
        if state is None:
            raise DomainError("document_not_found", f"no document {document_id!r}")
        if state.signature is not None:
            council = await self._council()
            council_events = await self.events.read(council_stream(council.id))
            check = verify_signature([e.as_dict() for e in events], [e.as_dict() for e in council_events])
            if not check.verified:
                log.warning("the signature of document %r does not verify: %s", document_id, check.problem)
            state.signature["check"] = check
        return state

    async def amendments(self, draft: str, conn: Any) -> Mapping[str, Amendment] | None:
        """The amendments of the draft registered under ``draft`` (``session_server.application.Drafts``),
        by id; None when no draft with a text is registered under that number."""
        document_id = await conn.fetchval("SELECT id FROM documents WHERE number = $1 ORDER BY seq DESC LIMIT 1", draft)
        if document_id is None:
            return None
        state: DocumentState = await self.application.current(document_stream(str(document_id)), conn=conn)
        if not state.draft_text.strip():
            return None
        return {a.id: a.as_amendment() for a in state.amendments.values()}

    async def export(self, document_id: str) -> dict[str, Any]:
        """The self-contained file ``kvorum verify`` checks for a decision: its events, the council's
        ledger up to a freshly signed checkpoint, and the checkpoint keys (``kvorum-decision-v1``)."""
        if self.ledger is None:
            raise RuntimeError("Documents.export needs the ledger")
        events = await self.events.read(document_stream(document_id))
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
        return await self.application.execute(document_stream(document_id), command, actor)

    async def list(self) -> list[dict[str, Any]]:
        """Every document's row of the read model, newest registry number first."""
        rows = await self.database.fetch(
            """SELECT id, number, title, status, published_on, session, item, decision_number, seq
               FROM documents ORDER BY number DESC"""
        )
        return [dict(r, published_on=r["published_on"].isoformat() if r["published_on"] else None) for r in rows]

    async def store_file(self, content: bytes, media_type: str) -> str:
        """Keep a file by its SHA-256 (idempotent); return the hex digest."""
        digest = hashlib.sha256(content).digest()
        await self.database.execute(
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
        row = await self.database.fetchrow(
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
