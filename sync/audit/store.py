"""Reading the stored audit log for exports and checkpoints (the adapter side)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from sync.audit.bundle import BundleSummary, write_bundle
from sync.audit.checkpoint import (
    Checkpoint, SignedCheckpoint, load_private_key, sign_checkpoint,
)
from sync.audit.errors import AuditError
from sync.audit.log import as_exported
from sync.audit.merkle import root_hash
from sync.models import AuditCheckpoint, AuditEvent


def leaf_hashes(session: Session) -> list[bytes]:
    """Every leaf hash of the log, in order (32 bytes an event: 32 MB per million)."""
    return [bytes.fromhex(h) for h in session.scalars(select(AuditEvent.leaf_hash).order_by(AuditEvent.seq))]


def checkpoint_now(session: Session, key_path: Path | None, origin: str) -> SignedCheckpoint:
    hashes = leaf_hashes(session)
    return sign_checkpoint(Checkpoint(origin, len(hashes), root_hash(hashes), _now()),
                           load_private_key(_key(key_path)))


def checkpoint_after_run(session: Session, key_path: Path | None, origin: str,
                         run_id: int | None) -> SignedCheckpoint | None:
    """Sign and store a checkpoint of the log as it stands at the end of a run, in the
    caller's transaction. Without a configured key there is nothing to sign with: the run
    goes on and ``None`` says no checkpoint was taken (``hr2bi audit checkpoint`` can sign
    the same tree later, since a checkpoint covers every event before it)."""
    if key_path is None:
        return None
    session.flush()
    signed = checkpoint_now(session, key_path, origin)
    session.add(AuditCheckpoint(size=signed.checkpoint.size, root=signed.checkpoint.root.hex(),
                                note=signed.note(), run_id=run_id))
    session.flush()
    return signed


def export(session: Session, out_dir: Path, key_path: Path | None, origin: str, *,
           since: dt.datetime | None = None, until: dt.datetime | None = None,
           from_checkpoint: SignedCheckpoint | None = None) -> BundleSummary:
    """Write the bundle for the events in [since, until) (all of them by default)."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    if until is not None:
        query = query.where(AuditEvent.time < until)
    events = [as_exported(row) for row in session.scalars(query)]
    if not events:
        raise AuditError("no audit events in that time range: nothing to export")
    return write_bundle(events, out_dir, load_private_key(_key(key_path)), origin=origin,
                        log_leaf_hashes=lambda: leaf_hashes(session),
                        from_checkpoint=from_checkpoint)


def _key(path: Path | None) -> Path:
    if path is None:
        raise AuditError("no signing key configured: run `hr2bi audit keygen --out DIR` and set "
                         "HR2BI_AUDIT_SIGNING_KEY (or audit_signing_key in hr2bi.toml) to its private key")
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
