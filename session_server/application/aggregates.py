"""The aggregate contract: what a kind of record tells the application so that its commands run.

A council, a plenary sitting and a decision document are each a stream of events of one *kind*
(``council:…``, ``session:…``, ``document:…``). The application service runs every kind's commands
the same way; a kind only says how its state folds, what a command decides, what else a decision
needs to know, and which read model it keeps in step. A new kind of record (a committee sitting, an
amendment, a secret election) is one more registration, not a copy of the command path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from session_server.domain.events import Event, NewEvent
from session_server.domain.roles import Actor, AssertionCheck, Context
from session_server.store.events import Appending, StoredEvent
from voting.amendments import Amendment

__all__ = ["Aggregate", "Drafts", "Kind", "Reader"]


class Drafts(Protocol):
    """The drafts' amendments, from the extension that keeps draft decisions (``Application.provide_drafts``): what a
    sitting decides an amendment vote against."""

    async def amendments(self, draft: str, conn: Any) -> Mapping[str, Amendment] | None:
        """The amendments of the draft registered under the registry number ``draft``, by id (read in the
        transaction of ``conn``); None when no draft with a text is registered under it."""


class Reader(Protocol):
    """What an aggregate may read while its command is decided: other records' current states."""

    async def council_id(self) -> str | None:
        """The id of this installation's council, if one was created."""

    async def current(self, stream: str, *, conn: Any = None) -> Any:
        """The committed state of ``stream`` (``DomainError("<kind>_not_found")`` when it has none)."""

    def cached(self, stream: str) -> Any:
        """The state of ``stream`` as last seen by this process, or None; never read from the store."""

    @property
    def drafts(self) -> Drafts | None:
        """The drafts' amendments, where an extension keeps drafts; else None."""


class Aggregate(Protocol):
    """One kind of record: its stream kind, its rules (``decide``, ``evolve``) and its read model."""

    kind: str
    """The stream kind (``streams.kind``) and the prefix of its stream ids, e.g. ``session``."""
    creating: frozenset[str]
    """The command types that may start a new stream of this kind."""

    def clone(self, state: Any) -> Any:
        """A copy of ``state`` that ``evolve`` may change without touching what readers hold."""

    def evolve(self, state: Any, event: StoredEvent) -> Any:
        """``state`` (None before the first event) after ``event``."""

    async def facts(self, reader: Reader, state: Any, conn: Any, commands: Sequence[Any]) -> Any:
        """What the batch's ``commands`` need to be decided besides the record's own state (the council, for
        a sitting), read once per batch inside its transaction. Raise ``DomainError`` to refuse the whole
        batch."""

    def decide(self, state: Any, command: Any, ctx: Context, facts: Any) -> Sequence[Event | NewEvent]:
        """The events ``command`` makes on ``state``; pure; raises ``DomainError`` to refuse it."""

    async def record(self, tx: Appending, state: Any) -> None:
        """Keep the kind's read model in step with ``state``, in the appending transaction."""

    def prepare(self, reader: Reader, stream: str, command: Any, actor: Actor) -> AssertionCheck | None:
        """Optional costly work done before the command joins a batch (a ballot's signature check):
        an ``AssertionCheck`` that ``decide`` then uses in its context, or None."""


class Kind:
    """A base for aggregates with the defaults most kinds want: a deep copy to evolve, no facts, no
    read model, nothing to prepare. A subclass sets ``kind`` and ``creating`` and gives ``evolve``
    and ``decide``."""

    kind: str = ""
    creating: frozenset[str] = frozenset()

    def clone(self, state: Any) -> Any:
        return copy.deepcopy(state)

    def evolve(self, state: Any, event: StoredEvent) -> Any:
        raise NotImplementedError

    async def facts(self, reader: Reader, state: Any, conn: Any, commands: Sequence[Any]) -> Any:
        return None

    def decide(self, state: Any, command: Any, ctx: Context, facts: Any) -> Sequence[Event | NewEvent]:
        raise NotImplementedError

    async def record(self, tx: Appending, state: Any) -> None:
        return None

    def prepare(self, reader: Reader, stream: str, command: Any, actor: Actor) -> AssertionCheck | None:
        return None
