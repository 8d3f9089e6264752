"""Council voting rules: quorum and the number of votes a decision needs.

Source: Law of Ukraine "On Local Self-Government in Ukraine" (Закон України «Про місцеве
самоврядування в Україні»), articles 46 and 59. Pure arithmetic in integers, no I/O.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Rule", "has_quorum", "quorum_needed", "required_votes"]


class Rule(StrEnum):
    """The threshold a vote is decided by; each council lists the rules it allows."""

    MAJORITY_OF_COMPOSITION = "majority_of_composition"
    """More than half of the statutory composition (art. 59 part 2) — the default for decisions."""

    TWO_THIRDS_OF_COMPOSITION = "two_thirds_of_composition"
    """At least two thirds of the statutory composition, for the questions the law reserves for it
    (e.g. re-adopting a decision the mayor suspended, art. 59 part 4)."""

    MAJORITY_OF_REGISTERED = "majority_of_registered"
    """More than half of those registered — procedural questions, as the council's rules allow."""


def _check_non_negative(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")


def quorum_needed(composition: int, *, at_least_half: bool = False) -> int:
    """How many registered members make a meeting competent.

    Art. 46 (a plenary meeting): more than half of the statutory composition, n // 2 + 1. Art. 47 part 12
    (a standing committee): not less than half of its composition (``at_least_half``), ceil(n / 2) — the
    same for an odd composition, one fewer for an even one (3 of 6).
    """
    if composition < 1:
        raise ValueError(f"composition must be at least 1, got {composition}")
    return (composition + 1) // 2 if at_least_half else composition // 2 + 1


def has_quorum(registered_deputies: int, composition: int, *, at_least_half: bool = False) -> bool:
    """Whether a meeting is competent: ``quorum_needed`` members registered.

    Art. 46: the meeting is competent when more than half of the council's statutory composition
    (`composition`, a council setting, not the number of seats filled) is registered. Only deputies
    count: the mayor is not a deputy, so callers pass the number of registered non-mayor members. A
    committee's (``at_least_half``): not less than half of its composition (art. 47 part 12).
    """
    _check_non_negative(registered_deputies=registered_deputies)
    return registered_deputies >= quorum_needed(composition, at_least_half=at_least_half)


def required_votes(rule: Rule, *, composition: int, registered: int, mayor_present: bool) -> int:
    """The smallest number of votes "for" that adopts a decision under `rule`.

    - `MAJORITY_OF_COMPOSITION`: art. 59 part 2 — the mayor, when taking part in the meeting
      (`mayor_present`), is counted in the statutory composition, so n = composition (+1); n // 2 + 1.
    - `TWO_THIRDS_OF_COMPOSITION`: n as above; ceil(2n / 3), computed in integers.
    - `MAJORITY_OF_REGISTERED`: n = `registered`, all registered members including the mayor if
      registered; n // 2 + 1 (so 1 when nobody is registered).
    """
    _check_non_negative(registered=registered)
    if composition < 1:
        raise ValueError(f"composition must be at least 1, got {composition}")
    rule = Rule(rule)  # accept the plain string too; an unknown one raises ValueError
    if rule is Rule.MAJORITY_OF_REGISTERED:
        return registered // 2 + 1
    # Art. 59 part 2: the mayor who takes part is counted in the composition and votes.
    n = composition + (1 if mayor_present else 0)
    if rule is Rule.MAJORITY_OF_COMPOSITION:
        return n // 2 + 1
    if rule is Rule.TWO_THIRDS_OF_COMPOSITION:
        return (2 * n + 2) // 3
    raise ValueError(f"unknown rule: {rule!r}")
