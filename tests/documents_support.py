"""A decision document driven through the pure domain (validate → decide → evolve), its actors, the mayor's
Ed25519 key and the council's holidays: for the documents' and the signing domain tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER
from portal_bridge.documents import DocumentState, decide_document, evolve_document
from portal_bridge.signatures import ed25519_check
from session_server.domain.errors import CODES, DomainError
from session_server.domain.events import RecordedEvent, format_time
from session_server.domain.roles import Actor, Context, Role

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRETARY = Actor("sekretar", Role.SECRETARY)
SERVER = Actor("system", Role.ADMIN)
MAYOR = Actor("holova", Role.CHAIR, "mayor")
MAYOR_KEY = Ed25519PrivateKey.generate()
CHECK = ed25519_check({"mayor-2026": MAYOR_KEY.public_key()})
# Ukrainian public holidays a council might list (here: Christmas and New Year).
HOLIDAYS = frozenset({date(2026, 12, 25), date(2027, 1, 1)})


class Document:
    """One document driven through validate → decide → evolve."""

    def __init__(self) -> None:
        self.state: DocumentState | None = None
        self.seq = 0
        self.ids = itertools.count(1)

    def _decide(self, actor: Actor, fields: dict[str, Any]) -> list[Any]:
        command = DOCUMENT_COMMAND_ADAPTER.validate_python({"id": f"c{next(self.ids)}", **fields})
        ctx = Context(actor, T0 + timedelta(minutes=self.seq))
        return decide_document(self.state, command, ctx, holidays=HOLIDAYS, mayor="mayor", check_signature=CHECK)

    def do(self, actor: Actor, **fields: Any) -> list[Any]:
        events = self._decide(actor, fields)
        for event in events:
            self.seq += 1
            recorded = RecordedEvent(event.type, event.payload, self.seq, format_time(T0), actor=actor.username)
            self.state = evolve_document(self.state, recorded)
        return events

    def refuse(self, actor: Actor, **fields: Any) -> str:
        before = None if self.state is None else (self.state.status, self.seq)
        with pytest.raises(DomainError) as info:
            self._decide(actor, fields)
        assert info.value.code in CODES
        assert (None if self.state is None else (self.state.status, self.seq)) == before
        return info.value.code

    @property
    def s(self) -> DocumentState:
        assert self.state is not None
        return self.state
