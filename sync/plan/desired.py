"""The desired accounts: people (and SCIM users no person is linked to) through the rules.

SCIM-only users are merged in here, in the planner, rather than made into ``people`` rows:
the people store holds what HR says, and a SCIM user with no HR record is still someone
the identity provider says should have an account. A linked person is HR's stored view
merged with the SCIM user as it is now (``merge_people``, by fields.yaml's ``prefer``), so
an IdP change reaches the BI platform without waiting for the next HR import, and an HR
import never undoes a push. Links are kept current by the import and by every SCIM write
(``sync.people.linking.relink``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from scim.store import UserStore
from sync.models import ScimDeletion, ScimUser, StoredPerson
from sync.plan.values import DesiredUser, GroupRoles, key_of
from sync.rules import (
    DesiredAccount,
    Explanation,
    Person,
    PersonError,
    Tables,
    evaluate,
    merge_people,
    person_from_scim,
    person_from_stored,
)
from sync.rules.fields import AttributeMap
from sync.rules.tables import Role, role_key_text

CHUNK = 500


@dataclass(frozen=True)
class Scope:
    """Whom a plan looks at: everyone (both None), or these people and SCIM users."""

    people: Collection[int] | None = None
    scim_users: Collection[str] | None = None

    @property
    def everyone(self) -> bool:
        return self.people is None and self.scim_users is None


def with_deleted_users(session: Session, scope: Scope) -> tuple[Scope, frozenset[str]]:
    """A scoped plan for SCIM users some of whom were deleted: the scope grows by everyone
    who may still want a deleted user's userName (a person with that email, a SCIM user
    with that name), and the names come back, so the plan deactivates the ones nobody in
    that scope wants (as the full plan would) instead of leaving them to the nightly run."""
    if scope.scim_users is None:
        return scope, frozenset()
    ids = sorted(set(scope.scim_users))
    present = set(session.scalars(select(ScimUser.id).where(ScimUser.id.in_(ids))))
    gone = [i for i in ids if i not in present]
    if not gone:
        return scope, frozenset()
    names = {key_of(n) for n in session.scalars(select(ScimDeletion.name).where(
        ScimDeletion.resource_type == "User", ScimDeletion.resource_id.in_(gone))) if n}
    if not names:
        return scope, frozenset()
    people = set(session.scalars(select(StoredPerson.id).where(StoredPerson.email_key.in_(sorted(names)))))
    users = set(session.scalars(select(ScimUser.id).where(ScimUser.user_name_key.in_(sorted(names)))))
    return Scope(set(scope.people or ()) | people, set(ids) | users), frozenset(names)


def group_roles(tables: Tables) -> GroupRoles:
    """Role rows whose condition is exactly a group row's condition follow that group (the
    first such group, in file order)."""
    first_group: dict[str, Any] = {}
    for rule in tables.groups:
        first_group.setdefault(rule.when.text.strip(), rule)
    roles: dict[str, dict[str, str]] = {}
    rows: dict[str, tuple[str, ...]] = {}
    for rule in tables.roles:
        group_rule = first_group.get(rule.when.text.strip())
        if group_rule is None:
            continue
        key, held = role_key_text(rule.key), roles.setdefault(group_rule.group, {})
        if key not in held or rule.role.value > Role[held[key]].value:
            held[key] = rule.role.name
            rows[f"{key_of(group_rule.group)}:{key}"] = (str(rule.row), str(group_rule.row))
    return GroupRoles(roles, rows, tables.version)


def desired_users(session: Session, tables: Tables, scope: Scope) -> tuple[list[DesiredUser], list[str]]:
    """Every account in scope, one per userName (an active one wins over an inactive one),
    and the problems met (a person without a user name is reported, not fatal)."""
    problems: list[str] = []
    found: dict[str, DesiredUser] = {}
    for person, label in merged_people(session, tables.attribute_map, scope, problems):
        try:
            account, explanation = evaluate(person, tables)
        except PersonError as exc:
            problems.append(f"{label}: {exc}")
            continue
        _keep(found, desired_user(account, explanation, label), problems)
    return [found[k] for k in sorted(found)], problems


def _keep(found: dict[str, DesiredUser], user: DesiredUser, problems: list[str]) -> None:
    key = key_of(user.user_name)
    other = found.get(key)
    if other is None or (user.active and not other.active):
        found[key] = user
    elif user.active and other.active:
        problems.append(f"{user.label} and {other.label} both want the account {user.user_name}; "
                        f"{other.label} keeps it")


def desired_user(account: DesiredAccount, explanation: Explanation, label: str) -> DesiredUser:
    why: dict[str, tuple[str, ...]] = {"scope": (str(explanation.tables.scope.row),)}
    for group, rules in explanation.group_rows.items():
        why[f"group:{group}"] = tuple(str(r.row) for r in rules)
    for name, rules in explanation.attribute_rows.items():
        why[f"attribute:{name}"] = tuple(str(r.row) for r in rules)
    for key, rules in explanation.role_rows.items():
        role = account.roles.get(key)
        why[f"role:{role_key_text(key)}"] = tuple(str(r.row) for r in rules if r.role is role)
    active = account.active
    return DesiredUser(
        user_name=account.user_name, display_name=account.display_name, active=active,
        attributes={k: list(v) if isinstance(v, tuple) else v for k, v in account.attributes.items()} if active else {},
        groups=account.groups if active else frozenset(),
        roles={role_key_text(k): r.name for k, r in account.roles.items()} if active else {},
        employee_id=account.employee_id, label=label, tables_version=account.tables_version, why=why)


def merged_people(session: Session, attribute_map: AttributeMap, scope: Scope,
                  problems: list[str]) -> Iterable[tuple[Person, str]]:
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
        yield merge_people(hr, idp.get(row.scim_user_id or ""), attribute_map), label
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


def _scim_only(session: Session, attribute_map: AttributeMap, scope: Scope,
               problems: list[str]) -> Iterable[tuple[Person, str]]:
    if scope.people is not None and scope.scim_users is None:
        return
    linked = select(StoredPerson.scim_user_id).where(StoredPerson.scim_user_id.is_not(None))
    query = select(ScimUser.id).where(ScimUser.id.not_in(linked)).order_by(ScimUser.id)
    if scope.scim_users is not None:
        query = query.where(ScimUser.id.in_(list(scope.scim_users)))
    ids = list(session.scalars(query))
    for user_id, person in _scim_people(session, attribute_map, ids, problems).items():
        yield person, f"SCIM user {person.fields.get('user_name') or user_id}"
