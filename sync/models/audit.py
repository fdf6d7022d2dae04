"""The audit log: events, signed checkpoints, and how far each SIEM target has been sent."""


from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    text,
)
from sqlmodel import Field, SQLModel

from sync.models.base import JSONType, _ts


class AuditEvent(SQLModel, table=True):
    """One decision in the append-only audit log (see sync/audit/log.py).

    ``seq`` is gapless from 1 and is the event's Merkle leaf index plus one; ``leaf_hash`` is
    SHA-256(0x00 || RFC 8785 bytes of the event), kept so proofs need no re-hashing. On
    PostgreSQL a trigger refuses UPDATE and DELETE on this table (migration 0003).
    """

    __tablename__ = "audit_events"
    # A person's history in the console (migration 0012; SQLite's spelling is json_extract(...)).
    __table_args__ = (
        Index("ix_audit_events_target_id", text("(target ->> 'id')")),
        Index("ix_audit_events_target_user_name", text("(target ->> 'userName')")),
    )

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    time: dt.datetime = Field(sa_type=DateTime(timezone=True), index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100)
    target: dict[str, Any] = Field(sa_type=JSONType)
    before: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    reason: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    run_id: int | None = Field(default=None, index=True)
    outcome: str = Field(max_length=20)
    leaf_hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed checkpoint of the audit log, taken after a run or on demand.

    ``note`` is the whole signed note (see sync/audit/checkpoint.py); ``size`` and ``root``
    repeat what it signs so the newest checkpoint can be found and compared without parsing.
    """

    __tablename__ = "audit_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(index=True)
    root: str = Field(max_length=64)
    note: str
    run_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = _ts()


class AuditShipCursor(SQLModel, table=True):
    """How far the audit log has been shipped to one SIEM target (sync/audit/ship.py):
    every event up to ``seq`` was accepted by it. Moved only after the target took the
    events, so a shipper killed midway sends the rest, and perhaps a batch again, on restart."""

    __tablename__ = "audit_ship_cursors"

    target: str = Field(max_length=100, primary_key=True)
    seq: int = Field(default=0)
    updated_at: dt.datetime = _ts()
