"""A session driven through the pure domain (``Chamber``: validate → decide → evolve), the council it sits
in and the staff acting in it: for the session domain's and the broadcast domain's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from session_server.domain.commands import COUNCIL_COMMAND_ADAPTER, SESSION_COMMAND_ADAPTER
from session_server.domain.council import CouncilState, decide_council, evolve_council
from session_server.domain.errors import CODES, DomainError
from session_server.domain.events import Event, NewEvent, RecordedEvent, format_time
from session_server.domain.roles import Actor, Context, Role
from session_server.domain.session import SessionState, decide, evolve, to_public
from voting.amendments import Amendment

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
DEPUTIES = ["d1", "d2", "d3", "d4", "d5"]
AGENDA = [
    {"id": "budget", "number": "1", "title": "Про бюджет громади на 2027 рік", "draft": "1234"},
    {"number": "2", "title": "Про перейменування вулиці"},
    {"number": "3", "title": "Різне"},
]
ENTROPY = bytes(range(16))
STAFF = {
    "chair": Actor("holova", Role.CHAIR, None),
    "secretary": Actor("sekretar", Role.SECRETARY, None),
    "admin": Actor("root", Role.ADMIN, None),
    "observer": Actor("gromada", Role.OBSERVER, None),
    "operator": Actor("kamera", Role.OPERATOR, None),
}


def make_council(
    *,
    composition: int = 5,
    first_ballot_final: bool = False,
    rules: list[str] | None = None,
    signed: bool = False,
    results: str = "live",
    deputies: Sequence[str] = DEPUTIES,
    then: Sequence[dict[str, Any]] = (),
) -> CouncilState:
    """A council of `composition` seats, `deputies` (d1..d5) and the mayor; `then`, council commands after
    (a committee's, say).

    Unsigned ballots (a demo council) unless `signed`: these tests are about the council rules;
    tests/test_signed_ballots.py is about the signatures. Ballots as cast (`results` "live", not a new
    council's default "hidden"): these tests read each ballot; tests/test_sealed_votes.py is about sealed ones.
    """
    admin = Context(STAFF["admin"], T0)
    fields: dict[str, Any] = {"council": "vz", "name": "Рада", "composition": composition}
    fields.update(demo=not signed, signed_ballots=signed)
    fields["first_ballot_final"] = first_ballot_final
    fields["results"] = results
    if rules is not None:
        fields["rules"] = rules
    commands = [{"type": "council.create", **fields}]
    commands += [{"type": "deputy.add", "deputy": d, "name": d.upper(), "faction": "F"} for d in deputies]
    commands += [{"type": "deputy.add", "deputy": "mayor", "name": "Голова", "mayor": True}, *then]
    state: CouncilState | None = None
    for n, raw in enumerate(commands, start=1):
        command = COUNCIL_COMMAND_ADAPTER.validate_python({"id": f"k{n}", **raw})
        for event in decide_council(state, command, admin):
            state = evolve_council(state, RecordedEvent(event.type, event.payload, n, format_time(T0)))
    assert state is not None
    return state


class Chamber:
    """A session driven through the pure domain: validate → decide → evolve with seq 1, 2, 3…"""

    def __init__(self, council: CouncilState | None = None) -> None:
        self.council = council or make_council()
        self.state: SessionState | None = None
        self.now = T0
        self.seq = 0
        self.commands = 0
        self.log: list[RecordedEvent] = []
        self.amendments: dict[str, Amendment] | None = None
        """The current item's draft's amendments, as the documents extension would give them."""

    def ctx(self, who: str) -> Context:
        """`who` is a staff key ("chair", "secretary", …) or a member id acting as a deputy."""
        actor = STAFF.get(who) or Actor(f"user-{who}", Role.DEPUTY, who)
        return Context(actor, self.now, entropy=ENTROPY)

    def command(self, type_: str, fields: dict[str, Any]) -> Any:
        self.commands += 1
        return SESSION_COMMAND_ADAPTER.validate_python({"id": f"cmd-{self.commands}", "type": type_, **fields})

    def do(self, who: str, type_: str, **fields: Any) -> list[NewEvent]:
        """Run a command that must succeed; decide must not touch the state, evolve applies."""
        before = None if self.state is None else self.state.clone()
        events = decide(
            self.state, self.council, self.command(type_, fields), self.ctx(who), amendments=self.amendments
        )
        assert self.state == before, "decide mutated the state"
        for event in events:
            self.seq += 1
            typed = event if isinstance(event, Event) else None  # as the store keeps it: sealed fields too
            recorded = RecordedEvent(event.type, event.payload, self.seq, format_time(self.now), actor=who, typed=typed)
            self.log.append(recorded)
            self.state = evolve(self.state, recorded)
        return events

    def refuse(self, who: str, type_: str, **fields: Any) -> str:
        """Run a command that must be refused; return its code after checking nothing changed."""
        before = None if self.state is None else self.state.clone()
        public = None if self.state is None else self.public()
        with pytest.raises(DomainError) as info:
            decide(self.state, self.council, self.command(type_, fields), self.ctx(who), amendments=self.amendments)
        assert info.value.code in CODES
        assert self.state == before
        assert (None if self.state is None else self.public()) == public
        return info.value.code

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @property
    def s(self) -> SessionState:
        assert self.state is not None
        return self.state

    def public(self) -> dict[str, Any]:
        return to_public(self.s, self.council)

    def vote(self, vote_id: str = "v1") -> dict[str, Any]:
        return next(v for v in self.public()["votes"] if v["id"] == vote_id)


def in_session(*present: str, council: CouncilState | None = None, item: str | None = "budget") -> Chamber:
    """A chamber with an open session, `present` registered (registration left open), `item` started."""
    chamber = Chamber(council)
    chamber.do(
        "secretary", "session.schedule", number=12, convocation=8, date="2026-11-24", title="12 сесія", agenda=AGENDA
    )
    chamber.do("chair", "session.open")
    chamber.do("chair", "registration.open")
    for member in present:
        chamber.do(member, "presence.register")
    if item is not None:
        chamber.do("chair", "item.start", item=item)
    return chamber
