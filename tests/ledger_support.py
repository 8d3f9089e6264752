"""Reading an exported ledger's leaves, and forging one as a server holding the council's key could."""

from __future__ import annotations

import base64
import copy
import itertools
from typing import Any

import orjson

from session_server.ledger.trees import b64
from voting.canonical import GENESIS, seal
from voting.checkpoint import Checkpoint, NoteSigner
from voting.merkle import MerkleTree


def leaves(export: dict[str, Any], which: str = "session_ledger") -> list[dict[str, Any]]:
    return [orjson.loads(base64.b64decode(leaf)) for leaf in export[which]["leaves"]]


def reseal(
    export: dict[str, Any], events: list[dict[str, Any]], signer: NoteSigner, which: str = "session_ledger"
) -> dict[str, Any]:
    """What a server holding the council key could do: re-chain the events, re-sign every checkpoint size."""
    forged = copy.deepcopy(export)
    ledger = forged[which]
    prev, leaves = GENESIS, []
    for seq, event in enumerate(events, start=1):
        fields = {k: event[k] for k in ("stream", "type", "payload", "actor", "at")}
        digest, leaf = seal(prev, seq=seq, **fields)
        prev = bytes.fromhex(digest)
        leaves.append(leaf)
    tree = MerkleTree(leaves)
    sizes = sorted({min(int(note.split("\n")[1]), len(leaves)) for note in ledger["checkpoints"]} | {len(leaves)})
    ledger["leaves"] = [b64(leaf) for leaf in leaves]
    ledger["checkpoints"] = [signer.sign(Checkpoint(ledger["origin"], size, tree.root(size))) for size in sizes]
    ledger["consistency"] = [
        {"from": a, "to": b, "hashes": [b64(h) for h in tree.consistency_proof(a, b)]}
        for a, b in itertools.pairwise(sizes)
    ]
    return forged
