"""The council as a registered kind of record: ``council:<id>`` streams (deputies, devices, rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from session_server.application.aggregates import Kind
from session_server.domain.council import CouncilState, decide_council, evolve_council
from session_server.domain.events import Event, NewEvent
from session_server.domain.roles import Context
from session_server.store.events import StoredEvent

__all__ = ["Council"]


class Council(Kind):
    """The council: decided by ``session_server.domain.council``; its events are rare."""

    kind = "council"
    creating = frozenset({"council.create"})

    def clone(self, state: CouncilState) -> CouncilState:
        return state  # evolve_council never changes the state it is given

    def evolve(self, state: CouncilState | None, event: StoredEvent) -> CouncilState:
        return evolve_council(state, event)

    def decide(self, state: CouncilState | None, command: Any, ctx: Context, facts: Any) -> Sequence[Event | NewEvent]:
        return decide_council(state, command, ctx)
