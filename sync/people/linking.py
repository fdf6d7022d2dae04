"""Which identity-provider (SCIM) user is which HR person.

By employee number first — it is what both systems agree a person is — else by email, but
only with a SCIM user that carries no employee number (one with a different number is
someone else). Ambiguous matches link nobody and say why. Every link records its reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from scim.store import ScimWrite
from sync.bulk import chunks
from sync.models import PersonEvent, ScimUser, ScimUserValue, StoredPerson
from sync.names import name_key

CHUNK = 500  # keys per IN (...): well under SQLite's bound-variable limit


@dataclass(frozen=True)
class Link:
    scim_user_id: str
    reason: str


@dataclass
class ScimIndex:
    """SCIM users by employee number and by (lower-case) email or userName."""

    names: dict[str, str] = field(default_factory=dict)
    by_number: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_email: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def load_scim_index(session: Session, numbers: Collection[str] | None = None,
                    emails: Collection[str] | None = None) -> ScimIndex:
    """Every SCIM user, or (given ``numbers`` and ``emails``) only those a person with one
    of these employee ids or emails could link to: :func:`link` looks up nothing else, so
    it answers the same on the smaller index."""
    index = ScimIndex()
    numbered: set[str] = set()
    users = select(ScimUser.id, ScimUser.employee_number, ScimUser.user_name, ScimUser.user_name_key)
    if numbers is not None or emails is not None:
        wanted = scim_ids_for(session, sorted(numbers or ()), sorted(emails or ()))
        users = users.where(ScimUser.id.in_(sorted(wanted)))
    for user_id, number, user_name, user_name_key in session.execute(users):
        index.names[user_id] = user_name
        if number and number.strip():
            index.by_number[number.strip()].append(user_id)
            numbered.add(user_id)
        elif "@" in user_name_key:
            index.by_email[user_name_key].add(user_id)
    found = select(ScimUserValue.user_id, ScimUserValue.value_key).where(ScimUserValue.attribute == "emails")
    if numbers is not None or emails is not None:
        found = found.where(ScimUserValue.user_id.in_(sorted(index.names)))
    for user_id, email in session.execute(found):
        if email and user_id not in numbered:
            index.by_email[email].add(user_id)
    return index


def scim_ids_for(session: Session, numbers: list[str], emails: list[str]) -> set[str]:
    """The SCIM users with one of these employee numbers, userNames or emails: everyone who
    may claim (or make ambiguous) a person with one of them."""
    ids: set[str] = set()
    for chunk in chunks(numbers, CHUNK):
        ids.update(session.scalars(select(ScimUser.id).where(ScimUser.employee_number.in_(chunk))))
    for chunk in chunks(emails, CHUNK):
        ids.update(session.scalars(select(ScimUser.id).where(ScimUser.user_name_key.in_(chunk))))
        ids.update(session.scalars(select(ScimUserValue.user_id).where(
            ScimUserValue.attribute == "emails", ScimUserValue.value_key.in_(chunk))))
    return ids


def link(employee_id: str, email: str | None, index: ScimIndex) -> Link | str | None:
    """The link for one person, a sentence saying why there is none (ambiguous), or None."""
    numbered = sorted(index.by_number.get(employee_id, ()))
    if len(numbered) == 1:
        return Link(numbered[0], f"employee number {employee_id} matches SCIM user "
                                 f"{index.names[numbered[0]]}")
    if numbered:
        return f"SCIM users {_names(numbered, index)} all have employee number {employee_id}: none linked"
    matches = sorted(index.by_email.get(email or "", ())) if email else []
    if len(matches) == 1:
        return Link(matches[0], f"email {email} matches SCIM user {index.names[matches[0]]} "
                                "(which has no employee number)")
    if matches:
        return f"SCIM users {_names(matches, index)} all have email {email}: none linked"
    return None


def link_all(people: Mapping[str, str | None], index: ScimIndex) -> tuple[dict[str, Link], list[str]]:
    """Links for ``employee id -> email``; a SCIM user claimed by two people by email links
    neither. Returns the links and the problems, both in employee id order."""
    links: dict[str, Link] = {}
    problems: list[str] = []
    for employee_id in sorted(people):
        found = link(employee_id, people[employee_id], index)
        if isinstance(found, Link):
            links[employee_id] = found
        elif found:
            problems.append(f"{employee_id}: {found}")
    claimed: dict[str, list[str]] = defaultdict(list)
    for employee_id, found in links.items():
        claimed[found.scim_user_id].append(employee_id)
    for user_id, claimants in claimed.items():
        if len(claimants) > 1:
            for employee_id in claimants:
                del links[employee_id]
            problems.append(f"{', '.join(claimants)}: all match SCIM user {index.names[user_id]} by "
                            "email: none linked (give the SCIM user an employee number)")
    return links, problems


def _names(user_ids: Iterable[str], index: ScimIndex) -> str:
    return ", ".join(index.names[u] for u in user_ids)


def relink(session: Session, keys: Iterable[str], numbers: Iterable[str], scim_user_ids: Iterable[str]) -> set[int]:
    """Bring stored links up to date after a SCIM write, by the rule the import follows
    (:func:`link_all`), for every person the write can concern: people whose employee id
    is one of ``numbers``, whose email is one of ``keys`` (the written user's userName and
    emails, before and after), or who were linked to one of ``scim_user_ids``; and the
    other people who claim, by email, a SCIM user one of them now links to. Returns the ids
    of the people whose link changed (each also gets a ``linked``/``unlinked`` event)."""
    people = _people_for(session, set(numbers), set(keys), set(scim_user_ids))
    if not people:
        return set()
    index = _index_for(session, people)
    by_email = {u for p in people for u in index.by_email.get(p.email_key or "", ())}
    claimants = _people_for(session, set(), {e for e, ids in index.by_email.items() if ids & by_email}, set())
    if not claimants <= people:  # someone new claims one of those users: read their keys too
        people |= claimants
        index = _index_for(session, people)
    links, _problems = link_all({p.employee_id: p.email_key for p in people}, index)
    changed: set[int] = set()
    for person in sorted(people, key=lambda p: p.employee_id):
        found = links.get(person.employee_id)
        if (found.scim_user_id if found else None) == person.scim_user_id:
            continue
        row = session.get(StoredPerson, person.id)
        assert row is not None
        row.scim_user_id, row.link_reason = (found.scim_user_id, found.reason) if found else (None, None)
        event = ("linked", {"scim_user_id": found.scim_user_id, "why": found.reason}) if found else \
            ("unlinked", {"scim_user_id": person.scim_user_id})
        session.add(PersonEvent(person_id=person.id, run_id=None, event=event[0], details=event[1]))
        changed.add(person.id)
    session.flush()
    return changed


def _index_for(session: Session, people: set[_Linkable]) -> ScimIndex:
    return load_scim_index(session, {p.employee_id for p in people}, {p.email_key for p in people if p.email_key})


@dataclass(frozen=True)
class _Linkable:
    id: int
    employee_id: str
    email_key: str | None
    scim_user_id: str | None


def _people_for(session: Session, numbers: set[str], emails: set[str], scim_user_ids: set[str]) -> set[_Linkable]:
    columns = select(StoredPerson.id, StoredPerson.employee_id, StoredPerson.email_key, StoredPerson.scim_user_id)
    found: set[_Linkable] = set()
    for column, values in ((StoredPerson.employee_id, numbers), (StoredPerson.email_key, emails),
                           (StoredPerson.scim_user_id, scim_user_ids)):
        for chunk in chunks(sorted(v for v in values if v), CHUNK):
            found.update(_Linkable(*row) for row in session.execute(columns.where(column.in_(chunk))))
    return found


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def relink_on_write(session: Session, write: ScimWrite) -> None:
    """The SCIM ``on_write`` hook that keeps links current in the write's own transaction:
    a person the IdP pushes after an HR import is that person at once, not a second,
    SCIM-only account until the next import (issue 11)."""
    if write.resource_type != "User":
        return
    keys: set[str] = set()
    numbers: set[str] = set()
    for resource in (write.before, write.after):
        if not resource:
            continue
        keys.add(name_key(str(resource.get("userName") or "")))
        keys.update(name_key(str(e.get("value") or "")) for e in resource.get("emails") or ()
                    if isinstance(e, Mapping))
        number = (resource.get(ENTERPRISE) or {}).get("employeeNumber")
        if isinstance(number, str) and number.strip():
            numbers.add(number.strip())
    relink(session, keys - {""}, numbers, {write.resource_id})
