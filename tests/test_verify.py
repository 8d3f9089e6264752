"""The offline verifier against a real session's ledger, and against every tampering it must catch."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger_support import leaves as _leaves
from ledger_support import reseal as _reseal
from signed_support import PRESENT, Chamber

from session_server.cli import main
from session_server.domain.audit import Discrepancy, audit
from session_server.ledger.trees import b64
from session_server.ledger.verifier import format_report
from voting.checkpoint import Checkpoint, NoteSigner

SIGNATURE_INVALID = "signature_invalid: the signature does not verify with the enrolled key"


async def _run_session(chamber: Chamber) -> dict[str, Any]:
    """A vote with four signed ballots, closed; then a second vote closed by the chair; the export."""
    vote = await chamber.open_vote()
    for member, choice in zip(PRESENT[:4], ("for", "for", "against", "abstain"), strict=True):
        assert (await chamber.cast(member, choice)).status_code == 200
    await chamber.demo.ok("chair", "vote.close", vote=vote["id"])
    second = await chamber.open_vote()
    assert (await chamber.cast("d01", "against")).status_code == 200
    await chamber.demo.ok("chair", "vote.close", vote=second["id"])
    response = await chamber.client.get("/api/v1/sessions/c8-s45/ledger/export")
    assert response.status_code == 200, response.text
    export: dict[str, Any] = response.json()
    return export


def _index_of(export: dict[str, Any], type_: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(_leaves(export)) if e["type"] == type_][nth]


def _signature_broken(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the last bit of its ballot's signature flipped."""
    assertion = dict(event["payload"]["assertion"])
    signature = bytearray(base64.urlsafe_b64decode(assertion["signature"] + "=="))
    signature[-1] ^= 1
    assertion["signature"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    return dict(event, payload={**event["payload"], "assertion": assertion})


async def test_a_real_session_verifies_from_a_file_and_from_its_url(
    chamber: Chamber, tmp_path: Path, capsys: Any
) -> None:
    export = await _run_session(chamber)
    report = audit(export)
    assert report.ballots == report.signed_ballots == 5
    assert [v.tally["for"] for v in report.votes] == [2, 0]
    assert len(export["session_ledger"]["checkpoints"]) >= 2  # signed at each vote close

    path = tmp_path / "ledger.json"
    path.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK  voznesensk / c8-s45")
    assert "5 WebAuthn signatures verified" in out

    keys_url = f"{chamber.demo.server.url}/.well-known/kvorum/keys"
    url = f"{chamber.demo.server.url}/api/v1/sessions/c8-s45"
    assert await asyncio.to_thread(main, ["verify", url, "--keys-url", keys_url]) == 0
    assert "OK" in capsys.readouterr().out


async def test_each_tampering_is_named_with_the_first_bad_event(chamber: Chamber, tmp_path: Path, capsys: Any) -> None:
    export = await _run_session(chamber)
    signer = chamber.demo.server.kvorum.ledger.signer
    ballot = _index_of(export, "ballot.cast")
    events = _leaves(export)

    def first_problem(forged: dict[str, Any]) -> Discrepancy:
        with pytest.raises(Discrepancy) as info:
            audit(forged)
        return info.value

    # an edited leaf: the choice of the first ballot
    edited = copy.deepcopy(export)
    event = dict(events[ballot], payload={**events[ballot]["payload"], "choice": "against"})
    edited["session_ledger"]["leaves"][ballot] = base64.b64encode(orjson.dumps(event)).decode()
    problem = first_problem(edited)
    assert problem.index == ballot and "hash" in problem.message

    # a dropped ballot and two swapped events
    dropped = copy.deepcopy(export)
    del dropped["session_ledger"]["leaves"][ballot]
    assert first_problem(dropped).index == ballot
    swapped = copy.deepcopy(export)
    leaves = swapped["session_ledger"]["leaves"]
    leaves[ballot], leaves[ballot + 1] = leaves[ballot + 1], leaves[ballot]
    assert first_problem(swapped).index == ballot

    # a consistency proof that does not prove what it claims
    bent = copy.deepcopy(export)
    proof = bent["session_ledger"]["consistency"][0]
    proof["hashes"][0] = b64(bytes(32))
    assert "not consistent" in first_problem(bent).message

    # a checkpoint signed by another key under the council's key name
    forger = NoteSigner(signer.name, Ed25519PrivateKey.generate())
    forged = copy.deepcopy(export)
    last = Checkpoint.parse(forged["session_ledger"]["checkpoints"][-1].split("\n\n")[0].encode() + b"\n")
    forged["session_ledger"]["checkpoints"][-1] = forger.sign(last)
    assert "not validly signed" in first_problem(forged).message

    # a checkpoint re-signed with the real key over another root
    resigned = copy.deepcopy(export)
    resigned["session_ledger"]["checkpoints"][-1] = signer.sign(Checkpoint(last.origin, last.size, bytes(32)))
    assert "another root" in first_problem(resigned).message

    # history rewritten behind an already published checkpoint: the first ballot turned around,
    # re-chained and re-signed; the old checkpoint still in the file no longer fits
    rewritten = [dict(e) for e in events]
    rewritten[ballot] = dict(events[ballot], payload={**events[ballot]["payload"], "choice": "against"})
    forged = _reseal(export, rewritten, signer)
    forged["session_ledger"]["checkpoints"][0] = export["session_ledger"]["checkpoints"][0]
    forged["session_ledger"]["consistency"][0] = export["session_ledger"]["consistency"][0]
    problem = first_problem(forged)
    assert problem.index is not None and problem.index >= ballot and "history rewritten" in problem.message

    # a tally that does not match the ballots, with every chain and signature made to fit
    closed = _index_of(export, "vote.closed")
    tally = {**events[closed]["payload"]["tally"], "for": 30, "outcome": "adopted"}
    cooked = [dict(e) for e in events]
    cooked[closed] = dict(events[closed], payload={**events[closed]["payload"], "tally": tally})
    problem = first_problem(_reseal(export, cooked, signer))
    assert problem.index == closed and "tally" in problem.message

    # a ballot a signature does not back: another deputy's ballot re-labelled as d05's
    stolen = [dict(e) for e in events]
    stolen[ballot] = dict(events[ballot], payload={**events[ballot]["payload"], "deputy": "d05"})
    problem = first_problem(_reseal(export, stolen, signer))
    assert problem.index == ballot and "ballot.cast breaks the rules" in problem.message

    # the CLI names the first discrepancy and exits 1
    path = tmp_path / "cooked.json"
    path.write_bytes(orjson.dumps(_reseal(export, cooked, signer)))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"FAIL session ledger, event {closed} (seq {closed + 1}):")


