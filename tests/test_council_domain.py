"""The council aggregate: creation, the roster, the mayor, permissions and the public view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from session_server.domain.commands import COMMAND_ADAPTER, COUNCIL_COMMAND_ADAPTER
from session_server.domain.council import CouncilState, Deputy, decide_council, evolve_council
from session_server.domain.errors import CODES, DomainError
from session_server.domain.events import NewEvent, RecordedEvent
from session_server.domain.roles import Actor, Context, Role
from voting.kinds import VoteKind
from voting.rules import Rule

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ADMIN = Context(Actor("root", Role.ADMIN), AT)
SECRETARY = Context(Actor("secretary", Role.SECRETARY), AT)
_ids = iter(range(1_000_000))


def command(type_: str, **fields: Any) -> Any:
    return COUNCIL_COMMAND_ADAPTER.validate_python({"id": f"c{next(_ids)}", "type": type_, **fields})


def apply(state: CouncilState | None, events: list[NewEvent]) -> CouncilState:
    for event in events:
        seq = (state.seq if state else 0) + 1
        state = evolve_council(state, RecordedEvent(event.type, event.payload, seq, "2026-11-24T09:00:00.000Z"))
    assert state is not None
    return state


def run(state: CouncilState | None, type_: str, ctx: Context = ADMIN, **fields: Any) -> CouncilState:
    return apply(state, decide_council(state, command(type_, **fields), ctx))


def refused(state: CouncilState | None, type_: str, ctx: Context = ADMIN, **fields: Any) -> str:
    """Run a command that must be refused; check nothing changed and return the error code."""
    before = None if state is None else state.to_public()
    with pytest.raises(DomainError) as info:
        decide_council(state, command(type_, **fields), ctx)
    assert info.value.code in CODES
    assert (None if state is None else state.to_public()) == before
    return info.value.code


def voznesensk() -> CouncilState:
    state = run(None, "council.create", council="voznesensk", name="Вознесенська міська рада", composition=3)
    state = run(state, "deputy.add", deputy="d01", name="Олена Коваль", faction="Слуга народу")
    state = run(state, "deputy.add", deputy="d02", name="Петро Бондар", faction="Батьківщина")
    return run(state, "deputy.add", deputy="mayor", name="Міський голова", mayor=True)


def test_creating_a_council_emits_its_settings() -> None:
    events = decide_council(
        None,
        command("council.create", council="voznesensk", name="Вознесенська міська рада", composition=34),
        ADMIN,
    )
    assert events == [
        NewEvent(
            "council.created",
            {
                "council": "voznesensk",
                "name": "Вознесенська міська рада",
                "composition": 34,
                "rules": ["majority_of_composition", "two_thirds_of_composition", "majority_of_registered"],
                "first_ballot_final": False,
                "demo": False,
                "signed_ballots": True,
                "refuse_backup_eligible": False,
                "rp_id": "localhost",
                "origins": ["http://localhost:8000"],
                "results": "hidden",  # a new council seals its votes until they close
            },
        )
    ]
    state = apply(None, events)
    assert state.rules == tuple(Rule) and state.results == "hidden"
    assert (state.id, state.composition, state.seq, state.mayor) == ("voznesensk", 34, 1, None)


def test_a_council_created_before_results_were_chosen_keeps_showing_them_live() -> None:
    created = {"council": "old", "name": "Стара рада", "composition": 5, "rules": ["majority_of_composition"]}
    state = evolve_council(None, RecordedEvent("council.created", {**created, "first_ballot_final": False}, 1, "x"))
    assert state.results == "live"  # its recorded votes fold as they were cast
    chosen = run(None, "council.create", council="new", name="Нова рада", composition=5, results="counts")
    assert chosen.results == "counts"


def test_rules_keep_their_order_and_drop_repeats() -> None:
    state = run(
        None,
        "council.create",
        council="x",
        name="X",
        composition=5,
        rules=["majority_of_registered", "majority_of_composition", "majority_of_registered"],
        first_ballot_final=True,
    )
    assert state.rules == (Rule.MAJORITY_OF_REGISTERED, Rule.MAJORITY_OF_COMPOSITION)
    assert state.first_ballot_final is True


def test_roster_and_public_view() -> None:
    state = run(voznesensk(), "deputy.add", deputy="d03", name="Іван Мельник", faction="Батьківщина")
    assert state.mayor == "mayor"
    assert state.seq == 5
    assert state.deputies["d03"] == Deputy("d03", "Іван Мельник", "Батьківщина", False)
    assert state.to_public() == {
        "id": "voznesensk",
        "name": "Вознесенська міська рада",
        "composition": 3,
        "rules": ["majority_of_composition", "two_thirds_of_composition", "majority_of_registered"],
        "first_ballot_final": False,
        "deputies": [
            {"id": "d01", "name": "Олена Коваль", "faction": "Слуга народу", "mayor": False, "gender": None},
            {"id": "d02", "name": "Петро Бондар", "faction": "Батьківщина", "mayor": False, "gender": None},
            {"id": "mayor", "name": "Міський голова", "faction": None, "mayor": True, "gender": None},
            {"id": "d03", "name": "Іван Мельник", "faction": "Батьківщина", "mayor": False, "gender": None},
        ],
        "factions": ["Слуга народу", "Батьківщина"],  # as they first appear on the roster
        "procedural_rule": None,
        "vote_rules": {  # the law's defaults (voting.kinds): decisions by the composition, art. 59 part 2
            "basis": "majority_of_composition",
            "amendment": "majority_of_composition",
            "whole": "majority_of_composition",
            "basis_and_whole": "majority_of_composition",
            "procedural": "majority_of_registered",
            "conclusion": "majority_of_composition",  # a committee's, of its own composition (art. 47)
        },
        "results": "hidden",
        "witnesses": [],
        "witnesses_needed": 0,
        "committees": [],
        "committees_per_deputy": 1,
        "committee_quorum": "half",
        "secret_questions": [],
        "demo": False,
        "signed_ballots": True,
        "refuse_backup_eligible": False,
        "rp_id": "localhost",
        "origins": ["http://localhost:8000"],
        "holidays": [],
        "signer_keys": {},
        "credentials": [],
    }


def test_the_council_sets_the_order_of_its_factions() -> None:
    state = run(voznesensk(), "council.configure", factions=["Батьківщина", "Нова"])
    state = run(state, "deputy.add", deputy="d03", name="Іван Мельник", faction="Голос")
    assert state.factions == ["Батьківщина", "Слуга народу", "Голос"]  # listed first; unlisted as seated
    assert state.to_public()["factions"] == state.factions


def test_the_secretary_records_a_members_grammatical_gender() -> None:
    state = run(voznesensk(), "deputy.add", deputy="d03", name="Іван Мельник", faction="Батьківщина", gender="male")
    assert state.deputies["d03"].gender == "male"
    [event] = decide_council(state, command("deputy.update", deputy="d01", gender="female"), SECRETARY)
    assert event == NewEvent("deputy.updated", {"deputy": "d01", "gender": "female"})
    state = run(state, "deputy.update", deputy="d01", gender="female", ctx=SECRETARY)
    assert state.deputies["d01"].gender == "female"
    assert state.to_public()["deputies"][0]["gender"] == "female"
    assert refused(state, "deputy.update", deputy="d01", gender="female", ctx=SECRETARY) == "invalid_command"
    assert refused(state, "deputy.update", deputy="d09", gender="male", ctx=SECRETARY) == "unknown_deputy"
    assert refused(state, "deputy.update", deputy="mayor", faction="Голос", ctx=SECRETARY) == "invalid_command"
    moved = run(state, "deputy.update", deputy="d01", faction_none=True, ctx=SECRETARY)
    assert moved.deputies["d01"].faction is None


def test_deputy_added_event_payload() -> None:
    events = decide_council(voznesensk(), command("deputy.add", deputy="d03", name="Nina"), ADMIN)
    assert events == [NewEvent("deputy.added", {"deputy": "d03", "name": "Nina", "faction": None, "mayor": False})]


def test_a_council_is_created_once() -> None:
    assert refused(voznesensk(), "council.create", council="other", name="O", composition=5) == "invalid_command"


def test_a_deputy_needs_a_council() -> None:
    assert refused(None, "deputy.add", deputy="d01", name="Олена") == "council_not_found"


def test_a_member_id_is_unique() -> None:
    assert refused(voznesensk(), "deputy.add", deputy="d01", name="Двійник") == "invalid_command"


def test_a_council_has_at_most_one_mayor() -> None:
    assert refused(voznesensk(), "deputy.add", deputy="mayor2", name="Ще голова", mayor=True) == "invalid_command"


def test_the_mayor_has_no_faction() -> None:
    state = run(None, "council.create", council="x", name="X", composition=3)
    assert (
        refused(state, "deputy.add", deputy="mayor", name="Голова", faction="Партія", mayor=True) == "invalid_command"
    )


def test_no_more_deputies_than_the_statutory_composition() -> None:
    state = run(voznesensk(), "deputy.add", deputy="d03", name="Третій")  # 3 seats filled
    assert refused(state, "deputy.add", deputy="d04", name="Четвертий") == "invalid_command"


def test_the_mayor_does_not_take_a_seat() -> None:
    state = run(None, "council.create", council="x", name="X", composition=1)
    state = run(state, "deputy.add", deputy="d01", name="Єдиний")
    state = run(state, "deputy.add", deputy="mayor", name="Голова", mayor=True)
    assert list(state.deputies) == ["d01", "mayor"]


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.CHAIR, Role.DEPUTY, Role.OBSERVER])
def test_only_an_admin_sets_up_a_council(role: Role) -> None:
    ctx = Context(Actor("someone", role, "d01"), AT)
    assert refused(None, "council.create", ctx, council="x", name="X", composition=3) == "forbidden"
    assert refused(voznesensk(), "deputy.add", ctx, deputy="d09", name="Nina") == "forbidden"


def test_evolve_returns_a_new_state_and_keeps_the_old_one() -> None:
    state = voznesensk()
    later = run(state, "deputy.add", deputy="d03", name="Третій")
    assert "d03" in later.deputies
    assert "d03" not in state.deputies
    assert state.seq == 4


def test_evolve_refuses_unknown_or_out_of_order_events() -> None:
    with pytest.raises(ValueError):
        evolve_council(voznesensk(), RecordedEvent("council.renamed", {}, 5, "2026-11-24T09:00:00.000Z"))
    with pytest.raises(ValueError):
        evolve_council(None, RecordedEvent("deputy.added", {"deputy": "d01"}, 1, "2026-11-24T09:00:00.000Z"))


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "council.create", "council": "x", "name": "X", "composition": True},
        {"type": "council.create", "council": "x", "name": "X", "composition": 0},
        {"type": "council.create", "council": "x", "name": "X", "composition": "34"},
        {"type": "council.create", "council": "X Y", "name": "X", "composition": 3},
        {"type": "council.create", "council": "x", "name": "X", "composition": 3, "rules": []},
        {"type": "council.create", "council": "x", "name": "X", "composition": 3, "rules": ["secret"]},
        {"type": "deputy.add", "deputy": "d01", "name": "Nina", "mayor": "yes"},
        {"type": "deputy.add", "deputy": "d01", "name": "Nina", "party": "x"},
        {"type": "council.dissolve"},
    ],
)
def test_malformed_council_commands_are_validation_errors(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        COMMAND_ADAPTER.validate_python({"id": "k1", **raw})


def test_the_council_decides_whether_a_first_ballot_is_final_and_its_procedural_threshold() -> None:
    state = run(voznesensk(), "council.configure", first_ballot_final=True, procedural_rule="majority_of_registered")
    assert state.first_ballot_final is True and state.procedural_rule is Rule.MAJORITY_OF_REGISTERED
    public = state.to_public()
    assert public["first_ballot_final"] is True and public["procedural_rule"] == "majority_of_registered"
    assert run(state, "council.configure", first_ballot_final=False).first_ballot_final is False


def test_members_are_grouped_by_faction_in_the_councils_order_with_the_mayor_in_none() -> None:
    state = run(voznesensk(), "deputy.add", deputy="d03", name="Іван Мельник")
    state = run(state, "council.configure", factions=["Батьківщина"])
    assert state.by_faction({"d01", "d02", "d03", "mayor"}) == [
        ("Батьківщина", ["d02"]),
        ("Слуга народу", ["d01"]),
        (None, ["d03"]),
    ]
    assert state.by_faction({"d01"}) == [("Слуга народу", ["d01"])]


def test_the_council_sets_the_rule_of_each_kind_of_vote_from_the_rules_it_allows() -> None:
    state = run(voznesensk(), "council.configure", vote_rules={"procedural": "majority_of_composition"})
    state = run(state, "council.configure", vote_rules={"whole": "two_thirds_of_composition"})
    assert state.rule_for(VoteKind.PROCEDURAL) is Rule.MAJORITY_OF_COMPOSITION  # kept: settings merge
    assert state.rule_for(VoteKind.WHOLE) is Rule.TWO_THIRDS_OF_COMPOSITION
    assert state.rule_for(VoteKind.BASIS) is Rule.MAJORITY_OF_COMPOSITION  # the law's default
    narrow = run(None, "council.create", council="x", name="X", composition=5, rules=["majority_of_composition"])
    with pytest.raises(DomainError) as refused:
        run(narrow, "council.configure", vote_rules={"procedural": "majority_of_registered"})
    assert refused.value.code == "unknown_rule"


def test_the_council_lists_its_witnesses_and_how_many_must_cosign() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from voting.checkpoint import NoteSigner
    from voting.cosignature import CosignatureSigner

    keys = {n: CosignatureSigner(n, Ed25519PrivateKey.generate()).verifier.vkey for n in ("w1.example", "w2.example")}
    listed = [{"name": n, "url": f"https://{n}/witness", "key": k} for n, k in keys.items()]
    state = run(voznesensk(), "council.configure", witnesses=listed, witnesses_needed=2)
    assert [(w.name, w.key) for w in state.witnesses] == list(keys.items()) and state.witnesses_needed == 2
    assert state.to_public()["witnesses"] == listed
    state = run(state, "council.configure", witnesses_needed=1)  # the list stays as it was
    assert len(state.witnesses) == 2 and state.witnesses_needed == 1

    assert refused(state, "council.configure", witnesses_needed=3) == "invalid_witness"
    assert refused(state, "council.configure", witnesses=listed[:1], witnesses_needed=2) == "invalid_witness"
    log_key = NoteSigner("w1.example", Ed25519PrivateKey.generate()).vkey  # a log's key, not a witness's
    wrong = [{**listed[0], "key": log_key}]
    assert refused(state, "council.configure", witnesses=wrong, witnesses_needed=1) == "invalid_witness"
    named = [{**listed[0], "name": "w9.example"}]  # the key is another witness's
    assert refused(state, "council.configure", witnesses=named, witnesses_needed=1) == "invalid_witness"
    twice = [listed[0], {**listed[0], "url": "https://other.example"}]
    assert refused(state, "council.configure", witnesses=twice) == "invalid_witness"
    assert run(state, "council.configure", witnesses=[], witnesses_needed=0).witnesses == ()
    same = Ed25519PrivateKey.generate()  # one witness under two names would count twice
    alias = [
        {"name": n, "url": f"https://{n}", "key": CosignatureSigner(n, same).verifier.vkey} for n in ("a.ex", "b.ex")
    ]
    assert refused(state, "council.configure", witnesses=alias, witnesses_needed=2) == "invalid_witness"
