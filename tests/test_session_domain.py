"""The session aggregate: a whole plenary meeting through decide + evolve, and every refusal.

Each refusal is checked for its exact code and for leaving the state exactly as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from session_support import AGENDA, STAFF, Chamber, in_session, make_council

from session_server.domain.commands import SESSION_COMMAND_ADAPTER
from session_server.domain.council import CouncilState
from session_server.domain.events import NewEvent, RecordedEvent, format_time, parse_time
from session_server.domain.roles import SYSTEM, Actor, Context, Role
from session_server.domain.session import decide, evolve, quorum, to_public
from voting.rules import Rule
from voting.tally import Outcome, RollCall, Tally


def voting(*present: str, council: CouncilState | None = None, seconds: int = 30) -> Chamber:
    chamber = in_session(*present, council=council)
    chamber.do("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=seconds)
    return chamber


# --- a whole meeting ---------------------------------------------------------------------------------


def test_a_whole_plenary_meeting() -> None:
    c = Chamber()
    [scheduled] = c.do(
        "secretary", "session.schedule", number=12, convocation=8, date="2026-11-24", title="12 сесія", agenda=AGENDA
    )
    assert scheduled == NewEvent(
        "session.scheduled",
        {
            "session": "c8-s12",
            "council": "vz",
            "number": 12,
            "convocation": 8,
            "date": "2026-11-24",
            "title": "12 сесія",
            "agenda": [
                {"id": "budget", "number": "1", "title": "Про бюджет громади на 2027 рік", "draft": "1234"},
                {"id": "i2", "number": "2", "title": "Про перейменування вулиці", "draft": None},
                {"id": "i3", "number": "3", "title": "Різне", "draft": None},
            ],
            "counting": 2,
        },
    )
    assert c.public()["status"] == "scheduled"
    c.do("chair", "session.open")
    c.do("chair", "registration.open")
    for member in ["d1", "d2", "mayor", "d3", "d4"]:
        c.do(member, "presence.register")
    c.do("chair", "registration.close")
    public = c.public()
    assert (public["status"], public["registration_open"], public["quorum"]) == ("open", False, True)
    assert public["registered"] == ["d1", "d2", "mayor", "d3", "d4"]

    assert c.do("chair", "item.start", item="budget") == [NewEvent("item.started", {"item": "budget"})]
    c.do("d2", "speaker.request")
    c.do("d3", "speaker.request")
    c.tick(5)
    [granted] = c.do("chair", "speaker.grant", deputy="d2", seconds=180)
    assert granted == NewEvent("speaker.granted", {"deputy": "d2", "seconds": 180, "until": "2026-11-24T10:03:05.000Z"})
    assert c.public()["speakers"] == {
        "queue": ["d3"],
        "current": {"deputy": "d2", "seconds": 180, "until": "2026-11-24T10:03:05.000Z"},
    }
    assert c.do("chair", "speaker.finish") == [NewEvent("speaker.finished", {"deputy": "d2"})]
    c.do("d4", "conflict.declare", item="budget", reason="Дружина — директорка підрядника")

    [opened] = c.do("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=30)
    assert opened == NewEvent(
        "vote.opened",
        {
            "vote": "v1",
            "item": "budget",
            "subject": "в цілому",
            "rule": "majority_of_composition",
            "seconds": 30,
            "closes_at": "2026-11-24T10:00:35.000Z",
            "nonce_seed": "AAECAwQFBgcICQoLDA0ODw",
        },
    )
    assert c.do("d1", "ballot.cast", vote="v1", choice="for") == [
        NewEvent("ballot.cast", {"vote": "v1", "deputy": "d1", "choice": "for"})
    ]
    c.do("d2", "ballot.cast", vote="v1", choice="against")
    c.do("mayor", "ballot.cast", vote="v1", choice="for")
    c.do("d2", "ballot.cast", vote="v1", choice="for")  # changed: the last ballot counts
    c.do("d3", "ballot.cast", vote="v1", choice="abstain")
    assert c.vote()["voted"] == 4
    c.tick(30)
    [closed] = c.do("chair", "vote.close", vote="v1")
    # 5 seats + the registered mayor = 6 → 4 needed (art. 59 part 2); d4 (conflict) did not vote.
    assert closed == NewEvent(
        "vote.closed",
        {
            "vote": "v1",
            "tally": {
                "for": 3,
                "against": 0,
                "abstain": 1,
                "not_voted": 1,
                "absent": 1,
                "required": 4,
                "outcome": "rejected",
            },
            "roll_call": {"d1": "for", "d2": "for", "d3": "abstain", "d4": "not_voted", "d5": "absent", "mayor": "for"},
        },
    )
    vote = c.vote()
    assert vote["status"] == "closed"
    assert vote["tally"]["outcome"] == "rejected"
    assert vote["roll_call"]["mayor"] == "for"
    assert vote["opened_at"] == "2026-11-24T10:00:05.000Z"

    c.do("chair", "item.finish", item="budget")
    c.do("chair", "item.start", item="i2")
    c.do("chair", "vote.open", item="i2", subject="за основу", rule="majority_of_registered", seconds=20)
    c.do("chair", "vote.cancel", vote="v2", reason="Збій табло")
    c.do("chair", "vote.open", item="i2", subject="за основу", rule="majority_of_registered", seconds=20)
    for member in ["d1", "d2", "d3"]:
        c.do(member, "ballot.cast", vote="v3", choice="for")
    c.do("chair", "vote.close", vote="v3")
    assert c.refuse("chair", "session.close") == "item_in_progress"  # no item left "in progress" for ever
    c.do("chair", "item.finish", item="i2")
    c.do("chair", "session.close")

    public = c.public()
    assert public["status"] == "closed"
    assert public["current_item"] is None
    assert [(i["id"], i["status"]) for i in public["agenda"]] == [
        ("budget", "done"),
        ("i2", "done"),
        ("i3", "pending"),
    ]
    assert [(v["id"], v["status"], v["reason"]) for v in public["votes"]] == [
        ("v1", "closed", None),
        ("v2", "cancelled", "Збій табло"),
        ("v3", "closed", None),
    ]
    assert public["votes"][1]["tally"] is None
    # 5 registered (mayor included) → 3 needed.
    assert public["votes"][2]["tally"] == {
        "for": 3,
        "against": 0,
        "abstain": 0,
        "not_voted": 2,
        "absent": 1,
        "required": 3,
        "outcome": "adopted",
    }
    assert public["conflicts"] == [{"deputy": "d4", "item": "budget", "reason": "Дружина — директорка підрядника"}]
    assert c.s.seq == c.seq
    json.dumps(public)  # JSON-ready


def test_replaying_the_log_rebuilds_the_same_state() -> None:
    c = voting("d1", "d2", "d3", "mayor")
    c.do("d1", "ballot.cast", vote="v1", choice="for")
    c.do("d2", "conflict.declare", item="i2", reason="r")
    c.do("chair", "vote.close", vote="v1")
    c.do("d3", "speaker.request")
    state = None
    for event in json.loads(json.dumps([(e.type, e.payload, e.seq, e.at) for e in c.log])):  # through JSON
        state = evolve(state, RecordedEvent(*event))
    assert state == c.state
    assert state is not None
    assert to_public(state, c.council) == c.public()


# --- scheduling ----------------------------------------------------------------------------------------


def test_a_schedule_may_name_the_session_and_agenda_ids_follow_positions() -> None:
    c = Chamber()
    [event] = c.do(
        "admin",
        "session.schedule",
        number=3,
        convocation=8,
        date="2026-12-01",
        title="Позачергова",
        session_id="extra-3",
        agenda=[{"number": "1", "title": "A"}, {"id": "b", "number": "2", "title": "B"}, {"number": "3", "title": "C"}],
    )
    assert event.payload["session"] == "extra-3"
    assert [i["id"] for i in event.payload["agenda"]] == ["i1", "b", "i3"]
    assert c.s.id == "extra-3"


def test_duplicate_agenda_ids_are_refused() -> None:
    c = Chamber()
    agenda = [{"number": "1", "title": "A"}, {"id": "i1", "number": "2", "title": "B"}]
    code = c.refuse(
        "secretary", "session.schedule", number=1, convocation=8, date="2026-11-24", title="T", agenda=agenda
    )
    assert code == "invalid_command"
    assert c.state is None


def test_a_session_is_scheduled_once() -> None:
    c = in_session()
    code = c.refuse("secretary", "session.schedule", number=12, convocation=8, date="2026-11-24", title="Знову")
    assert code == "session_exists"


@pytest.mark.parametrize("who", ["chair", "d1", "observer"])
def test_only_admin_or_secretary_schedules(who: str) -> None:
    c = Chamber()
    assert c.refuse(who, "session.schedule", number=1, convocation=8, date="2026-11-24", title="T") == "forbidden"


def test_commands_need_a_scheduled_session() -> None:
    assert Chamber().refuse("chair", "session.open") == "session_not_found"
    assert Chamber().refuse("d1", "presence.register") == "session_not_found"


# --- session lifecycle --------------------------------------------------------------------------------


def test_a_session_opens_once_and_not_after_closing() -> None:
    c = in_session(item=None)
    assert c.refuse("chair", "session.open") == "session_not_scheduled"
    c.do("chair", "session.close")
    assert c.refuse("chair", "session.open") == "session_closed"


def test_nothing_happens_before_the_session_opens() -> None:
    c = Chamber()
    c.do("secretary", "session.schedule", number=1, convocation=8, date="2026-11-24", title="T", agenda=AGENDA)
    assert c.refuse("chair", "registration.open") == "session_not_open"
    assert c.refuse("chair", "item.start", item="budget") == "session_not_open"
    assert c.refuse("chair", "session.close") == "session_not_open"


def test_nothing_happens_after_the_session_closes() -> None:
    c = in_session("d1", "d2", "d3")
    c.do("chair", "item.finish", item="budget")
    c.do("chair", "session.close")
    assert c.public()["registration_open"] is False
    assert c.refuse("d4", "presence.register") == "session_closed"
    assert c.refuse("chair", "vote.open", item="budget", subject="s", rule="majority_of_composition", seconds=30) == (
        "session_closed"
    )
    assert c.refuse("chair", "session.close") == "session_closed"


def test_the_session_does_not_close_during_a_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("chair", "session.close") == "vote_open"


def test_the_session_does_not_close_while_an_item_is_under_consideration() -> None:
    c = in_session("d1", "d2", "d3")
    assert c.refuse("chair", "session.close") == "item_in_progress"
    assert c.public()["agenda"][0]["status"] == "in_progress"
    c.do("chair", "item.finish", item="budget")
    c.do("chair", "session.close")
    assert c.public()["status"] == "closed"
    assert [i["status"] for i in c.public()["agenda"]] == ["done", "pending", "pending"]


# --- registration and quorum (art. 46) -------------------------------------------------------------------


def test_registration_opens_and_closes_once() -> None:
    c = in_session()
    assert c.refuse("chair", "registration.open") == "registration_open"
    c.do("chair", "registration.close")
    assert c.refuse("secretary", "registration.close") == "registration_closed"
    assert c.refuse("d1", "presence.register") == "registration_closed"


def test_a_member_registers_once_and_leaves_only_when_registered() -> None:
    c = in_session("d1")
    assert c.refuse("d1", "presence.register") == "already_registered"
    assert c.refuse("d2", "presence.leave") == "not_registered"
    c.do("d1", "presence.leave")
    assert c.public()["registered"] == []
    c.do("d1", "presence.register")  # registration is still open: back again
    assert c.public()["registered"] == ["d1"]


def test_quorum_counts_deputies_not_the_mayor() -> None:
    c = in_session("d1", "d2", "mayor")  # 2 of 5 deputies: the mayor is not a deputy
    assert c.public()["quorum"] is False
    c.do("d3", "presence.register")
    assert c.public()["quorum"] is True
    c.do("d3", "presence.leave")
    assert quorum(c.s, c.council) is False


def test_a_vote_cannot_open_without_quorum() -> None:
    c = in_session("d1", "d2", "mayor")
    code = c.refuse("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=30)
    assert code == "no_quorum"
    assert c.public()["votes"] == []


# --- agenda ---------------------------------------------------------------------------------------------


def test_items_are_taken_up_one_at_a_time_and_once() -> None:
    c = in_session(item=None)
    assert c.refuse("chair", "item.start", item="nope") == "unknown_item"
    c.do("chair", "item.start", item="budget")
    assert c.refuse("chair", "item.start", item="i2") == "item_in_progress"
    assert c.refuse("chair", "item.finish", item="nope") == "unknown_item"
    assert c.refuse("chair", "item.finish", item="i2") == "item_not_current"
    c.do("chair", "item.finish", item="budget")
    assert c.public()["current_item"] is None
    assert c.refuse("chair", "item.start", item="budget") == "item_not_pending"


def test_an_item_is_not_finished_during_its_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("chair", "item.finish", item="budget") == "vote_open"


# --- speakers ---------------------------------------------------------------------------------------------


def test_asking_for_the_floor() -> None:
    c = in_session("d1", "d2")
    assert c.refuse("d3", "speaker.request") == "not_registered"
    c.do("d1", "speaker.request")
    assert c.refuse("d1", "speaker.request") == "already_in_queue"
    c.do("chair", "speaker.grant", deputy="d1", seconds=60)
    assert c.public()["speakers"]["queue"] == []
    assert c.refuse("d1", "speaker.request") == "already_in_queue"  # while speaking


def test_granting_and_finishing_the_floor() -> None:
    c = in_session("d1", "d2")
    assert c.refuse("chair", "speaker.finish") == "no_speaker"
    assert c.refuse("chair", "speaker.grant", deputy="stranger", seconds=60) == "unknown_deputy"
    c.do("chair", "speaker.grant", deputy="d5", seconds=60)  # the chair may give the floor to any member
    assert c.refuse("chair", "speaker.grant", deputy="d1", seconds=60) == "speaker_active"
    c.do("secretary", "speaker.finish")
    assert c.public()["speakers"]["current"] is None


def test_leaving_drops_the_member_from_the_speaker_queue() -> None:
    c = in_session("d1", "d2")
    c.do("d1", "speaker.request")
    c.do("d2", "speaker.request")
    [left] = c.do("d1", "presence.leave")
    assert left == NewEvent("presence.left", {"deputy": "d1"})
    assert c.public()["speakers"]["queue"] == ["d2"]


# --- conflicts of interest (art. 59-1) --------------------------------------------------------------------


def test_a_conflict_is_declared_once_per_item() -> None:
    c = in_session("d1", "d2", "d3")
    assert c.refuse("d1", "conflict.declare", item="nope", reason="r") == "unknown_item"
    c.do("d1", "conflict.declare", item="budget", reason="r")
    assert c.refuse("d1", "conflict.declare", item="budget", reason="again") == "conflict_already_declared"
    c.do("d1", "conflict.declare", item="i2", reason="r")  # another item is another declaration


def test_a_conflict_cannot_be_declared_after_voting_on_the_item() -> None:
    c = voting("d1", "d2", "d3", "d4")
    c.do("d1", "ballot.cast", vote="v1", choice="for")
    assert c.refuse("d1", "conflict.declare", item="budget", reason="r") == "already_voted"
    c.do("d2", "conflict.declare", item="budget", reason="r")  # not voted yet: fine


def test_a_conflicted_deputy_is_refused_a_ballot() -> None:
    c = in_session("d1", "d2", "d3", "d4")
    c.do("d4", "conflict.declare", item="budget", reason="Родинний бізнес")
    c.do("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=30)
    assert c.refuse("d4", "ballot.cast", vote="v1", choice="for") == "conflict_declared"
    assert c.vote()["voted"] == 0


def test_conflicted_deputies_vote_when_without_them_there_is_no_quorum() -> None:
    c = in_session("d1", "d2", "d3", "mayor")  # 3 of 5 deputies: exactly a quorum
    c.do("d3", "conflict.declare", item="budget", reason="Публічно задекларовано")
    c.do("chair", "vote.open", item="budget", subject="в цілому", rule="majority_of_composition", seconds=30)
    # Without d3 only 2 of 5 remain: the art. 59-1 exception lets d3 vote after declaring.
    c.do("d3", "ballot.cast", vote="v1", choice="for")
    assert c.vote()["voted"] == 1


# --- votes ------------------------------------------------------------------------------------------------


def test_vote_open_checks_rule_item_and_the_open_vote() -> None:
    council = make_council(rules=["majority_of_composition"])
    c = in_session("d1", "d2", "d3", council=council)
    args = {"subject": "в цілому", "seconds": 30}
    assert c.refuse("chair", "vote.open", item="budget", rule="two_thirds_of_composition", **args) == "unknown_rule"
    assert c.refuse("chair", "vote.open", item="nope", rule="majority_of_composition", **args) == "unknown_item"
    assert c.refuse("chair", "vote.open", item="i2", rule="majority_of_composition", **args) == "item_not_current"
    c.do("chair", "vote.open", item="budget", rule="majority_of_composition", **args)
    assert c.refuse("chair", "vote.open", item="budget", rule="majority_of_composition", **args) == "vote_already_open"


def test_while_a_vote_is_open_only_the_count_is_public() -> None:
    c = voting("d1", "d2", "d3")
    c.do("d1", "ballot.cast", vote="v1", choice="against")
    c.do("d2", "ballot.cast", vote="v1", choice="abstain")
    vote = c.vote()
    assert (vote["status"], vote["voted"], vote["tally"], vote["roll_call"]) == ("open", 2, None, None)
    text = json.dumps(c.public())
    assert "against" not in text
    assert "abstain" not in text


def test_ballots_need_an_open_known_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("d1", "ballot.cast", vote="v9", choice="for") == "unknown_vote"
    c.do("chair", "vote.cancel", vote="v1", reason="Помилка в тексті")
    assert c.refuse("d1", "ballot.cast", vote="v1", choice="for") == "vote_not_open"


def test_a_ballot_after_close_is_refused_and_the_tally_is_unchanged() -> None:
    c = voting("d1", "d2", "d3")
    c.do("d1", "ballot.cast", vote="v1", choice="for")
    c.do("chair", "vote.close", vote="v1")
    tally = c.vote()["tally"]
    assert c.refuse("d2", "ballot.cast", vote="v1", choice="for") == "vote_closed"
    assert c.vote()["tally"] == tally
    assert tally["for"] == 1


def test_a_ballot_after_the_closing_time_is_refused() -> None:
    c = voting("d1", "d2", "d3", seconds=30)
    c.tick(30)
    c.do("d1", "ballot.cast", vote="v1", choice="for")  # at the closing instant: still in time
    c.tick(0.001)
    assert c.refuse("d2", "ballot.cast", vote="v1", choice="for") == "vote_closed"


def test_only_registered_members_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("d4", "ballot.cast", vote="v1", choice="for") == "not_registered"
    assert c.refuse("mayor", "ballot.cast", vote="v1", choice="for") == "not_registered"


def test_changing_a_ballot_last_one_counts() -> None:
    c = voting("d1", "d2", "d3")
    c.do("d1", "ballot.cast", vote="v1", choice="against")
    c.do("d1", "ballot.cast", vote="v1", choice="for")
    assert c.vote()["voted"] == 1
    c.do("chair", "vote.close", vote="v1")
    assert c.vote()["roll_call"]["d1"] == "for"


def test_first_ballot_final_refuses_a_change() -> None:
    c = voting("d1", "d2", "d3", council=make_council(first_ballot_final=True))
    c.do("d1", "ballot.cast", vote="v1", choice="against")
    assert c.refuse("d1", "ballot.cast", vote="v1", choice="for") == "ballot_final"
    c.do("chair", "vote.close", vote="v1")
    assert c.vote()["roll_call"]["d1"] == "against"


def test_the_mayor_is_counted_in_the_composition_when_registered() -> None:
    # 5 seats. With the mayor registered n = 6 → 4 votes needed; without, n = 5 → 3.
    with_mayor = voting("d1", "d2", "d3", "mayor")
    without_mayor = voting("d1", "d2", "d3")
    for c in (with_mayor, without_mayor):
        for member in ("d1", "d2", "d3"):
            c.do(member, "ballot.cast", vote="v1", choice="for")
        c.do("chair", "vote.close", vote="v1")
    assert (with_mayor.vote()["tally"]["required"], with_mayor.vote()["tally"]["outcome"]) == (4, "rejected")
    assert with_mayor.vote()["roll_call"]["mayor"] == "not_voted"
    assert (without_mayor.vote()["tally"]["required"], without_mayor.vote()["tally"]["outcome"]) == (3, "adopted")
    # Not taking part, the mayor is not in the composition: no line, and the lines add up to the 5 seats.
    assert "mayor" not in without_mayor.vote()["roll_call"]
    assert sum(v for k, v in without_mayor.vote()["tally"].items() if k not in ("required", "outcome")) == 5
    assert sum(v for k, v in with_mayor.vote()["tally"].items() if k not in ("required", "outcome")) == 6


def test_one_composition_is_stated_with_what_it_is_made_of() -> None:
    c = in_session("d1", "d2", item=None)
    assert c.public()["composition"] == {
        "statutory": 5,
        "quorum": 3,
        "registered_deputies": 2,
        "mayor_taking_part": False,
        "total": 5,
        "registered": 2,
        "committee": False,  # the council's plenary, not a committee's sitting
    }
    assert c.public()["quorum"] is False
    c.do("mayor", "presence.register")
    c.do("d3", "presence.register")
    composition = c.public()["composition"]
    assert (composition["registered_deputies"], composition["registered"], composition["total"]) == (3, 4, 6)
    assert composition["mayor_taking_part"] is True
    assert c.public()["quorum"] is True


def test_a_session_scheduled_before_the_second_counting_rule_still_counts_an_absent_mayor() -> None:
    # Its ledger must recount exactly as it was closed: the rule travels with the session.
    c = voting("d1", "d2", "d3")
    c.s.counting = 1
    c.do("chair", "vote.close", vote="v1")
    assert c.vote()["roll_call"]["mayor"] == "absent"


def test_the_mayors_vote_counts() -> None:
    c = voting("d1", "d2", "d3", "mayor")
    for member in ("d1", "d2", "d3", "mayor"):
        c.do(member, "ballot.cast", vote="v1", choice="for")
    c.do("chair", "vote.close", vote="v1")
    assert (c.vote()["tally"]["for"], c.vote()["tally"]["outcome"]) == (4, "adopted")


def test_closing_and_cancelling_need_an_open_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("chair", "vote.close", vote="v9") == "unknown_vote"
    assert c.refuse("chair", "vote.cancel", vote="v9", reason="r") == "unknown_vote"
    c.do("chair", "vote.close", vote="v1")
    assert c.refuse("chair", "vote.close", vote="v1") == "vote_closed"
    assert c.refuse("chair", "vote.cancel", vote="v1", reason="r") == "vote_closed"
    c.do("chair", "vote.open", item="budget", subject="повторно", rule="majority_of_composition", seconds=30)
    c.do("chair", "vote.cancel", vote="v2", reason="r")
    assert c.refuse("chair", "vote.close", vote="v2") == "vote_not_open"
    assert c.refuse("chair", "vote.cancel", vote="v2", reason="r") == "vote_not_open"


def test_the_system_closes_a_vote_whose_time_ran_out() -> None:
    c = voting("d1", "d2", "d3")
    c.tick(31)
    events = decide(c.s, c.council, c.command("vote.close", {"vote": "v1"}), Context(SYSTEM, c.now))
    assert [e.type for e in events] == ["vote.closed"]


# --- roles ------------------------------------------------------------------------------------------------


def test_a_deputy_cannot_steer() -> None:
    c = in_session("d1", "d2", "d3")
    assert c.refuse("d1", "vote.open", item="budget", subject="s", rule="majority_of_composition", seconds=30) == (
        "forbidden"
    )
    assert c.refuse("d1", "session.close") == "forbidden"
    assert c.refuse("d1", "speaker.grant", deputy="d1", seconds=60) == "forbidden"


def test_staff_cannot_vote() -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("secretary", "ballot.cast", vote="v1", choice="for") == "forbidden"
    assert c.refuse("admin", "ballot.cast", vote="v1", choice="for") == "forbidden"
    assert c.refuse("chair", "ballot.cast", vote="v1", choice="for") == "not_a_deputy"  # a chair with no seat


def test_the_mayor_chairing_also_votes() -> None:
    c = voting("d1", "d2", "d3", "mayor")
    holova = Context(Actor("holova", Role.CHAIR, "mayor"), c.now)
    events = decide(c.s, c.council, c.command("ballot.cast", {"vote": "v1", "choice": "for"}), holova)
    assert events == [NewEvent("ballot.cast", {"vote": "v1", "deputy": "mayor", "choice": "for"})]


def test_a_deputy_of_another_council_is_not_a_member() -> None:
    c = in_session()
    assert c.refuse("d99", "presence.register") == "not_a_deputy"


@pytest.mark.parametrize(
    ("type_", "fields"),
    [
        ("session.open", {}),
        ("registration.open", {}),
        ("presence.register", {}),
        ("item.start", {"item": "i2"}),
        ("vote.close", {"vote": "v1"}),
        ("ballot.cast", {"vote": "v1", "choice": "for"}),
        ("session.schedule", {"number": 1, "convocation": 1, "date": "2026-11-24", "title": "T"}),
    ],
)
def test_an_observer_only_watches(type_: str, fields: dict[str, Any]) -> None:
    c = voting("d1", "d2", "d3")
    assert c.refuse("observer", type_, **fields) == "forbidden"


# --- evolve, clone and the edges -----------------------------------------------------------------------------


def test_a_clone_is_independent() -> None:
    c = voting("d1", "d2", "d3")
    c.do("d1", "speaker.request")
    copy = c.s.clone()
    at = format_time(c.now)
    evolve(copy, RecordedEvent("ballot.cast", {"vote": "v1", "deputy": "d2", "choice": "for"}, c.seq + 1, at))
    evolve(copy, RecordedEvent("presence.left", {"deputy": "d1"}, c.seq + 2, at))
    evolve(copy, RecordedEvent("item.started", {"item": "i3"}, c.seq + 3, at))
    assert c.vote()["voted"] == 0
    assert c.public()["registered"] == ["d1", "d2", "d3"]
    assert c.public()["speakers"]["queue"] == ["d1"]
    assert c.public()["agenda"][2]["status"] == "pending"
    assert c.s.seq == c.seq
    assert copy.seq == c.seq + 3


def test_evolve_refuses_what_cannot_happen() -> None:
    c = voting("d1", "d2", "d3")
    at = format_time(c.now)
    with pytest.raises(ValueError):
        evolve(c.s.clone(), RecordedEvent("vote.reopened", {"vote": "v1"}, c.seq + 1, at))
    with pytest.raises(ValueError):
        evolve(None, RecordedEvent("session.opened", {}, 1, at))
    c.do("chair", "vote.close", vote="v1")
    with pytest.raises(ValueError):  # a finished vote is final
        evolve(
            c.s.clone(), RecordedEvent("ballot.cast", {"vote": "v1", "deputy": "d2", "choice": "for"}, c.seq + 1, at)
        )
    assert c.s.votes["v1"].tally == Tally(0, 0, 0, 3, 2, 3, Outcome.REJECTED)
    assert c.s.votes["v1"].roll_call == {
        "d1": RollCall.NOT_VOTED,
        "d2": RollCall.NOT_VOTED,
        "d3": RollCall.NOT_VOTED,
        "d4": RollCall.ABSENT,
        "d5": RollCall.ABSENT,
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "speaker.grant", "deputy": "d1", "seconds": True},
        {"type": "speaker.grant", "deputy": "d1", "seconds": 5},
        {"type": "speaker.grant", "deputy": "d1", "seconds": "60"},
        {"type": "vote.open", "item": "i1", "subject": "s", "rule": "secret", "seconds": 30},
        {"type": "vote.open", "item": "i1", "subject": "s", "rule": "majority_of_composition", "seconds": 901},
        {"type": "ballot.cast", "vote": "v1", "choice": "yes"},
        {"type": "ballot.cast", "vote": "v1", "choice": "for", "deputy": "d2"},  # the deputy is always the caller
        {"type": "session.schedule", "number": 1, "convocation": 8, "date": "2026-02-30", "title": "T"},
        {"type": "session.schedule", "number": 0, "convocation": 8, "date": "2026-02-03", "title": "T"},
        {
            "type": "session.schedule",
            "number": 1,
            "convocation": 8,
            "date": "2026-02-03",
            "title": "T",
            "session_id": "A",
        },
        {"type": "session.launch"},
        {"type": "council.create", "council": "x", "name": "X", "composition": 3},  # not a session command
    ],
)
def test_malformed_session_commands_are_validation_errors(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SESSION_COMMAND_ADAPTER.validate_python({"id": "c1", **raw})
    with pytest.raises(ValidationError):
        SESSION_COMMAND_ADAPTER.validate_json(json.dumps({"id": "c1", **raw}))


def test_commands_from_json_and_from_dicts_agree() -> None:
    raw = {"id": "tablet-7:42", "type": "ballot.cast", "vote": "v1", "choice": "abstain", "assertion": {"x": "1"}}
    assert SESSION_COMMAND_ADAPTER.validate_python(raw) == SESSION_COMMAND_ADAPTER.validate_json(json.dumps(raw))


def test_times_are_rfc3339_utc_with_milliseconds() -> None:
    kyiv = datetime(2026, 11, 25, 1, 45, 42, 123_456, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(kyiv) == "2026-11-24T23:45:42.123Z"
    assert parse_time("2026-11-24T23:45:42.123Z") == datetime(2026, 11, 24, 23, 45, 42, 123_000, tzinfo=UTC)
    with pytest.raises(ValueError):
        format_time(datetime(2026, 11, 24))  # naive on purpose
    with pytest.raises(ValueError):
        Context(STAFF["chair"], datetime(2026, 11, 24))  # naive on purpose


# --- preparing the agenda ----------------------------------------------------------------------------


def test_the_secretary_edits_the_agenda_until_the_session_opens() -> None:
    c = Chamber()
    c.do("secretary", "session.schedule", number=12, convocation=8, date="2026-11-24", title="12 сесія", agenda=AGENDA)
    [added] = c.do("secretary", "item.add", number="1-1", title="Про звернення щодо мосту", draft="1240", position=2)
    assert added == NewEvent(
        "item.added",
        {"item": "i4", "number": "1-1", "title": "Про звернення щодо мосту", "draft": "1240", "position": 2},
    )
    c.do("secretary", "item.update", item="i3", title="Різне (інформація)")
    c.do("secretary", "item.remove", item="i2")
    c.do("secretary", "item.add", item="last", number="9", title="Наприкінці")
    assert [(i["id"], i["number"], i["title"]) for i in c.public()["agenda"]] == [
        ("budget", "1", "Про бюджет громади на 2027 рік"),
        ("i4", "1-1", "Про звернення щодо мосту"),
        ("i3", "3", "Різне (інформація)"),
        ("last", "9", "Наприкінці"),
    ]
    assert c.refuse("secretary", "item.update", item="i2", title="x") == "unknown_item"
    assert c.refuse("secretary", "item.add", item="budget", number="1", title="x") == "invalid_command"
    assert c.refuse("secretary", "item.update", item="i3") == "invalid_command"
    assert c.refuse("d1", "item.add", number="5", title="x") == "forbidden"
    assert c.refuse("chair", "item.remove", item="i3") == "forbidden"
    c.do("chair", "session.open")
    assert c.refuse("secretary", "item.add", number="5", title="x") == "agenda_locked"
    assert c.refuse("secretary", "item.remove", item="i3") == "agenda_locked"


# --- including an item in an open sitting's agenda (a procedural vote) ---------------------------------

PROPOSAL = {"number": "6", "title": "Про звернення щодо освітлення вулиць", "draft": "ПР-110"}


def test_an_item_joins_an_open_sittings_agenda_only_if_the_council_adopts_its_inclusion() -> None:
    c = in_session("d1", "d2", "d3", "d4", item=None)
    assert c.refuse("secretary", "item.add", number="6", title="Т") == "agenda_locked"  # no silent additions
    [opened] = c.do(
        "chair",
        "vote.open",
        subject="включити до порядку денного",
        rule="majority_of_composition",
        seconds=30,
        purpose="agenda_add",
        proposal=PROPOSAL,
    )
    assert opened.payload["item"] == "i4" and opened.payload["purpose"] == "agenda_add"
    assert opened.payload["proposal"] == PROPOSAL
    assert [i["id"] for i in c.public()["agenda"]] == ["budget", "i2", "i3"]  # not on the agenda while voted on
    assert c.vote()["purpose"] == "agenda_add" and c.vote()["proposal"] == PROPOSAL
    for member in ("d1", "d2", "d3"):
        c.do(member, "ballot.cast", vote="v1", choice="for")
    closed = c.do("chair", "vote.close", vote="v1")
    assert [e.type for e in closed] == ["vote.closed", "item.added"]
    assert closed[1].payload == {"item": "i4", **PROPOSAL, "position": 4}
    assert c.public()["agenda"][-1] == {"id": "i4", "status": "pending", **PROPOSAL}
    c.do("chair", "item.start", item="i4")  # and is considered like any other

    c.do("chair", "item.finish", item="i4")
    c.do(
        "chair",
        "vote.open",
        subject="включити",
        rule="majority_of_composition",
        seconds=30,
        purpose="agenda_add",
        proposal={"number": "7", "title": "Різне"},
    )
    c.do("d1", "ballot.cast", vote="v2", choice="for")
    assert [e.type for e in c.do("chair", "vote.close", vote="v2")] == ["vote.closed"]  # rejected: not added
    assert [i["id"] for i in c.public()["agenda"]] == ["budget", "i2", "i3", "i4"]


def test_an_inclusion_vote_names_a_proposal_and_follows_the_councils_procedural_rule() -> None:
    council = make_council()
    council.procedural_rule = Rule.MAJORITY_OF_REGISTERED
    c = in_session("d1", "d2", "d3", council=council, item=None)
    fields: dict[str, Any] = {"subject": "включити", "seconds": 30, "purpose": "agenda_add"}
    assert c.refuse("chair", "vote.open", rule="majority_of_composition", proposal=PROPOSAL, **fields) == (
        "procedural_rule_required"
    )
    assert c.refuse("chair", "vote.open", rule="majority_of_registered", **fields) == "invalid_command"
    assert c.refuse(
        "chair", "vote.open", rule="majority_of_registered", item="budget", proposal=PROPOSAL, **fields
    ) == ("invalid_command")
    assert c.refuse("chair", "vote.open", subject="s", rule="majority_of_registered", seconds=30) == "invalid_command"
    c.do("chair", "vote.open", rule="majority_of_registered", proposal=PROPOSAL, **fields)


def test_text_a_person_types_is_trimmed_and_a_blank_one_refused() -> None:
    for raw in (
        {"type": "vote.cancel", "vote": "v1", "reason": "   "},
        {"type": "item.add", "number": "7", "title": " \t "},
        {"type": "item.add", "number": "  ", "title": "Різне"},
        {"type": "vote.open", "item": "i1", "subject": "  ", "rule": "majority_of_composition", "seconds": 30},
        {"type": "conflict.declare", "item": "i1", "reason": "\n"},
        {
            "type": "vote.open",
            "subject": "включити",
            "rule": "majority_of_composition",
            "seconds": 30,
            "purpose": "agenda_add",
            "proposal": {"number": "6", "title": "   "},
        },
    ):
        with pytest.raises(ValidationError):
            SESSION_COMMAND_ADAPTER.validate_python({"id": "x", **raw})
    c = in_session("d1", "d2", "d3", "d4", item=None)
    c.do(
        "chair",
        "vote.open",
        item=None,
        subject="  включити ",
        rule="majority_of_composition",
        seconds=30,
        purpose="agenda_add",
        proposal={"number": " 6 ", "title": " Різне "},
    )
    assert c.vote()["subject"] == "включити" and c.vote()["proposal"] == {
        "number": "6",
        "title": "Різне",
        "draft": None,
    }


def test_agenda_numbers_are_unique_and_the_agenda_changes_between_items_not_during_one() -> None:
    c = Chamber()
    agenda = [{"number": "1", "title": "А"}, {"number": "1", "title": "Б"}]
    assert (
        c.refuse("secretary", "session.schedule", number=1, convocation=8, date="2026-11-24", title="T", agenda=agenda)
        == "item_number_taken"
    )
    c.do("secretary", "session.schedule", number=1, convocation=8, date="2026-11-24", title="T", agenda=AGENDA)
    assert c.refuse("secretary", "item.add", number="2", title="Двійник") == "item_number_taken"
    assert c.refuse("secretary", "item.update", item="i3", number="1") == "item_number_taken"
    c.do("secretary", "item.update", item="i3", number="3")  # its own number again: fine
    c.do("chair", "session.open")
    c.do("chair", "registration.open")
    for member in ("d1", "d2", "d3", "d4"):
        c.do(member, "presence.register")
    fields: dict[str, Any] = {"subject": "включити", "rule": "majority_of_composition", "seconds": 30}
    assert c.refuse("chair", "vote.open", purpose="agenda_add", proposal={"number": "2", "title": "Х"}, **fields) == (
        "item_number_taken"
    )
    c.do("chair", "item.start", item="budget")
    assert c.refuse("chair", "vote.open", purpose="agenda_add", proposal={"number": "9", "title": "Х"}, **fields) == (
        "item_in_progress"
    )
