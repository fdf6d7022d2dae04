"""Offline verification of an export bundle (see ``bundle.py`` for the layout).

Checks run in this order, and the first failure is reported with its reason:
manifest -> checkpoint (and its signature) -> events (parse, fields, seq order) ->
range proof against the signed root (failing that, a non-canonical line is named) ->
consistency with the auditor's trusted checkpoint -> derived views. The manifest is not
signed, so an attacker can recompute it: every later check stands on its own, anchored only
in the signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.audit.bundle import (
    BUNDLE_FORMAT,
    CHECKPOINT_FILE,
    EVENTS_FILE,
    MANIFEST_FILE,
    PROOF_FILE,
)
from sync.audit.canonical import canonical_json
from sync.audit.checkpoint import SignedCheckpoint, parse_checkpoint, verify_checkpoint
from sync.audit.errors import (
    BundleInvalid,
    CanonicalJSONError,
    CheckpointError,
    InvalidProof,
    Reason,
)
from sync.audit.merkle import verify_consistency, verify_range
from sync.audit.scan import scan_events
from sync.audit.views import VIEW_FILES

BUNDLE_FILES = (EVENTS_FILE, CHECKPOINT_FILE, PROOF_FILE, *VIEW_FILES)
CHUNK = 1 << 20  # bytes hashed at a time
PARALLEL_FROM = 32 << 20  # events.jsonl bytes from which verify spreads over processes
MAX_JOBS = 4
__all__ = ["BUNDLE_FILES", "BundleInvalid", "Reason", "VerifyReport", "verify_bundle",
           "verify_download"]


@dataclass(frozen=True)
class VerifyReport:
    origin: str
    tree_size: int
    root: bytes
    first_seq: int
    last_seq: int
    signature_checked: bool
    consistent_with: int | None  # the trusted checkpoint's size, when one was given
    checkpoint: SignedCheckpoint  # the bundle's, which an auditor may keep as the next trusted one

    def summary(self) -> str:
        signed = "signature verified" if self.signature_checked else "signature NOT checked"
        lines = [
            (
                f"OK: events {self.first_seq}..{self.last_seq} are exactly those leaves of "
                f"{self.origin} at size {self.tree_size} ({signed})"
            ),
            f"root {base64.b64encode(self.root).decode()}",
        ]
        if self.consistent_with is not None:
            lines.append(f"consistent with the trusted checkpoint at size {self.consistent_with}")
        return "\n".join(lines)


def verify_bundle(
    bundle_dir: Path,
    public_key: Ed25519PublicKey | None = None,
    trusted_checkpoint: SignedCheckpoint | None = None,
    *,
    jobs: int | None = None,
) -> VerifyReport:
    """Verify ``bundle_dir`` offline; raise BundleInvalid with the first failing reason.

    Files are hashed in chunks and the events read in batches, in one pass that also
    rebuilds the views and compares them with the files as it goes: memory stays bounded
    by the leaf hashes (32 bytes an event), whatever the bundle's size. ``jobs`` processes
    parse and render the batches (by default: one for a small bundle, else up to one a CPU)."""
    _check_manifest(bundle_dir)
    signed = _checkpoint(_read_small(bundle_dir, CHECKPOINT_FILE), public_key)
    proof = _proof(_read_small(bundle_dir, PROOF_FILE))
    with _open(bundle_dir, EVENTS_FILE) as events:
        views = {name: _open(bundle_dir, name) for name in VIEW_FILES}
        try:
            scan = scan_events(events, views, str(proof["product_version"]),
                               jobs or _default_jobs(bundle_dir / EVENTS_FILE))
        finally:
            for handle in views.values():
                handle.close()
    _check_sequence(scan.seqs, proof["first_seq"], proof["last_seq"])
    _check_range(signed, proof, scan.leaves, bundle_dir / EVENTS_FILE)
    consistent_with = _check_trusted(signed, proof, trusted_checkpoint, public_key)
    if scan.view_mismatch is not None:
        raise BundleInvalid(Reason.VIEW_MISMATCH, f"{scan.view_mismatch} is not derived from "
                            "the events")
    cp = signed.checkpoint
    return VerifyReport(cp.origin, cp.size, cp.root, proof["first_seq"], proof["last_seq"],
                        public_key is not None, consistent_with, signed)


def _default_jobs(events_path: Path) -> int:
    if events_path.stat().st_size < PARALLEL_FROM:
        return 1  # a pool costs more than it saves on a small bundle
    return max(1, min(os.cpu_count() or 1, MAX_JOBS))


def verify_download(
    path: Path,
    public_key: Ed25519PublicKey | None = None,
    trusted_checkpoint: SignedCheckpoint | None = None,
    *,
    jobs: int | None = None,
) -> VerifyReport:
    """Verify a bundle directory, or the zip the admin API serves, as it is."""
    if path.is_dir():
        return verify_bundle(path, public_key, trusted_checkpoint, jobs=jobs)
    with tempfile.TemporaryDirectory(prefix="hr2bi-verify-") as tmp:
        _unzip_bundle(path, Path(tmp))
        return verify_bundle(Path(tmp), public_key, trusted_checkpoint, jobs=jobs)


def _unzip_bundle(path: Path, into: Path) -> None:
    """Extract the bundle's files, and only those, by their known names (no member path is
    ever used to build a file name, so an archive cannot write outside ``into``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            for name in (*BUNDLE_FILES, MANIFEST_FILE):
                if name in members:
                    with archive.open(name) as source, (into / name).open("wb") as target:
                        shutil.copyfileobj(source, target, CHUNK)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise BundleInvalid(Reason.MALFORMED, f"{path} is neither a bundle directory nor a "
                            f"readable zip of one: {exc}") from exc


