"""The BI writer's state: last-applied users and groups, account owners, the outbox."""


from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
)
from sqlmodel import Field, SQLModel

from sync.models.base import JSONType, KeyType, _ts
from sync.statuses import ChangeStatus


class BiUserState(SQLModel, table=True):
    """What hr2bi last applied to one BI user, keyed on the canonical userName (the BI's
    id is only a hint: Omni may mint a new one on re-activation). The planner diffs the
    desired accounts against these rows, so a run with nothing changed calls the BI zero
    times; only a reconcile reads the BI's actual state."""

    __tablename__ = "bi_users"

    user_name_key: str = Field(sa_type=KeyType, primary_key=True)
    user_name: str = Field(max_length=512)
    bi_id: str | None = Field(default=None, max_length=64)
    active: bool = Field(default=True)
    display_name: str | None = Field(default=None, max_length=512)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    groups: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Direct (per-user) roles: "connection/model" -> role name.
    roles: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    tables_version: str | None = Field(default=None, max_length=100)
    # "created" or "adopted" when hr2bi owns the account (sync/plan/ownership.py); None
    # for one only read from the BI platform, which plans leave alone.
    ownership: str | None = Field(default=None, max_length=16)
    updated_at: dt.datetime = _ts()


class AccountOwner(SQLModel, table=True):
    """Whom the last plan that looked at a BI account gave it to: the person and/or the SCIM
    user whose merged record wants that userName. A plan scoped to a few people (an IdP push,
    ``hr2bi provision``) reads it to find the accounts its people used to have, so a userName
    rename or a SCIM DELETE deactivates the old account at once, as the full plan would."""

    __tablename__ = "account_owners"

    user_name_key: str = Field(sa_type=KeyType, primary_key=True)
    person_id: int | None = Field(default=None, index=True)
    scim_user_id: str | None = Field(default=None, max_length=36, index=True)
    updated_at: dt.datetime = _ts()


class BiGroupState(SQLModel, table=True):
    """What hr2bi last applied to one BI group: its id and the roles given to the group."""

    __tablename__ = "bi_groups"

    name_key: str = Field(sa_type=KeyType, primary_key=True)
    name: str = Field(max_length=512)
    bi_id: str | None = Field(default=None, max_length=64)
    roles: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    tables_version: str | None = Field(default=None, max_length=100)
    updated_at: dt.datetime = _ts()


class OutboxChange(SQLModel, table=True):
    """One planned change to the BI platform. ``key`` is deterministic (run, kind, subject),
    so planning or claiming twice never makes a second row; the row is marked done in the
    same transaction as its audit event, so a crash at any point redoes at most the call,
    which is idempotent (creates look up by userName first)."""

    __tablename__ = "bi_outbox"
    __table_args__ = (Index("ix_bi_outbox_claim", "run_id", "status", "phase", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False))
    key: str = Field(max_length=600, unique=True)
    # The change without its run ("user.create:ada@example.com"): the same in every plan
    # that wants it, so a change failing again in a later run keeps its attempts.
    name: str = Field(max_length=600, index=True)
    kind: str = Field(max_length=40)
    phase: int = Field(default=0)
    subject: str = Field(max_length=512)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    reason: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(default=ChangeStatus.PENDING, max_length=20, index=True)  # a ChangeStatus
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None)
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    done_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
