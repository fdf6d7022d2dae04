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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from scim.schema import ENTERPRISE_USER
from scim.store import UserStore
from sync.models import (
    AccountOwner,
    ScimDeletion,
    ScimUser,
    ScimUserValue,
    StoredPerson,
    utcnow,
)
from sync.people.linking import scim_ids_for
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


@dataclass(frozen=True)
class Inputs:
    """What a plan works from: its scope (grown as below), the desired accounts in it, the
    problems met, and the keys of accounts the scope's people had and may no longer want."""

    scope: Scope
    desired: list[DesiredUser]
    problems: list[str]
    retired: frozenset[str]


def plan_inputs(session: Session, tables: Tables, scope: Scope, *, rounds: int = 4) -> Inputs:
    """The desired accounts for a plan. A scoped plan must decide its people's accounts as
    the full plan would, so its scope grows (:func:`widen`) by everyone else who has a say
    in those accounts: who owned them last (``account_owners``), who may want the same
    userName (a person with that email, a SCIM user with that name), and who wants the
    names its people had before (a rename, a DELETE, an unlink). Those old names come back
    as ``retired``: the plan deactivates the ones nobody in the grown scope wants."""
    if scope.everyone:
        desired, problems = desired_users(session, tables, scope)
        return Inputs(scope, desired, problems, frozenset())
    scope, retired = widen(session, scope, frozenset())
    desired, problems = desired_users(session, tables, scope)
    for _ in range(rounds):
        names = frozenset(key_of(d.user_name) for d in desired) | retired
        wider, more = widen(session, scope, names)
        if wider == scope:
            break
        scope, retired = wider, retired | more
        desired, problems = desired_users(session, tables, scope)
    return Inputs(scope, desired, problems, retired)


def widen(session: Session, scope: Scope, names: frozenset[str]) -> tuple[Scope, frozenset[str]]:
    """``scope`` grown by the claimants of ``names`` and of the accounts its people own, and
    the keys of those owned accounts (with a deleted SCIM user's userName, for accounts
    planned before owners were recorded)."""
    people, users = set(scope.people or ()), set(scope.scim_users or ())
    linked = _ids(session, StoredPerson.id, StoredPerson.scim_user_id, users)
    owned = set(_ids(session, AccountOwner.user_name_key, AccountOwner.person_id, people | linked))
    owned |= _ids(session, AccountOwner.user_name_key, AccountOwner.scim_user_id, users)
    present = _ids(session, ScimUser.id, ScimUser.id, users)
    owned |= {key_of(n) for n in _ids(session, ScimDeletion.name, ScimDeletion.resource_id, users - present) if n}
    numbers, emails = _deleted_claims(session, sorted(users - present))
    every = sorted(set(names) | owned)
    # Whoever claims the same employee number or email links to the same person, or makes
    # the link ambiguous (then nobody links): they are decided together.
    numbers |= {n.strip() for n in _ids(session, ScimUser.employee_number, ScimUser.id, users) if n and n.strip()}
    numbers |= _ids(session, StoredPerson.employee_id, StoredPerson.id, people)
    emails |= set(every) | {e for e in _ids(session, StoredPerson.email_key, StoredPerson.id, people) if e}
    emails |= _ids(session, ScimUser.user_name_key, ScimUser.id, users)
    emails |= {e for e in _ids(session, ScimUserValue.value_key, ScimUserValue.user_id, users) if e}
    people |= _ids(session, StoredPerson.id, StoredPerson.email_key, emails)
    people |= _ids(session, StoredPerson.id, StoredPerson.employee_id, numbers)
    users |= scim_ids_for(session, sorted(numbers), sorted(emails))
    for start in range(0, len(every), CHUNK):
        query = select(AccountOwner.person_id, AccountOwner.scim_user_id).where(
            AccountOwner.user_name_key.in_(every[start:start + CHUNK]))
        for person_id, scim_user_id in session.execute(query):
            people |= {person_id} if person_id is not None else set()
            users |= {scim_user_id} if scim_user_id else set()
    return Scope(frozenset(people), frozenset(users)), frozenset(owned)


def _deleted_claims(session: Session, deleted: Sequence[str]) -> tuple[set[str], set[str]]:
    """The employee numbers and emails deleted SCIM users carried: the people they linked
    to (or made ambiguous) are decided again without them."""
    numbers: set[str] = set()
    emails: set[str] = set()
    for start in range(0, len(deleted), CHUNK):
        query = select(ScimDeletion.resource).where(ScimDeletion.resource_id.in_(deleted[start:start + CHUNK]))
        for resource in session.scalars(query):
            number = (resource.get(ENTERPRISE_USER) or {}).get("employeeNumber")
            if isinstance(number, str) and number.strip():
                numbers.add(number.strip())
            emails |= {key_of(e["value"]) for e in resource.get("emails") or ()
                       if isinstance(e, dict) and isinstance(e.get("value"), str)}
            if isinstance(resource.get("userName"), str):
                emails.add(key_of(resource["userName"]))
    return numbers, emails


def _ids(session: Session, column: Any, by: Any, values: Collection[Any]) -> set[Any]:
    ordered, found = sorted(values), set()
    for start in range(0, len(ordered), CHUNK):
        found.update(session.scalars(select(column).where(by.in_(ordered[start:start + CHUNK]))))
    return found


def remember_owners(session: Session, desired: Sequence[DesiredUser], *, everyone: bool) -> None:
    """Record whose each planned account is (see :class:`AccountOwner`), writing only what
    changed; a full plan also forgets the accounts nobody wants any more."""
    wanted = {key_of(d.user_name): (d.person_id, d.scim_user_id) for d in desired}
    keys = sorted(wanted)
    if everyone:
        known = {row[0]: (row[1], row[2]) for row in session.execute(select(
            AccountOwner.user_name_key, AccountOwner.person_id, AccountOwner.scim_user_id))}
    else:
        known = {}
        for start in range(0, len(keys), CHUNK):
            known.update({row[0]: (row[1], row[2]) for row in session.execute(select(
                AccountOwner.user_name_key, AccountOwner.person_id, AccountOwner.scim_user_id).where(
                AccountOwner.user_name_key.in_(keys[start:start + CHUNK])))})
    now = utcnow()
    changed = [{"user_name_key": k, "person_id": wanted[k][0], "scim_user_id": wanted[k][1],
                "updated_at": now} for k in keys if known.get(k) != wanted[k]]
    if changed:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(AccountOwner.__table__)
        session.execute(statement.on_conflict_do_update(
            index_elements=["user_name_key"],
            set_={c: statement.excluded[c] for c in ("person_id", "scim_user_id", "updated_at")}), changed)
    if everyone:
        stale = sorted(known.keys() - wanted.keys())
        for start in range(0, len(stale), CHUNK):
            session.execute(delete(AccountOwner).where(AccountOwner.user_name_key.in_(stale[start:start + CHUNK])))


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
    for person, label, person_id, scim_user_id in merged_people(session, tables.attribute_map, scope, problems):
        try:
            account, explanation = evaluate(person, tables)
        except PersonError as exc:
            problems.append(f"{label}: {exc}")
            continue
        wanted = replace(desired_user(account, explanation, label), person_id=person_id, scim_user_id=scim_user_id)
        _keep(found, wanted, problems)
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
