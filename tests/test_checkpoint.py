"""Signed checkpoints: the C2SP tlog-checkpoint body and signed-note format, Ed25519 keys.

Known answers are recomputed here from the specs' formulas with hashlib, base64 and the raw
`cryptography` Ed25519 key, not through voting.checkpoint.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from voting.checkpoint import MAX_SIGNATURES, Checkpoint, CheckpointError, NoteSigner, NoteVerifier, open_note

ORIGIN = "kvorum.example/rada/2025-03-14"
ROOT = hashlib.sha256(b"the ledger root").digest()
CHECKPOINT = Checkpoint(ORIGIN, 1234, ROOT)


def private_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    return f"\u2014 {name} {b64(key_id + signature)}\n"


LOG_KEY = private_key("log key 2025")
LOG = NoteSigner(ORIGIN, LOG_KEY)
BODY = f"{ORIGIN}\n1234\n{b64(ROOT)}\n"


def refused(code: str, note: str | bytes, verifiers: list[NoteVerifier]) -> CheckpointError:
    with pytest.raises(CheckpointError) as caught:
        open_note(note, verifiers)
    assert caught.value.code == code, caught.value
    return caught.value


def test_body_is_origin_size_and_base64_root_on_three_lines() -> None:
    assert CHECKPOINT.body() == BODY.encode()
    assert Checkpoint.parse(BODY.encode()) == CHECKPOINT
    assert Checkpoint("o", 0, bytes(32)).body() == b"o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


@given(
    origin=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_any_checkpoint_survives_signing_and_opening(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert open_note(LOG.sign(checkpoint), [LOG.verifier]) == (checkpoint, LOG.verifier)


def test_key_id_and_verifier_key_follow_the_signed_note_formula() -> None:
    public = raw_public(LOG_KEY)
    key_id = hashlib.sha256(ORIGIN.encode() + b"\x0a\x01" + public).digest()[:4]
    assert LOG.key_id == key_id
    encoded_key = b64(b"\x01" + public)
    assert LOG.vkey == f"{ORIGIN}+{key_id.hex()}+{encoded_key}"


def test_signed_note_is_body_blank_line_and_an_ed25519_signature_line_over_the_body() -> None:
    note = LOG.sign(CHECKPOINT)
    text, line = note.split("\n\n")
    assert text + "\n" == BODY
    assert line.startswith(f"\u2014 {ORIGIN} ") and line.endswith("\n")
    raw = base64.b64decode(line.removesuffix("\n").split(" ")[2], validate=True)
    assert len(raw) == 4 + 64
    assert raw[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw_public(LOG_KEY)).digest()[:4]
    LOG_KEY.public_key().verify(raw[4:], BODY.encode())  # raises InvalidSignature if it is not over the body


def test_a_note_opens_with_its_key_from_text_or_bytes() -> None:
    note = LOG.sign(CHECKPOINT)
    verifier = NoteVerifier.from_vkey(LOG.vkey)
    checkpoint, used = open_note(note, [verifier])
    assert checkpoint == CHECKPOINT
    assert used is verifier
    assert open_note(note.encode(), [verifier]) == (CHECKPOINT, verifier)


def test_verifier_key_round_trips() -> None:
    verifier = NoteVerifier.from_vkey(LOG.vkey)
    assert verifier.name == ORIGIN
    assert verifier.key_id == LOG.key_id
    assert verifier.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw) == raw_public(LOG_KEY)
    assert verifier.vkey == LOG.vkey


def vkey_with(name: str = ORIGIN, algorithm: bytes = b"\x01", key_id: str | None = None, length: int = 32) -> str:
    public = raw_public(LOG_KEY)[:length] + bytes(max(0, length - 32))
    if key_id is None:
        key_id = hashlib.sha256(name.encode() + b"\n" + algorithm + public).digest()[:4].hex()
    return f"{name}+{key_id}+{b64(algorithm + public)}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{ORIGIN}+{LOG.key_id.hex()}", "name\\+keyid\\+key"),
        (vkey_with(key_id="00000000"), "does not belong"),
        (vkey_with(key_id=LOG.key_id.hex().upper()), "lowercase hex"),
        (vkey_with(key_id=LOG.key_id.hex()[:6]), "lowercase hex"),
        (vkey_with(algorithm=b"\x04"), "not Ed25519"),
        (vkey_with(length=31), "32 bytes"),
        (vkey_with(length=33), "32 bytes"),
        (vkey_with(name="kvorum rada"), "key name"),
        (vkey_with(name=""), "key name"),
        (LOG.vkey + "!", "not base64"),
        (LOG.vkey[:-1], "not base64"),
    ],
    ids=[
        "two-parts",
        "wrong-id",
        "uppercase-id",
        "short-id",
        "algorithm",
        "short-key",
        "long-key",
        "space",
        "empty",
        "junk",
        "truncated",
    ],
)
def test_malformed_verifier_keys_are_refused(text: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason) as caught:
        NoteVerifier.from_vkey(text)
    assert caught.value.code == "malformed_key"


@pytest.mark.parametrize("name", ["", "kvorum rada", "kvorum+rada", "kvorum\u00a0rada", "kvorum\nrada"])
def test_a_signer_needs_a_valid_key_name(name: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        NoteSigner(name, LOG_KEY)
    assert caught.value.code == "malformed_key"


def test_a_note_signed_by_another_key_under_the_same_name_is_refused() -> None:
    impostor = NoteSigner(ORIGIN, private_key("impostor"))
    assert impostor.key_id != LOG.key_id
    error = refused("unknown_key", impostor.sign(CHECKPOINT), [LOG.verifier])
    assert "no signature from a known key" in str(error)


def test_a_signature_claiming_a_known_name_and_key_id_must_verify() -> None:
    forged = private_key("impostor").sign(BODY.encode())
    error = refused("bad_signature", BODY + "\n" + signature_line(ORIGIN, LOG.key_id, forged), [LOG.verifier])
    assert ORIGIN in str(error)


@pytest.mark.parametrize(
    "tampered",
    [
        ORIGIN.replace("14", "15") + "\n1234\n" + b64(ROOT) + "\n",
        ORIGIN + "\n1235\n" + b64(ROOT) + "\n",
        ORIGIN + "\n1234\n" + b64(hashlib.sha256(b"another history").digest()) + "\n",
    ],
    ids=["origin", "size", "root"],
)
def test_a_tampered_checkpoint_is_refused(tampered: str) -> None:
    note = LOG.sign(CHECKPOINT)
    refused("bad_signature", note.replace(BODY, tampered), [LOG.verifier])


def test_signatures_from_unknown_keys_are_ignored() -> None:
    note = LOG.sign(CHECKPOINT)
    witness = NoteSigner("witness.example/w1", private_key("witness"))
    witness_line = witness.sign(CHECKPOINT).split("\n\n")[1]
    # Unknown because only the name or only the key ID matches, or neither; one is post-quantum sized.
    same_id = signature_line("other.example", LOG.key_id, bytes(64))
    same_name = signature_line(ORIGIN, b"\xff\xff\xff\xff", bytes(64))
    huge = signature_line("pq.example/log", b"\x00\x00\x00\x01", bytes(2420))
    for extra in (witness_line, same_id, same_name, huge):
        assert open_note(note + extra, [LOG.verifier]) == (CHECKPOINT, LOG.verifier)
        before = BODY + "\n" + extra + note.split("\n\n")[1]
        assert open_note(before, [LOG.verifier]) == (CHECKPOINT, LOG.verifier)


def test_after_a_key_rotation_notes_signed_by_either_key_open() -> None:
    old = NoteSigner(ORIGIN, private_key("log key 2024"))
    new = LOG
    verifiers = [NoteVerifier.from_vkey(new.vkey), NoteVerifier.from_vkey(old.vkey)]
    assert open_note(old.sign(CHECKPOINT), verifiers) == (CHECKPOINT, verifiers[1])
    assert open_note(new.sign(CHECKPOINT), verifiers) == (CHECKPOINT, verifiers[0])
    both = new.sign(CHECKPOINT) + old.sign(CHECKPOINT).split("\n\n")[1]
    assert open_note(both, verifiers) == (CHECKPOINT, verifiers[0])
    refused("unknown_key", old.sign(CHECKPOINT), [verifiers[0]])


def test_one_bad_signature_from_a_known_key_refuses_the_note() -> None:
    note = LOG.sign(CHECKPOINT) + signature_line(ORIGIN, LOG.key_id, bytes(64))
    refused("bad_signature", note, [LOG.verifier])


def test_no_verifiers_means_no_checkpoint() -> None:
    refused("unknown_key", LOG.sign(CHECKPOINT), [])


SIGNED = LOG.sign(CHECKPOINT)
LINE = SIGNED.split("\n\n")[1]
TOO_MANY = "".join(signature_line(f"w{i}.example", b"\x00\x00\x00\x00", bytes(64)) for i in range(MAX_SIGNATURES))


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (BODY + LINE, "no blank line"),
        (BODY + "\n", "no signature lines"),
        (SIGNED.rstrip("\n"), "lacks its newline"),
        (SIGNED + "\n", "no signature lines"),
        (BODY + "\n" + "- " + LINE[2:], "em dash"),
        (BODY + "\n" + LINE.replace(" ", "", 1), "em dash"),
        (BODY + "\n" + LINE.replace(f"{ORIGIN} ", f"{ORIGIN}  "), "signature by"),
        (BODY + "\n\u2014 " + ORIGIN + "\n", "'— name signature'"),
        (BODY + "\n" + LINE[:-3] + "!!\n", "not base64"),
        (BODY + "\n" + LINE[:-2] + "\n", "not base64"),
        (BODY + "\n" + signature_line(ORIGIN, LOG.key_id, b""), "not base64 of a key ID"),
        (BODY + "\n" + signature_line(ORIGIN, LOG.key_id, bytes(63)), "not 64 bytes"),
        (BODY + "\n" + signature_line(ORIGIN, LOG.key_id, bytes(65)), "not 64 bytes"),
        (SIGNED + TOO_MANY, f"more than {MAX_SIGNATURES}"),
        (SIGNED.replace("1234", "12\t34"), "control character"),
        (SIGNED.replace("\n", "\r\n"), "control character"),
        (SIGNED.encode().replace(b"1234", b"12\xff4"), "not UTF-8"),
        (SIGNED.replace("1234", "12\ud8004"), "not valid Unicode"),
    ],
    ids=[
        "no-blank-line",
        "no-signatures",
        "no-final-newline",
        "trailing-blank-line",
        "hyphen",
        "no-space-after-dash",
        "two-spaces",
        "no-signature",
        "bad-base64",
        "unpadded-base64",
        "too-short",
        "63-byte-signature",
        "65-byte-signature",
        "too-many",
        "tab",
        "crlf",
        "bad-utf8",
        "surrogate",
    ],
)
def test_malformed_notes_are_refused(note: str | bytes, reason: str) -> None:
    assert reason in refused("malformed_note", note, [LOG.verifier]).message


def test_exactly_the_maximum_number_of_signatures_is_accepted() -> None:
    note = SIGNED + TOO_MANY.split("\n", 1)[1]
    assert note.count("\u2014") == MAX_SIGNATURES
    assert open_note(note, [LOG.verifier]) == (CHECKPOINT, LOG.verifier)


def sign_body(body: str) -> str:
    return body + "\n" + signature_line(ORIGIN, LOG.key_id, LOG_KEY.sign(body.encode()))


@pytest.mark.parametrize(
    "body",
    [
        BODY + "extension line\n",
        f"{ORIGIN}\n1234\n",
        f"\n1234\n{b64(ROOT)}\n",
        f"{ORIGIN}\n01234\n{b64(ROOT)}\n",
        f"{ORIGIN}\n+1234\n{b64(ROOT)}\n",
        f"{ORIGIN}\n-1\n{b64(ROOT)}\n",
        f"{ORIGIN}\n1 234\n{b64(ROOT)}\n",
        f"{ORIGIN}\n١٢٣٤\n{b64(ROOT)}\n",
        f"{ORIGIN}\n{2**64}\n{b64(ROOT)}\n",
        f"{ORIGIN}\n1234\n{b64(ROOT[:31])}\n",
        f"{ORIGIN}\n1234\n{b64(ROOT + b'x')}\n",
        f"{ORIGIN}\n1234\n{b64(ROOT).rstrip('=')}\n",
        f"{ORIGIN}\n1234\n{b64(ROOT)[:-2]}B=\n",
    ],
    ids=[
        "extension",
        "no-root",
        "empty-origin",
        "leading-zero",
        "plus-sign",
        "negative",
        "space",
        "arabic-digits",
        "over-64-bits",
        "short-root",
        "long-root",
        "unpadded-root",
        "non-canonical-root",
    ],
)
def test_a_signed_body_that_is_not_a_strict_checkpoint_is_refused(body: str) -> None:
    refused("malformed_checkpoint", sign_body(body), [LOG.verifier])
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body.encode())


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, ROOT),
        ("a\nb", 1, ROOT),
        ("a\tb", 1, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, 2**64, ROOT),
        (ORIGIN, True, ROOT),
        (ORIGIN, 1, ROOT[:31]),
        (ORIGIN, 1, ROOT.hex()),
    ],
    ids=["empty-origin", "newline", "tab", "negative", "too-big", "bool", "short-root", "hex-root"],
)
def test_a_checkpoint_that_cannot_be_written_is_refused(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError) as caught:
        Checkpoint(origin, size, root)
    assert caught.value.code == "malformed_checkpoint"
