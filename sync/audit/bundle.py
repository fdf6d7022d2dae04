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

A bundle is produced in two steps so that a million events never sit in memory: the
*head* (range, signed checkpoint, proofs) needs only the log's leaf hashes; the *body*
(events and views) is rendered batch by batch from one pass over the events, and written
either to a directory (``write_bundle_dir``) or into a streamed zip (``stream.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.audit.canonical import canonical_json
from sync.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from sync.audit.errors import AuditError
from sync.audit.events import check_event, event_bytes
from sync.audit.merkle import consistency_proof, leaf_hash, range_proof, root_hash
from sync.audit.views import VIEW_FILES, render_views

BUNDLE_FORMAT = "hr2bi-audit-bundle/1"
EVENTS_FILE, CHECKPOINT_FILE, PROOF_FILE, MANIFEST_FILE = (
    "events.jsonl", "checkpoint.txt", "proof.json", "manifest.json",
)
BODY_FILES = (EVENTS_FILE, *VIEW_FILES)  # rendered from the events, batch by batch
BATCH = 2000  # events rendered at a time: bounded memory, few large writes
LeafHashes = Sequence[bytes] | Callable[[], Sequence[bytes]]


class BundleError(AuditError):
    """The events given cannot be exported as a bundle (gaps, not in the log, ...)."""


@dataclass(frozen=True)
class BundleSummary:
    out_dir: Path
    first_seq: int
    last_seq: int
    checkpoint: SignedCheckpoint


@dataclass(frozen=True)
class BundleHead:
    """Everything a bundle says before its events: which leaves, of which signed tree, and
    the proofs. ``leaf_hashes`` (the whole log's) let the body check each event it writes."""

    first_seq: int
    last_seq: int
    checkpoint: SignedCheckpoint
    proof: Mapping[str, Any]
    leaf_hashes: Sequence[bytes]

    def small_files(self) -> dict[str, bytes]:
        return {CHECKPOINT_FILE: self.checkpoint.note().encode(),
                PROOF_FILE: canonical_json(dict(self.proof)) + b"\n"}


def bundle_head(
    first_seq: int,
    last_seq: int,
    log_leaf_hashes: Sequence[bytes],
    signing_key: Ed25519PrivateKey,
    *,
    origin: str,
    consistency_from: tuple[int, bytes] | None = None,
    now: datetime | None = None,
    product_version: str | None = None,
) -> BundleHead:
    """Sign the whole log and prove that leaves first_seq..last_seq are in it.

    ``consistency_from`` is (size, root) of an older checkpoint the auditor keeps."""
    hashes = log_leaf_hashes
    if not 1 <= first_seq <= last_seq:
        raise BundleError(f"no events to export (range {first_seq}..{last_seq})")
    if last_seq > len(hashes):
        raise BundleError(f"events run past the log's {len(hashes)} leaves")
    signed = sign_checkpoint(
        Checkpoint(origin, len(hashes), root_hash(hashes), now or datetime.now(UTC)), signing_key
    )
    proof = {
        "format": BUNDLE_FORMAT,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "range_proof": _b64(range_proof(hashes, first_seq - 1, last_seq)),
        "consistency": _consistency(hashes, consistency_from),
        "product_version": product_version or version("hr2bi"),
    }
    return BundleHead(first_seq, last_seq, signed, proof, hashes)


def consistency_start(old: SignedCheckpoint, origin: str) -> tuple[int, bytes]:
    """(size, root) of an auditor's older checkpoint, which must be of this log."""
    if old.checkpoint.origin != origin:
        raise BundleError(f"checkpoint is of log {old.checkpoint.origin!r}, not {origin!r}")
    return old.checkpoint.size, old.checkpoint.root


def body_batches(head: BundleHead, events: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, bytes]]:
    """The events file and the views, as consecutive byte chunks per file, BATCH events at
    a time. Each event is checked to be the log's leaf at its place, so a row altered in
    the database (or a gap) stops the export rather than producing a bundle that lies."""
    version_ = str(head.proof["product_version"])
    lines: list[bytes] = []
    expected, header = head.first_seq, True
    for event in events:
        lines.append(_checked_line(event, expected, head.leaf_hashes))
        expected += 1
        if len(lines) == BATCH:
            yield _render(lines, version_, header)
            lines, header = [], False
    if lines:
        yield _render(lines, version_, header)
    if expected != head.last_seq + 1:
        raise BundleError(f"events end at seq {expected - 1}, not {head.last_seq} as declared")


