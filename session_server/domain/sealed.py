"""A sealed vote's ballots as the sitting's state holds them while the vote is open (docs/ledger.md,
"Sealed results"): each ``ballot.sealed`` with its opening where this process knows it. Pure, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SealedBallot", "SealedLog"]


@dataclass(slots=True)
class SealedBallot:
    """A ``ballot.sealed`` as the state holds it, with its opening where this process knows it (never public)."""

    seq: int
    member: str
    commitment: str
    opening: Mapping[str, Any] | None


class SealedLog:
    """A sealed vote's ballots in log order, shared by a state and its copies.

    Every batch of commands works on a copy of the state, so copying must not cost the length of the vote:
    the copies share one list, each seeing its first ``count`` entries. A copy appends in place while the
    list is exactly as long as it sees, else (a batch that failed left entries past the committed state's
    count) it takes its own list first. An entry's opening is only ever filled in, never changed.
    """

    __slots__ = ("_entries", "count", "missing")

    def __init__(self, entries: list[SealedBallot] | None = None, count: int = 0, missing: int = 0) -> None:
        self._entries = entries if entries is not None else []
        self.count = count
        self.missing = missing
        """How many of them have no opening here (decided on another node, or before this process read them)."""

    def copy(self) -> SealedLog:
        return SealedLog(self._entries, self.count, self.missing)

    def append(self, ballot: SealedBallot) -> None:
        if len(self._entries) != self.count:
            self._entries = self._entries[: self.count]
        self._entries.append(ballot)
        self.count += 1
        self.missing += ballot.opening is None

    def __iter__(self) -> Iterator[SealedBallot]:
        return itertools.islice(self._entries, self.count)

    def __len__(self) -> int:
        return self.count

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealedLog) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def at(self, seq: int) -> SealedBallot | None:
        """The sealed ballot recorded at ``seq``, if any."""
        return next((b for b in reversed(self._entries[: self.count]) if b.seq == seq), None)

    def fill(self, openings: Mapping[int, Mapping[str, Any]]) -> None:
        """Give the ballots without one their opening, read from where the server keeps them."""
        for ballot in self:
            if ballot.opening is None and ballot.seq in openings:
                ballot.opening = openings[ballot.seq]
                self.missing -= 1
