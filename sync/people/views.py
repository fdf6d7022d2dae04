"""People as the commands show them: plain dicts read from the identity store.

HR people come from ``people``; people only an identity provider knows come from the one
read model of SCIM users as people (``sync.people.merged``), marked ``idp_only``. Given
the mapping tables, ``show_person`` also gives the merged person (HR and IdP, by
``fields.yaml``) and the account the tables give them, as ``mappings explain`` and
``hr2bi provision --dry-run`` do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from sync.errors import UserError
from sync.models import PersonEvent, ScimUser, ScimUserValue, StoredPerson
from sync.names import name_key
from sync.people.document import json_value
from sync.people.merged import Scope, idp_only_people, merged_people
from sync.rules import PersonError, Tables, evaluate
from sync.rules.report import account_to_dict

IDP_STATES = {"active": True, "terminated": False}  # --status for an IdP-only person: their active flag


class PersonNotFound(UserError, LookupError):
    """No person has this employee id or email."""


def list_people(session: Session, state: str | None = None, dirty: bool | None = None,
                limit: int = 1000, tables: Tables | None = None) -> list[dict[str, Any]]:
    """HR people by employee id, then (given the tables) the people only an identity
    provider knows, by userName; ``limit`` in all."""
    query = select(StoredPerson).order_by(StoredPerson.employee_id).limit(limit)
    if state is not None:
        query = query.where(StoredPerson.lifecycle == state)
    if dirty is not None:
        query = query.where(StoredPerson.dirty == dirty)
    found = [_summary(p) for p in session.scalars(query)]
    if tables is None or dirty is not None or (state is not None and state not in IDP_STATES):
        return found
    idp = [_idp_summary(session, m.scim_user_id or "", m.person.fields) for m in _idp_only(session, tables)]
    idp = [p for p in idp if state is None or p["active"] is IDP_STATES[state]]
    return found + sorted(idp, key=lambda p: p["user_name"].lower())[:max(limit - len(found), 0)]


def _summary(person: StoredPerson) -> dict[str, Any]:
    fields = person.fields
    name = " ".join(str(fields[k]) for k in ("given_name", "family_name") if fields.get(k))
    return {"employee_id": person.employee_id, "name": name or None, "email": fields.get("email"),
            "lifecycle": person.lifecycle, "employment_type": person.employment_type,
            "department": fields.get("department"), "source": person.source,
            "linked": person.scim_user_id is not None, "dirty": person.dirty, "idp_only": False}


def _idp_only(session: Session, tables: Tables) -> list[Any]:
    return list(idp_only_people(session, tables.attribute_map, []))


def _idp_summary(session: Session, user_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An IdP-only person as a list row: what the identity provider says of them."""
    user = session.get(ScimUser, user_id)
    name = " ".join(str(fields[k]) for k in ("given_name", "family_name") if fields.get(k))
    active = bool(user.active) if user else False
    return {"employee_id": fields.get("employee_id"), "name": name or None, "email": fields.get("email"),
            "lifecycle": "active" if active else "inactive", "employment_type": None,
            "department": fields.get("department"), "source": "idp", "linked": False, "dirty": None,
            "idp_only": True, "scim_user_id": user_id, "user_name": user.user_name if user else user_id,
            "active": active}


def show_person(session: Session, key: str, tables: Tables | None = None) -> dict[str, Any]:
    """Everything about one person, found by employee id or (case-insensitively) email, or
    (given the tables) an IdP-only person by userName, email or SCIM id; with the tables,
    also the merged person and the account the tables give them."""
    key = key.strip()
    person = session.scalars(select(StoredPerson).where(or_(
        StoredPerson.employee_id == key, StoredPerson.email_key == name_key(key)))
        .order_by(StoredPerson.employee_id != key)).first()
    if person is None and tables is not None:
        found = _idp_person(session, key, tables)
        if found is not None:
            return found
    if person is None:
        raise PersonNotFound(f"no person with employee id, email, userName or SCIM id {key!r}: "
                             "`hr2bi people list` shows them")
    shown = _hr_person(session, person)
    if tables is not None:
        users = frozenset({person.scim_user_id} if person.scim_user_id else ())
        shown |= _as_planned(session, tables, frozenset({person.id}), users)
    return shown


def _idp_person(session: Session, key: str, tables: Tables) -> dict[str, Any] | None:
    """The IdP-only person ``key`` names, or None (a linked SCIM user is shown as its person)."""
    lower = name_key(key)
    ids = set(session.scalars(select(ScimUser.id).where(or_(ScimUser.id == key, ScimUser.user_name_key == lower))))
    ids |= set(session.scalars(select(ScimUserValue.user_id).where(
        ScimUserValue.attribute == "emails", ScimUserValue.value_key == lower)))
    for user_id in sorted(ids):
        linked = session.scalars(select(StoredPerson).where(StoredPerson.scim_user_id == user_id)).first()
        if linked is not None:
            return show_person(session, linked.employee_id, tables)
        planned = _as_planned(session, tables, frozenset(), frozenset({user_id}))
        if planned["person"] is None:
            continue
        user = session.get(ScimUser, user_id)
        return {**_idp_summary(session, user_id, planned["person"]["fields"]),
                "provision_from": None, "absences": 0, "hr_record": None,
                "fields": planned["person"]["fields"], "field_sources": planned["person"]["sources"],
                "manager": {"employee_id": None, "resolved": None}, "direct_reports": 0,
                "scim_user": {"id": user_id, "userName": user.user_name if user else user_id,
                              "active": bool(user and user.active), "why": "identity provider only"},
                "changed_at": _iso(user.updated_at if user else None),
                "created_at": _iso(user.created_at if user else None), "history": [], **planned}
    return None


def _as_planned(session: Session, tables: Tables, people: frozenset[int], users: frozenset[str]) -> dict[str, Any]:
    """The person as the planner merges them and the account the tables give them."""

    problems: list[str] = []
    for m in merged_people(session, tables.attribute_map, Scope(people, users), problems):
        shown = {"person": {"label": m.label, "fields": _json(dict(m.person.fields)),
                            "sources": dict(m.person.sources)}, "account": None, "problems": problems}
        try:
            account, _explanation = evaluate(m.person, tables)
        except PersonError as exc:
            problems.append(f"{m.label}: {exc}")
        else:
            shown["account"] = account_to_dict(account)
        return shown
    return {"person": None, "account": None, "problems": problems}


def _json(values: dict[str, Any]) -> dict[str, Any]:

    return {k: json_value(v) for k, v in values.items()}


def _hr_person(session: Session, person: StoredPerson) -> dict[str, Any]:
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
        "scheduled": scheduled(person),
        "history": [{"at": _iso(e.at), "run": e.run_id, "event": e.event, "details": e.details} for e in events],
    }


def scheduled(person: StoredPerson) -> list[dict[str, str]]:
    """What is dated to happen to them with nothing else changing: the nightly sync reads
    their export again on that day (``sync.sources.importer.dates_due``) and decides anew."""
    if person.review_on is None:
        return []
    if person.lifecycle == "pre_hire":
        return [{"on": person.review_on.isoformat(), "change": "provisioned (pre-hire lead before the start "
                 f"date {person.fields.get('hire_date') or '?'})"}]
    return [{"on": person.review_on.isoformat(),
             "change": f"leaves (termination date {person.fields.get('termination_date') or '?'} has passed)"}]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
