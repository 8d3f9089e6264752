"""What a vote decides: the kinds of vote a Ukrainian council takes on a draft, and procedural votes.

A draft is voted «за основу» (as a basis), then its amendments one by one, then «в цілому з
урахуванням пропозицій» (as a whole, with the adopted amendments); or «за основу та в цілому» at once.
Procedural votes (including an item in the agenda, ending the debate, a break, holding a re-vote)
decide how the sitting proceeds, by the majority the council's rules set for them. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from voting.rules import Rule

__all__ = ["DECISIVE", "LAW_DEFAULTS", "Purpose", "Recommendation", "VoteKind", "default_rule"]


class VoteKind(StrEnum):
    """What a vote is on."""

    BASIS = "basis"
    """«За основу»: the draft as a basis for amendments; a failed one ends the draft's consideration."""
    AMENDMENT = "amendment"
    """One amendment (or several put jointly) to the draft."""
    WHOLE = "whole"
    """«В цілому»: the draft with its adopted amendments; after an adopted basis."""
    BASIS_AND_WHOLE = "basis_and_whole"
    """«За основу та в цілому»: the draft as it stands, at once."""
    PROCEDURAL = "procedural"
    """How the sitting proceeds (its `Purpose`), not the draft's content."""
    CONCLUSION = "conclusion"
    """A standing committee's conclusion on the draft (support, reject, rework: `Recommendation`); its
    committee's sittings only; the plenary then sees it beside the item."""


class Recommendation(StrEnum):
    """What a committee's conclusion recommends the council to do with the draft."""

    SUPPORT = "support"
    """Adopt it (as it stands, or with the amendments the committee proposes)."""
    REJECT = "reject"
    """Reject it."""
    REWORK = "rework"
    """Send it back to its authors to be reworked."""


class Purpose(StrEnum):
    """What a procedural vote decides."""

    AGENDA_ADD = "agenda_add"
    """Including a new item in the open sitting's agenda."""
    END_DEBATE = "end_debate"
    """Ending the debate on the item."""
    BREAK = "break"
    """A break in the sitting."""
    REVOTE = "revote"
    """Holding a re-vote (переголосування) of a closed vote on the item."""
    OTHER = "other"
    """Any other procedural question."""


DECISIVE = frozenset({VoteKind.WHOLE, VoteKind.BASIS_AND_WHOLE})
"""The kinds whose result is the council's decision on the draft."""

LAW_DEFAULTS: Mapping[VoteKind, Rule] = {
    VoteKind.BASIS: Rule.MAJORITY_OF_COMPOSITION,
    VoteKind.AMENDMENT: Rule.MAJORITY_OF_COMPOSITION,
    VoteKind.WHOLE: Rule.MAJORITY_OF_COMPOSITION,
    VoteKind.BASIS_AND_WHOLE: Rule.MAJORITY_OF_COMPOSITION,
    VoteKind.PROCEDURAL: Rule.MAJORITY_OF_REGISTERED,
    VoteKind.CONCLUSION: Rule.MAJORITY_OF_COMPOSITION,
}
"""Art. 59 part 2: a decision is adopted by a majority of the council's composition; procedural questions
by a majority of those registered, where the council's rules say so; a committee's conclusion by a majority of
the committee's composition (art. 47)."""


def default_rule(kind: VoteKind, council_rules: Mapping[VoteKind, Rule], procedural_rule: Rule | None = None) -> Rule:
    """The threshold of a vote of `kind` when the chair names none: the council's own rule for the kind,
    else (for a procedural vote) its procedural rule, else the law's default."""
    if kind in council_rules:
        return council_rules[kind]
    if kind is VoteKind.PROCEDURAL and procedural_rule is not None:
        return procedural_rule
    return LAW_DEFAULTS[kind]
