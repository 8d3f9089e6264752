"""Secret ballots (issue 20): exponential ElGamal under the counting commission's key, with the
zero-knowledge proofs that let anyone check the count without learning a choice — the design of Helios and
Belenios, over the group of ``voting.group``.

A ballot encrypts, for each option in ``OPTIONS`` order, m = 1 for the chosen one and 0 for the others:
(A, B) = (rG, rK + mG) under the election key K. Each option carries a disjunctive Chaum–Pedersen proof
(Cramer–Damgård–Schoenmakers) that it encrypts 0 or 1, and the ballot one Chaum–Pedersen proof that the
options sum to exactly 1. Every challenge names the vote (``context``), the deputy and the key, so a
ballot proves nothing in another vote or in another deputy's name.

At the close the ciphertexts of the counted ballots are added option by option (``multiply``, in the
multiplicative words of the literature: ElGamal's homomorphism); at least k commission members each give
``partial`` decryptions D = s·ΣA with a proof that they used the share s behind their public share S = sG;
``combine`` takes any k of them with Lagrange coefficients at 0 and finds the count t of tG = ΣB − Σλ·D
(t is at most the number of ballots). The formats are in docs/ledger.md "Secret ballots".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from voting import group as g
from voting.ballot import b64url, from_b64url

__all__ = [
    "OPTIONS",
    "Ciphertext",
    "SecretBallotError",
    "check_ballot",
    "check_partial",
    "combine",
    "encrypt_ballot",
    "lagrange_at_zero",
    "multiply",
    "partial",
    "prove_equal_logs",
    "prove_knowledge",
    "verify_equal_logs",
    "verify_knowledge",
]

OPTIONS: Final = ("for", "against", "abstain")
"""The options a secret ballot encrypts, in this order."""
VERSION: Final = 1


class SecretBallotError(ValueError):
    """A ballot, proof or decryption that does not check; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """An exponential-ElGamal ciphertext (A, B) = (rG, rK + mG)."""

    a: bytes
    b: bytes

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(g.add(self.a, other.a), g.add(self.b, other.b))


# ---- proofs ------------------------------------------------------------------------------------------


def prove_knowledge(label: str, parts: Sequence[bytes | str], x: bytes) -> tuple[bytes, bytes]:
    """Schnorr: knowing x with X = xG; the challenge hashes ``parts``, X and the commitment."""
    w = g.random_scalar()
    c = g.challenge(label, *parts, g.base(x), g.base(w))
    return c, g.s_add(w, g.s_mul(c, x))


def verify_knowledge(label: str, parts: Sequence[bytes | str], public: bytes, proof: tuple[bytes, bytes]) -> bool:
    c, s = proof
    commitment = g.sub(g.base(s), g.mul(c, public))
    return g.challenge(label, *parts, public, commitment) == c


def prove_equal_logs(label: str, parts: Sequence[bytes | str], x: bytes, g1: bytes, g2: bytes) -> tuple[bytes, bytes]:
    """Chaum–Pedersen: the same x in X1 = x·g1 and X2 = x·g2."""
    w = g.random_scalar()
    x1, x2 = g.mul(x, g1), g.mul(x, g2)
    c = g.challenge(label, *parts, g1, x1, g2, x2, g.mul(w, g1), g.mul(w, g2))
    return c, g.s_add(w, g.s_mul(c, x))


def verify_equal_logs(
    label: str, parts: Sequence[bytes | str], g1: bytes, x1: bytes, g2: bytes, x2: bytes, proof: tuple[bytes, bytes]
) -> bool:
    c, s = proof
    t1 = g.sub(g.mul(s, g1), g.mul(c, x1))
    t2 = g.sub(g.mul(s, g2), g.mul(c, x2))
    return g.challenge(label, *parts, g1, x1, g2, x2, t1, t2) == c


def _bit_parts(context: str, deputy: str, key: bytes, index: int, ct: Ciphertext) -> list[bytes | str]:
    return [context, deputy, key, str(index), ct.a, ct.b]


