"""Checkpoints are signed while events flow, not only at results (KVORUM_CHECKPOINT_SECONDS)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import Demo

from session_server.config import Settings
from voting.checkpoint import NoteVerifier, open_note


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, host="127.0.0.1", port=0, checkpoint_seconds=1)


async def test_a_plain_event_is_under_a_signed_checkpoint_within_the_interval(demo_council: Demo) -> None:
    client = demo_council.client
    opened = await demo_council.ok("chair", "session.open")  # not a result: waits for the periodic signing
    keys = [NoteVerifier.from_vkey(k) for k in (await client.get("/.well-known/kvorum/keys")).text.splitlines()]
    for _ in range(100):
        sizes = (await client.get("/api/v1/sessions/c8-s45/ledger/checkpoints")).json()["sizes"]
        if sizes and sizes[-1] >= opened["seq"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("no checkpoint within 5 s of a commit with a 1 s interval")
    checkpoint, _ = open_note((await client.get("/api/v1/sessions/c8-s45/ledger/checkpoint")).text, keys)
    assert checkpoint.size == opened["seq"]
    # the council's stream is checkpointed too (its credentials are what ballots are checked against)
    council, _ = open_note((await client.get("/api/v1/council/ledger/checkpoint")).text, keys)
    assert council.origin == "kvorum.localhost/voznesensk" and council.size >= 35
