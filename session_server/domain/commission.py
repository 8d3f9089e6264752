"""The counting commission of a sitting (issue 20) as the sitting's state holds it: who the council elected,
how many of them are needed to count, and how far their key has come (``voting.commission`` does the
cryptography). Pure data, no I/O.

- ``commission.elected {members, threshold, attempt}`` — the council's counting commission for the
  sitting (members are deputies, numbered 1…n in this order); a later election starts a new ``attempt``
  (the old key is forgotten: its shares prove nothing in the new one's context);
- ``commission.committed/dealt/ready {member, index, published}`` — each member's three steps, from the
  member's own tablet; when the last member is ready, ``commission.keyed {key, shares}``: the election key
  and every member's public share;
- ``commission.failed {member, against, published}`` — a member's founded complaint: the dealer ``against``
  dealt it a share that does not match its commitments; the commission must be elected again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Commission", "commission_context", "vote_context"]

Stage = Literal["committing", "dealing", "confirming", "keyed", "failed"]


def commission_context(council: str, session: str, attempt: int) -> str:
    """What every proof of the commission's key names: its council, sitting and attempt."""
    return f"{council}/{session}/commission/{attempt}"


def vote_context(council: str, session: str, vote: str) -> str:
    """What every proof of a secret vote's ballots and decryptions names: its council, sitting and vote."""
    return f"{council}/{session}/{vote}"


@dataclass(slots=True)
class Commission:
    """The counting commission as elected, and its key's progress."""

    members: tuple[str, ...]
    threshold: int
    attempt: int
    committed: dict[int, dict[str, Any]] = field(default_factory=dict)
    dealt: dict[int, dict[str, Any]] = field(default_factory=dict)
    ready: set[int] = field(default_factory=set)
    key: str | None = None
    """The election key (base64url), once every member is ready."""
    shares: dict[int, str] = field(default_factory=dict)
    """Each member's public share S_j (base64url), once keyed."""
    failed: dict[str, str] | None = None
    """``{member, against}`` of a founded complaint."""

    def index_of(self, member: str) -> int | None:
        """The member's number in the commission (from 1), None if not a member."""
        return self.members.index(member) + 1 if member in self.members else None

    @property
    def stage(self) -> Stage:
        if self.failed is not None:
            return "failed"
        if self.key is not None:
            return "keyed"
        n = len(self.members)
        if len(self.committed) < n:
            return "committing"
        if len(self.dealt) < n:
            return "dealing"
        return "confirming"

    def copy(self) -> Commission:
        return Commission(
            self.members,
            self.threshold,
            self.attempt,
            dict(self.committed),
            dict(self.dealt),
            set(self.ready),
            self.key,
            dict(self.shares),
            None if self.failed is None else dict(self.failed),
        )

    def to_public(self) -> dict[str, Any]:
        """What the screens show: the members, the threshold, the stage and who has done which step; the key
        and the public shares once made (everything here is in the public log too)."""
        return {
            "members": list(self.members),
            "threshold": self.threshold,
            "attempt": self.attempt,
            "stage": self.stage,
            "committed": sorted(self.committed),
            "dealt": sorted(self.dealt),
            "ready": sorted(self.ready),
            "key": self.key,
            "failed": self.failed,
        }
