"""Merkle hash trees per RFC 6962 section 2.1, proofs verified per RFC 9162 section 2.1.

Everything works on *leaf hashes* (32 bytes each), never on the events themselves, so the
caller decides where they come from: a bundle's events, or the events table.

Indices are 0-based leaf positions; an audit event with sequence number ``seq`` is leaf
``seq - 1``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sync.audit.errors import InvalidProof

HASH_SIZE = 32
# RFC 6962 section 2.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the 0x00 prefix keeps leaves and nodes apart (2.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), RFC 6962 section 2.1."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1), RFC 6962 section 2.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes.

    Computed bottom-up, pairing neighbours and lifting an odd last node unchanged: this
    yields exactly the recursive largest-power-of-two split of section 2.1 (the left
    subtree is always complete), without recursion or slicing, so a million leaves are cheap.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1: the audit path of leaf ``index``."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf {index} is outside a tree of {len(leaf_hashes)} leaves")
    if len(leaf_hashes) == 1:
        return []
    k = split_point(len(leaf_hashes))
    if index < k:
        return inclusion_proof(leaf_hashes[:k], index) + [root_hash(leaf_hashes[k:])]
    return inclusion_proof(leaf_hashes[k:], index - k) + [root_hash(leaf_hashes[:k])]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2, for 0 < m <= n (empty when m == n)."""
    if not 0 < old_size <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from {old_size} to {len(leaf_hashes)} leaves")
    return _subproof(leaf_hashes, old_size, True)


def _subproof(leaf_hashes: Sequence[bytes], m: int, whole: bool) -> list[bytes]:
    # SUBPROOF(m, D[n], b), RFC 6962 section 2.1.2.
    n = len(leaf_hashes)
    if m == n:
        return [] if whole else [root_hash(leaf_hashes)]
    k = split_point(n)
    if m <= k:
        return _subproof(leaf_hashes[:k], m, whole) + [root_hash(leaf_hashes[k:])]
    return _subproof(leaf_hashes[k:], m - k, False) + [root_hash(leaf_hashes[:k])]


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise InvalidProof unless ``proof`` puts ``leaf`` at ``index`` under ``root``.

    The algorithm of RFC 9162 section 2.1.3.2 (RFC 6962's text has an off-by-one).
    """
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf {index} is outside a tree of {tree_size} leaves")
    _check_hashes(proof)
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            raise InvalidProof("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise InvalidProof(f"inclusion proof of leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise InvalidProof unless the tree ``old_root`` is a prefix of the tree ``new_root``.

    The algorithm of RFC 9162 section 2.1.4.2.
    """
    if not 0 < old_size <= new_size:
        raise InvalidProof(f"no consistency between sizes {old_size} and {new_size}")
    _check_hashes(proof)
    if old_size == new_size:
        if proof:
            raise InvalidProof("equal sizes need an empty consistency proof")
        if old_root != new_root:
            raise InvalidProof("same size, different roots: the history was rewritten")
        return
    if not proof:
        raise InvalidProof("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a whole subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise InvalidProof(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise InvalidProof(f"consistency proof does not lead to the new root (size {new_size})")


def range_proof(leaf_hashes: Sequence[bytes], start: int, end: int) -> list[bytes]:
    """The hashes of the maximal subtrees of MTH(D[n]) lying wholly outside [start, end).

    With them and the hashes of leaves start..end-1 (in order), a verifier rebuilds the root
    (``verify_range``): so the leaves are exactly those, at exactly those positions. Size is
    O(log n), against O(k log n) for one inclusion proof per leaf. Hashes come left to right
    in the order ``verify_range`` consumes them.
    """
    if not 0 <= start < end <= len(leaf_hashes):
        raise ValueError(f"range [{start}, {end}) is not inside {len(leaf_hashes)} leaves")
    return _range_subproof(leaf_hashes, start, end)


def _range_subproof(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    n = len(leaf_hashes)
    if lo >= hi:  # the subtree is wholly outside the range: one hash stands for it
        return [root_hash(leaf_hashes)]
    if lo == 0 and hi == n:  # wholly inside: the verifier rebuilds it from the leaves
        return []
    k = split_point(n)
    left = _range_subproof(leaf_hashes[:k], lo, min(hi, k))
    return left + _range_subproof(leaf_hashes[k:], max(lo - k, 0), max(hi - k, 0))


def verify_range(
    tree_size: int,
    start: int,
    range_leaf_hashes: Sequence[bytes],
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    """Raise InvalidProof unless the given hashes are exactly leaves start.. of the tree."""
    end = start + len(range_leaf_hashes)
    if not 0 <= start < end <= tree_size:
        raise InvalidProof(f"range [{start}, {end}) is not inside a tree of {tree_size}")
    _check_hashes(proof)
    cursor = _RangeCursor(range_leaf_hashes, proof)
    rebuilt = cursor.subtree(tree_size, start, end)
    if cursor.proof_used != len(proof):
        raise InvalidProof("range proof has more hashes than the tree needs")
    if rebuilt != root:
        raise InvalidProof(f"leaves {start}..{end - 1} do not rebuild the signed root")


class _RangeCursor:
    """Walks the tree shape of ``range_proof``, taking leaves and proof hashes in order."""

    def __init__(self, leaves: Sequence[bytes], proof: Sequence[bytes]) -> None:
        self.leaves, self.proof = leaves, proof
        self.leaves_used = self.proof_used = 0

    def subtree(self, n: int, lo: int, hi: int) -> bytes:
        if lo >= hi:
            if self.proof_used == len(self.proof):
                raise InvalidProof("range proof has fewer hashes than the tree needs")
            self.proof_used += 1
            return self.proof[self.proof_used - 1]
        if lo == 0 and hi == n:
            self.leaves_used += n
            return root_hash(self.leaves[self.leaves_used - n : self.leaves_used])
        k = split_point(n)
        left = self.subtree(k, lo, min(hi, k))
        return node_hash(left, self.subtree(n - k, max(lo - k, 0), max(hi - k, 0)))


def _check_hashes(proof: Sequence[bytes]) -> None:
    for h in proof:
        if len(h) != HASH_SIZE:
            raise InvalidProof(f"proof holds a {len(h)}-byte value, not a SHA-256 hash")
