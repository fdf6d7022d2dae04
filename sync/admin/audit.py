"""The audit trail in the console and the admin API: search, checkpoint history, export.

Search reads ``audit_events`` newest first by ``seq`` (the primary key), with a seq cursor
(``before``) for the next page, so a page costs the same at event 10 and at event
1,000,000; a time range uses the index on ``time``. Actor, action and target have no index
of their own: a filter on them walks the log backwards from the cursor until a page is
full, fast when matches are common, a scan when they are rare (narrow it with a time range).

The export bundle is ``sync.audit.api.prepare_export``'s, the one streamed zip the old
``/api/audit/export`` also serves; a console download is itself an audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.audit.api import ApiError, ExportDownload, prepare_export
from sync.audit.checkpoint import load_private_key, parse_checkpoint, verify_checkpoint
from sync.audit.errors import AuditError
from sync.audit.log import exported_event
from sync.audit.merkle import EMPTY_ROOT, node_hash
from sync.audit.record import record_console_action
from sync.audit.store import (
    EXPORTED_COLUMNS,
    ExportRequest,
    leaf_hashes,
    stored_checkpoints,
)
from sync.config import Settings
from sync.db import session_scope
from sync.models import AuditCheckpoint, AuditEvent

EXPORT_ACTION = "audit.export"


@dataclass(frozen=True)
class EventQuery:
    """Which events: ``actor`` is a prefix (``console:`` is every console action),
    ``action`` an action or its family (``token`` is token.create and token.revoke),
    ``target`` a target's id or name (names compared case-insensitively); times in
    [since, until); ``before`` the seq the page ends below (the previous page's cursor)."""

    actor: str | None = None
    target: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = 50


def search_events(session: Session, query: EventQuery) -> dict[str, Any]:
    """A page of events newest first, and the cursor of the next page (None at the end)."""
    statement = select(*EXPORTED_COLUMNS)
    for condition in _conditions(query, session.get_bind().dialect.name):
        statement = statement.where(condition)
    rows = session.execute(statement.order_by(AuditEvent.seq.desc()).limit(query.limit + 1)).all()
    events = [exported_event(row._mapping) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"events": events, "next_before": events[-1]["seq"] if more and events else None}


def _conditions(query: EventQuery, dialect: str) -> list[Any]:
    conditions: list[Any] = []
    if query.actor:
        conditions.append(AuditEvent.actor.startswith(query.actor.strip(), autoescape=True))
    if query.action:
        action = query.action.strip()
        conditions.append(or_(AuditEvent.action == action,
                              AuditEvent.action.startswith(action + ".", autoescape=True)))
    if query.target:
        conditions.extend(_target_conditions(query.target.strip(), dialect))
    if query.since is not None:
        conditions.append(AuditEvent.time >= query.since)
    if query.until is not None:
        conditions.append(AuditEvent.time < query.until)
    if query.before is not None:
        conditions.append(AuditEvent.seq < query.before)
    return conditions


def _target_conditions(target: str, dialect: str) -> list[Any]:
    """The target's id or name. Extracting JSON fields row by row is the slow part of a scan,
    so a plain-text match on the stored JSON first rules most rows out; it is skipped for
    text JSON may write escaped (quotes, backslashes, non-ASCII). SQLite's LIKE ignores
    ASCII case already; elsewhere both sides are lowered (names match in any case)."""
    exact = or_(cast(AuditEvent.target["id"].as_string(), String) == target,
                func.lower(AuditEvent.target["name"].as_string()) == target.lower())
    if not target.isascii() or any(c in target for c in '"\\'):
        return [exact]
    text = cast(AuditEvent.target, String)
    if dialect == "sqlite":
        return [text.contains(target, autoescape=True), exact]
    return [text.icontains(target, autoescape=True), exact]


def checkpoint_history(session: Session, settings: Settings, limit: int = 20) -> dict[str, Any]:
    """The newest stored checkpoints, each with whether its signature verifies against the
    server's key and whether it is consistent with the checkpoint before it.

    Consistency is checked against the log as it stands now: both checkpoints' roots must
    be the roots of the log's first ``size`` events (then the older tree is a prefix of the
    newer, RFC 6962 2.1.2). All the roots come from one pass over the leaf hashes, so the
    page costs one read of the log however many checkpoints it shows."""
    key, key_problem = _public_key(settings)
    rows = stored_checkpoints(session, limit + 1)
    hashes = leaf_hashes(session) if rows else []
    roots = prefix_roots(hashes, [row.size for row in rows])
    items = [_checkpoint_item(row, older, key, roots, len(hashes))
             for row, older in zip(rows[:limit], [*rows[1:], None])]
    return {"signing_key": key is not None, "key_problem": key_problem, "checkpoints": items,
            "log_size": len(hashes)}


def prefix_roots(hashes: Sequence[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """MTH of the first ``size`` leaves for each size (those within the log), in one pass:
    the perfect subtrees of the prefix, on a stack, folded right to left are its root."""
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []  # (height, root of a perfect subtree)
    done = 0
    for size in sorted({s for s in sizes if 0 <= s <= len(hashes)}):
        for leaf in hashes[done:size]:
            node, height = leaf, 0
            while stack and stack[-1][0] == height:
                node, height = node_hash(stack.pop()[1], node), height + 1
            stack.append((height, node))
        done = size
        root = stack[-1][1] if stack else EMPTY_ROOT
        for _, left in reversed(stack[:-1]):
            root = node_hash(left, root)
        roots[size] = root
    return roots


def _public_key(settings: Settings) -> tuple[Any, str | None]:
    if settings.audit_signing_key is None:
        return None, ("no signing key is configured (HR2BI_AUDIT_SIGNING_KEY): signatures "
                      "cannot be checked here")
    try:
        return load_private_key(settings.audit_signing_key).public_key(), None
    except AuditError:  # the path is for the operator's log, not this page
        return None, "the server's signing key is not usable: see the server log"


def _checkpoint_item(row: AuditCheckpoint, older: AuditCheckpoint | None, key: Any,
                     roots: dict[int, bytes], log_size: int) -> dict[str, Any]:
    signature, detail, when = _signature(row, key)
    consistent, why = _consistency(row, older, roots, log_size)
    return {"id": row.id, "size": row.size, "root": row.root, "time": when, "run": row.run_id,
            "signature": signature, "signature_detail": detail,
            "consistent": consistent, "consistency_detail": why}


def _signature(row: AuditCheckpoint, key: Any) -> tuple[str, str | None, str]:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    try:
        signed = parse_checkpoint(row.note)
    except AuditError as exc:
        return "invalid", str(exc), created.isoformat()
    when = signed.checkpoint.timestamp.isoformat()
    if signed.checkpoint.size != row.size or signed.checkpoint.root.hex() != row.root:
        return "invalid", "the signed note does not say the size and root stored with it", when
    if key is None:
        return "unchecked", None, when
    try:
        verify_checkpoint(signed, key)
    except AuditError as exc:
        return "invalid", str(exc), when
    return "valid", None, when


def _consistency(row: AuditCheckpoint, older: AuditCheckpoint | None, roots: dict[int, bytes],
                 log_size: int) -> tuple[bool | None, str | None]:
    if row.size > log_size:
        return False, f"the log has {log_size} events, fewer than the {row.size} signed: it was cut short"
    if roots[row.size].hex() != row.root:
        return False, "its root is not the log's as it stands now: events it signed were rewritten"
    if older is None:
        return None, "no earlier checkpoint to compare with"
    if older.size > row.size:
        return False, f"smaller than the checkpoint before it ({older.size} events)"
    if roots[older.size].hex() != older.root:
        return False, "the checkpoint before it is not a prefix of this log: events signed then were rewritten"
    return True, None


def export_bundle(engine: Engine, settings: Settings, actor: str, since: dt.datetime | None,
                  until: dt.datetime | None) -> ExportDownload:
    """The export bundle of [since, until), ready to stream; the download (or its refusal,
    ApiError with a status and a message) is recorded as a console action of ``actor``."""
    target = {"type": "audit_log", "id": settings.audit_origin, "name": "export bundle"}
    wanted = {"since": since.isoformat() if since else None,
              "until": until.isoformat() if until else None}
    try:
        download = prepare_export(engine, settings, ExportRequest(since, until))
    except ApiError as refused:
        with session_scope(engine) as session:
            record_console_action(session, actor=actor, action=EXPORT_ACTION, target=target,
                                  after=wanted, outcome="failure",
                                  reason={"detail": refused.message})
        raise
    with session_scope(engine) as session:
        record_console_action(session, actor=actor, action=EXPORT_ACTION, target=target,
                              after={**wanted, "first_seq": download.head.first_seq,
                                     "last_seq": download.head.last_seq,
                                     "tree_size": download.head.checkpoint.checkpoint.size})
    return download