async def test_a_signed_ledger_with_unreadable_times_is_named_not_a_crash(chamber: Chamber) -> None:
    # A server holding the council key signs a session event, or a council event, whose time is garbage.
    export = await _run_session(chamber)
    signer = chamber.demo.server.kvorum.ledger.signer
    events = _leaves(export)
    ballot = _index_of(export, "ballot.cast")
    garbled = [dict(e) for e in events]
    garbled[ballot] = dict(events[ballot], at="yesterday")
    with pytest.raises(Discrepancy) as info:
        audit(_reseal(export, garbled, signer))
    assert info.value.index == ballot and "'yesterday' cannot be read" in info.value.message

    council = _leaves(export, "council_ledger")
    council[1] = dict(council[1], at=42)
    with pytest.raises(Discrepancy) as info:
        audit(_reseal(export, council, signer, "council_ledger"))
    assert "council event" in info.value.message and "cannot be read" in info.value.message


async def test_pinned_keys_refuse_a_ledger_signed_by_another_key(chamber: Chamber, tmp_path: Path, capsys: Any) -> None:
    export = await _run_session(chamber)
    own = NoteSigner("kvorum.localhost", Ed25519PrivateKey.generate())
    path = tmp_path / "ledger.json"
    path.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(path), "--key", own.vkey]) == 1
    assert "not validly signed" in capsys.readouterr().err
    # a key rotation keeps the old checkpoints verifiable: both keys are published
    new_vkey = await chamber.demo.server.kvorum.ledger.rotate_key()
    keys = (await chamber.client.get("/.well-known/kvorum/keys")).text.splitlines()
    assert keys[-1] == new_vkey and len(keys) == 2
    assert audit(export, trusted_keys=keys).checkpoints >= 2


