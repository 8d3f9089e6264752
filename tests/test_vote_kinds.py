"""How a council decides a draft (issue 17): «за основу», «в цілому», «за основу та в цілому», procedural
votes with their purpose and the council's threshold for each kind, and a re-vote only after the council
decided to hold it — through the pure domain, against a small reference of the order of votes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from session_support import Chamber, in_session, make_council

from session_server.domain.votes import Consideration
from voting.amendments import Amendment, Change
from voting.kinds import VoteKind
from voting.rules import Rule

ALL = ("d1", "d2", "d3", "d4", "d5")


def _vote(chamber: Chamber, kind: str | None, *, adopted: bool = True, **fields: Any) -> str:
    """Open a vote of `kind`, have everyone vote for (or against) it, close it; its id."""
    opened = chamber.do("chair", "vote.open", item="budget", subject=f"{kind}", seconds=30, kind=kind, **fields)
    vote = str(opened[0].payload["vote"])
    for member in ALL:
        chamber.do(member, "ballot.cast", vote=vote, choice="for" if adopted else "against")
    chamber.do("chair", "vote.close", vote=vote)
    return vote


def _refused(chamber: Chamber, kind: str, **fields: Any) -> str:
    return chamber.refuse("chair", "vote.open", item="budget", subject="x", seconds=30, kind=kind, **fields)


def test_a_draft_is_voted_as_a_basis_then_as_a_whole_each_by_the_law_s_threshold() -> None:
    c = in_session(*ALL)
    assert _refused(c, "whole") == "basis_required"
    basis = _vote(c, "basis")
    assert c.vote(basis)["kind"] == "basis" and c.vote(basis)["rule"] == "majority_of_composition"
    assert _refused(c, "basis") == "basis_adopted"
    assert _refused(c, "basis_and_whole") == "basis_adopted"
    assert Consideration.of(c.s, "budget").outcome is None  # adopted as a basis only: not decided yet
    whole = _vote(c, "whole")
    assert Consideration.of(c.s, "budget").outcome is c.s.votes[whole]
    for kind in ("basis", "whole", "basis_and_whole"):
        assert _refused(c, kind) == "item_decided"


def test_a_failed_basis_ends_the_draft_s_consideration() -> None:
    c = in_session(*ALL)
    basis = _vote(c, "basis", adopted=False)
    for kind in ("basis", "whole", "basis_and_whole"):
        assert _refused(c, kind) == "consideration_ended"
    assert Consideration.of(c.s, "budget").outcome is c.s.votes[basis]  # it settled the draft: rejected


def test_a_re_vote_only_after_the_council_decides_to_hold_it_and_both_stay_in_the_record() -> None:
    c = in_session(*ALL)
    basis = _vote(c, "basis")
    first = _vote(c, "whole", adopted=False)
    assert _refused(c, "procedural", purpose="revote", revote=basis) == "revote_not_allowed"  # not the last
    assert _refused(c, "procedural", purpose="revote") == "invalid_command"  # which vote?
    refused = _vote(c, "procedural", adopted=False, purpose="revote", revote=first)
    assert c.vote(refused)["rule"] == "majority_of_registered"  # procedural: of those registered, by default
    assert _refused(c, "whole") == "item_decided"  # the council did not decide to vote again
    _vote(c, "procedural", purpose="revote", revote=first)
    assert Consideration.of(c.s, "budget").outcome is None  # the decision stands open until the re-vote
    assert _refused(c, "procedural", purpose="revote", revote=first) == "revote_pending"
    assert _refused(c, "basis_and_whole") == "revote_pending"  # the re-vote is of the same kind
    second = _vote(c, "whole")
    assert Consideration.of(c.s, "budget").outcome is c.s.votes[second]
    assert [v.kind for v in c.s.votes.values()] == ["basis", "whole", "procedural", "procedural", "whole"]
    assert c.s.votes[first].tally is not None and c.s.votes[second].tally is not None  # both in the record
    assert _refused(c, "whole") == "item_decided"


def test_procedural_votes_say_what_they_decide_under_the_council_s_rule_for_them() -> None:
    c = in_session(*ALL)
    assert _refused(c, "procedural") == "purpose_required"
    assert _refused(c, "basis", purpose="end_debate") == "invalid_command"
    opened = c.do(
        "chair", "vote.open", item="budget", subject="Припинити обговорення", seconds=30, purpose="end_debate"
    )
    assert opened[0].payload["kind"] == "procedural" and opened[0].payload["rule"] == "majority_of_registered"
    council = replace(make_council(), procedural_rule=Rule.MAJORITY_OF_COMPOSITION)  # as the council set it
    strict = in_session(*ALL, council=council)
    assert _refused(strict, "procedural", purpose="break", rule="majority_of_registered") == "procedural_rule_required"
    _vote(strict, "procedural", purpose="break")
    assert strict.vote("v1")["rule"] == "majority_of_composition"


def test_a_vote_without_a_kind_names_its_rule_and_decides_as_before() -> None:
    c = in_session(*ALL)
    assert c.refuse("chair", "vote.open", item="budget", subject="x", seconds=30) == "invalid_command"
    opened = c.do("chair", "vote.open", item="budget", subject="в цілому", seconds=30, rule="majority_of_composition")
    assert "kind" not in opened[0].payload and "revote" not in opened[0].payload  # the event as before kinds
    c.do("chair", "vote.close", vote="v1")
    c.do("chair", "vote.open", item="budget", subject="ще раз", seconds=30, rule="majority_of_composition")


AMENDMENTS = {
    "a1": Amendment("a1", 1, (Change("replace", 2, 2, "нове"),)),
    "a2": Amendment("a2", 2, (Change("delete", 2, 3),)),  # changes line 2 too: conflicts with a1
    "a3": Amendment("a3", 3, (Change("insert", 4, 4, "додати"),)),
    "a4": Amendment("a4", 4, (Change("delete", 5, 5),), status="withdrawn"),
}


def test_amendments_are_voted_between_the_basis_and_the_whole_one_by_one_or_jointly() -> None:
    c = in_session(*ALL)
    c.amendments = dict(AMENDMENTS)
    assert _refused(c, "amendment", amendments=["a1"]) == "basis_required"
    _vote(c, "basis")
    assert _refused(c, "amendment") == "invalid_command"  # an amendment vote names its amendments
    assert _refused(c, "whole", amendments=["a1"]) == "invalid_command"
    assert _refused(c, "amendment", amendments=["a9"]) == "unknown_amendment"
    assert _refused(c, "amendment", amendments=["a4"]) == "amendment_withdrawn"
    assert _refused(c, "amendment", amendments=["a1", "a2"]) == "amendment_conflict"  # not jointly
    first = _vote(c, "amendment", amendments=["a1"])
    assert c.vote(first)["kind"] == "amendment" and c.vote(first)["amendments"] == ["a1"]
    assert _refused(c, "amendment", amendments=["a1"]) == "amendment_voted"
    assert _refused(c, "amendment", amendments=["a2"]) == "amendment_conflict"  # with the adopted a1
    _vote(c, "amendment", adopted=False, amendments=["a3"])
    assert Consideration.of(c.s, "budget").adopted_amendments == ["a1"]
    assert Consideration.of(c.s, "budget").voted_amendments == {"a1", "a3"}
    _vote(c, "whole")
    assert _refused(c, "amendment", amendments=["a2"]) == "item_decided"


def test_a_rejected_amendment_leaves_its_rival_free_and_no_draft_means_no_amendment_vote() -> None:
    c = in_session(*ALL)
    _vote(c, "basis")
    assert _refused(c, "amendment", amendments=["a1"]) == "no_draft"  # no draft with a text on the item
    c.amendments = dict(AMENDMENTS)
    _vote(c, "amendment", adopted=False, amendments=["a1"])
    _vote(c, "amendment", amendments=["a2", "a3"])  # jointly: they do not conflict with each other
    assert Consideration.of(c.s, "budget").adopted_amendments == ["a2", "a3"]


# --- against a reference --------------------------------------------------------------------------

# One step: a vote of a kind that passes or fails, or a re-vote decision (on the last vote) that passes or fails.
STEPS = st.lists(
    st.tuples(st.sampled_from(["basis", "amendment", "whole", "basis_and_whole", "revote"]), st.booleans()), max_size=8
)
SEPARATE = {f"a{n}": Amendment(f"a{n}", n, (Change("insert", n, n, "нове"),)) for n in range(1, 9)}


class Reference:
    """The order of a draft's votes, as the issue states it, kept as a small state machine."""

    def __init__(self) -> None:
        self.stage = "fresh"  # fresh → basis_adopted | ended | decided
        self.last: str | None = None  # the kind of the last vote on the draft
        self.pending: str | None = None  # the kind the council decided to vote again

    def allows(self, kind: str) -> bool:
        if kind == "revote":
            return self.last is not None and self.pending is None
        if kind == "amendment":
            return self.pending is None and self.stage == "basis_adopted"
        if self.pending is not None:
            return kind == self.pending
        return {"fresh": kind != "whole", "basis_adopted": kind == "whole"}.get(self.stage, False)

    def closed(self, kind: str, adopted: bool) -> None:
        if kind == "revote":
            self.pending = self.last if adopted else None
            return
        if kind == "amendment":
            return  # the draft's stage stays; only basis and whole votes can be held again
        self.pending, self.last = None, kind
        if kind == "basis":
            self.stage = "basis_adopted" if adopted else "ended"
        else:
            self.stage = "decided"


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_the_order_of_votes_follows_the_reference(steps: list[tuple[str, bool]]) -> None:
    c = in_session(*ALL)
    c.amendments = dict(SEPARATE)
    reference = Reference()
    last_vote: str | None = None
    amended = 0
    for kind, adopted in steps:
        fields: dict[str, Any] = {}
        if kind == "revote":
            fields = {"purpose": "revote", "revote": last_vote or "v99"}
        if kind == "amendment":
            fields = {"amendments": [f"a{amended + 1}"]}
        asked = "procedural" if kind == "revote" else kind
        if not reference.allows(kind):
            assert _refused(c, asked, **fields) != "", (kind, steps)
            continue
        vote = _vote(c, asked, adopted=adopted, **fields)
        reference.closed(kind, adopted)
        if kind == "amendment":
            amended += 1
        elif kind != "revote":
            last_vote = vote
    consideration = Consideration.of(c.s, "budget")
    settled = reference.pending is None and (reference.stage == "decided" or reference.stage == "ended")
    assert (consideration.outcome is not None) == settled
    assert all(v.kind in {k.value for k in VoteKind} for v in c.s.votes.values())
