"""People and audit events written in bulk are stored exactly as an ORM insert stores them:
the same JSON text on SQLite (jsonb values on PostgreSQL), the same times and dates, and a
pre-encoded JSON value (``EncodedJSON``) lands as the value it encodes, never as a string."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from hr_export import person, run_import
from sqlalchemy import select, text

from sync.audit.events import event_leaf_hash
from sync.audit.log import Event, as_exported, record_event, record_events
from sync.bulk import EncodedJSON, bulk_insert
from sync.db import session_scope
from sync.models import AuditEvent, StoredPerson
from sync.people.snapshot import PEOPLE, update_people

NOW = dt.datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
FIELDS = {"employee_id": "7", "email": "zoë@example.com", "hire_date": "2020-01-02", "level": 3,
          "groups": ["a", "b"], "manager_id": None, "active": True}
SOURCES = {"employee_id": "hr", "email": "hr", "level": "default"}


def person_row(employee_id: str, **overrides) -> dict:
    row = {"employee_id": employee_id, "source": "hr", "email_key": None, "hr_record": {"Employee ID": employee_id},
           "fields": dict(FIELDS, employee_id=employee_id), "field_sources": SOURCES, "content_hash": "c" * 64,
           "lifecycle": "active", "employment_type": None, "provision_from": dt.date(2020, 1, 2),
           "record_hash": None, "review_on": None, "scim_user_id": None, "link_reason": None,
           "manager_employee_id": None, "absences": 0, "dirty": True, "changed_at": NOW, "created_at": NOW,
           "updated_at": NOW}
    return {**row, **overrides}


def stored(engine, table: str, key: str, columns: list[str]) -> dict:
    cast = "::text" if engine.dialect.name == "postgresql" else ""
    query = text(f"SELECT {key}, {', '.join(c + cast for c in columns)} FROM {table} ORDER BY {key}")
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def test_bulk_people_are_stored_as_the_orm_stores_them(engine):
    with session_scope(engine) as session:
        session.add(StoredPerson(**person_row("1")))
        bulk_insert(session, PEOPLE, [person_row("2", field_sources=EncodedJSON(json.dumps(SOURCES)))])
    columns = ["hr_record", "fields", "field_sources", "provision_from", "changed_at", "created_at"]
    one, two = stored(engine, "people", "employee_id", columns).values()
    assert one[2:] == two[2:] and json.loads(two[2]) == SOURCES
    assert json.loads(one[1]) == dict(FIELDS, employee_id="1") and json.loads(two[1]) == dict(FIELDS, employee_id="2")


def test_pre_encoded_json_in_an_update_is_stored_as_its_value(engine):
    with session_scope(engine) as session:
        bulk_insert(session, PEOPLE, [person_row("1")])
        person_id = session.scalar(select(StoredPerson.id))
        update_people(session, [{"_id": person_id, "field_sources": EncodedJSON('{"email": "idp"}')}])
    with session_scope(engine) as session:
        assert session.get(StoredPerson, person_id).field_sources == {"email": "idp"}


def test_bulk_audit_events_are_stored_and_hashed_as_one_by_one(engine):
    target, after = {"type": "person", "id": "7", "name": "zoë"}, {"b": [1, None], "a": "x\u2028"}
    reason = {"run": 3, "why": "é"}
    with session_scope(engine) as session:
        record_event(session, actor="source:hr", action="person.add", target=target, after=after,
                     reason=reason, run=3)
        record_events(session, [Event("source:hr", "person.add", target, None, after, reason, 3)])
    columns = ["target", "before", "after", "reason", "actor", "action", "run_id", "outcome"]
    one, two = stored(engine, "audit_events", "seq", columns).values()
    assert one == two


def test_bulk_audit_events_hash_their_exported_form(engine):
    """Repeated values are encoded once: alike-looking ones (True and 1, 1 and 1.5) must not
    share a text."""
    reasons = [{"x": True}, {"x": 1}, {"x": 1}, {"x": 1.5}, {"x": None}, {"x": [1, {"é": "\U0001F600"}]},
               "text", 1, True, None, 2**53 - 1]
    events = [Event("source:hr", "person.change", {"type": "person", "id": str(n)}, reason, {"after": reason},
                    reason, n % 2 or None, "success" if n % 3 else "failure") for n, reason in enumerate(reasons)]
    with session_scope(engine) as session:
        assert record_events(session, events) == len(events)
    with session_scope(engine) as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert [r.reason for r in rows] == reasons
        for row in rows:
            assert row.leaf_hash == event_leaf_hash(as_exported(row)).hex()


def test_an_imports_people_and_events_keep_their_stored_and_hashed_forms(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000"), person("1001", Worker_Status="Terminated"),
                                  person("1002", Last_Name="Zoë 😀")])
    with session_scope(engine) as session:
        for row in session.scalars(select(AuditEvent)):
            assert row.leaf_hash == event_leaf_hash(as_exported(row)).hex()
        adds = {e.target["id"]: e.after for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "person.add"))}
        people = list(session.scalars(select(StoredPerson)))
        assert {p.employee_id: p.fields for p in people} == adds and len(adds) == 3
        for p in people:  # the hash as it was always defined
            payload = {"fields": p.fields, "state": p.lifecycle,
                       "provision_from": p.provision_from.isoformat() if p.provision_from else None}
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert p.content_hash == hashlib.sha256(text.encode()).hexdigest()
    with session_scope(engine) as session:  # stored text reads back as the value, in order
        records = {p.employee_id: p.hr_record for p in session.scalars(select(StoredPerson))}
        assert records["1002"]["Last Name"] == "Zoë 😀" and records["1001"]["Worker Status"] == "Terminated"
        assert {p.employee_id: p.fields["family_name"] for p in people}["1002"] == "Zoë 😀"
