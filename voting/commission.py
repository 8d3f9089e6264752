"""The counting commission's key (issue 20): k of its n members are needed to count, and no k − 1 of them,
nor the server, learn anything — joint Feldman verifiable secret sharing (Pedersen's distributed key
generation), as Belenios's threshold mode does, over ``voting.group``.

Members are numbered 1…n in the order the council elected them. Each member i, on its own tablet:

1. ``commit``: draws a polynomial f_i of degree k − 1 and a transport key t_i; publishes the commitments
   C_il = a_il·G to its coefficients and T_i = t_i·G, each with a Schnorr proof of knowledge.
2. ``deal``: for every other member j, its share f_i(j), encrypted to T_j: an ephemeral E = eG and
   f_i(j) XOR the first 32 bytes of SHA-512 over (the domain "pad", the context, i, j, E, e·T_j).
3. ``receive``: decrypts what each other member dealt it and checks it against their commitments
   (f_i(j)·G = Σ_l j^l·C_il); its share is s_j = Σ_i f_i(j); it publishes a proof of knowing s_j for its
   public share S_j = Σ_i Σ_l j^l·C_il, which anyone computes from the commitments. A share that does not
   check is a ``complaint``: the member reveals e·T_j with a proof that it is the right one, so anyone can
   decrypt that share and see that it does not match — the dealer is named, the key is made again without it.

The election key is K = Σ_i C_i0; the secret behind it exists nowhere, only its shares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voting import group as g
from voting.ballot import b64url, from_b64url
from voting.secret import SecretBallotError, prove_equal_logs, prove_knowledge, verify_equal_logs, verify_knowledge

__all__ = [
    "Dealt",
    "MemberSecret",
    "check_commitment",
    "check_complaint",
    "check_deal",
    "check_ready",
    "commit",
    "complain",
    "deal",
    "election_key",
    "open_share",
    "public_share",
    "ready",
    "receive",
]


@dataclass(slots=True)
class MemberSecret:
    """What stays on the member's tablet: its polynomial's coefficients and transport key, then its share."""

    index: int
    coefficients: list[bytes]
    transport: bytes
    share: bytes | None = None
    received: dict[int, bytes] = field(default_factory=dict)


def _fail(message: str) -> SecretBallotError:
    return SecretBallotError("invalid_commission_key", message)


def _number(value: Any) -> int:
    """A member's number: an integer from 1 (JSON ``true`` is not one, though Python takes it for 1)."""
    if type(value) is not int or value < 1:
        raise _fail("a member's number is an integer from 1")
    return value


def _exactly(published: Mapping[str, Any], keys: set[str], what: str) -> None:
    """The published step holds exactly the format's fields (nothing else rides into the log)."""
    if not isinstance(published, Mapping) or set(published) != keys:
        raise _fail(f"{what} holds {', '.join(sorted(keys))}, nothing else")


