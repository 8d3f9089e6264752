"""The ledger's Merkle tree against RFC 9162 §2.1, read straight from the RFC's recursive definitions.

The references below hash with hashlib directly and recurse exactly as the RFC writes MTH, PATH and
PROOF/SUBPROOF, so they share no code with voting.merkle. Only one known answer is used: the empty
tree's root, SHA-256 of nothing.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17]
PROOF_SIZES = 33


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0])
    k = largest_power_of_two_below(len(leaves))
    return sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:]))


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = largest_power_of_two_below(len(leaves))
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def reference_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [reference_root(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], b), reference_root(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def make_leaves(n: int, tag: bytes = b"leaf") -> list[bytes]:
    return [tag + b" %d" % i for i in range(n)]


LEAVES = make_leaves(PROOF_SIZES)
TREE = MerkleTree(LEAVES)
ROOTS = [reference_root(LEAVES[:n]) for n in range(PROOF_SIZES + 1)]


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert MerkleTree().root().hex() == expected
    assert CompactRange().root().hex() == expected


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"ballot") == sha256(b"\x00ballot")
    assert node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32)
    # A leaf whose bytes are two hashes does not pass for the node over them.
    assert leaf_hash(b"L" * 32 + b"R" * 32) != node_hash(b"L" * 32, b"R" * 32)


@pytest.mark.parametrize("n", SIZES)
def test_root_matches_the_rfc_definition(n: int) -> None:
    leaves = make_leaves(n)
    tree = MerkleTree(leaves)
    assert len(tree) == n
    assert tree.root() == reference_root(leaves)
    assert tree.root(n) == reference_root(leaves)


def test_every_prefix_root_and_the_compact_range_agree_with_the_rfc() -> None:
    leaves = make_leaves(70)
    tree = MerkleTree()
    compact = CompactRange()
    for n in range(71):
        expected = reference_root(leaves[:n])
        assert tree.root() == expected, n
        assert compact.size == n
        assert compact.root() == expected, n
        if n < 70:
            tree.append(leaves[n])
            compact.append(leaves[n])
    for n in range(71):
        assert tree.root(n) == reference_root(leaves[:n]), n


def test_roots_of_old_sizes_do_not_change_as_the_tree_grows() -> None:
    leaves = make_leaves(40)
    tree = MerkleTree(leaves[:13])
    before = [tree.root(n) for n in range(14)]
    tree.extend(leaves[13:])
    assert [tree.root(n) for n in range(14)] == before
    assert tree.root() == reference_root(leaves)


def test_append_hash_and_append_build_the_same_tree() -> None:
    leaves = make_leaves(9)
    by_hash = MerkleTree()
    compact = CompactRange()
    for leaf in leaves:
        by_hash.append_hash(sha256(b"\x00" + leaf))
        compact.append_hash(sha256(b"\x00" + leaf))
    assert by_hash.root() == compact.root() == reference_root(leaves)
    with pytest.raises(ValueError, match="32 bytes"):
        by_hash.append_hash(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        compact.append_hash(b"short")


@given(st.lists(st.binary(max_size=8), max_size=80))
def test_compact_range_root_equals_the_tree_root(leaves: list[bytes]) -> None:
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    assert compact.root() == MerkleTree(leaves).root() == reference_root(leaves)


def test_every_inclusion_proof_is_the_rfc_path_and_verifies() -> None:
    for n in range(1, PROOF_SIZES + 1):
        for i in range(n):
            proof = TREE.inclusion_proof(i, n)
            assert proof == reference_path(i, LEAVES[:n]), (i, n)
            verify_inclusion(leaf_hash(LEAVES[i]), i, n, proof, ROOTS[n])


def test_every_consistency_proof_is_the_rfc_proof_and_verifies() -> None:
    for n in range(PROOF_SIZES + 1):
        for m in range(n + 1):
            proof = TREE.consistency_proof(m, n)
            expected = reference_subproof(m, LEAVES[:n], True) if 0 < m < n else []
            assert proof == expected, (m, n)
            verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, n))))
def test_proofs_from_larger_trees_verify(case: tuple[int, int, int]) -> None:
    n, index, old = case
    leaves = make_leaves(n)
    tree = MerkleTree(leaves)
    root = reference_root(leaves)
    verify_inclusion(leaf_hash(leaves[index]), index, n, tree.inclusion_proof(index, n), root)
    verify_consistency(old, n, reference_root(leaves[:old]), root, tree.consistency_proof(old, n))


@pytest.mark.parametrize(("index", "size"), [(5, 5), (6, 5), (-1, 5), (0, 0), (0, PROOF_SIZES + 1), (0, -1)], ids=str)
def test_inclusion_proof_refuses_an_index_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        TREE.inclusion_proof(index, size)


def test_an_empty_tree_has_no_inclusion_proof() -> None:
    with pytest.raises(ValueError, match="outside"):
        MerkleTree().inclusion_proof(0, 0)


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 3), (2, PROOF_SIZES + 1), (0, -1)], ids=str)
def test_consistency_proof_refuses_sizes_out_of_order_or_beyond_the_tree(old: int, new: int) -> None:
    with pytest.raises(ValueError, match="size"):
        TREE.consistency_proof(old, new)


@pytest.mark.parametrize("size", [-1, PROOF_SIZES + 1])
def test_root_refuses_a_size_beyond_the_tree(size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        TREE.root(size)


def inclusion_cases() -> list[tuple[int, int]]:
    return [(i, n) for n in (2, 3, 5, 8, 9, 17, 33) for i in range(n)]


def inclusion_refused(code: str, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf, index, size, proof, root)
    assert caught.value.code == code, caught.value


def consistency_refused(code: str, old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> None:
    with pytest.raises(ProofError) as caught:
        verify_consistency(old, new, old_root, new_root, proof)
    assert caught.value.code == code, caught.value


@pytest.mark.parametrize(("index", "size"), [(5, 5), (6, 5), (0, 0), (-1, 5)], ids=str)
def test_verify_inclusion_refuses_an_index_outside_the_tree(index: int, size: int) -> None:
    # The proof of leaf 4 in 5, reused for an index past the end.
    inclusion_refused("bad_range", leaf_hash(LEAVES[4]), index, size, TREE.inclusion_proof(4, 5), ROOTS[5])


def test_verify_inclusion_refuses_an_extra_hash() -> None:
    for i, n in inclusion_cases():
        proof = TREE.inclusion_proof(i, n)
        for at in range(len(proof) + 1):
            longer = [*proof[:at], ROOTS[n], *proof[at:]]
            inclusion_refused("proof_too_long", leaf_hash(LEAVES[i]), i, n, longer, ROOTS[n])


def test_verify_inclusion_refuses_a_missing_hash() -> None:
    for i, n in inclusion_cases():
        proof = TREE.inclusion_proof(i, n)
        for at in range(len(proof)):
            inclusion_refused("proof_too_short", leaf_hash(LEAVES[i]), i, n, proof[:at] + proof[at + 1 :], ROOTS[n])


def test_verify_inclusion_refuses_a_flipped_byte_in_any_proof_hash() -> None:
    for i, n in inclusion_cases():
        proof = TREE.inclusion_proof(i, n)
        for at in range(len(proof)):
            for byte in (0, 31):
                bad = [*proof[:at], flip(proof[at], byte), *proof[at + 1 :]]
                inclusion_refused("root_mismatch", leaf_hash(LEAVES[i]), i, n, bad, ROOTS[n])


def test_verify_inclusion_refuses_a_wrong_leaf_root_or_position() -> None:
    for i, n in inclusion_cases():
        proof = TREE.inclusion_proof(i, n)
        inclusion_refused("root_mismatch", leaf_hash(b"forged ballot"), i, n, proof, ROOTS[n])
        inclusion_refused("root_mismatch", leaf_hash(LEAVES[i]), i, n, proof, flip(ROOTS[n]))
        inclusion_refused("root_mismatch", leaf_hash(LEAVES[i]), i, n, proof, ROOTS[n - 1])
        for other in range(n):
            if other != i:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf_hash(LEAVES[i]), other, n, proof, ROOTS[n])


def consistency_cases() -> list[tuple[int, int]]:
    return [(m, n) for n in range(2, 20) for m in range(1, n)]


def test_verify_consistency_refuses_old_larger_than_new() -> None:
    consistency_refused("bad_range", 5, 4, ROOTS[5], ROOTS[4], TREE.consistency_proof(4, 5))
    consistency_refused("bad_range", -1, 4, EMPTY_ROOT, ROOTS[4], [])


def test_verify_consistency_of_equal_sizes_needs_equal_roots_and_no_proof() -> None:
    verify_consistency(7, 7, ROOTS[7], ROOTS[7], [])
    consistency_refused("root_mismatch", 7, 7, ROOTS[7], flip(ROOTS[7]), [])
    consistency_refused("proof_too_long", 7, 7, ROOTS[7], ROOTS[7], [ROOTS[7]])


def test_verify_consistency_from_the_empty_tree_needs_no_proof() -> None:
    verify_consistency(0, 9, EMPTY_ROOT, ROOTS[9], [])
    consistency_refused("proof_too_long", 0, 9, EMPTY_ROOT, ROOTS[9], TREE.consistency_proof(1, 9))
    consistency_refused("root_mismatch", 0, 9, ROOTS[1], ROOTS[9], [])


def test_verify_consistency_refuses_an_empty_proof_between_different_sizes() -> None:
    for m, n in consistency_cases():
        consistency_refused("proof_too_short", m, n, ROOTS[m], ROOTS[n], [])


def test_verify_consistency_refuses_an_extra_or_a_missing_hash() -> None:
    for m, n in consistency_cases():
        proof = TREE.consistency_proof(m, n)
        for at in range(len(proof) + 1):
            consistency_refused("proof_too_long", m, n, ROOTS[m], ROOTS[n], [*proof[:at], ROOTS[m], *proof[at:]])
        for at in range(len(proof)):
            consistency_refused("proof_too_short", m, n, ROOTS[m], ROOTS[n], proof[:at] + proof[at + 1 :])


def test_verify_consistency_refuses_a_flipped_byte_or_wrong_roots() -> None:
    for m, n in consistency_cases():
        proof = TREE.consistency_proof(m, n)
        for at in range(len(proof)):
            consistency_refused(
                "root_mismatch", m, n, ROOTS[m], ROOTS[n], [*proof[:at], flip(proof[at], 7), *proof[at + 1 :]]
            )
        consistency_refused("root_mismatch", m, n, flip(ROOTS[m]), ROOTS[n], proof)
        consistency_refused("root_mismatch", m, n, ROOTS[m], flip(ROOTS[n]), proof)
        consistency_refused("root_mismatch", m, n, ROOTS[m], ROOTS[n - 1], proof)


def test_verify_consistency_refuses_a_rewritten_history() -> None:
    # The log signed roots over LEAVES; a second tree changes one early leaf and keeps growing.
    for changed in (0, 3, 8):
        rewritten = list(LEAVES)
        rewritten[changed] = b"rewritten " + rewritten[changed]
        other = MerkleTree(rewritten)
        for n in range(changed + 2, PROOF_SIZES + 1):
            for m in range(changed + 1, n):
                proof = other.consistency_proof(m, n)
                verify_consistency(m, n, other.root(m), other.root(n), proof)  # honest on its own terms
                consistency_refused("root_mismatch", m, n, ROOTS[m], other.root(n), proof)
