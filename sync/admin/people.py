"""People as the console and the API show them: a search, and one person's page.

The search is indexed queries only (it must answer in well under 300 ms at 100,000
people): an employee id exactly or by prefix, an email or userName by prefix of its
canonical key (``sync.names``: case-folded, NFKC, so composed and decomposed accents are
one spelling), and a given or family name by prefix of its lower-cased value (migration
0012's expression indexes). HR people come first, then people only an identity provider
knows; a SCIM user linked to an HR person is found as that person.

A person's page is ``sync.people.views.show_person`` (the fields and where each came
from, the HR record, the IdP link), the explanation of the account the tables give them
(``sync.rules.explain``, as ``hr2bi mappings explain``), the BI account hr2bi last
applied (``sync.plan.state``), and their history in the audit log, newest first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
    union,
)
from sqlmodel import Session

from sync.models import AuditEvent, ScimUser, ScimUserValue, StoredPerson
from sync.names import fold
from sync.people.merged import Scope, merged_people
from sync.people.views import PersonNotFound, show_person
from sync.plan.state import user_row, user_snapshot
from sync.rules import PersonError, Tables, evaluate, explanation_to_dict
from sync.rules.report import account_to_dict

__all__ = ["PersonNotFound", "person_history", "person_page", "search_people"]
TOP = "\U0010ffff"  # above every character: [prefix, prefix + TOP) is the prefix's index range
SUBJECT_TYPES = ("person", "user")  # audit targets that are a person, a SCIM user or a BI user
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
CONTROL = re.compile("[\x00-\x1f\x7f]")
COUNT_CAP = 1000
IDP_PREFIX = "idp:"  # the key of a person only an identity provider knows: idp:<SCIM id>


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < prefix + TOP)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def json_lower(session: Session, column: Any, *path: str) -> Any:
    """A JSON column's string at ``path``, lower-cased, exactly as migration 0012 indexes it
    (SQLite's lower() folds ASCII only; PostgreSQL's folds every letter)."""
    if _postgresql(session):
        value = column
        for step in path[:-1]:
            value = value.op("->")(literal_column(f"'{step}'"))
        return func.lower(value.op("->>")(literal_column(f"'{path[-1]}'")))
    # A literal path, not a bound parameter: SQLite matches an expression index only textually.
    return func.lower(func.json_extract(column, literal_column(f"'$.{'.'.join(path)}'")))


def _name_terms(session: Session, query: str, given: Any, family: Any) -> list[ColumnElement[bool]]:
    """A given or family name by prefix; "ada love" also as given "ada*" and family "love*"."""
    terms: list[ColumnElement[bool]] = []
    for lowered in _lowered(query):
        terms += [_prefix(given, lowered), _prefix(family, lowered)]
        first, _, rest = lowered.partition(" ")
        if rest.strip():
            # `|| ''` keeps the family name off its index here: without statistics SQLite
            # would walk every "Smith*" to find the few "Ada*" (the given name is the narrow one).
            terms.append(and_(_prefix(given, first), _prefix(family.concat(""), rest.strip())))
    return terms


def _lowered(text: str) -> list[str]:
    """The query as the database's lower() may have lowered a name: SQLite's folds ASCII
    letters only ("ÅSA" -> "Åsa"), PostgreSQL's (in a UTF-8 locale) every letter; each in
    both Unicode forms, since a name is stored as it came (an "Å" typed on a Mac arrives
    decomposed, NFD; most HR exports send it composed, NFC)."""
    forms = {unicodedata.normalize(form, text) for form in ("NFC", "NFD")}
    return sorted({f.translate(ASCII_LOWER) for f in forms} | {f.lower() for f in forms})


def _matching_users(session: Session, query: str) -> Any:
    """SCIM users whose userName, an email or a name starts with the query, or its SCIM id
    or employee number: a UNION of one indexed lookup each (an OR of them, PostgreSQL scans)."""
    key = fold(query)
    names = _name_terms(session, query, json_lower(session, ScimUser.resource, "name", "givenName"),
                        json_lower(session, ScimUser.resource, "name", "familyName"))
    names += [_prefix(func.lower(ScimUser.display_name), q) for q in _lowered(query)]
    arms = [select(ScimUser.id).where(term) for term in (
        _prefix(ScimUser.user_name_key, key), ScimUser.id == query, ScimUser.employee_number == query, *names)]
    arms.append(select(ScimUserValue.user_id).where(ScimUserValue.attribute == "emails",
                                                    _prefix(ScimUserValue.value_key, key)))
    return union(*arms)


def _matching_people(session: Session, query: str) -> Any:
    """HR people whose employee id, email or name starts with the query, or whose linked
    SCIM user matches it (a UNION, as above)."""
    names = _name_terms(session, query, json_lower(session, StoredPerson.fields, "given_name"),
                        json_lower(session, StoredPerson.fields, "family_name"))
    terms = (_prefix(StoredPerson.employee_id, query), _prefix(StoredPerson.email_key, fold(query)),
             StoredPerson.scim_user_id.in_(_matching_users(session, query)), *names)
    return union(*(select(StoredPerson.id, StoredPerson.employee_id).where(term) for term in terms))


def search_people(session: Session, query: str | None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """People whose employee id, email, userName or name starts with ``query`` (everyone
    when it is empty): HR people by employee id, then IdP-only people by userName.
    ``total`` counts at most COUNT_CAP of each (``total_exact`` false past that): counting
    every "Sam" of 100,000 people is work nobody reads."""
    query = CONTROL.sub("", query or "").strip()  # PostgreSQL refuses NUL in text
    matches = (_matching_people(session, query) if query
               else select(StoredPerson.id, StoredPerson.employee_id)).subquery()
    hr = select(matches.c.id)
    idp = select(ScimUser.id).where(~exists().where(StoredPerson.scim_user_id == ScimUser.id))
    idp_order = ScimUser.user_name_key
    if query:
        idp = idp.where(ScimUser.id.in_(_matching_users(session, query)))
        # Sorting by `key || ''` keeps SQLite from walking the whole key index in order
        # (its choice when it cannot see the bound prefixes) instead of the matches' indexes.
        idp_order = idp_order.concat("")
    # The matches' (id, employee id) pairs are sorted as found: no row is read twice.
    ids = list(session.scalars(hr.order_by(matches.c.employee_id).offset(offset).limit(limit)))
    found = [_hr_row(p) for p in session.scalars(
        select(StoredPerson).where(StoredPerson.id.in_(ids)).order_by(StoredPerson.employee_id))]
    if len(found) == limit:
        hr_total, hr_exact = _count(session, hr, max(COUNT_CAP, offset + limit))
    else:  # the last HR page: exactly this many (counted only when the offset is past them)
        hr_total, hr_exact = (offset + len(found), True) if found else _count(session, hr, offset)
        users = list(session.scalars(idp.order_by(idp_order)
                                     .offset(max(offset - hr_total, 0)).limit(limit - len(found))))
        by_id = {u.id: u for u in session.scalars(select(ScimUser).where(ScimUser.id.in_(users)))}
        found += [_idp_row(by_id[u]) for u in users]
    idp_total, idp_exact = _count(session, idp, COUNT_CAP)
    return {"query": query, "total": hr_total + idp_total, "total_exact": hr_exact and idp_exact,
            "limit": limit, "offset": offset, "people": found}


def _count(session: Session, ids: Any, cap: int) -> tuple[int, bool]:
    """How many rows ``ids`` selects, counting no further than ``cap`` (and whether exact)."""
    counted = session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery())) or 0
    return min(counted, cap), counted <= cap


def _hr_row(person: StoredPerson) -> dict[str, Any]:
    fields = person.fields
    name = " ".join(str(fields[k]) for k in ("given_name", "family_name") if fields.get(k))
    return {"key": person.employee_id, "kind": "hr", "employee_id": person.employee_id, "name": name or None,
            "email": fields.get("email"), "user_name": fields.get("user_name"), "lifecycle": person.lifecycle,
            "linked": person.scim_user_id is not None, "source": person.source}


def _idp_row(user: ScimUser) -> dict[str, Any]:
    resource = user.resource or {}
    name = resource.get("name") if isinstance(resource.get("name"), dict) else {}
    full = " ".join(str(name[k]) for k in ("givenName", "familyName") if name.get(k)) or user.display_name
    emails = [e.get("value") for e in resource.get("emails") or () if isinstance(e, dict)]
    return {"key": IDP_PREFIX + user.id, "kind": "idp", "employee_id": user.employee_number,
            "name": full or None, "email": emails[0] if emails else None, "user_name": user.user_name,
            "lifecycle": "active" if user.active else "inactive", "linked": False, "source": "idp"}


def person_page(session: Session, key: str, tables: Tables | None, history_limit: int = 50,
                history_offset: int = 0) -> dict[str, Any]:
    """Everything about the person ``key`` names (a search row's key; also an employee id,
    email, userName or SCIM id); ``PersonNotFound`` for nobody."""
    lookup = key.removeprefix(IDP_PREFIX) if key.startswith(IDP_PREFIX) else key
    if not lookup.strip() or CONTROL.search(lookup):
        raise PersonNotFound("give a person's key (an employee id, or idp:<SCIM id>)")
    shown = show_person(session, lookup, tables)
    scope = _scope(session, shown)
    page = {"key": _key(shown), "summary": {k: shown.get(k) for k in (
                "employee_id", "name", "email", "lifecycle", "employment_type", "department", "source",
                "linked", "idp_only", "provision_from", "absences", "changed_at", "created_at")},
            "fields": _fields(shown), "hr_record": shown.get("hr_record"), "idp_user": shown.get("scim_user"),
            "manager": shown.get("manager"), "direct_reports": shown.get("direct_reports"),
            "scheduled": shown.get("scheduled") or [], "person_events": list(reversed(shown.get("history") or [])),
            "problems": list(shown.get("problems") or []), "desired": None, "explanation": None,
            "applied": None, "tables_version": tables.version if tables else None}
    if tables is not None:
        page.update(_explained(session, tables, scope, page["problems"]))
    user_name = (page["desired"] or {}).get("user_name") or (page["fields"].get("user_name") or {}).get("value")
    if user_name:
        page["applied"] = user_snapshot(user_row(session, str(user_name)))
    page["history"] = person_history(session, _subjects(shown, page), history_limit, history_offset)
    return page


def _key(shown: dict[str, Any]) -> str:
    return IDP_PREFIX + shown["scim_user_id"] if shown.get("idp_only") else shown["employee_id"]


def _scope(session: Session, shown: dict[str, Any]) -> Scope:
    if shown.get("idp_only"):
        return Scope(frozenset(), frozenset({shown["scim_user_id"]}))
    person_id = session.scalar(select(StoredPerson.id).where(StoredPerson.employee_id == shown["employee_id"]))
    scim = (shown.get("scim_user") or {}).get("id")
    return Scope(frozenset({person_id}), frozenset({scim} if scim else ()))


def _fields(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every field with its value and where it came from (hr, idp, default)."""
    merged = shown.get("person")
    values, sources = (merged["fields"], merged["sources"]) if merged else (shown["fields"], shown["field_sources"])
    return {name: {"value": value, "source": (sources or {}).get(name)} for name, value in values.items()}


