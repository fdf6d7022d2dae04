"""Reading and writing people in bulk: a few statements per import, never one per person.

An import of 100,000 people must not make 100,000 round trips: people are read as one
light snapshot, written with executemany in batches, and their full documents are fetched
only for the few whose data changed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from sync.bulk import BATCH, EncodedJSON, bulk_insert, chunks
from sync.models import PersonEvent, StoredPerson

CHUNK = 500  # ids per IN (...): well under SQLite's bound-variable limit
PEOPLE = StoredPerson.__table__  # type: ignore[attr-defined]
EVENTS = PersonEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Known:
    """What change detection needs of a stored person, without their documents."""

    id: int
    employee_id: str
    email_key: str | None
    content_hash: str
    lifecycle: str
    employment_type: str | None
    scim_user_id: str | None
    absences: int
    review_on: dt.date | None
    source: str | None


def load_known(session: Session) -> dict[str, Known]:
    columns = [PEOPLE.c[name] for name in Known.__dataclass_fields__]
    return {row.employee_id: Known(*row) for row in session.execute(select(*columns))}


def load_documents(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """id -> {"fields", "field_sources", "hr_record"} for the given people."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(ids)), CHUNK):
        query = select(PEOPLE.c.id, PEOPLE.c.fields, PEOPLE.c.field_sources, PEOPLE.c.hr_record)
        for row in session.execute(query.where(PEOPLE.c.id.in_(chunk))):
            found[row.id] = {"fields": row.fields, "field_sources": row.field_sources,
                             "hr_record": row.hr_record}
    return found


def insert_people(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    bulk_insert(session, PEOPLE, rows)


def update_people(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows keyed by ``_id``; rows with the same columns go in one executemany."""
    by_shape: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    for shape, group in by_shape.items():
        # Bound names must differ from the column names SQLAlchemy reserves for SET.
        statement = (update(PEOPLE).where(PEOPLE.c.id == bindparam("_id"))
                     .values({name: bindparam(f"new_{name}") for name in shape if name != "_id"}))
        params = [{(k if k == "_id" else f"new_{k}"): _value(v) for k, v in row.items()} for row in group]
        for batch in chunks(params, BATCH):
            session.execute(statement, batch)


def _value(value: Any) -> Any:
    # SQLAlchemy's JSON type would encode pre-encoded text as a JSON string: decode it.
    return json.loads(value) if type(value) is EncodedJSON else value


def insert_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    bulk_insert(session, EVENTS, rows)


def person_ids(session: Session) -> dict[str, int]:
    # Through the driver: 100,000 pairs as plain tuples, without a Row object for each
    # (flushed first, as session.execute would autoflush).
    session.flush()
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(f"SELECT {PEOPLE.c.employee_id.name}, {PEOPLE.c.id.name} FROM {PEOPLE.name}")
        return dict(cursor.fetchall())
    finally:
        cursor.close()