def _prove_bit(
    parts: Sequence[bytes | str], key: bytes, ct: Ciphertext, m: int, r: bytes
) -> tuple[bytes, bytes, bytes, bytes]:
    """CDS: (A, B) encrypts 0 or 1 — the real branch m, the other simulated. ``(c0, c1, s0, s1)``."""
    other = 1 - m
    c_sim, s_sim = g.random_scalar(), g.random_scalar()
    shifted = g.sub(ct.b, g.BASE) if other == 1 else ct.b  # B − other·G
    sim = (g.sub(g.base(s_sim), g.mul(c_sim, ct.a)), g.sub(g.mul(s_sim, key), g.mul(c_sim, shifted)))
    w = g.random_scalar()
    real = (g.base(w), g.mul(w, key))
    t0, t1 = (real, sim) if m == 0 else (sim, real)
    c = g.challenge("bit", *parts, *t0, *t1)
    c_real = g.s_sub(c, c_sim)
    s_real = g.s_add(w, g.s_mul(c_real, r))
    return (c_real, c_sim, s_real, s_sim) if m == 0 else (c_sim, c_real, s_sim, s_real)


def _verify_bit(parts: Sequence[bytes | str], key: bytes, ct: Ciphertext, proof: Sequence[bytes]) -> bool:
    c0, c1, s0, s1 = proof
    t0 = (g.sub(g.base(s0), g.mul(c0, ct.a)), g.sub(g.mul(s0, key), g.mul(c0, ct.b)))
    shifted = g.sub(ct.b, g.BASE)
    t1 = (g.sub(g.base(s1), g.mul(c1, ct.a)), g.sub(g.mul(s1, key), g.mul(c1, shifted)))
    return g.challenge("bit", *parts, *t0, *t1) == g.s_add(c0, c1)


# ---- ballots -----------------------------------------------------------------------------------------


def encrypt_ballot(key: bytes, choice: str, context: str, deputy: str) -> dict[str, Any]:
    """The encrypted ballot of ``deputy`` choosing ``choice`` in the vote ``context`` under ``key`` (JSON)."""
    if choice not in OPTIONS:
        raise ValueError(f"not an option: {choice!r}")
    g.point(key)
    options, randomness, cts = [], [], []
    for index, option in enumerate(OPTIONS):
        m = int(option == choice)
        r = g.random_scalar()
        ct = Ciphertext(g.base(r), g.add(g.mul(r, key), g.BASE) if m else g.mul(r, key))
        proof = _prove_bit(_bit_parts(context, deputy, key, index, ct), key, ct, m, r)
        options.append({"a": b64url(ct.a), "b": b64url(ct.b), "proof": [b64url(p) for p in proof]})
        randomness.append(r)
        cts.append(ct)
    total = _sum(cts)
    r_total = randomness[0]
    for r in randomness[1:]:
        r_total = g.s_add(r_total, r)
    one = prove_equal_logs("one", [context, deputy], r_total, g.BASE, key)
    # (the statement: ΣA = R·G and ΣB − G = R·K; the proof's own parts carry G, ΣA, K, ΣB − G)
    assert g.sub(total.b, g.BASE) == g.mul(r_total, key)
    return {"v": VERSION, "options": options, "sum_proof": [b64url(one[0]), b64url(one[1])]}


def _sum(cts: Sequence[Ciphertext]) -> Ciphertext:
    result = cts[0]
    for ct in cts[1:]:
        result = result + ct
    return result


