"""Results sealed until the close (issue 17, docs/ledger.md "Sealed results"), through the pure domain: while
a sealed vote is open its ballots are commitments that say who voted and never how; the close opens every
one of them, in order, and counts the last ballot of each member."""

from __future__ import annotations

from dataclasses import replace

import pytest
from session_support import Chamber, in_session, make_council

from session_server.domain.errors import DomainError
from session_server.domain.events import RecordedEvent
from session_server.domain.sealed import SealedBallot, SealedLog
from session_server.domain.session import decide, evolve
from voting.sealing import opens

ALL = ("d1", "d2", "d3", "d4", "d5")


def sealed_chamber() -> Chamber:
    council = replace(make_council(), results="hidden")
    chamber = in_session(*ALL, council=council)
    opened = chamber.do("chair", "vote.open", item="budget", subject="в цілому", seconds=30, kind="basis_and_whole")
    assert opened[0].payload["sealed"] is True
    return chamber


def test_a_sealed_vote_shows_who_voted_never_how_and_its_close_opens_every_ballot() -> None:
    c = sealed_chamber()
    cast = {"d1": "for", "d2": "against", "d3": "abstain", "d4": "for"}
    for member, choice in cast.items():
        [event] = c.do(member, "ballot.cast", vote="v1", choice=choice)
        assert event.type == "ballot.sealed" and set(event.payload) == {"vote", "deputy", "commitment"}
        assert len(event.payload["commitment"]) == 64 and choice not in str(event.payload)
    vote = c.vote("v1")
    assert vote["voted"] == 4 and vote["voters"] == ["d1", "d2", "d3", "d4"] and vote["tally"] is None
    assert "for" not in str(c.public()) and "against" not in str(c.public())
    c.do("d1", "ballot.cast", vote="v1", choice="against")  # a change of mind: the last ballot counts

    opened, closed = c.do("chair", "vote.close", vote="v1")
    assert opened.type == "ballots.opened" and closed.type == "vote.closed"
    openings = opened.payload["openings"]
    sealed = [e for e in c.log if e.type == "ballot.sealed"]
    assert [o["seq"] for o in openings] == [e.seq for e in sealed]  # every sealed ballot, in log order
    for opening, event in zip(openings, sealed, strict=True):
        p = event.payload
        assert opens(p["commitment"], vote="v1", deputy=p["deputy"], choice=opening["choice"], salt=opening["salt"])
    assert closed.payload["roll_call"]["d1"] == "against" and closed.payload["roll_call"]["d2"] == "against"
    tally = closed.payload["tally"]
    assert (tally["for"], tally["against"], tally["abstain"], tally["not_voted"]) == (1, 2, 1, 1)


def test_every_sealed_ballot_looks_the_same_whatever_its_choice() -> None:
    sizes = set()
    for choice in ("for", "against", "abstain"):
        c = sealed_chamber()
        [event] = c.do("d1", "ballot.cast", vote="v1", choice=choice)
        sizes.add(len(str(sorted(event.payload.items()))))
    assert len(sizes) == 1


def test_a_node_that_did_not_decide_the_ballots_closes_with_the_kept_openings_and_refuses_without_them() -> None:
    c = sealed_chamber()
    for member, choice in (("d1", "for"), ("d2", "for"), ("d3", "against")):
        c.do(member, "ballot.cast", vote="v1", choice=choice)
    kept = {e.seq: dict(e.typed.opening) for e in c.log if e.typed is not None and e.type == "ballot.sealed"}
    # another node: the same log, read back from its public form (no openings in it)
    other = None
    for e in c.log:
        other = evolve(other, RecordedEvent(e.type, e.payload, e.seq, e.at, actor=e.actor))
    assert other is not None and other.open_vote is not None and other.open_vote.sealed_ballots.missing == 3
    c.state = other
    assert c.refuse("chair", "vote.close", vote="v1") == "sealed_ballot_missing"
    flipped = {seq: {**o, "choice": "against"} for seq, o in kept.items()}
    command = c.command("vote.close", {"vote": "v1"})  # the application passes what it kept (Sitting.facts)
    with pytest.raises(DomainError) as refused:  # a kept opening that does not open its commitment
        decide(other, c.council, command, c.ctx("chair"), flipped)
    assert refused.value.code == "sealed_ballot_missing"
    opened, closed = decide(other, c.council, command, c.ctx("chair"), kept)
    assert [o["choice"] for o in opened.payload["openings"]] == ["for", "for", "against"]
    assert closed.payload["tally"]["for"] == 2 and closed.payload["tally"]["against"] == 1


def test_a_live_vote_keeps_its_ballots_as_they_were() -> None:
    c = in_session(*ALL)
    opened = c.do("chair", "vote.open", item="budget", subject="в цілому", seconds=30, kind="basis_and_whole")
    assert "sealed" not in opened[0].payload
    [event] = c.do("d1", "ballot.cast", vote="v1", choice="for")
    assert event.type == "ballot.cast" and event.payload["choice"] == "for"


def test_copies_share_the_sealed_ballots_and_a_batch_that_failed_leaves_the_committed_state_as_it_was() -> None:
    committed = SealedLog()
    committed.append(SealedBallot(1, "d1", "a" * 64, None))
    batch = committed.copy()  # a batch that will fail
    batch.append(SealedBallot(2, "d2", "b" * 64, {"choice": "for"}))
    assert [b.seq for b in committed] == [1] and [b.seq for b in batch] == [1, 2] and committed.missing == 1
    retry = committed.copy()  # the next batch reuses seq 2 for another ballot
    retry.append(SealedBallot(2, "d3", "c" * 64, {"choice": "against"}))
    assert [(b.seq, b.member) for b in retry] == [(1, "d1"), (2, "d3")]
    assert [(b.seq, b.member) for b in batch] == [(1, "d1"), (2, "d2")]  # each sees its own history
    retry.fill({1: {"choice": "abstain", "salt": "x"}})
    assert retry.missing == 0 and retry.at(1) is not None and retry.at(1).opening == {"choice": "abstain", "salt": "x"}
