"""Pure council and session state machines: commands in, events out, state folded from events.

No I/O here: `decide` checks a command against the state and returns events, `evolve` applies an
event. The outer layers store, publish and serve them.
"""

from __future__ import annotations

from session_server.domain.errors import DomainError
from session_server.domain.events import NewEvent, Recorded, RecordedEvent
from session_server.domain.roles import Actor, Context, Role

__all__ = ["Actor", "Context", "DomainError", "NewEvent", "Recorded", "RecordedEvent", "Role"]
