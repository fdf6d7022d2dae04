"""RFC 6962 Merkle hashing and proofs: the Certificate Transparency reference vectors, the
recursive definition, and properties over random sizes (every proof verifies, every
single-bit corruption fails)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.audit.errors import InvalidProof
from sync.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_proof,
    root_hash,
    split_point,
    verify_consistency,
    verify_inclusion,
    verify_range,
)

# The eight leaves and published roots, audit paths and consistency proofs of the
# certificate-transparency reference test suite (merkle_tree_test.cc).
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
H = {  # the published proof hashes, named by their first four hex digits
    k[:4]: bytes.fromhex(k) for k in (
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    )
}
CT_INCLUSION = [  # (0-based leaf index, tree size, audit path)
    (0, 1, []),
    (0, 8, ["96a2", "5f08", "6b47"]),
    (5, 8, ["bc1a", "ca85", "d37e"]),
    (2, 3, ["fac5"]),
    (1, 5, ["6e34", "5f08", "bc1a"]),
]
CT_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a2", "5f08", "6b47"]),
    (6, 8, ["0ebc", "ca85", "d37e"]),
    (2, 5, ["5f08", "bc1a"]),
    (6, 7, ["0ebc", "b086", "d37e"]),
]
CT_HASHES = [leaf_hash(d) for d in CT_LEAVES]


def mth(hashes: list[bytes]) -> bytes:
    """The recursive definition of RFC 6962 section 2.1, as written, for cross-checking."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def flip(h: bytes, bit: int) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_empty_tree_is_the_hash_of_nothing() -> None:
    assert root_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_the_reference_vectors(n: int) -> None:
    assert root_hash(CT_HASHES[:n]) == CT_ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(index: int, size: int, path: list[str]) -> None:
    expected = [H[p] for p in path]
    assert inclusion_proof(CT_HASHES[:size], index) == expected
    verify_inclusion(index, size, CT_HASHES[index], expected, CT_ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "path"), CT_CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old: int, new: int, path: list[str]) -> None:
    expected = [H[p] for p in path]
    assert consistency_proof(CT_HASHES[:new], old) == expected
    verify_consistency(old, new, CT_ROOTS[old - 1], CT_ROOTS[new - 1], expected)


def test_split_is_the_largest_power_of_two_below_n() -> None:
    assert [split_point(n) for n in (2, 3, 4, 5, 8, 9, 1024, 1025)] == [1, 2, 2, 4, 4, 8, 512, 1024]


@pytest.mark.parametrize("n", range(70))
def test_bottom_up_root_equals_the_recursive_definition(n: int) -> None:
    assert root_hash(leaves(n)) == mth(leaves(n))


def test_reference_inclusion_mutations_fail() -> None:
    path = [H[p] for p in ("bc1a", "ca85", "d37e")]
    root, leaf = CT_ROOTS[7], CT_HASHES[5]
    bad = [
        (4, 8, leaf, path, root), (6, 8, leaf, path, root), (5, 16, leaf, path, root),
        (5, 4, leaf, path, root), (5, 8, CT_HASHES[4], path, root),
        (5, 8, leaf, path, EMPTY_ROOT), (5, 8, leaf, [*path, root], root),
        (5, 8, leaf, [root, *path], root), (5, 8, leaf, path[:-1], root),
        (5, 8, leaf, [*path, b""], root),
    ]
    for args in bad:
        with pytest.raises(InvalidProof):
            verify_inclusion(*args)


def test_degenerate_consistency_cases() -> None:
    r1, r2 = CT_ROOTS[0], CT_ROOTS[1]
    verify_consistency(1, 1, r1, r1, [])
    for args in [(1, 1, r1, r2, []), (0, 1, r1, r2, []), (2, 1, r2, r1, []),
                 (1, 2, r1, r2, []), (1, 1, r1, r1, [EMPTY_ROOT])]:
        with pytest.raises(InvalidProof):
            verify_consistency(*args)


