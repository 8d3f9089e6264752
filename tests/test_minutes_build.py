"""``portal_bridge.minutes.build`` on a hand-written log, no server: the cases the demo sitting does not
reach — a sitting that runs past midnight, registration never closed, a member whose gender was not
recorded, an item numbered «1.» by its author, a council whose factions are listed in its own order."""

from __future__ import annotations

from typing import Any

import pytest

from portal_bridge.minutes import Group, build
from session_server.domain.council import CouncilState, Deputy
from session_server.store.events import StoredEvent
from voting.rules import Rule

COUNCIL = CouncilState(
    id="c",
    name="Тестова міська рада",
    composition=3,
    rules=tuple(Rule),
    first_ballot_final=False,
    deputies={
        "a": Deputy("a", "Олена Бондар", "Б", gender="female"),
        "b": Deputy("b", "Андрій Ковальчук", "А", gender="male"),
        "c": Deputy("c", "Саша Мороз", None),  # gender not recorded
        "m": Deputy("m", "Михайло Степаненко", None, mayor=True, gender="male"),
    },
    faction_order=("Б", "А"),
)


def log(*events: tuple[str, str, dict[str, Any]]) -> list[StoredEvent]:
    """Stored events from (type, UTC time, payload), numbered from seq 1."""
    return [
        StoredEvent("session:s", seq, type_, payload, "system", at, "0" * 64, b"")
        for seq, (type_, at, payload) in enumerate(events, start=1)
    ]


SCHEDULED = {
    "session": "s",
    "council": "c",
    "number": 3,
    "convocation": 12,
    "date": "2026-12-02",
    "title": "3 сесія",
    "agenda": [{"id": "i1", "number": "1.", "title": "Про бюджет", "draft": None}],
    "counting": 2,
}
TALLY = {"for": 1, "against": 0, "abstain": 1, "not_voted": 0, "absent": 1, "required": 2, "outcome": "rejected"}
VOTE = {
    "vote": "v1",
    "item": "i1",
    "subject": "в цілому",
    "rule": "majority_of_composition",
    "seconds": 60,
    "closes_at": "2026-12-02T22:09:00.000Z",
}


def late_sitting() -> list[StoredEvent]:
    return log(
        ("session.scheduled", "2026-12-01T09:00:00.000Z", SCHEDULED),
        ("session.opened", "2026-12-02T20:05:00.000Z", {}),  # 22:05 in Kyiv (UTC+2 in December)
        ("registration.opened", "2026-12-02T20:06:00.000Z", {}),
        ("presence.registered", "2026-12-02T20:07:00.000Z", {"deputy": "a"}),
        ("presence.registered", "2026-12-02T20:07:00.000Z", {"deputy": "c"}),
        ("item.started", "2026-12-02T20:08:00.000Z", {"item": "i1"}),
        ("vote.opened", "2026-12-02T22:08:00.000Z", VOTE),
        ("ballot.cast", "2026-12-02T22:08:30.000Z", {"vote": "v1", "deputy": "a", "choice": "for"}),
        ("ballot.cast", "2026-12-02T22:08:40.000Z", {"vote": "v1", "deputy": "c", "choice": "abstain"}),
        (
            "vote.closed",
            "2026-12-02T22:10:00.000Z",
            {"vote": "v1", "tally": TALLY, "roll_call": {"a": "for", "b": "absent", "c": "abstain"}},
        ),
        ("item.finished", "2026-12-02T22:11:00.000Z", {"item": "i1"}),
        ("session.closed", "2026-12-02T22:15:00.000Z", {}),
    )


def test_times_are_kyiv_times_with_the_date_in_words_once_the_sitting_runs_past_midnight() -> None:
    minutes = build(late_sitting(), COUNCIL)
    assert minutes.heading == "пленарного засідання 3 сесії XII скликання"
    assert minutes.date == "2 грудня 2026\u202fр."
    assert (
        minutes.opened is not None and minutes.opened.time == "22:05" and minutes.opened.ref == "запис журналу №\u00a02"
    )
    vote = minutes.items[0].votes[0]
    assert vote.entry is not None and vote.entry.time == "3 грудня 2026\u202fр., 00:10" and vote.entry.seq == 10
    assert minutes.closed is not None and minutes.closed.time == "3 грудня 2026\u202fр., 00:15"


def test_without_a_closed_registration_attendance_is_taken_when_the_first_vote_opened() -> None:
    attendance = build(late_sitting(), COUNCIL).attendance
    assert attendance.entry is not None and attendance.entry.seq == 7  # vote.opened
    assert attendance.moment == (
        "Реєстрацію до першого голосування не завершено; нижче — реєстрація на час його відкриття: "
        "3 грудня 2026\u202fр., 00:08 (запис журналу №\u00a07)."
    )
    assert attendance.registered == ["Олена Бондар", "Саша Мороз"] and attendance.absent == ["Андрій Ковальчук"]
    assert attendance.registered_heading == "Зареєстровані (2 депутати)"
    assert attendance.absent_heading == "Відсутні (1 депутат)"
    assert attendance.competent  # 2 of 3
    assert attendance.mayor == "Міський голова Михайло Степаненко — відсутній."


def test_the_roll_call_follows_the_councils_faction_order_and_never_guesses_a_gender() -> None:
    minutes = build(late_sitting(), COUNCIL)
    item = minutes.items[0]
    assert item.number == "1"  # «1.» as its author typed it is printed «1.» once, not «1..»
    assert item.votes[0].roll_call == [
        Group("Б", [("Олена Бондар", "за")]),
        Group("А", [("Андрій Ковальчук", "відсутній")]),
        Group("Позафракційні депутати", [("Саша Мороз", "утримався(-лася)")]),
    ]
    assert item.votes[0].numbers == "За — 1, проти — 0, утрималися — 1, не голосували — 0, відсутні — 1."
    assert (
        item.votes[0].threshold
        == "Рішення приймається більшістю голосів від складу ради; потрібно 2\u00a0голоси\u00a0«за»."
    )


def test_an_empty_stream_has_no_minutes() -> None:
    with pytest.raises(ValueError, match="no minutes"):
        build([], COUNCIL)
