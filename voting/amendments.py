"""Amendments to a draft's text, as changes to its numbered lines, and the consolidated text they make.

A draft decision's text is numbered by lines (1, 2, …, split on line feeds). An amendment is one or more
changes, each against the draft's own numbering (never against another amendment's result):

- ``replace`` lines ``start``…``end`` with ``text`` (one or more lines);
- ``insert`` ``text`` after line ``start`` (0: before the first line);
- ``delete`` lines ``start``…``end``.

Every change covers a span on one axis where line *n* is the point 2n−1 and the gap after it the point
2n: a replaced or deleted range ``start``…``end`` covers 2·start−1 … 2·end−1, an insertion after line
*n* the point 2n. Two changes **conflict** when their spans meet — they touch the same lines, or insert
at the same place (whose order no one decided) or inside a range the other replaces. Two amendments
conflict when any of their changes do. Non-conflicting changes commute, so the consolidated text — the
draft with its adopted amendments — is the same whatever order they were adopted in; a council adopts
at most one of two conflicting amendments (``session_server.domain.votes``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Amendment",
    "AmendmentError",
    "Change",
    "check_changes",
    "conflicting",
    "consolidate",
    "lines_of",
]

Op = Literal["replace", "insert", "delete"]
Status = Literal["proposed", "withdrawn", "adopted", "rejected"]


class AmendmentError(ValueError):
    """An amendment that cannot apply to the draft: a line out of range, or two of its changes meeting."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the draft's numbered lines (see the module's text). For ``insert``, ``end`` equals
    ``start`` (the line it follows); for ``delete``, ``text`` is empty."""

    op: Op
    start: int
    end: int
    text: str = ""

    @classmethod
    def of(cls, data: dict[str, object]) -> Change:
        """From the JSON form: ``{"op": "replace", "from", "to", "text"}``, ``{"op": "insert", "after",
        "text"}``, ``{"op": "delete", "from", "to"}``."""
        op = data["op"]
        if op == "insert":
            after = int(str(data["after"]))
            return cls("insert", after, after, str(data["text"]))
        if op in ("replace", "delete"):
            text = str(data.get("text", "")) if op == "replace" else ""
            return cls(op, int(str(data["from"])), int(str(data["to"])), text)
        raise AmendmentError(f"unknown change {op!r}")

    def as_json(self) -> dict[str, object]:
        """The JSON form (see ``of``)."""
        if self.op == "insert":
            return {"op": "insert", "after": self.start, "text": self.text}
        if self.op == "delete":
            return {"op": "delete", "from": self.start, "to": self.end}
        return {"op": "replace", "from": self.start, "to": self.end, "text": self.text}

    @property
    def span(self) -> tuple[int, int]:
        """The closed span it covers on the axis of lines (2n−1) and gaps after them (2n)."""
        if self.op == "insert":
            return (2 * self.start, 2 * self.start)
        return (2 * self.start - 1, 2 * self.end - 1)

    def meets(self, other: Change) -> bool:
        """True when the two changes conflict: their spans share a point."""
        (a, b), (c, d) = self.span, other.span
        return a <= d and c <= b


@dataclass(frozen=True, slots=True)
class Amendment:
    """An amendment as the sitting sees it when a vote on it opens: its id, its number among the draft's
    amendments, its changes and where it stands."""

    id: str
    number: int
    changes: tuple[Change, ...]
    status: Status = "proposed"

    def conflicts_with(self, other: Amendment) -> bool:
        """True when a change of one meets a change of the other."""
        return any(a.meets(b) for a in self.changes for b in other.changes)


def lines_of(text: str) -> list[str]:
    """The draft's numbered lines (line n is ``lines_of(text)[n - 1]``); an empty text has none."""
    return text.split("\n") if text else []


def check_changes(changes: Sequence[Change], line_count: int) -> None:
    """Raise ``AmendmentError`` for a change outside the draft's lines, a replacement or insertion with no
    text, or two changes of one amendment that meet."""
    if not changes:
        raise AmendmentError("an amendment changes at least one line")
    for change in changes:
        if change.op == "insert":
            if not 0 <= change.start <= line_count:
                raise AmendmentError(f"insert after line {change.start}: the draft has lines 1–{line_count}")
        elif not 1 <= change.start <= change.end <= line_count:
            raise AmendmentError(f"lines {change.start}–{change.end}: the draft has lines 1–{line_count}")
        if change.op != "delete" and not change.text.strip():
            raise AmendmentError(f"a {change.op} change needs its new text")
    for i, change in enumerate(changes):
        for other in changes[i + 1 :]:
            if change.meets(other):
                raise AmendmentError("two changes of one amendment touch the same lines")


def conflicting(amendments: Iterable[Amendment]) -> list[tuple[Amendment, Amendment]]:
    """Every pair of the amendments that conflict, in their order."""
    listed = list(amendments)
    return [(a, b) for i, a in enumerate(listed) for b in listed[i + 1 :] if a.conflicts_with(b)]


def consolidate(text: str, adopted: Iterable[Sequence[Change]]) -> str:
    """The draft's ``text`` with the changes of its adopted amendments applied.

    Raises ``AmendmentError`` when two adopted changes meet (a council never adopts both of two
    conflicting amendments; the sitting refuses the vote) or one falls outside the draft's lines.
    """
    original = lines_of(text)
    changes = sorted((c for amendment in adopted for c in amendment), key=lambda c: c.span)
    for before, after in itertools.pairwise(changes):
        if before.meets(after):
            raise AmendmentError("two adopted amendments change the same lines")
    out: list[str] = []
    line = 1  # the next original line not yet copied
    for change in changes:
        if change.op == "insert":
            out += original[line - 1 : change.start]
            out += lines_of(change.text)
            line = change.start + 1
        else:
            if change.end > len(original):
                raise AmendmentError(f"lines {change.start}–{change.end}: the draft has lines 1–{len(original)}")
            out += original[line - 1 : change.start - 1]
            out += lines_of(change.text)
            line = change.end + 1
    out += original[line - 1 :]
    return "\n".join(out)