def _open(bundle_dir: Path, name: str) -> BinaryIO:
    try:
        return (bundle_dir / name).open("rb")
    except OSError as exc:
        raise BundleInvalid(Reason.MISSING_FILE, f"cannot read {name}: {exc}") from exc


def _read_small(bundle_dir: Path, name: str) -> bytes:
    with _open(bundle_dir, name) as handle:
        return handle.read()


def _file_sha256(bundle_dir: Path, name: str) -> str:
    digest = hashlib.sha256()
    with _open(bundle_dir, name) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_manifest(bundle_dir: Path) -> None:
    for name in (*BUNDLE_FILES, MANIFEST_FILE):  # a missing file is named before anything else
        _open(bundle_dir, name).close()
    try:
        listed = json.loads(_read_small(bundle_dir, MANIFEST_FILE))["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleInvalid(Reason.MALFORMED, f"{MANIFEST_FILE} is not a manifest") from exc
    if not isinstance(listed, dict) or sorted(listed) != sorted(BUNDLE_FILES):
        raise BundleInvalid(Reason.MANIFEST_MISMATCH, f"manifest must list {BUNDLE_FILES}")
    for name in BUNDLE_FILES:
        if _file_sha256(bundle_dir, name) != listed[name]:
            raise BundleInvalid(Reason.MANIFEST_MISMATCH, f"{name} differs from its SHA-256")


def _checkpoint(content: bytes, public_key: Ed25519PublicKey | None) -> SignedCheckpoint:
    try:
        signed = parse_checkpoint(content.decode("utf-8"))
    except (UnicodeDecodeError, CheckpointError) as exc:
        raise BundleInvalid(Reason.MALFORMED, f"{CHECKPOINT_FILE}: {exc}") from exc
    _check_signature(signed, public_key, CHECKPOINT_FILE)
    return signed


def _check_signature(signed: SignedCheckpoint, key: Ed25519PublicKey | None, name: str) -> None:
    if key is None:
        return
    try:
        verify_checkpoint(signed, key)
    except CheckpointError as exc:
        raise BundleInvalid(Reason.BAD_SIGNATURE, f"{name}: {exc}") from exc


def _proof(content: bytes) -> dict[str, Any]:
    try:
        proof = json.loads(content)
        if proof["format"] != BUNDLE_FORMAT:
            raise ValueError(f"unknown format {proof['format']!r}")
        proof["range_proof"] = _unb64(proof["range_proof"])
        if not all(isinstance(proof[k], int) for k in ("first_seq", "last_seq")):
            raise ValueError("first_seq and last_seq must be integers")
        str(proof["product_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleInvalid(Reason.MALFORMED, f"{PROOF_FILE}: {exc}") from exc
    return proof


def _check_sequence(seqs: list[int], first: int, last: int) -> None:
    expected = list(range(first, last + 1))
    if seqs == expected:
        return
    if sorted(seqs) == expected:
        at = next(i for i, (a, b) in enumerate(zip(seqs, expected, strict=True)) if a != b)
        raise BundleInvalid(Reason.SEQUENCE_ORDER, f"line {at + 1} holds seq {seqs[at]}, "
                            f"expected {expected[at]}: events were reordered")
    if seqs == expected[: len(seqs)]:
        raise BundleInvalid(Reason.TRUNCATED, f"events end at seq {seqs[-1] if seqs else '-'}"
                            f" but the bundle declares {first}..{last}: the tail was cut off")
    missing = sorted(set(expected) - set(seqs))
    if missing:
        raise BundleInvalid(Reason.SEQUENCE_GAP, f"seq {missing[0]} is missing "
                            f"({len(missing)} missing in all): events were deleted")
    raise BundleInvalid(Reason.SEQUENCE_ORDER, f"seqs {seqs[:5]}... are not {first}..{last}")


def _check_range(
    signed: SignedCheckpoint, proof: dict[str, Any], leaves: list[bytes], events_path: Path
) -> None:
    cp = signed.checkpoint
    try:
        verify_range(cp.size, proof["first_seq"] - 1, leaves, proof["range_proof"], cp.root)
    except InvalidProof as exc:
        _find_non_canonical(events_path)
        raise BundleInvalid(Reason.ROOT_MISMATCH, f"the events are not those the checkpoint "
                            f"signed ({exc}): an event was altered, removed or added") from exc


def _find_non_canonical(events_path: Path) -> None:
    """Name a line that is not canonical JSON: a more precise reason than a wrong root.

    Only run once the root fails: lines that hash to the signed root were canonical when
    written, so a passing bundle skips re-encoding every event."""
    with events_path.open("rb") as events:
        for number, raw in enumerate(events, 1):
            line = raw.removesuffix(b"\n")
            try:
                canonical = canonical_json(json.loads(line))
            except (ValueError, CanonicalJSONError) as exc:
                raise BundleInvalid(Reason.EVENT_MALFORMED, f"{EVENTS_FILE} line {number}: "
                                    f"{exc}") from exc
            if canonical != line:
                raise BundleInvalid(Reason.NOT_CANONICAL, f"{EVENTS_FILE} line {number} is not "
                                    "RFC 8785 canonical JSON")


def _check_trusted(
    signed: SignedCheckpoint,
    proof: dict[str, Any],
    trusted: SignedCheckpoint | None,
    key: Ed25519PublicKey | None,
) -> int | None:
    if trusted is None:
        return None
    _check_signature(trusted, key, "trusted checkpoint")
    old, new = trusted.checkpoint, signed.checkpoint
    if old.origin != new.origin:
        raise BundleInvalid(Reason.WRONG_LOG, f"trusted checkpoint is of {old.origin!r}, "
                            f"the bundle of {new.origin!r}")
    path: list[bytes] = []
    if old.size < new.size:
        path = _consistency_path(proof, old.size)
    try:
        verify_consistency(old.size, new.size, old.root, new.root, path)
    except InvalidProof as exc:
        raise BundleInvalid(Reason.HISTORY_REWRITTEN, f"the log at size {new.size} does not "
                            f"extend the trusted checkpoint at size {old.size}: {exc}") from exc
    return old.size


def _consistency_path(proof: dict[str, Any], old_size: int) -> list[bytes]:
    consistency = proof.get("consistency")
    if not consistency or consistency.get("old_size") != old_size:
        raise BundleInvalid(Reason.NO_CONSISTENCY_PROOF, f"the bundle has no consistency proof "
                            f"from size {old_size}; export it with --from-checkpoint")
    try:
        return _unb64(consistency["proof"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleInvalid(Reason.MALFORMED, f"{PROOF_FILE}: consistency: {exc}") from exc


def _unb64(values: list[str]) -> list[bytes]:
    if not isinstance(values, list):
        raise TypeError("proof must be a list of base64 hashes")
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"proof hash is not base64: {exc}") from exc
