"""Property tests: `count`, `has_quorum` and `required_votes` against small reference versions.

The references are written differently on purpose: thresholds from exact fractions (the smallest
k with k > n/2, the smallest k with k >= 2n/3), totals by a Counter over a roll call built with
plain conditionals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting.rules import Rule, has_quorum, required_votes
from voting.tally import Choice, Outcome, RollCall, Tally, count


def reference_threshold(rule: Rule, composition: int, registered: int, mayor_present: bool) -> int:
    """The smallest k satisfying the rule, found by search over exact fractions."""
    if rule is Rule.MAJORITY_OF_REGISTERED:
        n = registered
    else:
        n = composition + (1 if mayor_present else 0)
    if rule is Rule.TWO_THIRDS_OF_COMPOSITION:
        return next(k for k in range(n + 2) if Fraction(k) >= Fraction(2 * n, 3))
    return next(k for k in range(n + 2) if Fraction(k) > Fraction(n, 2))


@dataclass(frozen=True)
class Scenario:
    members: list[str]
    mayor: str | None
    registered: list[str]
    ballots: dict[str, Choice]
    composition: int
    rule: Rule


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    members = draw(st.lists(st.sampled_from([f"d{i:02d}" for i in range(40)]), unique=True, max_size=40))
    with_mayor = draw(st.booleans())
    if with_mayor:
        members = [*members, "mayor"]
        members = draw(st.permutations(members))
    mayor = "mayor" if with_mayor else None
    registered = draw(st.lists(st.sampled_from(members), unique=True)) if members else []
    # Ballots mostly from the registered; a member who left after voting keeps the ballot.
    voters = draw(st.lists(st.sampled_from(members), unique=True)) if members else []
    ballots = {v: draw(st.sampled_from(list(Choice))) for v in voters}
    composition = draw(st.integers(min_value=1, max_value=60))
    rule = draw(st.sampled_from(list(Rule)))
    return Scenario(members, mayor, registered, ballots, composition, rule)


def run(s: Scenario) -> tuple[Tally, dict[str, RollCall]]:
    return count(
        members=s.members,
        mayor=s.mayor,
        registered=s.registered,
        ballots=s.ballots,
        rule=s.rule,
        composition=s.composition,
    )


@given(
    rule=st.sampled_from(list(Rule)),
    composition=st.integers(min_value=1, max_value=2000),
    registered=st.integers(min_value=0, max_value=2000),
    mayor_present=st.booleans(),
)
def test_required_votes_matches_the_exact_fraction_reference(
    rule: Rule, composition: int, registered: int, mayor_present: bool
) -> None:
    got = required_votes(rule, composition=composition, registered=registered, mayor_present=mayor_present)
    assert got == reference_threshold(rule, composition, registered, mayor_present)


@given(composition=st.integers(min_value=1, max_value=2000), registered=st.integers(min_value=0, max_value=2000))
def test_quorum_matches_more_than_half(composition: int, registered: int) -> None:
    assert has_quorum(registered, composition) is (Fraction(registered) > Fraction(composition, 2))
    # Registering one more deputy never loses a quorum.
    assert has_quorum(registered + 1, composition) >= has_quorum(registered, composition)


@given(composition=st.integers(min_value=1, max_value=2000), mayor_present=st.booleans())
def test_two_thirds_never_needs_fewer_than_a_majority(composition: int, mayor_present: bool) -> None:
    def need(rule: Rule) -> int:
        return required_votes(rule, composition=composition, registered=0, mayor_present=mayor_present)

    assert need(Rule.TWO_THIRDS_OF_COMPOSITION) >= need(Rule.MAJORITY_OF_COMPOSITION)
    # Counting the mayor in never lowers a composition threshold.
    lower = required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=composition, registered=0, mayor_present=False)
    assert need(Rule.MAJORITY_OF_COMPOSITION) >= lower


@given(scenarios())
def test_count_matches_a_reference_roll_call(s: Scenario) -> None:
    tally, roll_call = run(s)

    expected: dict[str, str] = {}
    for member in s.members:
        if member in s.ballots:
            expected[member] = s.ballots[member].value
        elif member in s.registered:
            expected[member] = "not_voted"
        else:
            expected[member] = "absent"
    assert {m: line.value for m, line in roll_call.items()} == expected
    assert list(roll_call) == s.members  # roster order

    totals = Counter(expected.values())
    assert (tally.for_, tally.against, tally.abstain, tally.not_voted, tally.absent) == (
        totals["for"],
        totals["against"],
        totals["abstain"],
        totals["not_voted"],
        totals["absent"],
    )
    mayor_present = s.mayor is not None and s.mayor in s.registered
    assert tally.required == reference_threshold(s.rule, s.composition, len(s.registered), mayor_present)
    assert (tally.outcome is Outcome.ADOPTED) == (tally.for_ >= tally.required)


@given(scenarios())
def test_totals_account_for_every_member(s: Scenario) -> None:
    tally, roll_call = run(s)
    assert tally.for_ + tally.against + tally.abstain + tally.not_voted + tally.absent == len(s.members)
    assert len(roll_call) == len(s.members)


@given(scenarios())
def test_tally_round_trips_through_its_dict(s: Scenario) -> None:
    tally, _ = run(s)
    as_dict = tally.as_dict()
    assert list(as_dict) == ["for", "against", "abstain", "not_voted", "absent", "required", "outcome"]
    assert Tally.from_dict(as_dict) == tally


@given(scenarios(), st.data())
def test_registering_an_absent_member_never_lowers_the_majority_of_registered(s: Scenario, data: st.DataObject) -> None:
    absent = [m for m in s.members if m not in s.registered]
    if not absent:
        return
    newcomer = data.draw(st.sampled_from(absent))
    before, _ = run(Scenario(s.members, s.mayor, s.registered, s.ballots, s.composition, Rule.MAJORITY_OF_REGISTERED))
    after, roll_call = run(
        Scenario(s.members, s.mayor, [*s.registered, newcomer], s.ballots, s.composition, Rule.MAJORITY_OF_REGISTERED)
    )
    assert after.required >= before.required
    assert roll_call[newcomer] is not RollCall.ABSENT


@given(scenarios(), st.data())
def test_one_more_vote_for_never_turns_adopted_into_rejected(s: Scenario, data: st.DataObject) -> None:
    others = [m for m in s.registered if s.ballots.get(m) is not Choice.FOR]
    if not others:
        return
    switcher = data.draw(st.sampled_from(others))
    before, _ = run(s)
    after, _ = run(
        Scenario(s.members, s.mayor, s.registered, {**s.ballots, switcher: Choice.FOR}, s.composition, s.rule)
    )
    assert after.for_ == before.for_ + 1
    assert after.required == before.required
    if before.outcome is Outcome.ADOPTED:
        assert after.outcome is Outcome.ADOPTED


@given(scenarios())
def test_registered_outsiders_do_not_count(s: Scenario) -> None:
    """Only roster members count, even if `registered` mentions someone else."""
    tally, _ = run(s)
    noisy, _ = run(Scenario(s.members, s.mayor, [*s.registered, "stranger"], s.ballots, s.composition, s.rule))
    assert noisy == tally


def test_the_mayor_registered_counts_in_the_composition_and_votes() -> None:
    members = [*(f"d{i:02d}" for i in range(34)), "mayor"]
    registered = [*members[:20], "mayor"]
    ballots = dict.fromkeys(members[:17], Choice.FOR) | {"mayor": Choice.FOR}
    tally, roll_call = count(
        members=members,
        mayor="mayor",
        registered=registered,
        ballots=ballots,
        rule=Rule.MAJORITY_OF_COMPOSITION,
        composition=34,
    )
    assert roll_call["mayor"] is RollCall.FOR
    assert (tally.for_, tally.not_voted, tally.absent, tally.required) == (18, 3, 14, 18)
    assert tally.outcome is Outcome.ADOPTED

    # Without the mayor's vote 17 of 18: rejected.
    tally, _ = count(
        members=members,
        mayor="mayor",
        registered=registered,
        ballots={m: c for m, c in ballots.items() if m != "mayor"},
        rule=Rule.MAJORITY_OF_COMPOSITION,
        composition=34,
    )
    assert (tally.for_, tally.not_voted, tally.outcome) == (17, 4, Outcome.REJECTED)


def test_an_unregistered_mayor_is_absent_and_not_counted_in_the_composition() -> None:
    tally, roll_call = count(
        members=["a", "b", "c", "mayor"],
        mayor="mayor",
        registered=["a", "b", "c"],
        ballots={"a": Choice.FOR, "b": Choice.FOR},
        rule=Rule.TWO_THIRDS_OF_COMPOSITION,
        composition=3,
    )
    assert roll_call["mayor"] is RollCall.ABSENT
    assert (tally.absent, tally.not_voted, tally.required, tally.outcome) == (1, 1, 2, Outcome.ADOPTED)


@pytest.mark.parametrize(
    ("members", "mayor", "ballots"),
    [
        (["a", "a"], None, {}),
        (["a"], "mayor", {}),
        (["a"], None, {"stranger": Choice.FOR}),
    ],
)
def test_count_refuses_inconsistent_input(members: list[str], mayor: str | None, ballots: dict[str, Choice]) -> None:
    with pytest.raises(ValueError):
        count(
            members=members,
            mayor=mayor,
            registered=members,
            ballots=ballots,
            rule=Rule.MAJORITY_OF_COMPOSITION,
            composition=3,
        )


@pytest.mark.parametrize(
    "data",
    [
        {"for": 1, "against": 0, "abstain": 0, "not_voted": 0, "absent": 0, "required": 1},
        {"for": 1, "against": 0, "abstain": 0, "not_voted": 0, "absent": 0, "required": 1, "outcome": "maybe"},
        {"for": True, "against": 0, "abstain": 0, "not_voted": 0, "absent": 0, "required": 1, "outcome": "adopted"},
        {"for": -1, "against": 0, "abstain": 0, "not_voted": 0, "absent": 0, "required": 1, "outcome": "adopted"},
    ],
)
def test_tally_from_dict_refuses_malformed_data(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Tally.from_dict(data)
