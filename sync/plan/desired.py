"""The desired accounts: people (and SCIM users no person is linked to) through the rules.

The people come from the one read model, ``sync.people.merged.merged_people``: HR's stored
view merged with the linked SCIM user as it is now, and each SCIM user nobody is linked to.
Each goes through the rules here; the planner then decides what to change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from scim.schema import ENTERPRISE_USER
from sync.models import (
    AccountOwner,
    ScimDeletion,
    ScimUser,
    ScimUserValue,
    StoredPerson,
    utcnow,
)
from sync.people.linking import scim_ids_for
from sync.people.merged import Scope, merged_people
from sync.plan.values import DesiredUser, GroupRoles, key_of
from sync.rules import (
    DesiredAccount,
    Explanation,
    PersonError,
    Tables,
    evaluate,
)
from sync.rules.tables import Role, role_key_text

CHUNK = 500


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
