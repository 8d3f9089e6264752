"""A committee's sitting by the pure rules, against a reference written from art. 47 (issue 19): its own
statutory composition counts for quorum (not less than half of it, art. 47 part 12; more than half where the
council's rules set ``committee_quorum`` "majority") and for the majority (more than half of it);
only its members register and vote; a member who declared a conflict on the item does not vote unless
the quorum would be lost; a guest deputy may take the floor."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from session_support import AGENDA, Chamber, make_council

from session_server.domain.council import CouncilState

DEPUTIES = [f"d{n}" for n in range(1, 16)]


def council_with_committee(composition: int, members: list[str], quorum: str = "half") -> CouncilState:
    """A council of 15 deputies and the mayor with one committee of ``members`` and that composition, its
    quorum as ``quorum`` says (``committee_quorum``)."""
    committee = {"type": "committee.create", "committee": "budget", "name": "Бюджетна"}
    committee |= {"composition": composition, "members": members, "chair": members[0]}
    configured = {"type": "council.configure", "committee_quorum": "majority"}
    return make_council(composition=15, deputies=DEPUTIES, then=[committee, *([configured] * (quorum == "majority"))])


@st.composite
def sittings(draw: st.DrawFn) -> dict[str, Any]:
    composition = draw(st.integers(1, 11))
    size = draw(st.integers(1, composition))
    members = draw(st.lists(st.sampled_from(DEPUTIES), min_size=size, max_size=size, unique=True))
    registered = draw(st.lists(st.sampled_from(members), unique=True))
    conflicted = draw(st.lists(st.sampled_from(registered), unique=True)) if registered else []
    choices = {m: draw(st.sampled_from(["for", "against", "abstain", None])) for m in registered}
    outsider = draw(st.sampled_from([d for d in DEPUTIES if d not in members]))
    return {
        "quorum": draw(st.sampled_from(["half", "majority"])),
        "composition": composition,
        "members": members,
        "registered": registered,
        "conflicted": conflicted,
        "choices": choices,
        "outsider": outsider,
    }


@settings(max_examples=150, deadline=None)
@given(sittings())
def test_a_committee_counts_its_own_composition_and_only_its_members_vote(case: dict[str, Any]) -> None:
    composition, members, registered = case["composition"], case["members"], case["registered"]
    chamber = Chamber(council_with_committee(composition, members, case["quorum"]))
    chamber.do(
        "secretary",
        "session.schedule",
        number=1,
        convocation=8,
        date="2026-12-10",
        title="Комісія",
        agenda=AGENDA,
        committee="budget",
    )
    chair = members[0]  # the committee's chair steers its sitting
    chamber.do(chair, "session.open")
    chamber.do(chair, "registration.open")
    for member in registered:
        chamber.do(member, "presence.register")
    outsider = case["outsider"]
    assert chamber.refuse(outsider, "presence.register") == "not_a_committee_member"
    assert chamber.refuse("mayor", "presence.register") == "not_a_committee_member"
    chamber.do(outsider, "speaker.request")  # a guest may ask for the floor

    # reference: art. 47 part 12 — competent with not less than half of the committee's composition (more
    # than half where the council's rules say so)
    needed = -(-composition // 2) if case["quorum"] == "half" else composition // 2 + 1
    quorum = len(registered) >= needed
    assert chamber.public()["composition"]["quorum"] == needed
    assert chamber.public()["quorum"] is quorum
    assert chamber.public()["composition"]["total"] == composition
    chamber.do(chair, "item.start", item="budget")
    for member in case["conflicted"]:
        chamber.do(member, "conflict.declare", item="budget", reason="родич — учасник закупівлі")
    if not quorum:
        assert (
            chamber.refuse(
                chair, "vote.open", item="budget", subject="Висновок", rule="majority_of_composition", seconds=60
            )
            == "no_quorum"
        )
        return
    chamber.do(chair, "vote.open", item="budget", subject="Висновок", rule="majority_of_composition", seconds=60)
    free = [m for m in registered if m not in case["conflicted"]]
    conflicted_vote = len(free) < needed  # without them no quorum: they vote after declaring it
    counted = {}
    for member, choice in case["choices"].items():
        if choice is None:
            continue
        if member in case["conflicted"] and not conflicted_vote:
            assert chamber.refuse(member, "ballot.cast", vote="v1", choice=choice) == "conflict_declared"
            continue
        chamber.do(member, "ballot.cast", vote="v1", choice=choice)
        counted[member] = choice
    assert chamber.refuse(outsider, "ballot.cast", vote="v1", choice="for") == "not_a_committee_member"
    chamber.do(chair, "vote.close", vote="v1")
    tally = chamber.vote()["tally"]
    required = composition // 2 + 1
    yes = sum(1 for c in counted.values() if c == "for")
    assert (tally["for"], tally["required"]) == (yes, required)
    assert tally["outcome"] == ("adopted" if yes >= required else "rejected")
    assert set(chamber.vote()["roll_call"]) == set(members)  # the committee's members, no one else