async def test_unreadable_sources_get_one_line_and_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["verify", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("kvorum verify: cannot read the ledger:")
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["verify", str(tmp_path / "bad.json")]) == 2
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    assert main(["verify", str(tmp_path / "other.json")]) == 1


async def test_a_forged_signature_is_found_also_when_checked_in_other_processes(chamber: Chamber) -> None:
    from session_server.ledger.verifier import OtherProcesses

    export = await _run_session(chamber)
    signer = chamber.demo.server.kvorum.ledger.signer
    events = _leaves(export)
    first, second = _index_of(export, "ballot.cast", 0), _index_of(export, "ballot.cast", 2)
    forged = [dict(e) for e in events]
    for index in (second, first):  # two bad signatures: the first by index must be named
        forged[index] = _signature_broken(events[index])
    resealed = _reseal(export, forged, signer)
    workers = OtherProcesses(workers=2)
    workers.CHUNK = 2  # send every two signatures to the worker processes
    with pytest.raises(Discrepancy) as info:
        audit(resealed, signatures=workers)
    assert info.value.index == first and "signature_invalid" in info.value.message
    with pytest.raises(Discrepancy) as again:
        audit(resealed)  # the same answer verified here, in order
    assert again.value.index == first
    assert audit(export, signatures=OtherProcesses(workers=2)).signed_ballots == 5


async def test_the_first_discrepancy_is_named_wherever_the_signatures_are_checked(chamber: Chamber) -> None:
    from session_server.ledger.verifier import OtherProcesses

    def every_way() -> list[OtherProcesses | None]:
        small = OtherProcesses(workers=2)
        small.CHUNK = 1  # each signature on its own: some verified by the workers, the rest taken back
        return [None, OtherProcesses(workers=0), OtherProcesses(workers=1), small]

    def first_problem(export: dict[str, Any], signatures: OtherProcesses | None) -> Discrepancy:
        with pytest.raises(Discrepancy) as info:
            audit(export, signatures=signatures)
        return info.value

    export = await _run_session(chamber)
    signer = chamber.demo.server.kvorum.ledger.signer
    events = _leaves(export)
    ballot, closed = _index_of(export, "ballot.cast"), _index_of(export, "vote.closed")
    later_ballot = _index_of(export, "ballot.cast", 4)  # in the second vote
    assert ballot < closed < later_ballot
    cooked = dict(events[closed], payload={**events[closed]["payload"], "tally": {"for": 30}})

    # a bad signature, then a cooked tally: the signature is named
    forged = [dict(e) for e in events]
    forged[ballot], forged[closed] = _signature_broken(events[ballot]), cooked
    signature_first = _reseal(export, forged, signer)
    for signatures in every_way():
        problem = first_problem(signature_first, signatures)
        assert (problem.index, problem.message) == (ballot, f"ballot.cast breaks the rules: {SIGNATURE_INVALID}")

    # a cooked tally, then a bad signature: the tally is named
    forged = [dict(e) for e in events]
    forged[closed], forged[later_ballot] = cooked, _signature_broken(events[later_ballot])
    tally_first = _reseal(export, forged, signer)
    for signatures in every_way():
        problem = first_problem(tally_first, signatures)
        assert problem.index == closed and "published tally" in problem.message

    # both, and a leaf edited after them that no longer chains: the ledger itself is checked first
    for resealed in (signature_first, tally_first):
        broken = copy.deepcopy(resealed)
        last = dict(events[-1], actor="someone else")
        broken["session_ledger"]["leaves"][-1] = base64.b64encode(orjson.dumps(last)).decode()
        for signatures in every_way():
            problem = first_problem(broken, signatures)
            assert problem.index == len(events) - 1 and "does not chain" in problem.message


