"""Counting a roll-call vote: per-member results, totals, threshold and outcome.

Roll-call (nominal) voting is the default and its per-deputy results are public (art. 59 part 3 of
the Law "On Local Self-Government in Ukraine"); each tally reports for / against / abstained /
did not vote / absent, the threshold and the outcome. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from voting.rules import Rule, required_votes

__all__ = ["Choice", "Outcome", "RollCall", "Tally", "count", "count_secret"]


class Choice(StrEnum):
    """What a member chose on a ballot."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class Outcome(StrEnum):
    """Whether the decision was adopted."""

    ADOPTED = "adopted"
    REJECTED = "rejected"


class RollCall(StrEnum):
    """One member's line in the published roll call."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"
    NOT_VOTED = "not_voted"
    ABSENT = "absent"
    VOTED = "voted"
    """A secret ballot's line: the member voted, and how is known to no one (issue 20)."""


_TALLY_KEYS = ("for", "against", "abstain", "not_voted", "absent", "required", "outcome")


@dataclass(frozen=True, slots=True)
class Tally:
    """The totals of a closed vote, the number of votes "for" it needed and its outcome."""

    for_: int
    against: int
    abstain: int
    not_voted: int
    absent: int
    required: int
    outcome: Outcome

    def as_dict(self) -> dict[str, int | str]:
        """The JSON form used in events and public state: keys for, against, abstain, not_voted,
        absent, required, outcome."""
        return {
            "for": self.for_,
            "against": self.against,
            "abstain": self.abstain,
            "not_voted": self.not_voted,
            "absent": self.absent,
            "required": self.required,
            "outcome": self.outcome.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        """Read back what `as_dict` wrote; raises ValueError on missing, extra or mistyped keys."""
        if set(data) != set(_TALLY_KEYS):
            raise ValueError(f"tally keys must be exactly {sorted(_TALLY_KEYS)}, got {sorted(data)}")
        numbers: dict[str, int] = {}
        for key in _TALLY_KEYS[:-1]:
            value = data[key]
            if type(value) is not int or value < 0:
                raise ValueError(f"tally {key!r} must be a non-negative integer, got {value!r}")
            numbers[key] = value
        return cls(
            for_=numbers["for"],
            against=numbers["against"],
            abstain=numbers["abstain"],
            not_voted=numbers["not_voted"],
            absent=numbers["absent"],
            required=numbers["required"],
            outcome=Outcome(data["outcome"]),
        )


_FROM_CHOICE = {Choice.FOR: RollCall.FOR, Choice.AGAINST: RollCall.AGAINST, Choice.ABSTAIN: RollCall.ABSTAIN}


def count(
    *,
    members: Iterable[str],
    mayor: str | None,
    registered: Collection[str],
    ballots: Mapping[str, Choice],
    rule: Rule,
    composition: int,
    mayor_only_when_taking_part: bool = False,
) -> tuple[Tally, dict[str, RollCall]]:
    """Count a vote and build its roll call, in the order of `members`.

    `members` is the whole council roster: the deputies and the mayor (`mayor`, if any). Each
    member's line is their ballot's choice if they cast one (ballots are accepted only from
    registered members, so they count as given); otherwise `not_voted` when registered and
    `absent` when not. The mayor who is not registered is not taking part and, with
    `mayor_only_when_taking_part`, has no line at all (art. 59 part 2 counts the mayor in the
    composition only while taking part, so the lines add up to the composition the threshold is
    computed from); without it (the first counting rule) such a mayor is `absent`. The threshold
    comes from `required_votes` with the mayor present when registered (art. 59 part 2) and
    `registered` restricted to the roster. The decision is adopted when the votes "for" reach it.

    Raises ValueError for a member listed twice, a mayor who is not a member, or a ballot from
    someone who is not a member — callers' bugs that must not be counted silently.
    """
    roster = list(members)
    if len(set(roster)) != len(roster):
        raise ValueError("a member is listed more than once")
    on_roster = set(roster)
    if mayor is not None and mayor not in on_roster:
        raise ValueError(f"the mayor {mayor!r} is not a member")
    strangers = sorted(set(ballots) - on_roster)
    if strangers:
        raise ValueError(f"ballots from non-members: {strangers}")

    present = on_roster.intersection(registered)
    roll_call: dict[str, RollCall] = {}
    for member in roster:
        if mayor_only_when_taking_part and member == mayor and member not in present:
            continue
        choice = ballots.get(member)
        if choice is not None:
            roll_call[member] = _FROM_CHOICE[Choice(choice)]
        elif member in present:
            roll_call[member] = RollCall.NOT_VOTED
        else:
            roll_call[member] = RollCall.ABSENT

    totals = dict.fromkeys(RollCall, 0)
    for line in roll_call.values():
        totals[line] += 1
    required = required_votes(
        rule,
        composition=composition,
        registered=len(present),
        mayor_present=mayor is not None and mayor in present,
    )
    tally = Tally(
        for_=totals[RollCall.FOR],
        against=totals[RollCall.AGAINST],
        abstain=totals[RollCall.ABSTAIN],
        not_voted=totals[RollCall.NOT_VOTED],
        absent=totals[RollCall.ABSENT],
        required=required,
        outcome=Outcome.ADOPTED if totals[RollCall.FOR] >= required else Outcome.REJECTED,
    )
    return tally, roll_call


def count_secret(
    *,
    members: Iterable[str],
    mayor: str | None,
    registered: Collection[str],
    voters: Collection[str],
    counts: tuple[int, int, int],
    rule: Rule,
    composition: int,
    mayor_only_when_taking_part: bool = False,
) -> tuple[Tally, dict[str, RollCall]]:
    """Count a secret vote: its totals ``counts`` (for, against, abstain) decrypted by the counting commission,
    and a roll call that says who voted (``voted``) but never how; not voting and absence, the threshold and
    the outcome as ``count`` has them. ValueError when the counts do not add up to the voters."""
    if sum(counts) != len(voters) or min(counts) < 0:
        raise ValueError(f"the counts {counts} do not add up to the {len(voters)} who voted")
    placeholder = dict.fromkeys(voters, Choice.FOR)  # who voted: their lines become "voted" below
    tally, roll_call = count(
        members=members,
        mayor=mayor,
        registered=registered,
        ballots=placeholder,
        rule=rule,
        composition=composition,
        mayor_only_when_taking_part=mayor_only_when_taking_part,
    )
    lines = {m: RollCall.VOTED if m in placeholder else line for m, line in roll_call.items()}
    yes, no, abstain = counts
    outcome = Outcome.ADOPTED if yes >= tally.required else Outcome.REJECTED
    return Tally(yes, no, abstain, tally.not_voted, tally.absent, tally.required, outcome), lines