def _checked_line(event: Mapping[str, Any], expected: int, hashes: Sequence[bytes]) -> bytes:
    check_event(event)
    if event["seq"] != expected:
        raise BundleError(f"events are not consecutive: seq {event['seq']} where {expected} "
                          "was due")
    line = event_bytes(event)
    if expected > len(hashes) or leaf_hash(line) != hashes[expected - 1]:
        raise BundleError(f"event seq {expected} is not the log's leaf at that place")
    return line


def _render(lines: list[bytes], version_: str, header: bool) -> dict[str, bytes]:
    # The views are rendered from the events as the bundle carries them (parsed back from
    # their RFC 8785 lines), exactly as verify rebuilds them: a stored value that JSON
    # writes differently from its canonical form (the float 60.0 is "60" in RFC 8785)
    # must not make an honest export fail verification.
    events = [json.loads(line) for line in lines]
    return {EVENTS_FILE: b"".join(line + b"\n" for line in lines),
            **render_views(events, version_, header=header)}


class HashingWriter:
    """A binary sink that keeps the SHA-256 of everything written through it."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink, self.sha256 = sink, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.sink.write(chunk)

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def write_bundle_dir(out_dir: Path, head: BundleHead, events: Iterable[Mapping[str, Any]]) -> BundleSummary:
    """Write the bundle into the empty or new ``out_dir`` in one pass over ``events``.

    On failure the files written so far are removed: a half bundle is never left behind."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir} is not empty; an export needs a fresh directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    handles = {name: (out_dir / name).open("wb") for name in BODY_FILES}
    try:
        writers = {name: HashingWriter(handle) for name, handle in handles.items()}
        for chunks in body_batches(head, events):
            for name, chunk in chunks.items():
                writers[name].write(chunk)
        for handle in handles.values():
            handle.close()
        digests = {name: writer.hexdigest() for name, writer in writers.items()}
        for name, content in head.small_files().items():
            (out_dir / name).write_bytes(content)
            digests[name] = hashlib.sha256(content).hexdigest()
        (out_dir / MANIFEST_FILE).write_bytes(manifest_of(digests))
    except BaseException:
        for handle in handles.values():
            handle.close()
        for name in (*BODY_FILES, CHECKPOINT_FILE, PROOF_FILE, MANIFEST_FILE):
            (out_dir / name).unlink(missing_ok=True)
        raise
    return BundleSummary(out_dir, head.first_seq, head.last_seq, head.checkpoint)


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
    """Write the bundle for ``events`` (consecutive seqs a..b, in memory) to ``out_dir``.

    ``log_leaf_hashes`` are the leaf hashes of the *whole* log (or a callable giving them):
    the checkpoint signs the whole log, and the proofs tie the exported slice to it.
    """
    exported = list(events)
    if not exported:
        raise BundleError("no events to export")
    for event in exported:
        check_event(event)
    hashes = log_leaf_hashes() if callable(log_leaf_hashes) else log_leaf_hashes
    start = consistency_start(from_checkpoint, origin) if from_checkpoint else None
    first = exported[0]["seq"]
    head = bundle_head(first, first + len(exported) - 1, hashes, signing_key, origin=origin,
                       consistency_from=start, now=now, product_version=product_version)
    return write_bundle_dir(out_dir, head, exported)


def _consistency(hashes: Sequence[bytes], start: tuple[int, bytes] | None) -> dict[str, Any] | None:
    if start is None:
        return None
    size, root = start
    if not 0 < size <= len(hashes):
        raise BundleError(f"checkpoint size {size} is not within the log's {len(hashes)}")
    return {
        "old_size": size,
        "old_root": base64.b64encode(root).decode(),
        "proof": _b64(consistency_proof(hashes, size)),
    }


def manifest_of(digests: Mapping[str, str]) -> bytes:
    return json.dumps({"sha256": dict(digests)}, indent=2, sort_keys=True).encode() + b"\n"


def manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    return manifest_of({name: hashlib.sha256(content).hexdigest() for name, content in files.items()})


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]