def _b(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise SecretBallotError("invalid_secret_ballot", f"{what} is not base64url text")
    try:
        return from_b64url(value)
    except ValueError:
        raise SecretBallotError("invalid_secret_ballot", f"{what} is not base64url") from None


def _scalars(values: Any, count: int, what: str) -> list[bytes]:
    if not isinstance(values, list) or len(values) != count:
        raise SecretBallotError("invalid_secret_ballot", f"{what} must be {count} scalars")
    try:
        return [g.scalar(_b(v, what)) for v in values]
    except g.GroupError:
        raise SecretBallotError("invalid_secret_ballot", f"{what} holds a value that is not a scalar") from None


def ciphertexts(ballot: Mapping[str, Any]) -> list[Ciphertext]:
    """The ballot's ciphertexts, one per option, each a valid pair of points; SecretBallotError else. Exactly
    the fields of the format: nothing else (a plaintext beside the ciphertexts, say) rides into the log."""
    options = ballot.get("options") if isinstance(ballot, Mapping) else None
    if ballot.get("v") != VERSION or not isinstance(options, list) or len(options) != len(OPTIONS):
        raise SecretBallotError("invalid_secret_ballot", f"a secret ballot has v {VERSION} and {len(OPTIONS)} options")
    if set(ballot) != {"v", "options", "sum_proof"}:
        raise SecretBallotError("invalid_secret_ballot", "a secret ballot holds v, options and sum_proof, nothing else")
    found = []
    for option in options:
        if not isinstance(option, Mapping) or set(option) != {"a", "b", "proof"}:
            raise SecretBallotError("invalid_secret_ballot", "an option holds a, b and proof, nothing else")
        try:
            found.append(Ciphertext(g.point(_b(option.get("a"), "a")), g.point(_b(option.get("b"), "b"))))
        except g.GroupError:
            raise SecretBallotError("invalid_secret_ballot", "a ciphertext holds a value that is not a point") from None
    return found


def check_ballot(key: bytes, ballot: Mapping[str, Any], context: str, deputy: str) -> list[Ciphertext]:
    """The ballot's ciphertexts once every proof checks: each option encrypts 0 or 1, and they sum to 1.
    SecretBallotError ``invalid_secret_ballot`` (malformed) or ``secret_ballot_proof`` (a proof fails)."""
    cts = ciphertexts(ballot)
    for index, (ct, option) in enumerate(zip(cts, ballot["options"], strict=True)):
        proof = _scalars(option.get("proof"), 4, "an option's proof")
        if not _verify_bit(_bit_parts(context, deputy, key, index, ct), key, ct, proof):
            raise SecretBallotError("secret_ballot_proof", f"option {OPTIONS[index]!r} is not proved to be 0 or 1")
    c, s = _scalars(ballot.get("sum_proof"), 2, "the sum proof")
    total = _sum(cts)
    if not verify_equal_logs("one", [context, deputy], g.BASE, total.a, key, g.sub(total.b, g.BASE), (c, s)):
        raise SecretBallotError("secret_ballot_proof", "the options are not proved to sum to exactly one")
    return cts


def multiply(ballots: Sequence[Sequence[Ciphertext]]) -> list[Ciphertext]:
    """The options' ciphertexts added over ``ballots`` (each a ballot's ciphertexts in ``OPTIONS`` order):
    an encryption of each option's count. None: encryptions of 0 with no randomness (A = identity)."""
    product = [Ciphertext(g.IDENTITY, g.IDENTITY) for _ in OPTIONS]
    for cts in ballots:
        product = [p + c for p, c in zip(product, cts, strict=True)]
    return product


# ---- the count ---------------------------------------------------------------------------------------


def _decryption_parts(context: str, index: int) -> list[bytes | str]:
    return [context, str(index)]


def partial(share: bytes, index: int, product: Sequence[Ciphertext], context: str) -> dict[str, Any]:
    """A commission member's partial decryption of the product: D = s·ΣA per option with its proof that
    log_G(S) = log_ΣA(D) for the member's public share S = sG (JSON)."""
    out: list[dict[str, Any] | None] = []
    for ct in product:
        if ct.a == g.IDENTITY:  # nothing masks ΣB: it is counted as it is (``combine``)
            out.append(None)
            continue
        d = g.mul(share, ct.a)
        c, s = prove_equal_logs("decryption", _decryption_parts(context, index), share, g.BASE, ct.a)
        out.append({"d": b64url(d), "proof": [b64url(c), b64url(s)]})
    return {"v": VERSION, "member": index, "options": out}


def check_partial(
    public_share: bytes, index: int, product: Sequence[Ciphertext], decryption: Mapping[str, Any], context: str
) -> list[bytes]:
    """The member's D per option once every proof checks; SecretBallotError ``invalid_decryption`` else."""
    options = decryption.get("options") if isinstance(decryption, Mapping) else None
    if decryption.get("v") != VERSION or not isinstance(options, list) or len(options) != len(product):
        raise SecretBallotError("invalid_decryption", f"a partial decryption has {len(product)} options")
    if set(decryption) != {"v", "member", "options"} or type(decryption["member"]) is not int:
        raise SecretBallotError("invalid_decryption", "a partial decryption holds v, member and options, nothing else")
    if decryption["member"] != index:
        raise SecretBallotError(
            "invalid_decryption", f"the decryption names member {decryption['member']}, not {index}"
        )
    found = []
    for ct, option in zip(product, options, strict=True):
        if ct.a == g.IDENTITY:  # nothing masks this option's ΣB: no share of it, counted as it is
            if option is not None:
                raise SecretBallotError("invalid_decryption", "an option with nothing to decrypt takes no share")
            found.append(g.IDENTITY)
            continue
        if not isinstance(option, Mapping) or set(option) != {"d", "proof"}:
            raise SecretBallotError("invalid_decryption", "a decryption's option holds d and proof, nothing else")
        try:
            d = g.point(_b(option.get("d"), "d"))
            c, s = _scalars(option.get("proof"), 2, "a decryption proof")
        except (g.GroupError, SecretBallotError, AttributeError):
            raise SecretBallotError("invalid_decryption", "a partial decryption is malformed") from None
        if not verify_equal_logs(
            "decryption", _decryption_parts(context, index), g.BASE, public_share, ct.a, d, (c, s)
        ):
            raise SecretBallotError("invalid_decryption", f"member {index}'s decryption is not proved")
        found.append(d)
    return found


def lagrange_at_zero(indices: Sequence[int]) -> dict[int, bytes]:
    """λ_j = Π_{m ≠ j} m / (m − j) mod ℓ for each index j of ``indices`` (distinct, from 1)."""
    if len(set(indices)) != len(indices) or min(indices, default=1) < 1:
        raise ValueError("indices must be distinct and positive")
    out = {}
    for j in indices:
        num, den = g.scalar_of(1), g.scalar_of(1)
        for m in indices:
            if m != j:
                num = g.s_mul(num, g.scalar_of(m))
                den = g.s_mul(den, g.s_sub(g.scalar_of(m), g.scalar_of(j)))
        out[j] = g.s_mul(num, g.s_inv(den))
    return out


def combine(product: Sequence[Ciphertext], decryptions: Mapping[int, Sequence[bytes]], ballots: int) -> list[int]:
    """Each option's count from the product and the partial decryptions of k members (index → D per option,
    each already checked): tG = ΣB − Σ λ_j D_j, t in 0…``ballots``. SecretBallotError ``count_not_found``
    when no such t exists (decryptions of too few or of the wrong members)."""
    weights = lagrange_at_zero(list(decryptions))
    table = {g.IDENTITY: 0}
    point = g.IDENTITY
    for t in range(1, ballots + 1):
        point = g.add(point, g.BASE)
        table[point] = t
    counts = []
    for o, ct in enumerate(product):
        shared = g.total(g.mul(weights[j], ds[o]) for j, ds in decryptions.items())
        m = g.sub(ct.b, shared)
        if m not in table:
            raise SecretBallotError("count_not_found", f"option {OPTIONS[o]!r} decrypts to no count up to {ballots}")
        counts.append(table[m])
    return counts