async def test_worker_processes_forked_from_the_command_line_find_the_same_first_bad_signature(
    chamber: Chamber, tmp_path: Path
) -> None:
    export = await _run_session(chamber)
    events = _leaves(export)
    first, third = _index_of(export, "ballot.cast", 0), _index_of(export, "ballot.cast", 2)
    forged = [dict(e) for e in events]
    forged[first], forged[third] = _signature_broken(events[first]), _signature_broken(events[third])
    path = tmp_path / "forged.json"
    path.write_bytes(orjson.dumps(_reseal(export, forged, chamber.demo.server.kvorum.ledger.signer)))
    # a process of its own runs no other thread, so its workers are forked (the tests' own process spawns)
    script = (
        "import sys, threading\n"
        "from session_server.domain.audit import Discrepancy, audit\n"
        "from session_server.ledger.verifier import OtherProcesses, _start_method, load\n"
        "assert threading.active_count() == 1 and _start_method().get_start_method() == 'fork'\n"
        "workers = OtherProcesses(workers=1)\n"
        "workers.CHUNK = 1\n"
        "try:\n"
        "    audit(load(sys.argv[1]), signatures=workers)\n"
        "except Discrepancy as exc:\n"
        "    print(exc)\n"
    )
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode == 0, err.decode()
    assert (
        out.decode().strip()
        == f"session ledger, event {first} (seq {first + 1}): ballot.cast breaks the rules: {SIGNATURE_INVALID}"
    )


async def test_an_item_added_to_an_open_sitting_verifies_only_as_the_councils_adopted_decision(
    demo_council: Any,
) -> None:
    demo = demo_council
    await demo.ok("chair", "session.open")
    await demo.ok("secretary", "registration.open")
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "presence.register") for n in range(1, 21)))
    proposal = {"number": "6", "title": "Про звернення щодо освітлення вулиць", "draft": None}
    opened = await demo.ok(
        "chair",
        "vote.open",
        subject="включити до порядку денного",
        rule="majority_of_composition",
        seconds=60,
        purpose="agenda_add",
        proposal=proposal,
    )
    vote = opened["events"][0]["payload"]["vote"]
    await asyncio.gather(*(demo.ok(f"deputy{n:02d}", "ballot.cast", vote=vote, choice="for") for n in range(1, 19)))
    closed = await demo.ok("chair", "vote.close", vote=vote)
    # sealed (a new council's default): the ballots open, the vote closes, the council's decision adds the item
    assert [e["type"] for e in closed["events"]] == ["ballots.opened", "vote.closed", "item.added"]
    assert (await demo.state())["state"]["agenda"][-1]["title"] == proposal["title"]
    export = (await demo.client.get("/api/v1/sessions/c8-s45/ledger/export")).json()
    audit(export)  # as recorded: fine

    signer = demo.server.kvorum.ledger.signer
    events = _leaves(export)
    added = _index_of(export, "item.added")
    with pytest.raises(Discrepancy) as dropped:  # the server hides the council's decision
        audit(_reseal(export, events[:added] + events[added + 1 :], signer))
    assert "item.added must follow" in dropped.value.message
    slipped = dict(events[added], payload={**events[added]["payload"], "item": "i9", "title": "Інше питання"})
    with pytest.raises(Discrepancy) as inserted:  # an item the council never voted on
        audit(_reseal(export, [*events[:2], slipped, *events[2:]], signer))
    assert inserted.value.index == 2 and "without the council's vote" in inserted.value.message


