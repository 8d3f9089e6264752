"""The session's minutes (протокол), generated from its log: attendance, the agenda, and for each
item the speakers, the conflict-of-interest declarations and every vote with its threshold, counts,
outcome and roll call. Pure: ``build`` takes the events and the council and returns what the
template renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from session_server.domain.council import CouncilState
from session_server.domain.session import SessionState, evolve
from session_server.store import StoredEvent

__all__ = ["ItemRecord", "Minutes", "VoteRecord", "build"]

RULES = {
    "majority_of_composition": "більшість від складу ради",
    "two_thirds_of_composition": "дві третини складу ради",
    "majority_of_registered": "більшість від зареєстрованих",
}
LINES = {"for": "за", "against": "проти", "abstain": "утримався", "not_voted": "не голосував", "absent": "відсутній"}


@dataclass(slots=True)
class VoteRecord:
    """A vote as the minutes record it."""

    id: str
    subject: str
    rule: str
    status: str
    tally: dict[str, Any] | None
    roll_call: list[tuple[str, list[tuple[str, str]]]]  # (faction, [(name, line in words)])
    reason: str | None


@dataclass(slots=True)
class ItemRecord:
    """An agenda item with what happened while it was considered."""

    number: str
    title: str
    draft: str | None
    status: str
    speakers: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    votes: list[VoteRecord] = field(default_factory=list)


@dataclass(slots=True)
class Minutes:
    """Everything the minutes show."""

    council: str
    title: str
    number: int
    convocation: int
    date: str
    status: str
    composition: int
    present: list[str]
    absent: list[str]
    items: list[ItemRecord]


def build(events: Sequence[StoredEvent], council: CouncilState) -> Minutes:
    """The minutes of the session whose whole stream is ``events``."""
    state: SessionState | None = None
    ever_present: dict[str, None] = {}
    speakers: dict[str, list[str]] = {}
    current: str | None = None
    name = {d.id: d.name for d in council.deputies.values()}
    for event in events:
        state = evolve(state, event)
        p = event.payload
        if event.type == "presence.registered":
            ever_present[p["deputy"]] = None
        elif event.type == "item.started":
            current = p["item"]
        elif event.type == "item.finished":
            current = None
        elif event.type == "speaker.granted" and current is not None:
            speakers.setdefault(current, []).append(name.get(p["deputy"], p["deputy"]))
    if state is None:
        raise ValueError("an empty stream has no minutes")
    items = []
    for item in state.agenda.values():
        record = ItemRecord(item.number, item.title, item.draft, item.status, speakers.get(item.id, []))
        record.conflicts = [(name.get(c.deputy, c.deputy), c.reason) for c in state.conflicts if c.item == item.id]
        for vote in state.votes.values():
            if vote.item == item.id:
                record.votes.append(_vote(vote, council, name))
        items.append(record)
    return Minutes(
        council=council.name,
        title=state.title,
        number=state.number,
        convocation=state.convocation,
        date=state.date,
        status=state.status,
        composition=council.composition,
        present=[name.get(m, m) for m in ever_present],
        absent=[d.name for d in council.deputies.values() if d.id not in ever_present],
        items=items,
    )


def _vote(vote: Any, council: CouncilState, name: dict[str, str]) -> VoteRecord:
    groups: dict[str, list[tuple[str, str]]] = {}
    for member, line in (vote.roll_call or {}).items():
        deputy = council.deputies.get(member)
        faction = (
            "Міський голова"
            if deputy and deputy.mayor
            else (deputy.faction if deputy and deputy.faction else "Позафракційні")
        )
        groups.setdefault(faction, []).append((name.get(member, member), LINES[line.value]))
    return VoteRecord(
        id=vote.id,
        subject=vote.subject,
        rule=RULES.get(vote.rule.value, vote.rule.value),
        status=vote.status,
        tally=vote.tally.as_dict() if vote.tally is not None else None,
        roll_call=sorted(groups.items()),
        reason=vote.reason,
    )
