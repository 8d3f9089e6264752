"""The council's standing committees (постійні комісії, art. 47 of the Law on Local Self-Government).

A committee is a record of the council, kept in the council's stream, so that the council ledger every
sitting's export carries also says who sat on which committee when:

- ``committee.created {committee, name, composition, members, chair, deputy_chair?, secretary?}``
- ``committee.changed {committee, name?, composition?, members?, chair?, deputy_chair?, secretary?}``
  (what changed, with its new value; ``deputy_chair``/``secretary`` of ``""`` leave the office vacant)

The rules: the members are deputies of the council (the mayor sits on none), at most the committee's
statutory composition; the chair, the deputy chair and the secretary are three of its members; a deputy
sits on at most as many committees as the council's rules allow (``committees_per_deputy``, usually one).

A committee sits as the council does (``CouncilState.body``): its own composition counts for quorum and
thresholds, its members register and vote, and its conclusions are adopted by a majority of its
composition (art. 47: configurable by the council's rules, cited on the screens).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from session_server.domain.errors import DomainError

__all__ = ["COMMITTEE_LAW", "Committee", "check_committee"]

COMMITTEE_LAW = "ст. 47 Закону України «Про місцеве самоврядування в Україні»"
"""Where the committees' quorum and majorities come from, as the screens cite it."""


@dataclass(frozen=True, slots=True)
class Committee:
    """A standing committee: its name, statutory composition, members (in the council's order) and officers."""

    id: str
    name: str
    composition: int
    members: tuple[str, ...]
    chair: str
    deputy_chair: str | None = None
    secretary: str | None = None

    def to_public(self) -> dict[str, Any]:
        """The JSON-ready public view."""
        return {
            "id": self.id,
            "name": self.name,
            "composition": self.composition,
            "members": list(self.members),
            "chair": self.chair,
            "deputy_chair": self.deputy_chair,
            "secretary": self.secretary,
        }


def check_committee(
    committee: Committee,
    deputies: Mapping[str, Any],
    others: Mapping[str, Committee],
    per_deputy: int,
) -> None:
    """Refuse (``invalid_committee``) a committee that breaks the rules above; ``others`` are the council's
    other committees, ``deputies`` its roster (each with a ``mayor`` flag)."""
    members = committee.members
    if len(set(members)) != len(members):
        raise DomainError("invalid_committee", "a member is listed twice")
    for member in members:
        deputy = deputies.get(member)
        if deputy is None:
            raise DomainError("invalid_committee", f"{member!r} is not a deputy of the council")
        if deputy.mayor:
            raise DomainError("invalid_committee", "the mayor sits on no standing committee")
    if len(members) > committee.composition:
        raise DomainError(
            "invalid_committee", f"{len(members)} members are more than the composition of {committee.composition}"
        )
    officers = [o for o in (committee.chair, committee.deputy_chair, committee.secretary) if o]
    for officer in officers:
        if officer not in members:
            raise DomainError("invalid_committee", f"{officer!r} holds an office of the committee but is not a member")
    if len(set(officers)) != len(officers):
        raise DomainError("invalid_committee", "the chair, the deputy chair and the secretary are three members")
    for member in members:
        sits = [c.name for c in others.values() if c.id != committee.id and member in c.members]
        if len(sits) >= per_deputy:
            raise DomainError(
                "committee_limit",
                f"{member!r} already sits on {', '.join(sits)}: the council's rules allow {per_deputy} per deputy",
            )