def _explained(session: Session, tables: Tables, scope: Scope, problems: list[str]) -> dict[str, Any]:
    """The account the tables give them and, row by row, why (``hr2bi mappings explain``)."""
    for merged in merged_people(session, tables.attribute_map, scope, problems):
        try:
            account, explanation = evaluate(merged.person, tables)
        except PersonError as exc:
            problems.append(f"{merged.label}: {exc}")
            return {}
        return {"desired": account_to_dict(account), "explanation": explanation_to_dict(explanation)}
    return {}


def _subjects(shown: dict[str, Any], page: dict[str, Any]) -> dict[str, set[str]]:
    """What audit events name this person by: employee id, SCIM id, userName, BI id."""
    ids = {shown.get("employee_id"), (shown.get("scim_user") or {}).get("id"), shown.get("scim_user_id"),
           (page["applied"] or {}).get("id")}
    names = {(page["desired"] or {}).get("user_name"), (page["applied"] or {}).get("userName"),
             (shown.get("scim_user") or {}).get("userName")}
    return {"ids": {str(i) for i in ids if i}, "names": {str(n) for n in names if n}}


def target_expression(session: Session, key: str) -> Any:
    """An audit event's target key (``id``, ``userName``), as migration 0012 indexes it."""
    if _postgresql(session):
        return AuditEvent.target.op("->>")(literal_column(f"'{key}'"))
    return func.json_extract(AuditEvent.target, literal_column(f"'$.{key}'"))


def person_history(session: Session, subjects: dict[str, set[str]], limit: int = 50,
                   offset: int = 0) -> dict[str, Any]:
    """Audit events about them (as a person, a SCIM user or a BI user), newest first."""
    ids, names = sorted(subjects["ids"]), sorted(subjects["names"])
    # A run's id is a number: only person and user targets (PostgreSQL's ->> makes 7 and "7" alike).
    where = and_(or_(target_expression(session, "id").in_(ids), target_expression(session, "userName").in_(names)),
                 target_expression(session, "type").in_(SUBJECT_TYPES))
    query = select(AuditEvent).where(where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEvent.seq.desc()).offset(offset).limit(limit))
    return {"total": total, "limit": limit, "offset": offset, "events": [
        {"seq": e.seq, "time": e.time.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
         "outcome": e.outcome, "run": e.run_id, "before": e.before, "after": e.after, "reason": e.reason}
        for e in rows]}
