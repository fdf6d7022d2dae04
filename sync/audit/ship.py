"""Streaming the audit log to SIEM targets as it is committed: at least once, resumable.

Each target has a cursor (``audit_ship_cursors``): the last seq it accepted. The shipper
reads the committed events after it, hands them to the target in batches and moves the
cursor in its own transaction only once the target took a batch. A shipper killed between
the two sends that batch again on restart: every shipped record carries the event's
stable id (its seq and its Merkle leaf hash), so a receiver drops what it already has.

No event is skipped: sequence numbers are taken under the log's lock, which the writer
holds until it commits (sync/audit/log.py), so events become visible in seq order and the
committed ones after a cursor are always a gapless run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.audit.errors import AuditError
from sync.audit.log import exported_event
from sync.db import session_scope
from sync.models import AuditEvent, AuditShipCursor, utcnow

log = logging.getLogger(__name__)

_COLUMNS = (AuditEvent.seq, AuditEvent.time, AuditEvent.actor, AuditEvent.action,
            AuditEvent.target, AuditEvent.before, AuditEvent.after, AuditEvent.reason,
            AuditEvent.run_id, AuditEvent.outcome, AuditEvent.leaf_hash)


class ShipError(AuditError):
    """A target did not take a batch (unreachable, refused, or answered an error); the
    cursor stays where it was and the batch is sent again."""


@dataclass(frozen=True)
class ShippedEvent:
    """One audit event as shipped: the exported event (the dict its leaf hash is over)
    and its stable id. ``event_id`` is the leaf hash in hex: the same on every resend,
    different for every event of every log."""

    seq: int
    event_id: str
    event: Mapping[str, Any]

    def record(self) -> dict[str, Any]:
        """The event with its id, as receivers index it."""
        return {**self.event, "event_id": self.event_id}


class Sink(Protocol):
    """A SIEM target. ``send`` returns once the target has the whole batch, or raises
    ShipError; it may be called again with the same events."""

    name: str

    def send(self, events: Sequence[ShippedEvent]) -> None: ...

    def close(self) -> None: ...


def cursor_of(session: Session, target: str) -> int:
    row = session.get(AuditShipCursor, target)
    return row.seq if row is not None else 0


def move_cursor(session: Session, target: str, seq: int) -> None:
    row = session.get(AuditShipCursor, target)
    if row is None:
        session.add(AuditShipCursor(target=target, seq=seq))
    else:
        row.seq, row.updated_at = seq, utcnow()


def committed_after(session: Session, seq: int, limit: int) -> list[ShippedEvent]:
    """Up to ``limit`` committed events after ``seq``, in order."""
    query = select(*_COLUMNS).where(AuditEvent.seq > seq).order_by(AuditEvent.seq).limit(limit)
    return [ShippedEvent(row.seq, row.leaf_hash, exported_event(row._mapping))
            for row in session.execute(query)]


def ship_batch(engine: Engine, sink: Sink, batch: int) -> int:
    """Send the next batch of events to ``sink`` and move its cursor; the count sent."""
    with session_scope(engine) as session:
        events = committed_after(session, cursor_of(session, sink.name), batch)
    if not events:
        return 0
    sink.send(events)
    with session_scope(engine) as session:
        move_cursor(session, sink.name, events[-1].seq)
    return len(events)


def drain(engine: Engine, sinks: Sequence[Sink], batch: int) -> dict[str, int]:
    """Ship every committed event each sink has not taken yet; counts by sink. A sink that
    fails stops its own draining (ShipError is raised after the others had their turn)."""
    counts, failures = {}, []
    for sink in sinks:
        counts[sink.name] = 0
        try:
            while sent := ship_batch(engine, sink, batch):
                counts[sink.name] += sent
        except ShipError as exc:
            failures.append(f"{sink.name}: {exc}")
    if failures:
        raise ShipError("; ".join(failures))
    return counts


@dataclass(frozen=True)
class Schedule:
    interval: float  # seconds between looks for new events
    max_backoff: float = 60.0


def run(engine: Engine, sinks: Sequence[Sink], batch: int, schedule: Schedule,
        stop: threading.Event) -> None:
    """Ship until ``stop`` is set: a batch to each target in turn (so a slow one does not
    hold the others back), and a wait of ``interval`` once none has anything new. A target
    that fails is retried after a delay that doubles up to ``max_backoff``."""
    delays = {sink.name: 0.0 for sink in sinks}
    due = {sink.name: 0.0 for sink in sinks}
    while not stop.is_set():
        busy = False
        for sink in sinks:
            if due[sink.name] > time.monotonic():
                continue
            try:
                sent = ship_batch(engine, sink, batch)
            except ShipError as exc:
                delays[sink.name] = min(max(delays[sink.name] * 2, schedule.interval),
                                        schedule.max_backoff)
                due[sink.name] = time.monotonic() + delays[sink.name]
                log.warning("audit ship: %s; retrying in %.1f s", exc, delays[sink.name])
                continue
            delays[sink.name] = 0.0
            busy = busy or sent > 0
            if sent:
                log.debug("audit ship: %s events to %s", sent, sink.name)
        if not busy:
            stop.wait(schedule.interval)
