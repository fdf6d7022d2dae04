"""Before a checkpoint is signed, the log must extend the last one stored (issue 12).

Without this check a log rewritten in place (an event and its leaf hash changed together),
cut short or truncated was simply signed at its new root: every checkpoint verifies on its
own, and nothing compared it with the ones already kept in ``audit_checkpoints``. Now each
signature is preceded by an RFC 6962 section 2.1.2 consistency proof from the largest
stored checkpoint to the log as it stands, verified per RFC 9162 section 2.1.4.2; a
mismatch refuses the signature and records an ``audit.alert`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from sync.audit.actors import AUDIT, system_actor
from sync.audit.errors import InvalidProof, LogRewritten
from sync.audit.log import record_event
from sync.audit.merkle import EMPTY_ROOT, consistency_proof, verify_consistency
from sync.models import AuditCheckpoint

log = logging.getLogger("hr2bi.audit")
ALERT = "audit.alert"
_SYSTEM_ACTOR = system_actor(AUDIT)


@dataclass(frozen=True)
class StoredHead:
    """The size and root of a checkpoint kept in ``audit_checkpoints``."""

    checkpoint_id: int
    size: int
    root: bytes


@dataclass(frozen=True)
class Extension:
    """A verified proof that the log at ``new_size`` extends the stored head ``old``."""

    old: StoredHead
    new_size: int
    proof: list[bytes]


def largest_stored_head(session: Session) -> StoredHead | None:
    """The stored checkpoint of the largest tree (the newest of those): the one that says
    the most about the log. Read it *before* the leaves, so that a checkpoint committed in
    between (with its events) is never larger than the leaves read."""
    row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc(),
                                                           AuditCheckpoint.id.desc()).limit(1)).first()
    if row is None:
        return None
    assert row.id is not None
    return StoredHead(row.id, row.size, bytes.fromhex(row.root))


def prove_extension(old: StoredHead | None, hashes: Sequence[bytes], root: bytes) -> Extension | None:
    """Prove the log of leaf ``hashes`` (whose root is ``root``) extends ``old``; None when
    there is no stored checkpoint yet. Raise LogRewritten when it does not."""
    if old is None:
        return None
    n = len(hashes)
    if old.size > n:
        raise LogRewritten(old.checkpoint_id, old.size, n, "the log has fewer events than when "
                           "it was signed: events were deleted or the table truncated")
    if old.size == 0:  # the empty tree is a prefix of every tree, if it was the empty tree
        if old.root != EMPTY_ROOT:
            raise LogRewritten(old.checkpoint_id, 0, n, "its root is not the empty tree's")
        return Extension(old, n, [])
    proof = consistency_proof(hashes, old.size)
    try:
        verify_consistency(old.size, n, old.root, root, proof)
    except InvalidProof as exc:
        raise LogRewritten(old.checkpoint_id, old.size, n, f"{exc}: events signed then were "
                           "rewritten or removed") from exc
    return Extension(old, n, proof)


def record_rewrite_alert(session: Session, refusal: LogRewritten, origin: str,
                         run_id: int | None = None) -> None:
    """Log the refusal at ERROR and append an ``audit.alert`` event in the caller's
    transaction. The event adds a leaf after the rewritten ones and no checkpoint is stored,
    so the next attempt is compared with the same old checkpoint and refused again: an
    alert never makes the log consistent."""
    log.error("audit log %r: checkpoint refused: %s", origin, refusal)
    record_event(
        session, actor=_SYSTEM_ACTOR, action=ALERT,
        target={"type": "audit_log", "id": origin, "name": origin},
        before={"checkpoint": refusal.checkpoint_id, "size": refusal.old_size},
        after={"size": refusal.new_size},
        reason={"source": "checkpoint", "detail": str(refusal)},
        run=run_id, outcome="failure")