def test_every_pair_of_sizes_up_to_48_is_consistent_and_tampering_fails() -> None:
    """Exhaustive over 1 <= m <= n <= 48 (RFC 9162 section 2.1.4): the proof verifies; a
    rewritten leaf inside the old tree, or a wrong old or new root, does not."""
    hashes = leaves(48)
    roots = [root_hash(hashes[:n]) for n in range(1, 49)]
    for n in range(1, 49):
        for m in range(1, n + 1):
            proof = consistency_proof(hashes[:n], m)
            verify_consistency(m, n, roots[m - 1], roots[n - 1], proof)
            with pytest.raises(InvalidProof):
                verify_consistency(m, n, flip(roots[m - 1], 5), roots[n - 1], proof)
            if m < n:
                with pytest.raises(InvalidProof):
                    verify_consistency(m, n, roots[m - 1], flip(roots[n - 1], 5), proof)
            forged = [*hashes[: m - 1], leaf_hash(b"forged"), *hashes[m:n]]
            with pytest.raises(InvalidProof):
                verify_consistency(m, n, roots[m - 1], root_hash(forged), consistency_proof(forged, m))


sizes = st.integers(min_value=1, max_value=140)


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_every_bit_flip_fails(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    root = root_hash(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(hashes, index)
    verify_inclusion(index, size, hashes[index], proof, root)
    for i in range(len(proof)):
        bit = data.draw(st.integers(0, 7))
        with pytest.raises(InvalidProof):
            verify_inclusion(index, size, hashes[index], [*proof[:i], flip(proof[i], bit), *proof[i + 1:]], root)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, flip(hashes[index], 0), proof, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, hashes[index], proof, flip(root, 7))


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_every_bit_flip_fails(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    old = data.draw(st.integers(1, size))
    proof = consistency_proof(hashes, old)
    old_root, new_root = root_hash(hashes[:old]), root_hash(hashes)
    verify_consistency(old, size, old_root, new_root, proof)
    for i in range(len(proof)):
        with pytest.raises(InvalidProof):
            verify_consistency(old, size, old_root, new_root, [*proof[:i], flip(proof[i], 3), *proof[i + 1:]])
    with pytest.raises(InvalidProof):
        verify_consistency(old, size, flip(old_root, 1), new_root, proof)
    if old < size:
        with pytest.raises(InvalidProof):
            verify_consistency(old, size, old_root, flip(new_root, 1), proof)


@settings(max_examples=100, deadline=None)
@given(size=sizes, data=st.data())
def test_a_rewritten_old_leaf_breaks_consistency(size: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, size))
    victim = data.draw(st.integers(0, old - 1))
    original = leaves(size)
    rewritten = [*original[:victim], leaf_hash(b"forged"), *original[victim + 1:]]
    with pytest.raises(InvalidProof):
        verify_consistency(old, size, root_hash(original[:old]), root_hash(rewritten),
                           consistency_proof(rewritten, old))


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_every_range_proof_verifies_and_tampering_fails(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    root = root_hash(hashes)
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start + 1, size))
    proof = range_proof(hashes, start, end)
    assert len(proof) <= 2 * size.bit_length()
    chunk = hashes[start:end]
    verify_range(size, start, chunk, proof, root)
    for i in range(len(proof)):
        with pytest.raises(InvalidProof):
            verify_range(size, start, chunk, [*proof[:i], flip(proof[i], 5), *proof[i + 1:]], root)
    tampered = [
        (size, start, [*chunk[:-1], flip(chunk[-1], 0)], proof),  # a changed leaf
        (size, start, chunk[:-1], proof) if len(chunk) > 1 else None,  # a cut-off tail
        (size, start, chunk[1:], proof) if len(chunk) > 1 else None,  # a deleted first leaf
        (size, start, chunk[::-1], proof) if len(chunk) > 1 else None,  # reordered leaves
        (size, start + 1, chunk, proof) if end < size else None,  # shifted positions
        (size, start, chunk, [*proof, root]),  # trailing garbage
    ]
    for case in filter(None, tampered):
        with pytest.raises(InvalidProof):
            verify_range(*case, root)


def test_whole_tree_range_needs_no_proof() -> None:
    assert range_proof(CT_HASHES, 0, 8) == []
    verify_range(8, 0, CT_HASHES, [], CT_ROOTS[7])
    # leaves 2..4 of 7: the subtree [0, 2), and [6, 7) / [4, 6) minus leaf 4 -> leaf 5, leaf 6
    assert range_proof(CT_HASHES[:7], 2, 5) == [root_hash(CT_HASHES[:2]), CT_HASHES[5], CT_HASHES[6]]
