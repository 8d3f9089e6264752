"""Quorum (art. 46) and thresholds (art. 59 part 2) on worked examples and edge cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from voting.rules import Rule, has_quorum, quorum_needed, required_votes


@pytest.mark.parametrize(
    ("rule", "mayor_present", "expected"),
    [
        (Rule.MAJORITY_OF_COMPOSITION, True, 18),  # 34 + mayor = 35 → 18
        (Rule.TWO_THIRDS_OF_COMPOSITION, True, 24),  # 2/3 of 35 = 23.33 → 24
        (Rule.MAJORITY_OF_COMPOSITION, False, 18),  # 34 → 18
        (Rule.TWO_THIRDS_OF_COMPOSITION, False, 23),  # 2/3 of 34 = 22.67 → 23
    ],
)
def test_worked_examples_for_a_council_of_34(rule: Rule, mayor_present: bool, expected: int) -> None:
    assert required_votes(rule, composition=34, registered=20, mayor_present=mayor_present) == expected


def test_the_mayor_taking_part_raises_the_majority_of_an_even_composition() -> None:
    # 26 deputies: 14 needed; with the mayor counted in (27) still 14; 36 → 19, with the mayor 37 → 19.
    assert required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=26, registered=0, mayor_present=False) == 14
    assert required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=26, registered=0, mayor_present=True) == 14
    # Odd composition: 35 → 18, with the mayor 36 → 19 — here the mayor's presence matters.
    assert required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=35, registered=0, mayor_present=False) == 18
    assert required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=35, registered=0, mayor_present=True) == 19


@pytest.mark.parametrize(
    ("composition", "mayor_present", "majority", "two_thirds"),
    [
        (1, False, 1, 1),
        (1, True, 2, 2),  # n = 2: majority 2, two thirds of 2 = 1.33 → 2
        (2, False, 2, 2),
        (2, True, 2, 2),  # n = 3: majority 2, two thirds 2
        (3, False, 2, 2),
        (4, False, 3, 3),  # 2/3 of 4 = 2.67 → 3
        (5, False, 3, 4),  # 2/3 of 5 = 3.33 → 4
        (6, False, 4, 4),  # exactly 4
        (9, False, 5, 6),
        (42, False, 22, 28),
        (42, True, 22, 29),  # n = 43: 2/3 = 28.67 → 29
        (120, False, 61, 80),
    ],
)
def test_thresholds_of_the_composition(composition: int, mayor_present: bool, majority: int, two_thirds: int) -> None:
    def required(rule: Rule) -> int:
        return required_votes(rule, composition=composition, registered=0, mayor_present=mayor_present)

    assert required(Rule.MAJORITY_OF_COMPOSITION) == majority
    assert required(Rule.TWO_THIRDS_OF_COMPOSITION) == two_thirds


@pytest.mark.parametrize(("registered", "expected"), [(0, 1), (1, 1), (2, 2), (3, 2), (20, 11), (21, 11), (35, 18)])
def test_majority_of_registered_counts_those_registered(registered: int, expected: int) -> None:
    for mayor_present in (False, True):  # the mayor, if registered, is already in `registered`
        got = required_votes(
            Rule.MAJORITY_OF_REGISTERED, composition=34, registered=registered, mayor_present=mayor_present
        )
        assert got == expected


def test_majority_of_registered_ignores_the_composition() -> None:
    assert required_votes(Rule.MAJORITY_OF_REGISTERED, composition=1, registered=20, mayor_present=False) == 11
    assert required_votes(Rule.MAJORITY_OF_REGISTERED, composition=120, registered=20, mayor_present=False) == 11


def test_composition_thresholds_ignore_how_many_are_registered() -> None:
    for registered in (0, 5, 34, 100):
        assert (
            required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=34, registered=registered, mayor_present=False)
            == 18
        )


def test_rule_accepts_its_string_value() -> None:
    assert required_votes("two_thirds_of_composition", composition=34, registered=0, mayor_present=True) == 24  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("registered", "composition", "expected"),
    [
        (18, 34, True),  # more than half of 34
        (17, 34, False),  # exactly half is not more than half
        (18, 35, True),
        (17, 35, False),
        (1, 1, True),
        (0, 1, False),
        (1, 2, False),
        (2, 2, True),
        (2, 3, True),
        (0, 34, False),
        (40, 34, True),
    ],
)
def test_quorum_is_more_than_half_of_the_statutory_composition(
    registered: int, composition: int, expected: bool
) -> None:
    assert has_quorum(registered, composition) is expected


@pytest.mark.parametrize(
    "call",
    [
        lambda: has_quorum(-1, 34),
        lambda: has_quorum(1, 0),
        lambda: required_votes(Rule.MAJORITY_OF_COMPOSITION, composition=0, registered=0, mayor_present=False),
        lambda: required_votes(Rule.MAJORITY_OF_REGISTERED, composition=34, registered=-1, mayor_present=False),
        lambda: required_votes("secret", composition=34, registered=0, mayor_present=False),  # type: ignore[arg-type]
    ],
)
def test_nonsense_inputs_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    ("composition", "plenary", "committee"),
    [(1, 1, 1), (5, 3, 3), (6, 4, 3), (7, 4, 4), (34, 18, 17), (35, 18, 18)],
)
def test_a_committee_is_competent_with_half_of_its_composition_a_council_with_more_than_half(
    composition: int, plenary: int, committee: int
) -> None:
    # art. 46: more than half of the council's composition; art. 47 part 12: not less than half of a committee's
    assert quorum_needed(composition) == plenary
    assert quorum_needed(composition, at_least_half=True) == committee
    assert has_quorum(committee, composition, at_least_half=True)
    assert not has_quorum(committee - 1, composition, at_least_half=True)
