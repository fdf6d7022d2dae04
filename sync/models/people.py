"""Runs and imports, and the identity store's people and their history."""


from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from sync.models.base import JSONType, _ts


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
    # The console's name search (migration 0012; SQLite's spelling is json_extract(...)).
    __table_args__ = (
        Index("ix_people_given_name_lower", text("lower(fields ->> 'given_name')")),
        Index("ix_people_family_name_lower", text("lower(fields ->> 'family_name')")),
    )

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
