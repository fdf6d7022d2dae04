"""Writing an export bundle: a directory an auditor can verify offline with ``verify.py``.

    events.jsonl       the events, one RFC 8785 canonical JSON object per line; each line's
                       bytes (without the newline) are a Merkle leaf, leaf index = seq - 1
    checkpoint.txt     the signed tree head of the whole log at export time
    proof.json         first_seq..last_seq, the range proof that those lines are exactly
                       leaves first_seq-1..last_seq-1 of that tree, and optionally a
                       consistency proof from an auditor's older checkpoint
    events.csv, events.ocsf.jsonl, events.cef
                       views derived from the events (verify rebuilds and compares them)
    manifest.json      the SHA-256 of every file above
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.canonical import canonical_json
from sync.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from sync.audit.errors import AuditError
from sync.audit.events import check_event, event_bytes
from sync.audit.merkle import consistency_proof, leaf_hash, range_proof, root_hash
from sync.audit.views import render_views

BUNDLE_FORMAT = "hr2bi-audit-bundle/1"
EVENTS_FILE, CHECKPOINT_FILE, PROOF_FILE, MANIFEST_FILE = (
    "events.jsonl", "checkpoint.txt", "proof.json", "manifest.json",
)
LeafHashes = Sequence[bytes] | Callable[[], Sequence[bytes]]


class BundleError(AuditError):
    """The events given cannot be exported as a bundle (gaps, not in the log, ...)."""


@dataclass(frozen=True)
class BundleSummary:
    out_dir: Path
    first_seq: int
    last_seq: int
    checkpoint: SignedCheckpoint


def write_bundle(
    events: Iterable[Mapping[str, Any]],
    out_dir: Path,
    signing_key: Ed25519PrivateKey,
    *,
    origin: str,
    log_leaf_hashes: LeafHashes,
    from_checkpoint: SignedCheckpoint | None = None,
    now: datetime | None = None,
    product_version: str | None = None,
) -> BundleSummary:
    """Write the bundle for ``events`` (consecutive seqs a..b) to the empty ``out_dir``.

    ``log_leaf_hashes`` are the leaf hashes of the *whole* log (or a callable giving them):
    the checkpoint signs the whole log, and the proofs tie the exported slice to it.
    """
    exported = list(events)
    lines = _event_lines(exported)
    hashes = log_leaf_hashes() if callable(log_leaf_hashes) else log_leaf_hashes
    first, last = exported[0]["seq"], exported[-1]["seq"]
    _check_against_log(lines, first, hashes)
    signed = sign_checkpoint(
        Checkpoint(origin, len(hashes), root_hash(hashes), now or datetime.now(UTC)), signing_key
    )
    proof = {
        "format": BUNDLE_FORMAT,
        "first_seq": first,
        "last_seq": last,
        "range_proof": _b64(range_proof(hashes, first - 1, last)),
        "consistency": _consistency(hashes, origin, from_checkpoint),
        "product_version": product_version or version("hr2bi"),
    }
    files = {
        EVENTS_FILE: b"".join(line + b"\n" for line in lines),
        CHECKPOINT_FILE: signed.note().encode(),
        PROOF_FILE: canonical_json(proof) + b"\n",
        **render_views(exported, proof["product_version"]),
    }
    _write_files(out_dir, files)
    return BundleSummary(out_dir, first, last, signed)


def _event_lines(events: list[Mapping[str, Any]]) -> list[bytes]:
    if not events:
        raise BundleError("no events to export")
    for offset, event in enumerate(events):
        check_event(event)
        if event["seq"] != events[0]["seq"] + offset:
            raise BundleError(f"events are not consecutive: seq {event['seq']} at {offset}")
    return [event_bytes(event) for event in events]


def _check_against_log(lines: list[bytes], first: int, hashes: Sequence[bytes]) -> None:
    if first - 1 + len(lines) > len(hashes):
        raise BundleError(f"events run past the log's {len(hashes)} leaves")
    for offset, line in enumerate(lines):
        if leaf_hash(line) != hashes[first - 1 + offset]:
            raise BundleError(f"event seq {first + offset} is not the log's leaf at that place")


def _consistency(
    hashes: Sequence[bytes], origin: str, old: SignedCheckpoint | None
) -> dict[str, Any] | None:
    if old is None:
        return None
    size = old.checkpoint.size
    if old.checkpoint.origin != origin:
        raise BundleError(f"checkpoint is of log {old.checkpoint.origin!r}, not {origin!r}")
    if not 0 < size <= len(hashes):
        raise BundleError(f"checkpoint size {size} is not within the log's {len(hashes)}")
    return {
        "old_size": size,
        "old_root": base64.b64encode(old.checkpoint.root).decode(),
        "proof": _b64(consistency_proof(hashes, size)),
    }


def _write_files(out_dir: Path, files: dict[str, bytes]) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir} is not empty; an export needs a fresh directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out_dir / name).write_bytes(content)
    (out_dir / MANIFEST_FILE).write_bytes(manifest_bytes(files))


def manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    return json.dumps({"sha256": digests}, indent=2, sort_keys=True).encode() + b"\n"


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]
