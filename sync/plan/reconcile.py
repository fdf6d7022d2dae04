"""Reading what the BI platform actually holds, as the planner's applied-state values.

Users and groups are read page by page; group roles with one call per group; direct user
roles only for users the store says hold some (reading every user's roles would cost a
call per user, at 60 calls a minute). Only attributes the mapping tables manage are read
back, so an attribute someone keeps by hand in the BI platform is left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sync.plan.values import AppliedGroup, AppliedUser, key_of
from sync.rules.tables import canonical_role, role_key_text
from sync.targets import BIUser, RoleAssignment, Target


def read_actual(target: Target, managed_attributes: Collection[str],
                known: Mapping[str, AppliedUser]) -> tuple[dict[str, AppliedUser], dict[str, AppliedGroup]]:
    bi_users = list(target.list_users())
    names = {u.id: u.user_name for u in bi_users}
    member_of: dict[str, set[str]] = {}
    groups: dict[str, AppliedGroup] = {}
    roles = target.capabilities.roles
    for group in target.list_groups():
        for member in group.member_ids:
            if member in names:
                member_of.setdefault(key_of(names[member]), set()).add(group.name)
        held = _held(target.group_roles(group.id), "GROUP") if roles else {}
        groups[key_of(group.name)] = AppliedGroup(group.name, group.id, held)
    users = {}
    for user in bi_users:
        key = key_of(user.user_name)
        direct = known[key].roles if key in known else {}
        held = _held(target.user_roles(user.ref), "USER") if roles and direct else {}
        users[key] = applied_user(user, managed_attributes, member_of.get(key, set()), held)
    return users, groups


def applied_user(user: BIUser, managed: Collection[str], groups: set[str],
                 roles: Mapping[str, str]) -> AppliedUser:
    attributes = {k: list(v) if isinstance(v, tuple) else v
                  for k, v in user.attributes.items() if k in managed}
    return AppliedUser(user.user_name, user.id, user.active, user.display_name, attributes,
                       frozenset(groups), dict(roles))


def _held(assignments: list[RoleAssignment], origin: str) -> dict[str, str]:
    """The roles held directly (``origin`` USER) or by the group itself (GROUP), one name
    per role (``QUERY_TOPICS`` is ``RESTRICTED_QUERIER``), so a platform answering with
    either name shows no drift."""
    return {role_key_text((a.connection, a.model)): canonical_role(a.role)
            for a in assignments if a.origin.upper() == origin}