def _b(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _fail("a value is not base64url text")
    try:
        return from_b64url(value)
    except ValueError:
        raise _fail("a value is not base64url") from None


def _proof(value: Any) -> tuple[bytes, bytes]:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail("a proof is two scalars")
    try:
        return g.scalar(_b(value[0])), g.scalar(_b(value[1]))
    except g.GroupError:
        raise _fail("a proof holds a value that is not a scalar") from None


def _point(value: Any) -> bytes:
    try:
        return g.point(_b(value))
    except g.GroupError:
        raise _fail("a value is not a point of the group") from None


def commit(context: str, index: int, threshold: int) -> tuple[MemberSecret, dict[str, Any]]:
    """Member ``index``'s polynomial of degree ``threshold`` − 1 and transport key; what it publishes."""
    if threshold < 1 or index < 1:
        raise ValueError("threshold and index start at 1")
    coefficients = [g.random_scalar() for _ in range(threshold)]
    transport = g.random_scalar()
    parts = [context, str(index)]
    published = {
        "member": index,
        "commitments": [b64url(g.base(a)) for a in coefficients],
        "transport": b64url(g.base(transport)),
        "proofs": {
            "key": [b64url(x) for x in prove_knowledge("coefficient", parts, coefficients[0])],
            "transport": [b64url(x) for x in prove_knowledge("transport", parts, transport)],
        },
    }
    return MemberSecret(index, coefficients, transport), published


@dataclass(frozen=True, slots=True)
class Commitment:
    """A member's checked ``commit``: its coefficients' commitments and transport key."""

    index: int
    commitments: tuple[bytes, ...]
    transport: bytes


def check_commitment(context: str, published: Mapping[str, Any], threshold: int) -> Commitment:
    """A member's ``commit`` once its proofs check; SecretBallotError ``invalid_commission_key`` else."""
    _exactly(published, {"member", "commitments", "transport", "proofs"}, "a commitment")
    index = _number(published.get("member"))
    raw = published.get("commitments")
    proofs = published.get("proofs")
    if not isinstance(raw, list) or len(raw) != threshold:
        raise _fail(f"a member commits to {threshold} coefficients")
    if not isinstance(proofs, Mapping) or set(proofs) != {"key", "transport"}:
        raise _fail("the commitment carries its two proofs, nothing else")
    commitments = tuple(_point(c) for c in raw)
    transport = _point(published.get("transport"))
    parts = [context, str(index)]
    if not verify_knowledge("coefficient", parts, commitments[0], _proof(proofs.get("key"))):
        raise _fail(f"member {index} does not prove its key")
    if not verify_knowledge("transport", parts, transport, _proof(proofs.get("transport"))):
        raise _fail(f"member {index} does not prove its transport key")
    return Commitment(index, commitments, transport)


def _evaluate(coefficients: Sequence[bytes], x: int) -> bytes:
    """f(x) = Σ a_l x^l mod ℓ (Horner, libsodium's scalar operations)."""
    result = g.ZERO
    for a in reversed(coefficients):
        result = g.s_add(g.s_mul(result, g.scalar_of(x)), a)
    return result


def _expected(commitments: Sequence[bytes], x: int) -> bytes:
    """Σ_l x^l·C_l: f(x)·G as the commitments say it."""
    result = g.IDENTITY
    for c in reversed(commitments):
        result = g.add(g.mul(g.scalar_of(x), result), c)
    return result


def _pad(context: str, dealer: int, to: int, ephemeral: bytes, shared: bytes) -> bytes:
    data = g.frame(g.DOMAIN + "pad") + b"".join(g.frame(p) for p in (context, str(dealer), str(to), ephemeral, shared))
    return hashlib.sha512(data).digest()[:32]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


@dataclass(frozen=True, slots=True)
class Dealt:
    """A share dealt to member ``to``: the ephemeral point and the padded share."""

    to: int
    ephemeral: bytes
    sealed: bytes


def deal(context: str, secret: MemberSecret, others: Sequence[Commitment]) -> dict[str, Any]:
    """The member's shares for every other member, each encrypted to its transport key (JSON)."""
    shares = []
    for other in others:
        if other.index == secret.index:
            continue
        e = g.random_scalar()
        ephemeral = g.base(e)
        pad = _pad(context, secret.index, other.index, ephemeral, g.mul(e, other.transport))
        sealed = _xor(_evaluate(secret.coefficients, other.index), pad)
        shares.append({"to": other.index, "ephemeral": b64url(ephemeral), "sealed": b64url(sealed)})
    return {"member": secret.index, "shares": shares}


def check_deal(published: Mapping[str, Any], index: int, others: Sequence[int]) -> None:
    """A member's ``deal``: exactly one share for each other member, each an ephemeral point and 32 bytes."""
    _exactly(published, {"member", "shares"}, "a deal")
    if _number(published.get("member")) != index:
        raise _fail(f"the deal names member {published.get('member')}, not {index}")
    shares = published.get("shares")
    if not isinstance(shares, list) or len(shares) != len(others):
        raise _fail(f"a member deals {len(others)} shares")
    for share in shares:
        if not isinstance(share, Mapping) or set(share) != {"to", "ephemeral", "sealed"}:
            raise _fail("a dealt share holds to, ephemeral and sealed, nothing else")
        _number(share.get("to"))
    if sorted(share["to"] for share in shares) != sorted(others):
        raise _fail("a member deals one share to each other member")
    for j in others:
        dealt_to(published, j)


def dealt_to(published: Mapping[str, Any], to: int) -> Dealt:
    """The share a dealer's ``deal`` holds for member ``to``."""
    shares = published.get("shares")
    for share in shares if isinstance(shares, list) else ():
        if isinstance(share, Mapping) and type(share.get("to")) is int and share.get("to") == to:
            sealed = _b(share.get("sealed"))
            if len(sealed) != 32:
                raise _fail("a sealed share is 32 bytes")
            return Dealt(to, _point(share.get("ephemeral")), sealed)
    raise _fail(f"member {published.get('member')} dealt no share to member {to}")


def open_share(context: str, dealer: int, dealt: Dealt, shared: bytes) -> bytes | None:
    """The share ``dealt`` opened with the Diffie–Hellman point ``shared`` = t_to·E; None if it is not a scalar."""
    try:
        return g.scalar(_xor(dealt.sealed, _pad(context, dealer, dealt.to, dealt.ephemeral, shared)))
    except g.GroupError:
        return None


def receive(
    context: str, secret: MemberSecret, commitments: Sequence[Commitment], deals: Mapping[int, Mapping[str, Any]]
) -> list[int]:
    """Open and check every share dealt to this member (``deals``: dealer index → its ``deal``); keep the
    member's share when all check. The dealers whose shares do not check (empty when all do)."""
    bad = []
    own = _evaluate(secret.coefficients, secret.index)
    received = {secret.index: own}
    for dealer in commitments:
        if dealer.index == secret.index:
            continue
        dealt = dealt_to(deals[dealer.index], secret.index)
        value = open_share(context, dealer.index, dealt, g.mul(secret.transport, dealt.ephemeral))
        if value is None or g.base(value) != _expected(dealer.commitments, secret.index):
            bad.append(dealer.index)
            continue
        received[dealer.index] = value
    secret.received = received
    if not bad:
        share = g.ZERO
        for value in received.values():
            share = g.s_add(share, value)
        secret.share = share
    return bad


def election_key(commitments: Sequence[Commitment]) -> bytes:
    """K = Σ_i C_i0."""
    return g.total(c.commitments[0] for c in commitments)


def public_share(commitments: Sequence[Commitment], index: int) -> bytes:
    """S_j = Σ_i Σ_l j^l·C_il: member ``index``'s share times G, as anyone computes it."""
    return g.total(_expected(c.commitments, index) for c in commitments)


def ready(context: str, secret: MemberSecret) -> dict[str, Any]:
    """The member holds its share: a Schnorr proof of knowing s_j (JSON)."""
    if secret.share is None:
        raise ValueError("the member's shares did not all check")
    proof = prove_knowledge("share", [context, str(secret.index)], secret.share)
    return {"member": secret.index, "proof": [b64url(x) for x in proof]}


def check_ready(context: str, commitments: Sequence[Commitment], published: Mapping[str, Any]) -> int:
    """The member's ``ready`` once its proof of knowing its share checks; its index."""
    _exactly(published, {"member", "proof"}, "ready")
    index = _number(published.get("member"))
    if index not in {c.index for c in commitments}:
        raise _fail("ready names no member of the commission")
    if not verify_knowledge(
        "share", [context, str(index)], public_share(commitments, index), _proof(published.get("proof"))
    ):
        raise _fail(f"member {index} does not prove it holds its share")
    return index


def complain(context: str, secret: MemberSecret, dealer: int, deals: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Member ``secret``'s complaint against ``dealer``: the Diffie–Hellman point that opens the share dealt to
    it, with a proof that it is t·E for its own transport key T = tG (JSON)."""
    dealt = dealt_to(deals[dealer], secret.index)
    shared = g.mul(secret.transport, dealt.ephemeral)
    proof = prove_equal_logs(
        "complaint", [context, str(dealer), str(secret.index)], secret.transport, g.BASE, dealt.ephemeral
    )
    return {"member": secret.index, "against": dealer, "shared": b64url(shared), "proof": [b64url(x) for x in proof]}


def check_complaint(
    context: str,
    commitments: Mapping[int, Commitment],
    deals: Mapping[int, Mapping[str, Any]],
    published: Mapping[str, Any],
) -> bool:
    """Whether the complaint is founded: the revealed point is proved, and the share it opens does not match
    the dealer's commitments (True: the dealer cheated; False: the complaint is false)."""
    _exactly(published, {"member", "against", "shared", "proof"}, "a complaint")
    member, dealer = _number(published.get("member")), _number(published.get("against"))
    if member not in commitments or dealer not in commitments or member == dealer:
        raise _fail("a complaint names two members of the commission")
    dealt = dealt_to(deals[dealer], member)
    shared = _point(published.get("shared"))
    parts = [context, str(dealer), str(member)]
    if not verify_equal_logs(
        "complaint",
        parts,
        g.BASE,
        commitments[member].transport,
        dealt.ephemeral,
        shared,
        _proof(published.get("proof")),
    ):
        raise _fail(f"member {member}'s complaint is not proved")
    value = open_share(context, dealer, dealt, shared)
    return value is None or g.base(value) != _expected(commitments[dealer].commitments, member)
