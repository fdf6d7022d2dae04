"""People as the commands show them: plain dicts read from the identity store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from sync.models import PersonEvent, ScimUser, StoredPerson


class PersonNotFound(LookupError):
    """No person has this employee id or email."""


def list_people(session: Session, state: str | None = None, dirty: bool | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
    query = select(StoredPerson).order_by(StoredPerson.employee_id).limit(limit)
    if state is not None:
        query = query.where(StoredPerson.lifecycle == state)
    if dirty is not None:
        query = query.where(StoredPerson.dirty == dirty)
    return [_summary(p) for p in session.scalars(query)]


def _summary(person: StoredPerson) -> dict[str, Any]:
    fields = person.fields
    name = " ".join(str(fields[k]) for k in ("given_name", "family_name") if fields.get(k))
    return {"employee_id": person.employee_id, "name": name or None, "email": fields.get("email"),
            "lifecycle": person.lifecycle, "employment_type": person.employment_type,
            "department": fields.get("department"), "source": person.source,
            "linked": person.scim_user_id is not None, "dirty": person.dirty}


def show_person(session: Session, key: str) -> dict[str, Any]:
    """Everything about one person, found by employee id or (case-insensitively) email."""
    person = session.scalars(select(StoredPerson).where(or_(
        StoredPerson.employee_id == key, StoredPerson.email_key == key.lower()))
        .order_by(StoredPerson.employee_id != key)).first()
    if person is None:
        raise PersonNotFound(f"no person with employee id or email {key!r}: `hr2bi people list` shows them")
    manager = session.scalars(select(StoredPerson).where(
        StoredPerson.employee_id == person.manager_employee_id)).first() if person.manager_employee_id else None
    scim = session.get(ScimUser, person.scim_user_id) if person.scim_user_id else None
    reports = session.scalar(select(func.count()).where(StoredPerson.manager_employee_id == person.employee_id))
    events = session.scalars(select(PersonEvent).where(PersonEvent.person_id == person.id)
                             .order_by(PersonEvent.id))
    return {
        **_summary(person), "provision_from": _iso(person.provision_from), "absences": person.absences,
        "fields": person.fields, "field_sources": person.field_sources, "hr_record": person.hr_record,
        "manager": {"employee_id": person.manager_employee_id,
                    "resolved": manager.employee_id if manager else None},
        "direct_reports": reports,
        "scim_user": ({"id": scim.id, "userName": scim.user_name, "active": scim.active,
                       "why": person.link_reason} if scim else None),
        "changed_at": _iso(person.changed_at), "created_at": _iso(person.created_at),
        "history": [{"at": _iso(e.at), "run": e.run_id, "event": e.event, "details": e.details} for e in events],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