async def test_the_report_says_what_was_not_proven_without_pinned_keys_and_before_the_close(
    chamber: Chamber, tmp_path: Path, capsys: Any
) -> None:
    export = await _run_session(chamber)
    path = tmp_path / "ledger.json"
    path.write_bytes(orjson.dumps(export))
    assert await asyncio.to_thread(main, ["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "WARNING: no trusted key given (--key or --keys-url)" in out
    assert "NOTE: the sitting is not closed" in out
    assert "Not proven: that the council showed no one a different history" in out

    await chamber.demo.ok("chair", "item.finish", item="i1")
    await chamber.demo.ok("chair", "session.close")
    closed = (await chamber.client.get("/api/v1/sessions/c8-s45/ledger/export")).content
    path.write_bytes(closed)
    keys_url = f"{chamber.demo.server.url}/.well-known/kvorum/keys"
    assert await asyncio.to_thread(main, ["verify", str(path), "--keys-url", keys_url]) == 0
    out = capsys.readouterr().out
    assert "no trusted key" not in out and "not closed" not in out and "not signed" not in out


async def test_a_file_cut_at_an_earlier_checkpoint_fails_against_the_published_one(
    chamber: Chamber, tmp_path: Path, capsys: Any
) -> None:
    vote = await chamber.open_vote()
    assert (await chamber.cast("d01", "for")).status_code == 200
    await chamber.demo.ok("chair", "vote.close", vote=vote["id"])
    earlier = tmp_path / "earlier.json"
    earlier.write_bytes((await chamber.client.get("/api/v1/sessions/c8-s45/ledger/export")).content)
    second = await chamber.open_vote()
    assert (await chamber.cast("d02", "against")).status_code == 200
    await chamber.demo.ok("chair", "vote.close", vote=second["id"])

    published = f"{chamber.demo.server.url}/api/v1/sessions/c8-s45/ledger/checkpoint"
    assert await asyncio.to_thread(main, ["verify", str(earlier)]) == 0  # alone, the earlier copy holds together
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify", str(earlier), "--checkpoint", published]) == 1
    assert "the file is cut short" in capsys.readouterr().err
    # the same checkpoint kept in a file (from the council's site, a witness, the minutes) works offline
    note = tmp_path / "checkpoint.txt"
    note.write_text((await chamber.client.get("/api/v1/sessions/c8-s45/ledger/checkpoint")).text)
    current = tmp_path / "current.json"
    current.write_bytes((await chamber.client.get("/api/v1/sessions/c8-s45/ledger/export")).content)
    assert await asyncio.to_thread(main, ["verify", str(current), "--checkpoint", str(note)]) == 0
    size = int(note.read_text().split("\n")[1])
    assert f"agrees with the published checkpoint of {size} events" in capsys.readouterr().out
    # from the server's URL, its current checkpoint is fetched first, then the export
    url = f"{chamber.demo.server.url}/api/v1/sessions/c8-s45"
    assert await asyncio.to_thread(main, ["verify", url]) == 0
    assert "agrees with the published checkpoint" in capsys.readouterr().out


async def test_a_checkpoint_of_another_history_is_named(chamber: Chamber, tmp_path: Path, capsys: Any) -> None:
    export = await _run_session(chamber)
    events = _leaves(export)
    events[1] = dict(events[1], at="2026-01-01T00:00:00.000Z")  # the server's other history, signed by its key
    signer = chamber.demo.server.kvorum.ledger.signer
    other = _reseal(export, events, signer)
    note = other["session_ledger"]["checkpoints"][-1]
    with pytest.raises(Discrepancy) as info:
        audit(export, published=[note])
    assert "this is not the history the council published" in info.value.message


async def test_unsigned_ballots_are_reported_whatever_the_council_set_later(chamber: Chamber, capsys: Any) -> None:
    off = await chamber.council_command("admin", "council.configure", signed_ballots=False)
    assert off.status_code == 200, off.text
    vote = await chamber.open_vote()
    await chamber.demo.ok("deputy05", "ballot.cast", vote=vote["id"], choice="for")  # nobody's device signed it
    on = await chamber.council_command("admin", "council.configure", signed_ballots=True)
    assert on.status_code == 200, on.text
    assert (await chamber.cast("d01", "for")).status_code == 200
    await chamber.demo.ok("chair", "vote.close", vote=vote["id"])
    export = (await chamber.client.get("/api/v1/sessions/c8-s45/ledger/export")).json()
    report = audit(export)
    assert (report.ballots, report.signed_ballots, report.unsigned_ballots) == (2, 1, 1)
    assert not report.unsigned_demo  # the council signs ballots now: yet one was not signed
    assert "1 of 2 ballots are not signed on the deputies' devices" in format_report(report)
