"""Reading the stored audit log for exports and checkpoints (the adapter side)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from sync.audit.bundle import (
    BATCH,
    BundleError,
    BundleHead,
    BundleSummary,
    bundle_head,
    consistency_start,
    write_bundle_dir,
)
from sync.audit.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    load_private_key,
    sign_checkpoint,
)
from sync.audit.consistency import (
    Extension,
    largest_stored_head,
    prove_extension,
    record_rewrite_alert,
)
from sync.audit.errors import LogRewritten, NoSigningKey, NothingToExport
from sync.audit.log import exported_event
from sync.audit.merkle import root_hash
from sync.models import AuditCheckpoint, AuditEvent

EXPORTED_COLUMNS = (AuditEvent.seq, AuditEvent.time, AuditEvent.actor, AuditEvent.action,
                     AuditEvent.target, AuditEvent.before, AuditEvent.after, AuditEvent.reason,
                     AuditEvent.run_id, AuditEvent.outcome)


def leaf_hashes(session: Session) -> list[bytes]:
    """Every leaf hash of the log, in order (32 bytes an event: 32 MB per million)."""
    return [bytes.fromhex(h) for h in session.scalars(select(AuditEvent.leaf_hash).order_by(AuditEvent.seq))]


@dataclass(frozen=True)
class ProvenLog:
    """The log's leaf hashes and root, with the verified consistency proof from the largest
    stored checkpoint to them (None before the first checkpoint)."""

    hashes: list[bytes]
    root: bytes
    extension: Extension | None


def proven_log(session: Session) -> ProvenLog:
    """Read the log and prove it extends the stored checkpoints; LogRewritten when it does
    not (see ``consistency.py``), so nothing can be signed over it."""
    stored = largest_stored_head(session)  # before the leaves: see largest_stored_head
    hashes = leaf_hashes(session)
    root = root_hash(hashes)
    return ProvenLog(hashes, root, prove_extension(stored, hashes, root))


def checkpoint_now(session: Session, key_path: Path | None, origin: str) -> SignedCheckpoint:
    return sign_log(proven_log(session), key_path, origin)


def sign_log(log: ProvenLog, key_path: Path | None, origin: str) -> SignedCheckpoint:
    return sign_checkpoint(Checkpoint(origin, len(log.hashes), log.root, _now()),
                           load_private_key(_key(key_path)))


def checkpoint_after_run(session: Session, key_path: Path | None, origin: str,
                         run_id: int | None) -> SignedCheckpoint | None:
    """Sign and store a checkpoint of the log as it stands at the end of a run, in the
    caller's transaction. Without a configured key there is nothing to sign with: the run
    goes on and ``None`` says no checkpoint was taken (``hr2bi audit checkpoint`` can sign
    the same tree later, since a checkpoint covers every event before it). ``None`` too
    when the log does not extend the stored checkpoints: an ``audit.alert`` event and an
    ERROR line say so, and nothing is signed until an operator looks."""
    if key_path is None:
        return None
    session.flush()
    try:
        signed = checkpoint_now(session, key_path, origin)
    except LogRewritten as refusal:
        # The run's own changes stand; the alert is committed with them.
        record_rewrite_alert(session, refusal, origin, run_id)
        return None
    store_checkpoint(session, signed, run_id)
    return signed


def store_checkpoint(session: Session, signed: SignedCheckpoint, run_id: int | None) -> None:
    """Keep a signed checkpoint: the newest ones are what auditors compare exports with."""
    session.add(AuditCheckpoint(size=signed.checkpoint.size, root=signed.checkpoint.root.hex(),
                                note=signed.note(), run_id=run_id))
    session.flush()


def stored_checkpoints(session: Session, limit: int | None = None) -> list[AuditCheckpoint]:
    """The stored checkpoints, newest first."""
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ExportRequest:
    """Which events to export: times in [since, until) (all by default), and optionally
    a consistency proof from an older checkpoint, given whole or by its size."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    from_checkpoint: SignedCheckpoint | None = None
    from_size: int | None = None


def export(session: Session, out_dir: Path, key_path: Path | None, origin: str, *,
           since: dt.datetime | None = None, until: dt.datetime | None = None,
           from_checkpoint: SignedCheckpoint | None = None) -> BundleSummary:
    """Write the bundle for the events in [since, until) (all of them by default)."""
    head = export_head(session, key_path, origin,
                       ExportRequest(since, until, from_checkpoint=from_checkpoint))
    return write_bundle_dir(out_dir, head, stored_events(session, head.first_seq, head.last_seq))


def export_head(session: Session, key_path: Path | None, origin: str,
                request: ExportRequest) -> BundleHead:
    """Sign the log as it stands and prove the requested range is in it. Refuses (with
    AuditError) before any byte of a bundle is written, so an API can still answer 4xx."""
    key = load_private_key(_key(key_path))
    first, last = event_range(session, request.since, request.until)
    hashes = proven_log(session).hashes  # a rewritten log is never signed, not even here
    start = None
    if request.from_checkpoint is not None:
        start = consistency_start(request.from_checkpoint, origin)
    elif request.from_size is not None:
        if not 0 < request.from_size <= len(hashes):
            raise BundleError(f"from_size {request.from_size} is not within the log's "
                              f"{len(hashes)} events")
        start = (request.from_size, root_hash(hashes[: request.from_size]))
    return bundle_head(first, last, hashes, key, origin=origin, consistency_from=start)


def event_range(session: Session, since: dt.datetime | None,
                until: dt.datetime | None) -> tuple[int, int]:
    """The first and last seq of the events in [since, until). A bundle is a consecutive
    run of leaves, so it holds every event between those two."""
    query = select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    if until is not None:
        query = query.where(AuditEvent.time < until)
    first, last = session.execute(query).one()
    if first is None:
        raise NothingToExport("no audit events in that time range: nothing to export")
    return first, last


def stored_events(session: Session, first: int, last: int) -> Iterator[dict[str, Any]]:
    """Events first..last as exported, read from the database in batches (a server-side
    cursor on PostgreSQL), so a million of them never sit in memory at once."""
    query = (select(*EXPORTED_COLUMNS).where(AuditEvent.seq.between(first, last))
             .order_by(AuditEvent.seq).execution_options(yield_per=BATCH))
    for row in session.execute(query):
        yield exported_event(row._mapping)


def _key(path: Path | None) -> Path:
    if path is None:
        raise NoSigningKey("no signing key configured: run `hr2bi audit keygen --out DIR` and set "
                         "HR2BI_AUDIT_SIGNING_KEY (or audit_signing_key in hr2bi.toml) to its private key")
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
