"""Ballot bytes, base64url, client data and signature checks: the quick ways agree with the general ones."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fido2 import cbor
from fido2.cose import ES256, EdDSA

from voting.ballot import (
    BALLOT_VERSION,
    Assertion,
    BallotRefused,
    b64url,
    ballot_bytes,
    check_signature,
    from_b64url,
    prepare_assertion,
)
from voting.ballot import _client_fields as client_fields

STRINGS = ["d07", "", "Олена", 'a"b\\c\n\t\u0001\u007f', "\U0001f600 emoji", "\u2028\u2029", "</script>"]


@pytest.mark.parametrize("text", STRINGS)
def test_ballot_bytes_are_rfc8785_whatever_the_strings(text: str) -> None:
    fields = {"council": text, "session": "s", "vote": "v1", "item": text, "deputy": "d07", "choice": "for"}
    expected = rfc8785.dumps({"v": BALLOT_VERSION, "nonce": text, **fields})
    assert ballot_bytes(nonce=text, **fields) == expected


def test_ballot_bytes_of_other_values_take_the_general_way() -> None:
    fields: dict[str, Any] = {"council": 7, "session": "s", "vote": "v1", "item": "i1", "deputy": "d07"}
    assert ballot_bytes(choice="for", nonce="n", **fields) == rfc8785.dumps(
        {"v": 1, "choice": "for", "nonce": "n", **fields}
    )
    with pytest.raises(ValueError):  # a lone surrogate is no JSON text, whichever way
        ballot_bytes(choice="for", nonce="\ud800", **{**fields, "council": "c"})


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("", b""),
        ("AQ", b"\x01"),
        ("AQ==", b"\x01"),
        ("AQI", b"\x01\x02"),
        ("-_-_", base64.b64decode("+/+/")),
        ("AQID", b"\x01\x02\x03"),
    ],
)
def test_base64url_decodes_with_or_without_padding(text: str, result: bytes) -> None:
    assert from_b64url(text) == result
    assert from_b64url(b64url(result)) == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("+/AA", "not a base64url string: '+' or '/'"),
        ("A/", "not a base64url string: '+' or '/'"),
        ("Олена", "not a base64url string"),
        (None, "not a base64url string"),
        ("A", "not a base64url string: "),
        ("A!==", "not a base64url string: "),
        ("AQ=A", "not a base64url string: "),
    ],
)
def test_base64url_refuses_everything_else_with_its_reason(text: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        from_b64url(text)
    assert str(info.value).startswith(message)


def test_an_assertion_with_a_bad_field_is_malformed_however_often_its_credential_appears() -> None:
    good = {"credential": "Y3JlZA", "authenticator_data": "YQ", "client_data_json": "e30", "signature": "cw"}
    for _ in range(2):
        assert Assertion.from_json(good).credential == "Y3JlZA"
    for bad in ({**good, "credential": "Y3J+ZA"}, {**good, "credential": ["Y3JlZA"]}, {**good, "signature": "c!"}):
        with pytest.raises(BallotRefused, match="assertion_invalid: the assertion is malformed: not a base64url"):
            Assertion.from_json(bad)


CLIENT_DATA = [
    b'{"type":"webauthn.get","challenge":"AQ","origin":"https://rada.example"}',
    b'{"type":"a","type":"b"}',
    b'\xef\xbb\xbf{"type":"webauthn.get"}',
    '{"type":"webauthn.get"}'.encode("utf-16"),
    b'{"x": NaN, "type": 1e400}',
    b'{"type":"\\ud800"}',
    b'{"type": 123456789012345678901234567890, "challenge": "", "origin": ""}',
    b'{"type": "webauthn.get", "challenge": "AQ", "origin": 1.5}',
    b'{"type": "webauthn.get", "challenge": "AQ"}',
    b"[1, 2]",
    b'{"a": "\xff"}',
    b"{not json",
    b"",
]


@pytest.mark.parametrize("raw", CLIENT_DATA)
def test_client_data_is_read_exactly_as_json_reads_it(raw: bytes) -> None:
    try:
        client = json.loads(raw)
        expected = client["type"], client["challenge"], client["origin"]
    except (ValueError, TypeError, KeyError) as exc:
        with pytest.raises(type(exc)):
            client_fields(raw)
    else:
        assert repr(client_fields(raw)) == repr(expected)


def _cose_es256(key: ec.EllipticCurvePrivateKey) -> bytes:
    return bytes(cbor.encode(ES256.from_cryptography_key(key.public_key())))


def test_signatures_by_every_kind_of_enrolled_key_verify_and_a_changed_byte_does_not() -> None:
    data = b"authenticator data" + hashlib.sha256(b"client data").digest()
    p256 = ec.generate_private_key(ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    keys = [
        (_cose_es256(p256), p256.sign(data, ec.ECDSA(hashes.SHA256()))),
        (bytes(cbor.encode(EdDSA.from_cryptography_key(ed.public_key()))), ed.sign(data)),  # webauthn's own check
    ]
    for cose, signature in keys:
        for _ in range(2):  # the key decoded once, then reused
            check_signature(cose, signature, data)
        for bad_signature, bad_data in ((signature[:-1] + bytes([signature[-1] ^ 1]), data), (signature, data + b"!")):
            with pytest.raises(BallotRefused, match="signature_invalid"):
                check_signature(cose, bad_signature, bad_data)


def test_a_prepared_assertion_is_the_whole_check_but_the_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    from voting.ballot import Credential, ballot_challenge

    ballot = b'{"ballot":1}'
    authenticator = hashlib.sha256(b"rada.example").digest() + bytes([0x05]) + (7).to_bytes(4, "big")
    client = json.dumps(
        {"type": "webauthn.get", "challenge": b64url(ballot_challenge(ballot)), "origin": "https://rada.example"}
    ).encode()
    signature = key.sign(authenticator + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
    credential = Credential(id="Y3JlZA", deputy="d07", public_key=_cose_es256(key))
    assertion = Assertion("Y3JlZA", authenticator, client, signature)
    prepared = prepare_assertion(ballot, assertion, credential, rp_id="rada.example", origins=["https://rada.example"])
    assert prepared.sign_count == 7
    prepared.verify()
    with pytest.raises(BallotRefused, match="rp_id_mismatch"):
        prepare_assertion(ballot, assertion, credential, rp_id="other.example", origins=["https://rada.example"])
    with pytest.raises(BallotRefused, match="challenge_mismatch"):
        prepare_assertion(b"{}", assertion, credential, rp_id="rada.example", origins=["https://rada.example"])
