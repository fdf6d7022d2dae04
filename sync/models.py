"""The identity store's tables: the only SQLModel tables in the project.

Domain code never sees these rows: ``scim.resources`` and the other adapters translate
them into plain dicts and frozen values at the boundary.

Schema changes go through Alembic (``sync/migrations``); ``tests/test_migrations.py``
fails when these models and the migrations drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from sync.statuses import ChangeStatus

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# Lookup keys (sync.names.name_key) compare bytewise on every database (SQLite's default), so a
# prefix filter (userName sw "ad") is an index range whatever the server's locale.
KeyType = String(512).with_variant(String(512, collation="C"), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


class ApiToken(SQLModel, table=True):
    """A bearer token. Only the SHA-256 of the secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    scope: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: dt.datetime = _ts()
    revoked_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ScimUser(SQLModel, table=True):
    """A user as the identity provider pushed it: the full resource plus indexed columns.

    ``resource`` holds every stored attribute (core and enterprise extension) under its
    canonical name, without ``id``, ``meta``, ``groups`` or ``password``.
    """

    __tablename__ = "scim_users"
    # The default order of a list: paging through every user walks this index.
    __table_args__ = (Index("ix_scim_users_created", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    user_name: str = Field(max_length=512)
    # userName is unique on sync.names.name_key (RFC 7643 4.1.1: caseExact false; issue 12).
    user_name_key: str = Field(sa_type=KeyType, unique=True)
    external_id: str | None = Field(default=None, max_length=512, index=True)
    display_name: str | None = Field(default=None, max_length=512)
    active: bool = Field(default=True)
    employee_number: str | None = Field(default=None, max_length=255, index=True)
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    version: int = Field(default=1)
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts(index=True)
    created_by: str | None = Field(default=None, max_length=100)
    updated_by: str | None = Field(default=None, max_length=100)


class ScimUserValue(SQLModel, table=True):
    """One element of a multi-valued user attribute (emails, phoneNumbers, ...).

    Kept as rows so ``emails[type eq "work"].value eq "x"`` is an indexed EXISTS query.
    """

    __tablename__ = "scim_user_values"
    __table_args__ = (
        Index("ix_scim_user_values_attr_value", "attribute", "value_key"),
        Index("ix_scim_user_values_attr_type", "attribute", "type", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(
        sa_column=Column(String(36), ForeignKey("scim_users.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    )
    attribute: str = Field(max_length=64)
    value: str | None = Field(default=None)
    value_key: str | None = Field(default=None, max_length=512)
    type: str | None = Field(default=None, max_length=64)
    primary: bool | None = Field(default=None)
    display: str | None = Field(default=None)
    element: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class ScimGroup(SQLModel, table=True):
    """A group as the identity provider pushed it; members live in ``scim_group_members``."""

    __tablename__ = "scim_groups"
    __table_args__ = (Index("ix_scim_groups_created", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    display_name: str = Field(max_length=512)
    display_name_key: str = Field(sa_type=KeyType, unique=True)
    external_id: str | None = Field(default=None, max_length=512, index=True)
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    version: int = Field(default=1)
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts(index=True)
    created_by: str | None = Field(default=None, max_length=100)
    updated_by: str | None = Field(default=None, max_length=100)


# A member is a user or a group: its id is also in the one column whose foreign key fits,
# so the database refuses a member that does not exist and drops it when it is deleted.
MEMBER_REFERENCE = (
    "(member_type = 'User' AND member_user_id = member_id AND member_group_id IS NULL) OR "
    "(member_type = 'Group' AND member_group_id = member_id AND member_user_id IS NULL)"
)


class ScimGroupMember(SQLModel, table=True):
    __tablename__ = "scim_group_members"
    __table_args__ = (CheckConstraint(MEMBER_REFERENCE, name="ck_scim_group_members_member_reference"),)

    group_id: str = Field(
        sa_column=Column(String(36), ForeignKey("scim_groups.id", ondelete="CASCADE"),
                         primary_key=True)
    )
    member_id: str = Field(primary_key=True, max_length=36, index=True)
    member_type: str = Field(default="User", max_length=10)
    member_user_id: str | None = Field(default=None, sa_column=Column(
        String(36), ForeignKey("scim_users.id", ondelete="CASCADE"), index=True))
    member_group_id: str | None = Field(default=None, sa_column=Column(
        String(36), ForeignKey("scim_groups.id", ondelete="CASCADE"), index=True))
    # As the identity provider sent them: returned verbatim, never derived.
    display: str | None = Field(default=None)
    ref: str | None = Field(default=None)


class ScimDeletion(SQLModel, table=True):
    """What a SCIM DELETE removed, when and by which token: a deletion is a write too,
    and the people it removes must still be deprovisioned downstream."""

    __tablename__ = "scim_deletions"

    id: int | None = Field(default=None, primary_key=True)
    resource_type: str = Field(max_length=10)
    resource_id: str = Field(max_length=36, index=True)
    name: str = Field(max_length=512)  # userName or displayName at deletion time
    resource: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    deleted_at: dt.datetime = _ts()
    deleted_by: str | None = Field(default=None, max_length=100)


# --- HR imports, people and runs (issue 4) ----------------------------------------------


class Run(SQLModel, table=True):
    """One unit of work hr2bi did or was asked to do: an import now, plans and applies later.

    ``status`` is a ``RunStatus`` (sync/statuses.py): running, succeeded, failed, held
    (waiting for ``hr2bi runs approve`` or ``reject``), approved or rejected (plans also
    planned, superseded);
    ``counts`` holds what the run did (added, changed, rejected...), ``details`` what it
    looked at (file, header, content hash, rejects) so ``runs show`` can explain it.
    """

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    source: str | None = Field(default=None, max_length=100, index=True)
    mode: str | None = Field(default=None, max_length=20)
    status: str = Field(max_length=20, index=True)
    reason: str | None = Field(default=None)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    started_at: dt.datetime = _ts()
    finished_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    approved_by: str | None = Field(default=None, max_length=100)
    approved_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class RunRecord(SQLModel, table=True):
    """A record of a held feed, kept so approving the run imports exactly what was held; past
    the run's ``details["records"]``, a row that could not be read (``record`` holds its
    ``reason``, ``employee_id`` and ``values``), kept so approving reports it too."""

    __tablename__ = "run_records"

    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = Field(primary_key=True)
    line: int
    record: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class ImportedFile(SQLModel, table=True):
    """The processed-file ledger: a file's content is imported once per source unless forced."""

    __tablename__ = "imported_files"
    __table_args__ = (UniqueConstraint("source", "content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    content_hash: str = Field(max_length=64)
    path: str
    size: int
    run_id: int | None = Field(default=None)
    imported_at: dt.datetime = _ts()


class StoredPerson(SQLModel, table=True):
    """One person, whatever told us about them: the HR record, the merged person fields the
    rules read, the lifecycle, the link to an identity provider's SCIM user, and the
    ``dirty`` marker (set when ``content_hash`` changes; ``hr2bi people list --dirty``)."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=255, unique=True)
    source: str | None = Field(default=None, max_length=100)
    email_key: str | None = Field(default=None, max_length=512, index=True)
    hr_record: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    field_sources: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    content_hash: str = Field(max_length=64)
    # The HR row as read (and the attribute map it was read with): unchanged, it is not rebuilt.
    record_hash: str | None = Field(default=None, max_length=64)
    lifecycle: str = Field(max_length=20, index=True)
    employment_type: str | None = Field(default=None, max_length=100)
    provision_from: dt.date | None = Field(default=None)
    # When the lifecycle may change by the calendar alone (a start or termination date).
    review_on: dt.date | None = Field(default=None)
    scim_user_id: str | None = Field(default=None, max_length=36, index=True)
    link_reason: str | None = Field(default=None)
    # The manager as HR names them: an employee id, resolved by joining on employee_id.
    manager_employee_id: str | None = Field(default=None, max_length=255, index=True)
    absences: int = Field(default=0)
    dirty: bool = Field(default=True, index=True)
    changed_at: dt.datetime = _ts()
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts()


class PersonEvent(SQLModel, table=True):
    """A person's history: joined, changed, left, rehired, converted, linked..., by run."""

    __tablename__ = "person_events"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    )
    run_id: int | None = Field(default=None, index=True)
    event: str = Field(max_length=20)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    at: dt.datetime = _ts()


class AuditEvent(SQLModel, table=True):
    """One decision in the append-only audit log (see sync/audit/log.py).

    ``seq`` is gapless from 1 and is the event's Merkle leaf index plus one; ``leaf_hash`` is
    SHA-256(0x00 || RFC 8785 bytes of the event), kept so proofs need no re-hashing. On
    PostgreSQL a trigger refuses UPDATE and DELETE on this table (migration 0003).
    """

    __tablename__ = "audit_events"

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


class Lock(SQLModel, table=True):
    """A named lock held in the database, so one sync runs at a time whatever the number of
    workers or machines. ``expires_at`` lets a crashed holder's lock be taken over."""

    __tablename__ = "locks"

    name: str = Field(max_length=100, primary_key=True)
    holder: str = Field(max_length=200)
    acquired_at: dt.datetime = _ts()
    expires_at: dt.datetime = Field(sa_type=DateTime(timezone=True))


# --- BI state and the outbox (issue 6) --------------------------------------------------


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
