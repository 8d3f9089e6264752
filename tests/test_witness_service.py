"""``kvorum witness`` as a witness's operator runs it (issue 18): ``init`` makes its key, ``follow`` adds a
council's ledger, ``serve`` answers C2SP tlog-witness ``add-checkpoint`` over HTTP — a real process, its
state in its own folder, kept across a restart."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from witness_support import WitnessProcess, kvorum

from voting.checkpoint import Checkpoint, NoteSigner
from voting.cosignature import CosignatureVerifier, cosignatures
from voting.merkle import MerkleTree

ORIGIN = "kvorum.example/voznesensk/c8-s45"
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
TREE = MerkleTree([f"event {n}".encode() for n in range(30)])


_kvorum = kvorum


class _Witness(WitnessProcess):
    def add(self, old: int, size: int, proof: list[bytes] | None = None, root: bytes | None = None) -> httpx.Response:
        note = LOG.sign(Checkpoint(ORIGIN, size, TREE.root(size) if root is None else root))
        lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in (proof or [])]
        body = "\n".join(lines) + "\n\n" + note
        return httpx.post(self.url + "/add-checkpoint", content=body.encode(), timeout=10)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[tuple[_Witness, CosignatureVerifier]]:
    folder = tmp_path / "witness"
    made = _kvorum("witness", "init", str(folder), "--name", "witness.ngo.example/w1")
    assert made.returncode == 0, made.stderr
    verifier = CosignatureVerifier.from_vkey(made.stdout.strip())  # what the council lists
    assert oct((folder / "witness.key").stat().st_mode & 0o777) == "0o600"  # its owner's only
    followed = _kvorum("witness", "follow", str(folder), ORIGIN, LOG.vkey)
    assert followed.returncode == 0, followed.stderr
    served = _Witness(folder)
    served.start()
    try:
        yield served, verifier
    finally:
        served.stop()


def test_a_witness_cosigns_a_consistent_history_and_remembers_it_across_a_restart(
    witness: tuple[_Witness, CosignatureVerifier],
) -> None:
    served, verifier = witness
    first = served.add(0, 10)
    assert first.status_code == 200, first.text
    note = LOG.sign(Checkpoint(ORIGIN, 10, TREE.root(10))) + first.text
    [cosigned] = cosignatures(note, [verifier])
    assert abs(cosigned.timestamp - time.time()) < 60
    grown = served.add(10, 25, TREE.consistency_proof(10, 25))
    assert grown.status_code == 200, grown.text

    stale = served.add(10, 30, TREE.consistency_proof(10, 30))  # the log thinks the witness is at 10
    assert (stale.status_code, stale.text, stale.headers["content-type"]) == (409, "25\n", "text/x.tlog.size")
    forked = MerkleTree([f"event {n}".encode() for n in range(30) if n != 3])  # a ballot dropped, re-signed
    refused = served.add(25, 29, forked.consistency_proof(25, 29), root=forked.root(29))
    assert refused.status_code == 422
    other = NoteSigner("other.example/log", Ed25519PrivateKey.generate()).sign(
        Checkpoint("other.example/log", 5, TREE.root(5))
    )
    unknown = httpx.post(served.url + "/add-checkpoint", content=f"old 0\n\n{other}".encode(), timeout=10)
    assert unknown.status_code == 404

    served.stop()  # what it cosigned is on disk: a restarted witness still refuses to go back
    served.start()
    again = served.add(0, 10)
    assert (again.status_code, again.text) == (409, "25\n")
    about = httpx.get(served.url + "/", timeout=5).text
    assert f"log {ORIGIN} 25" in about and verifier.vkey in about


def test_the_command_line_says_in_one_line_what_is_wrong(tmp_path: Path) -> None:
    missing = _kvorum("witness", "serve", str(tmp_path / "nothing"))
    assert missing.returncode != 0 and "holds no witness" in missing.stderr.strip().splitlines()[-1]
    made = _kvorum("witness", "init", str(tmp_path / "w"), "--name", "w1")
    assert made.returncode == 0
    twice = _kvorum("witness", "init", str(tmp_path / "w"), "--name", "w1")
    assert twice.returncode != 0 and "already holds a witness" in twice.stderr
    bad = _kvorum("witness", "follow", str(tmp_path / "w"), ORIGIN, "not-a-key")
    assert bad.returncode != 0 and "not a log's verifier key" in bad.stderr
    assert os.path.exists(tmp_path / "w" / "witness.sqlite3")
