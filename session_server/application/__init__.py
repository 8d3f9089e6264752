"""The one command path: an application service that runs the commands of every registered kind of
record (``aggregates``), with the core's own kinds, the council and the plenary sitting, and the
closing of votes when their time is up (``deadlines``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from session_server.application.aggregates import Aggregate, Drafts, Kind, Reader
from session_server.application.council import Council
from session_server.application.service import (
    SYSTEM,
    Application,
    CommandResult,
    Listener,
    council_stream,
    session_stream,
    utcnow,
)
from session_server.application.sitting import Sitting
from session_server.store.events import EventStore

__all__ = [
    "SYSTEM",
    "Aggregate",
    "Application",
    "CommandResult",
    "Drafts",
    "Kind",
    "Listener",
    "Reader",
    "core_application",
    "council_stream",
    "session_stream",
    "utcnow",
]


def core_application(
    store: EventStore,
    *,
    clock: Callable[[], datetime] = utcnow,
    entropy: Callable[[int], bytes] = os.urandom,
) -> Application:
    """An application that runs the core's kinds of record: the council and its plenary sittings."""
    application = Application(store, clock=clock, entropy=entropy)
    application.register(Council())
    application.register(Sitting())
    return application
