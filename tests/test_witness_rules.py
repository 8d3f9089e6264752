"""Witness cosignatures by C2SP tlog-cosignature and the witness's add-checkpoint rules by C2SP tlog-witness
(issue 18, first part): pure, against the specifications' formats and every answer they name."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from voting.checkpoint import Checkpoint, CheckpointError, NoteSigner
from voting.cosignature import CosignatureSigner, CosignatureVerifier, cosignatures, cosigned_message
from voting.merkle import MerkleTree
from voting.witness import SIZE_TYPE, AddCheckpoint, Answer, Latest, decide, keys_for

ORIGIN = "kvorum.example/voznesensk/c8-s45"
LOG_KEY = Ed25519PrivateKey.generate()
LOG = NoteSigner(ORIGIN, LOG_KEY)
WITNESS = CosignatureSigner("witness.ngo.example/w1", Ed25519PrivateKey.generate())
LOGS = {ORIGIN: [LOG.verifier]}
TREE = MerkleTree([f"event {n}".encode() for n in range(40)])


def _note(size: int, root: bytes | None = None, signer: NoteSigner = LOG) -> bytes:
    return signer.sign(Checkpoint(ORIGIN, size, TREE.root(size) if root is None else root)).encode()


def _request(old: int, size: int, proof: list[bytes] | None = None, note: bytes | None = None) -> AddCheckpoint:
    lines = [f"old {old}".encode()] + [base64.b64encode(h) for h in (proof if proof is not None else [])]
    parsed = AddCheckpoint.parse(b"\n".join(lines) + b"\n\n" + (note if note is not None else _note(size)))
    assert isinstance(parsed, AddCheckpoint), parsed
    return parsed


def test_the_cosigned_message_and_the_key_id_are_the_specifications() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosigned_message(body, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + body
    verifier = WITNESS.verifier
    raw = base64.b64decode(verifier.vkey.split("+", 2)[2])  # the key's base64 may hold a "+"
    assert raw[0] == 0x04 and len(raw) == 33  # signature type cosignature/v1, then the Ed25519 key
    name = b"witness.ngo.example/w1"
    assert verifier.key_id == hashlib.sha256(name + b"\n\x04" + raw[1:]).digest()[:4]
    assert CosignatureVerifier.from_vkey(verifier.vkey).key_id == verifier.key_id
    with pytest.raises(CheckpointError):  # a log's note key (type 0x01) is not a witness key
        CosignatureVerifier.from_vkey(LOG.vkey)


def test_a_cosignature_line_carries_the_time_and_verifies_only_on_its_checkpoint() -> None:
    checkpoint = Checkpoint(ORIGIN, 20, TREE.root(20))
    line = WITNESS.cosign(checkpoint, 1_796_000_000)
    assert line.startswith("— witness.ngo.example/w1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ", 2)[2])
    assert raw[:4] == WITNESS.verifier.key_id and struct.unpack(">Q", raw[4:12]) == (1_796_000_000,)
    note = LOG.sign(checkpoint) + line
    [found] = cosignatures(note, [WITNESS.verifier])
    assert (found.witness, found.timestamp) == ("witness.ngo.example/w1", 1_796_000_000)
    other = CosignatureSigner("witness.archive.example", Ed25519PrivateKey.generate())
    assert cosignatures(note, [other.verifier]) == []  # lines of keys not listed are skipped
    moved = LOG.sign(Checkpoint(ORIGIN, 21, TREE.root(21))) + line  # the same line on another checkpoint
    with pytest.raises(CheckpointError, match="does not verify"):
        cosignatures(moved, [WITNESS.verifier])


def test_the_first_checkpoint_is_cosigned_and_becomes_the_witness_s_latest() -> None:
    answer = decide(_request(0, 10), LOGS, None, WITNESS, now=1_796_000_000)
    assert answer.status == 200 and answer.latest == Latest(10, TREE.root(10))
    assert cosignatures(_note(10) + answer.body.encode(), [WITNESS.verifier])[0].timestamp == 1_796_000_000


def test_a_consistent_extension_is_cosigned() -> None:
    latest = Latest(10, TREE.root(10))
    answer = decide(_request(10, 25, TREE.consistency_proof(10, 25)), LOGS, latest, WITNESS, now=5)
    assert answer.status == 200 and answer.latest == Latest(25, TREE.root(25))
    same = decide(_request(25, 25), LOGS, Latest(25, TREE.root(25)), WITNESS, now=6)
    assert same.status == 200  # the same tree again: cosigned again, with the new time


@pytest.mark.parametrize(
    ("what", "status"),
    [
        ("another log", 404),
        ("signed by another key", 403),
        ("an old size above the checkpoint's", 400),
        ("an old size that is not the witness's latest", 409),
        ("the same size with another root", 409),
        ("a proof that does not hold", 422),
        ("another history kept the early size", 422),
    ],
)
def test_every_refusal_the_specification_names(what: str, status: int) -> None:
    latest = Latest(10, TREE.root(10))
    # a history that dropped event 5 — before the witness's latest — and was re-signed by the log's key
    forked = MerkleTree([f"event {n}".encode() for n in range(40) if n != 5])
    request = {
        "another log": lambda: _request(
            10,
            25,
            note=NoteSigner("other.example/log", Ed25519PrivateKey.generate())
            .sign(Checkpoint("other.example/log", 25, TREE.root(25)))
            .encode(),
        ),
        "signed by another key": lambda: _request(
            10, 25, TREE.consistency_proof(10, 25), _note(25, signer=NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
        ),
        "an old size above the checkpoint's": lambda: _request(30, 25),
        "an old size that is not the witness's latest": lambda: _request(5, 25, TREE.consistency_proof(5, 25)),
        "the same size with another root": lambda: _request(10, 10, note=_note(10, root=b"\x01" * 32)),
        "a proof that does not hold": lambda: _request(10, 25, TREE.consistency_proof(11, 25)),
        "another history kept the early size": lambda: _request(
            10, 25, forked.consistency_proof(10, 25), _note(25, root=forked.root(25))
        ),
    }[what]()
    answer = decide(request, LOGS, latest, WITNESS, now=7)
    assert answer.status == status, (what, answer)
    assert answer.latest is None  # nothing to record: the witness's latest stays
    if status == 409:
        assert (answer.body, answer.content_type) == ("10\n", SIZE_TYPE)


def test_malformed_bodies_are_a_400_with_a_reason() -> None:
    for body in (
        b"",
        b"old 10\n" + _note(10),  # no empty line
        b"old 010\n\n" + _note(10),
        b"new 10\n\n" + _note(10),
        b"old 10\nnot base64!\n\n" + _note(10),
        b"old 10\n" + b"\n".join([base64.b64encode(b"\0" * 32)] * 64) + b"\n\n" + _note(10),
        b"old 0\n\nnot a checkpoint\n",
    ):
        answer = AddCheckpoint.parse(body)
        assert isinstance(answer, Answer) and answer.status == 400 and answer.body.strip(), body[:40]


def test_a_witness_following_a_council_covers_each_of_its_sittings_and_no_other_council() -> None:
    council = "kvorum.example/voznesensk"
    logs = {council: [NoteSigner(council, LOG_KEY).verifier]}
    signer = NoteSigner(council, LOG_KEY)
    for sitting in ("c8-s45", "c8-s46"):  # each sitting is a log of its own, begun at size 0
        note = signer.sign(Checkpoint(f"{council}/{sitting}", 10, TREE.root(10))).encode()
        request = AddCheckpoint.parse(b"old 0\n\n" + note)
        assert isinstance(request, AddCheckpoint)
        assert decide(request, logs, None, WITNESS, now=1).status == 200
    assert keys_for(logs, f"{council}/c8-s45") == logs[council]
    assert keys_for(logs, council) == logs[council]
    assert keys_for(logs, "kvorum.example/voznesensk-2/c1-s1") is None  # a prefix of the name is not a parent
    assert keys_for(logs, f"{council}/c8-s45/shadow") is None  # one log per sitting, none below it
    assert keys_for(logs, "kvorum.example") is None
    stranger = signer.sign(Checkpoint("kvorum.example/odesa/c8-s1", 10, TREE.root(10))).encode()
    request = AddCheckpoint.parse(b"old 0\n\n" + stranger)
    assert isinstance(request, AddCheckpoint) and decide(request, logs, None, WITNESS, now=1).status == 404


def test_one_public_key_listed_under_two_names_counts_once() -> None:
    key = Ed25519PrivateKey.generate()
    first, second = CosignatureSigner("w.example/a", key), CosignatureSigner("w.example/b", key)
    checkpoint = Checkpoint(ORIGIN, 20, TREE.root(20))
    line = first.cosign(checkpoint, 1_796_000_000)
    # the same signature under the other name's key ID verifies for it too: the message names no witness
    raw = base64.b64decode(line.split(" ", 2)[2])
    twin = f"— w.example/b {base64.b64encode(second.verifier.key_id + raw[4:]).decode()}\n"
    note = LOG.sign(checkpoint) + line + twin
    assert [c.witness for c in cosignatures(note, [first.verifier, second.verifier])] == ["w.example/a"]
