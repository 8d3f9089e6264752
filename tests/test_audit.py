"""The audit's one-pass check of a leaf never accepts what rebuilding the event field by field refuses."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import pytest

from session_server.domain.audit import Discrepancy
from session_server.domain.ledger_export import _sealed, _sealed_slowly
from voting.canonical import GENESIS, seal

PREV = hashlib.sha256(b"the event before").digest()
BALLOT = {
    "vote": "v1",
    "deputy": "d07",
    "choice": "for",
    "nonce": "n0nce",
    "sign_count": 3,
    "assertion": {
        "credential": "Y3JlZA",
        "authenticator_data": "YXV0aA",
        "client_data_json": "e30",
        "signature": "c2ln",
    },
}


def _fields(**changes: Any) -> dict[str, Any]:
    fields = {
        "stream": "session:c8-s45",
        "seq": 1,
        "type": "ballot.cast",
        "payload": BALLOT,
        "actor": "deputy07",
        "at": "2026-11-24T10:15:03.127Z",
    }
    return fields | changes


def sealed(**changes: Any) -> bytes:
    """The leaf the store writes for an event."""
    return seal(PREV, **_fields(**changes))[1]


def hashed_as_written(text: bytes) -> bytes:
    """A leaf in some other form, whose hash covers exactly these bytes (what a careless forger does)."""
    event = orjson.loads(text)
    body = orjson.dumps({k: v for k, v in event.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)
    event["hash"] = hashlib.sha256(PREV + body).hexdigest()
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def forged_hash(leaf: bytes, claimed: str) -> bytes:
    return leaf.replace(orjson.loads(leaf)["hash"].encode(), claimed.encode())


LEAVES: dict[str, Any] = {
    "a ballot as stored": sealed(),
    "a council event in Ukrainian": sealed(type="deputy.added", payload={"name": "Олена Петренко", "mayor": False}),
    "keys beyond U+FFFF, in JCS order": sealed(payload={"\U0001f600": 1, "\uffff": 2}),
    "keys beyond U+FFFF, in code point order": hashed_as_written(sealed(payload={"\U0001f600": 1, "\uffff": 2})),
    "a float JCS writes the same way": sealed(payload={"share": 0.5}),
    "a float JCS writes otherwise (1 for 1.0)": hashed_as_written(orjson.dumps(_fields(payload={"x": 1.0}))),
    "a float with an exponent": hashed_as_written(orjson.dumps(_fields(payload={"x": [1e20]}))),
    "an integer beyond 2**53": hashed_as_written(orjson.dumps(_fields(payload={"x": 2**60}))),
    "seq true": hashed_as_written(orjson.dumps(_fields(seq=True))),
    "seq 1.0": hashed_as_written(orjson.dumps(_fields(seq=1.0))),
    "seq 2 at index 0": sealed(seq=2),
    "an extra key": hashed_as_written(orjson.dumps(_fields(extra=1))),
    "no actor": hashed_as_written(orjson.dumps({k: v for k, v in _fields().items() if k != "actor"})),
    "white space": sealed().replace(b",", b", "),
    "an edited choice": sealed().replace(b'"for"', b'"against"'),
    "a hash in capitals": forged_hash(sealed(), orjson.loads(sealed())["hash"].upper()),
    "a hash that needs escaping": forged_hash(sealed(), "\\u0061" + orjson.loads(sealed())["hash"][1:]),
    # an actor that holds what looks like the hash member: the leaf must not be cut there
    "an object for actor": sealed(actor={"a": 1, "hash": "0" * 64}),
    "a deep payload": sealed(payload={"x": [[[[[[[[[["deep"]]]]]]]]]]}),
    "not JSON": b"{not json",
    "a JSON array": b'["stream", "seq"]',
}


@pytest.mark.parametrize("leaf", LEAVES.values(), ids=LEAVES.keys())
def test_the_fast_leaf_check_accepts_only_what_the_field_by_field_check_accepts(leaf: bytes) -> None:
    encoded = base64.b64encode(leaf).decode()
    fast = _sealed(PREV, 0, encoded)
    try:
        slow = _sealed_slowly("session", PREV, 0, encoded)
    except Discrepancy:
        assert fast is None
    else:
        assert fast is None or fast == slow


def test_the_usual_leaves_take_the_fast_way() -> None:
    for name in ("a ballot as stored", "a council event in Ukrainian", "a float JCS writes the same way"):
        assert _sealed(PREV, 0, base64.b64encode(LEAVES[name]).decode()) is not None, name


def test_a_leaf_that_is_not_base64_is_named_as_before() -> None:
    assert _sealed(PREV, 0, "not base64!") is None
    with pytest.raises(Discrepancy, match=r"event 0 \(seq 1\): the leaf is not an event"):
        _sealed_slowly("session", PREV, 0, "not base64!")
    assert _sealed(GENESIS, 0, 42) is None
