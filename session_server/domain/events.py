"""Events: what `decide` returns, what `evolve` reads, and the time format they carry.

`decide` returns `NewEvent`s (type and payload); the store adds `stream`, `seq`, `actor`, `at` and
`hash` and hands back something `Recorded`. Event types are past tense (`vote.opened`).
Payloads hold only JSON values (str, int, bool, None, lists, dicts with str keys) so they hash
the same after a round trip through canonical JSON.

Council stream: `council.created`, `deputy.added`. Session stream: `session.scheduled`,
`session.opened`, `registration.opened`, `registration.closed`, `presence.registered`,
`presence.left`, `item.started`, `item.finished`, `speaker.requested`, `speaker.granted`,
`speaker.finished`, `conflict.declared`, `vote.opened`, `ballot.cast`, `vote.closed`,
`vote.cancelled`, `session.closed`. Payloads are documented where each is made
(`session_server.domain.council`, `session_server.domain.session`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["NewEvent", "Recorded", "RecordedEvent", "format_time", "parse_time"]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event `decide` wants appended: its type and JSON-ready payload."""

    type: str
    payload: dict[str, Any]


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


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A plain `Recorded` implementation, for tests and for replaying events held in memory."""

    type: str
    payload: Mapping[str, Any]
    seq: int
    at: str
    actor: str = "system"
    stream: str = field(default="")


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
