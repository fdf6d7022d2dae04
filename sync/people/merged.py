"""The one read model of people: what HR says (the stored view) merged with what the
identity provider says now, and each SCIM user no HR person is linked to.

SCIM-only users are merged in at read time rather than made into ``people`` rows: the
people store holds what HR says, and a SCIM user with no HR record is still someone the
identity provider says should have an account. A linked person is HR's stored view merged
with the SCIM user as it is now (``merge_people``, by fields.yaml's ``prefer``), so an IdP
change reaches the BI platform without waiting for the next HR import, and an HR import
never undoes a push. Links are kept current by the import and by every SCIM write
(``sync.people.linking.relink``). Plans, pushes, ``hr2bi people``, ``mappings
explain|impact`` and ``provision`` all read people through here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import or_, select
from sqlmodel import Session

from scim.store import UserStore
from sync.models import ScimUser, StoredPerson
from sync.rules import (
    Person,
    PersonError,
    merge_people,
    person_from_scim,
    person_from_stored,
)
from sync.rules.fields import AttributeMap

CHUNK = 500


@dataclass(frozen=True)
class Scope:
    """Whom a plan looks at: everyone (both None), or these people and SCIM users."""

    people: Collection[int] | None = None
    scim_users: Collection[str] | None = None

    @property
    def everyone(self) -> bool:
        return self.people is None and self.scim_users is None


class Merged(NamedTuple):
    """One person as the rules see them, a label for reports, and who they are stored as."""

    person: Person
    label: str
    person_id: int | None
    scim_user_id: str | None


def merged_people(session: Session, attribute_map: AttributeMap, scope: Scope,
                  problems: list[str]) -> Iterable[Merged]:
    """Everyone in scope as the rules see them, with a label for reports: each stored
    person merged with their linked SCIM user, then each SCIM user nobody is linked to.
    The one read model of people: plans, pushes and ``mappings explain|impact`` use it."""
    query = select(StoredPerson).order_by(StoredPerson.id)
    if not scope.everyone:
        query = query.where(or_(StoredPerson.id.in_(list(scope.people or ())),
                                StoredPerson.scim_user_id.in_(list(scope.scim_users or ()))))
    rows = list(session.scalars(query))
    linked = {r.scim_user_id for r in rows if r.scim_user_id}
    idp = _scim_people(session, attribute_map, linked, problems)
    for row in rows:
        label = f"{row.employee_id} ({row.fields.get('user_name') or '?'})"
        try:
            hr = person_from_stored(row.fields, row.field_sources or {}, attribute_map)
        except PersonError as exc:
            problems.append(f"{label}: {exc}")
            continue
        # One merge, by fields.yaml's precedence: what HR says (as stored) and what the
        # identity provider says now, the same on the push path and the nightly one.
        idp_person = idp.get(row.scim_user_id or "")
        yield Merged(merge_people(hr, idp_person, attribute_map), label, row.id,
                     row.scim_user_id if idp_person is not None else None)
    yield from _scim_only(session, attribute_map, scope, problems)


def _scim_people(session: Session, attribute_map: AttributeMap, ids: Collection[str],
                 problems: list[str]) -> dict[str, Person]:
    people: dict[str, Person] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        rows = list(session.scalars(select(ScimUser).where(ScimUser.id.in_(ordered[start:start + CHUNK]))))
        for row, resource in zip(rows, UserStore(session, "").render_rows(rows), strict=True):
            try:
                people[row.id] = person_from_scim(resource, attribute_map)
            except PersonError as exc:
                problems.append(f"SCIM user {row.user_name}: {exc}")
    return people


def idp_only_people(session: Session, attribute_map: AttributeMap, problems: list[str]) -> Iterable[Merged]:
    """Every SCIM user no HR person is linked to, as a person (``hr2bi people`` lists them)."""
    return _scim_only(session, attribute_map, Scope(), problems)


def _scim_only(session: Session, attribute_map: AttributeMap, scope: Scope,
               problems: list[str]) -> Iterable[Merged]:
    if scope.people is not None and scope.scim_users is None:
        return
    linked = select(StoredPerson.scim_user_id).where(StoredPerson.scim_user_id.is_not(None))
    query = select(ScimUser.id).where(ScimUser.id.not_in(linked)).order_by(ScimUser.id)
    if scope.scim_users is not None:
        query = query.where(ScimUser.id.in_(list(scope.scim_users)))
    ids = list(session.scalars(query))
    for user_id, person in _scim_people(session, attribute_map, ids, problems).items():
        yield Merged(person, f"SCIM user {person.fields.get('user_name') or user_id}", None, user_id)
