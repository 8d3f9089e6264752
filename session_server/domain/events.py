"""Events: what `decide` returns, what `evolve` reads, and the time format they carry.

Each event type is a class (`Event`, declared with `@event("vote.opened")`) whose fields are its
payload's keys: `decide` returns instances, and a stored event is parsed once into its class
(`Recorded.data`), so `evolve`, consumers and pages `match` on classes instead of comparing type
strings and reading payload keys. The payload on the wire and in the ledger is the instance's fields,
exactly (`Event.payload`): a field in `omit_none` is left out while None, and an `ABSENT` one is not
there at all (an update that names only what changed). `NewEvent` is the untyped form (type and
payload), equal to the typed event with the same type and payload.

The store adds `stream`, `seq`, `actor`, `at` and `hash` and hands back something `Recorded`. Event
types are past tense (`vote.opened`). Payloads hold only JSON values (str, int, bool, None, lists,
dicts with str keys) so they hash the same after a round trip through canonical JSON.

Council stream: `council.created`, `deputy.added`. Session stream: `session.scheduled`,
`session.opened`, `registration.opened`, `registration.closed`, `presence.registered`,
`presence.left`, `item.started`, `item.finished`, `speaker.requested`, `speaker.granted`,
`speaker.finished`, `conflict.declared`, `vote.opened`, `ballot.cast`, `vote.closed`,
`vote.cancelled`, `session.closed`. Payloads are documented where each is made
(`session_server.domain.council`, `session_server.domain.session`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Protocol, Self, TypeVar, dataclass_transform

__all__ = [
    "ABSENT",
    "EVENT_TYPES",
    "Event",
    "NewEvent",
    "Recorded",
    "RecordedEvent",
    "Unregistered",
    "event",
    "format_time",
    "parse_event",
    "parse_time",
]


class _Absent:
    """Not in the payload at all (as opposed to None, which is a JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""The value of a field that its event leaves out of the payload."""


class Event:
    """Base of the typed events; a subclass is declared with `@event(type)`."""

    __slots__ = ()
    type: ClassVar[str]
    omit_none: ClassVar[frozenset[str]] = frozenset()
    """Fields left out of the payload while None (optional keys of the JSON)."""
    _names: ClassVar[tuple[str, ...]] = ()

    @property
    def payload(self) -> dict[str, Any]:
        """The event's JSON payload: its fields, without the ABSENT ones and the `omit_none` ones that are None."""
        out: dict[str, Any] = {}
        for name in self._names:
            value = getattr(self, name)
            if value is ABSENT or (value is None and name in self.omit_none):
                continue
            out[name] = value
        return out

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> Self:
        """The event of a stored payload; keys this version does not know are ignored (a tolerant reader).

        Raises ValueError when a key it needs is missing."""
        names = cls._names
        try:
            return cls(**{k: v for k, v in payload.items() if k in names})
        except TypeError as exc:  # a required key is missing
            raise ValueError(f"a {cls.type} event without all its fields: {exc}") from None


E = TypeVar("E", bound=Event)

SEALED = "kvorum.sealed"
"""Field metadata: the field is no part of the payload (``sealed_field``)."""


def sealed_field() -> Any:
    """A field of an event kept apart from its payload: never in the log, the ledger or any frame (a sealed
    ballot's opening, which the server keeps until the vote closes)."""
    return dataclasses.field(default=None, compare=False, metadata={SEALED: True})


EVENT_TYPES: dict[str, type[Event]] = {}
"""Every typed event class by its type, filled by `@event` as the modules that declare them load."""


@dataclass_transform(kw_only_default=True, frozen_default=True)
def event(type_: str, *, omit_none: Iterable[str] = ()) -> Callable[[type[E]], type[E]]:
    """Declare an event type: the class becomes a frozen, keyword-only dataclass registered under `type_`."""

    def declare(cls: type[E]) -> type[E]:
        if type_ in EVENT_TYPES:
            raise ValueError(f"the event type {type_!r} is declared twice")
        made = dataclass(frozen=True, slots=True, kw_only=True)(cls)
        made.type = type_
        made.omit_none = frozenset(omit_none)
        fields = dataclasses.fields(made)  # type: ignore[arg-type]
        made._names = tuple(f.name for f in fields if not f.metadata.get(SEALED))
        EVENT_TYPES[type_] = made
        return made

    return declare


@dataclass(frozen=True, slots=True)
class Unregistered(Event):
    """An event of a type no loaded module declares (an extension's, read by the core): kept as it came."""

    type: str  # type: ignore[misc]
    raw: Mapping[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.raw)


def parse_event(type_: str, payload: Mapping[str, Any]) -> Event:
    """The typed event of a stored type and payload (`Unregistered` when no class is declared for it)."""
    cls = EVENT_TYPES.get(type_)
    return cls.parse(payload) if cls is not None else Unregistered(type_, payload)


@dataclass(frozen=True, slots=True, eq=False)
class NewEvent:
    """An event as its type and JSON-ready payload (the untyped form; equal to the typed event it spells)."""

    type: str
    payload: dict[str, Any]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NewEvent | Event):
            return self.type == other.type and self.payload == other.payload
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.type)


class Recorded(Protocol):
    """An event as stored: what `evolve` folds over."""

    @property
    def type(self) -> str:
        """The event type, e.g. "vote.opened"."""

    @property
    def payload(self) -> Mapping[str, Any]:
        """The event's JSON payload."""

    @property
    def seq(self) -> int:
        """Position in its stream: 1, 2, 3… with no gaps."""

    @property
    def at(self) -> str:
        """When it was recorded, RFC 3339 UTC with milliseconds ("2026-11-24T21:45:42.123Z")."""

    @property
    def actor(self) -> str:
        """The username that issued the command."""

    @property
    def data(self) -> Event:
        """The typed event (parsed once)."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A plain `Recorded` implementation, for tests and for replaying events held in memory."""

    type: str
    payload: Mapping[str, Any]
    seq: int
    at: str
    actor: str = "system"
    stream: str = field(default="")
    typed: Event | None = field(default=None, compare=False)
    """The typed event as decided, when it is at hand (with its sealed fields, as a stored event keeps it)."""

    @property
    def data(self) -> Event:
        """The typed event (else parsed at each reading: this form is for tests and small replays)."""
        return self.typed if self.typed is not None else parse_event(self.type, self.payload)


def format_time(dt: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with milliseconds: "2026-11-24T21:45:42.123Z".

    Sub-millisecond digits are truncated. A naive datetime raises ValueError.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_time needs a timezone-aware datetime")
    utc = dt.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (as `format_time` writes it, or with an offset) into aware UTC.

    A timestamp without a zone raises ValueError.
    """
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return dt.astimezone(UTC)
