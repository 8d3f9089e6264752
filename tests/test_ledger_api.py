"""The public ledger endpoints: leaves, checkpoints, proofs a third party checks with its own code, receipts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import httpx
from signed_support import Chamber

from voting.checkpoint import NoteVerifier, open_note
from voting.merkle import leaf_hash, verify_consistency, verify_inclusion


async def _checkpointed(client: httpx.AsyncClient, seq: int) -> list[int]:
    """The checkpoint sizes once one covers ``seq`` (polled: the signing runs after the commit)."""
    for _ in range(500):
        sizes: list[int] = (await client.get("/api/v1/sessions/c8-s45/ledger/checkpoints")).json()["sizes"]
        if sizes and sizes[-1] >= seq:
            return sizes
        await asyncio.sleep(0.02)
    raise AssertionError(f"no checkpoint covers seq {seq} after 10 s")


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


async def test_a_deputy_gets_a_receipt_for_the_ballot_that_proves_it_is_in_the_signed_ledger(chamber: Chamber) -> None:
    client = chamber.client
    await chamber.open_vote()
    cast = await chamber.cast("d01", "for")
    seq = cast.json()["seq"]
    receipt = (await client.get(f"/api/v1/sessions/c8-s45/ledger/receipt?seq={seq}")).json()
    keys = [NoteVerifier.from_vkey(k) for k in (await client.get("/.well-known/kvorum/keys")).text.splitlines()]
    checkpoint, _ = open_note(receipt["checkpoint"], keys)
    assert checkpoint.origin == "kvorum.localhost/voznesensk/c8-s45"
    assert receipt["index"] == seq - 1 and checkpoint.size == receipt["size"] >= seq
    leaf = _b64(receipt["leaf"])
    assert b'"type":"ballot.cast"' in leaf
    verify_inclusion(
        leaf_hash(leaf), receipt["index"], receipt["size"], [_b64(h) for h in receipt["hashes"]], checkpoint.root
    )


async def test_leaves_checkpoints_and_proofs_agree(chamber: Chamber) -> None:
    client = chamber.client
    vote = await chamber.open_vote()
    old = (await client.get("/api/v1/sessions/c8-s45/ledger/checkpoint")).text
    await chamber.cast("d01", "for")
    closed = await chamber.demo.ok("chair", "vote.close", vote=vote["id"])
    keys = [NoteVerifier.from_vkey(k) for k in (await client.get("/.well-known/kvorum/keys")).text.splitlines()]
    sizes = await _checkpointed(client, closed["seq"])  # a vote's close is signed at once, by a background task
    assert sizes[-1] == closed["seq"]
    new_note = (await client.get("/api/v1/sessions/c8-s45/ledger/checkpoint")).text
    first, _ = open_note(old, keys)
    latest, _ = open_note(new_note, keys)
    assert sizes[-1] == latest.size > first.size and first.size in sizes
    at_first = (await client.get(f"/api/v1/sessions/c8-s45/ledger/checkpoint?size={first.size}")).text
    assert at_first == old

    ledger = (await client.get("/api/v1/sessions/c8-s45/ledger")).json()
    leaves = [_b64(x) for x in ledger["leaves"]]
    assert ledger["origin"] == latest.origin and len(leaves) >= latest.size
    for index in (0, first.size - 1, latest.size - 1):
        proof = (await client.get(f"/api/v1/sessions/c8-s45/ledger/inclusion?index={index}&size={latest.size}")).json()
        verify_inclusion(leaf_hash(leaves[index]), index, latest.size, [_b64(h) for h in proof["hashes"]], latest.root)
    proof = (await client.get(f"/api/v1/sessions/c8-s45/ledger/consistency?from={first.size}&to={latest.size}")).json()
    verify_consistency(first.size, latest.size, first.root, latest.root, [_b64(h) for h in proof["hashes"]])
    page = (await client.get("/api/v1/sessions/c8-s45/ledger?from=1&to=3")).json()
    assert [_b64(x) for x in page["leaves"]] == leaves[1:3]
    # each leaf's bytes hash to the event's chain as documented: SHA-256 over prev ‖ event without hash
    assert hashlib.sha256(leaves[0]).digest() != leaf_hash(leaves[0])  # RFC 9162 prefixes 0x00


async def test_bad_ledger_requests_get_clear_errors(chamber: Chamber) -> None:
    client = chamber.client
    size = (await client.get("/api/v1/sessions/c8-s45/ledger")).json()["size"]
    cases = {
        f"/api/v1/sessions/c8-s45/ledger/inclusion?index={size}&size={size}": (400, "bad_range"),
        f"/api/v1/sessions/c8-s45/ledger/inclusion?index=0&size={size + 1}": (400, "bad_range"),
        "/api/v1/sessions/c8-s45/ledger/inclusion?size=1": (400, "invalid_parameter"),
        "/api/v1/sessions/c8-s45/ledger/consistency?from=3&to=2": (400, "bad_range"),
        "/api/v1/sessions/c8-s45/ledger/consistency?from=x&to=2": (400, "invalid_parameter"),
        "/api/v1/sessions/c8-s45/ledger/checkpoint?size=999999": (404, "no_checkpoint"),
        f"/api/v1/sessions/c8-s45/ledger?from=0&to={size + 5}": (400, "bad_range"),
        f"/api/v1/sessions/c8-s45/ledger/receipt?seq={size + 100}": (400, "bad_range"),
        "/api/v1/sessions/nope/ledger": (404, "session_not_found"),
        "/api/v1/sessions/nope/ledger/export": (404, "session_not_found"),
    }
    for url, (status, code) in cases.items():
        response = await client.get(url)
        assert (response.status_code, response.json()["error"]) == (status, code), url


async def test_proofs_stay_right_when_trees_are_evicted_and_rebuilt(chamber: Chamber, monkeypatch: Any) -> None:
    from session_server.ledger import trees as ledger_module

    monkeypatch.setattr(ledger_module, "TREES_CACHED", 1)  # every other stream's tree is dropped
    client = chamber.client
    keys = [NoteVerifier.from_vkey(k) for k in (await client.get("/.well-known/kvorum/keys")).text.splitlines()]
    for _ in range(2):
        for prefix in ("/api/v1/sessions/c8-s45/ledger", "/api/v1/council/ledger"):
            checkpoint, _ = open_note((await client.get(f"{prefix}/checkpoint")).text, keys)
            leaves = [_b64(x) for x in (await client.get(prefix)).json()["leaves"]]
            index = checkpoint.size - 1
            proof = (await client.get(f"{prefix}/inclusion?index={index}&size={checkpoint.size}")).json()
            hashes = [_b64(h) for h in proof["hashes"]]
            verify_inclusion(leaf_hash(leaves[index]), index, checkpoint.size, hashes, checkpoint.root)
