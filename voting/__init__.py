"""Pure council voting rules: quorum, thresholds per Ukrainian law, and the roll-call tally."""

from __future__ import annotations

from voting.rules import Rule, has_quorum, required_votes
from voting.tally import Choice, Outcome, RollCall, Tally, count

__all__ = ["Choice", "Outcome", "RollCall", "Rule", "Tally", "count", "has_quorum", "required_votes"]
