"""The ledger's Merkle tree as RFC 9162 §2.1 defines it: hashes, proofs and their verification.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``, the empty tree's
root ``SHA-256("")``. A tree of n > 1 leaves splits at k, the largest power of two below n, so the
left part of every split is a *full, aligned* subtree: leaves ``[i * 2**j, (i + 1) * 2**j)``. Those
never change as the tree grows, so `MerkleTree` keeps them all (about 2n hashes) and a root or a proof
then costs O(log² n) hashes at most. `CompactRange` keeps only the O(log n) full subtrees on the
right edge: enough for a verifier streaming the leaves to know the root at any size.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and raises `ProofError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree with no leaves (RFC 9162 §2.1.1)."""


class ProofError(ValueError):
    """A proof that does not hold; ``code`` is stable: ``bad_range``, ``proof_too_long``,
    ``proof_too_short`` or ``root_mismatch``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): the RFC's k."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only list of leaf hashes with its roots and proofs at any size up to its length."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        # _levels[j][i] is the hash of the full subtree over leaves [i * 2**j, (i + 1) * 2**j);
        # _levels[0] holds the leaf hashes. Filled as leaves arrive: one node hash per leaf, amortised.
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaves)

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> None:
        """Add a leaf (its bytes, hashed here)."""
        self.append_hash(leaf_hash(leaf))

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add leaves in order."""
        for leaf in leaves:
            self.append_hash(leaf_hash(leaf))

    def append_hash(self, hash_: bytes) -> None:
        """Add a leaf by its leaf hash (32 bytes)."""
        if len(hash_) != 32:
            raise ValueError(f"a leaf hash is 32 bytes, not {len(hash_)}")
        level = 0
        while True:
            row = self._levels[level]
            row.append(hash_)
            if len(row) % 2:
                return
            hash_ = node_hash(row[-2], row[-1])
            level += 1
            if level == len(self._levels):
                self._levels.append([])

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = len(self) if size is None else self._check_size(size)
        return self._hash(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1): the sibling hashes from the leaf up to the root."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside a tree of size {size}")
        siblings = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._hash(lo, lo + k))
                lo += k
        siblings.reverse()
        return siblings

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1); empty when ``old`` is 0 or equals ``new``."""
        self._check_size(new)
        if not 0 <= old <= new:
            raise ValueError(f"old size {old} must be between 0 and the new size {new}")
        if old in (0, new):
            return []
        proof = []
        lo, hi, m = 0, new, old  # SUBPROOF(m, D[lo:hi], whole); m counts from lo
        whole = True  # the RFC's b: D[lo:lo + m] is still the whole old tree, whose root the verifier has
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._hash(lo, lo + k))
                lo, m, whole = lo + k, m - k, False
        if not whole:
            proof.append(self._hash(lo, hi))
        proof.reverse()
        return proof

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= len(self):
            raise ValueError(f"tree size {size} is outside 0..{len(self)}")
        return size

    def _hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for 0 <= lo < hi <= len(self), as reached by the RFC's recursion."""
        n = hi - lo
        if n & (n - 1) == 0:
            # A power of two: in the RFC's recursion such a range is always aligned, hence stored.
            level = n.bit_length() - 1
            return self._levels[level][lo >> level]
        k = _split(n)
        return node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))


class CompactRange:
    """The root of a growing tree from O(log n) hashes: the roots of its full subtrees, largest first."""

    def __init__(self) -> None:
        self._size = 0
        # One hash per set bit of _size: the full subtree of that many leaves, left to right.
        self._peaks: list[bytes] = []

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Add a leaf (its bytes, hashed here)."""
        self.append_hash(leaf_hash(leaf))

    def append_hash(self, hash_: bytes) -> None:
        """Add a leaf by its leaf hash (32 bytes)."""
        if len(hash_) != 32:
            raise ValueError(f"a leaf hash is 32 bytes, not {len(hash_)}")
        # Each trailing 1-bit of the old size is a peak of the same size as the one being carried.
        size = self._size
        while size & 1:
            hash_ = node_hash(self._peaks.pop(), hash_)
            size >>= 1
        self._peaks.append(hash_)
        self._size += 1

    def root(self) -> bytes:
        """MTH of all leaves appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        root = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            root = node_hash(peak, root)
        return root


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that the leaf with ``leaf_hash`` is at ``index`` in the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2; raises ProofError when it does not hold.
    """
    if not 0 <= index < size:
        raise ProofError("bad_range", f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("proof_too_long", f"{len(proof)} hashes are more than index {index} of size {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof_too_short", f"{len(proof)} hashes do not reach the root of size {size}")
    if r != root:
        raise ProofError("root_mismatch", f"the proof for index {index} leads to another root of size {size}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size`` with ``old_root``.

    RFC 9162 §2.1.4.2 for 0 < old < new. Equal sizes need an empty proof and equal roots; the empty
    tree (whose root must be EMPTY_ROOT) is extended by any tree, with an empty proof. Raises ProofError.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError("bad_range", f"old size {old_size} must be between 0 and the new size {new_size}")
    if old_size in (0, new_size):
        if proof:
            raise ProofError("proof_too_long", f"sizes {old_size} and {new_size} need an empty proof")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("root_mismatch", "the old root is not the empty tree's root")
        if old_size == new_size and old_root != new_root:
            raise ProofError("root_mismatch", f"two different roots for size {new_size}")
        return
    if not proof:
        raise ProofError("proof_too_short", "an empty proof between different sizes")
    # When the old tree is a full subtree the proof leaves its root out: the verifier has it.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof_too_long", f"more hashes than sizes {old_size} and {new_size} need")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof_too_short", f"too few hashes for sizes {old_size} and {new_size}")
    if fr != old_root:
        raise ProofError("root_mismatch", f"the proof does not lead to the old root of size {old_size}")
    if sr != new_root:
        raise ProofError("root_mismatch", f"the proof does not lead to the new root of size {new_size}")
