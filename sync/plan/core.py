"""``plan_changes(desired, applied users, applied groups, group roles)``: the pure diff.

Only real differences become changes, so a run where nothing changed plans nothing and
costs the BI platform nothing. What keeps the number of calls low (Omni allows 60 a
minute per key): attributes ride inside a create; an update sends only the fields that
differ; memberships are batched per group (one change adds and removes many members);
a role that follows a group is given to the group once, and a user gets a direct role
only where their groups do not already give it.

A deactivated account keeps its groups, attributes and roles: it can use none of them,
and a leaver costs exactly one call. A rehire is re-activated, and since Omni may give a
re-activated user a new, empty account (``fresh_reactivation``, the default unless the
target says ids survive), the same run brings it fully up to date: every wanted
attribute in the re-activating PATCH, every wanted group added, every direct role given
again (and whatever the old account held and is no longer wanted taken away, in case the
account did survive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sync.plan.ownership import Ownership
from sync.plan.values import (
    AppliedGroup,
    AppliedUser,
    Change,
    DesiredUser,
    GroupRoles,
    Json,
    Plan,
    Reason,
    key_of,
)
from sync.rules.tables import Role

NO_ACCESS = Role.NO_ACCESS.name
EVERY_ACCOUNT = Ownership()  # callers without a store: every account is owned, none protected


def plan_changes(desired: Sequence[DesiredUser], users: Mapping[str, AppliedUser],
                 groups: Mapping[str, AppliedGroup], group_roles: GroupRoles, *,
                 everyone: bool, roles: bool = True, attributes: bool = True,
                 problems: Iterable[str] = (), retired: Iterable[str] = (),
                 fresh_reactivation: bool = True, ownership: Ownership = EVERY_ACCOUNT) -> Plan:
    """``users`` and ``groups`` are keyed by :func:`key_of`. ``everyone``: ``desired`` is
    every account there should be, so an applied user missing from it is deactivated (a
    scoped plan leaves everyone else alone, but for ``retired``: the keys of accounts its
    scope no longer wants, such as a deleted SCIM user's). Only accounts ``ownership``
    lets it deactivate are; the rest are listed as ``unmanaged``; a protected account is
    never changed at all."""
    desired = [d for d in desired if not ownership.is_protected(d.user_name)]
    wanted = {key_of(d.user_name): d for d in desired}
    if fresh_reactivation:
        users = {key: as_reactivated(u, wanted[key]) if key in wanted and wanted[key].active
                 and not u.active else u for key, u in users.items()}
    changes: list[Change] = []
    for key in sorted(wanted):
        changes.extend(user_changes(wanted[key], users.get(key), attributes=attributes))
    orphans = users if everyone else {key: users[key] for key in retired if key in users}
    mine = {k: u for k, u in orphans.items() if ownership.may_deactivate(k, u.user_name)}
    changes.extend(orphan_deactivations(wanted, mine, group_roles.tables_version))
    unmanaged = tuple(u.user_name for k, u in sorted(orphans.items())
                      if k not in wanted and k not in mine and u.active)

    active = [d for _, d in sorted(wanted.items()) if d.active]
    changes.extend(group_changes(active, users, groups))
    if roles:
        created = {c.subject for c in changes if c.kind == "group.create"}
        changes.extend(group_role_changes(groups, created, group_roles))
        for d in active:
            changes.extend(user_role_changes(d, users.get(key_of(d.user_name)), group_roles))
    return Plan(tuple(changes), tuple(problems), unmanaged)


def as_reactivated(applied: AppliedUser, d: DesiredUser) -> AppliedUser:
    """A user about to be re-activated as Omni may do it: a new account holding nothing.
    Only what the old account held and is no longer wanted is kept, so the plan takes it
    away should the account survive; everything wanted is planned as if missing."""
    return replace(applied,
                   attributes={k: v for k, v in applied.attributes.items() if k not in d.attributes},
                   groups=frozenset(g for g in applied.groups
                                    if key_of(g) not in {key_of(w) for w in d.groups}),
                   roles={k: v for k, v in applied.roles.items() if k not in d.roles})


def user_changes(d: DesiredUser, applied: AppliedUser | None, *, attributes: bool = True) -> list[Change]:
    wanted_attributes = dict(d.attributes) if attributes else {}
    if not d.active:
        if applied is not None and applied.active:
            return [Change("user.deactivate", d.user_name, {}, d.reason("scope", note="out of scope"))]
        return []
    if applied is None:
        payload = {"display_name": d.display_name, "attributes": wanted_attributes}
        return [Change("user.create", d.user_name, payload,
                       d.reason("scope", *topics("attribute", wanted_attributes)))]
    payload: dict[str, Json] = {}
    if applied.display_name != d.display_name:
        payload["display_name"] = d.display_name
    changed = attribute_diff(applied.attributes, wanted_attributes) if attributes else {}
    if changed:
        payload["attributes"] = changed
    if not applied.active:
        return [Change("user.reactivate", d.user_name, {**payload, "active": True},
                       d.reason("scope", *topics("attribute", changed), note="back in scope"))]
    if not payload:
        return []
    return [Change("user.update", d.user_name, payload, d.reason(*topics("attribute", changed)))]


def attribute_diff(applied: Mapping[str, Json], wanted: Mapping[str, Json]) -> dict[str, Json]:
    """The attributes to send: those that differ, and ``None`` (unset) for those no longer
    wanted (Omni merges the attribute object by key, so the rest stay as they are)."""
    changed: dict[str, Json] = {k: v for k, v in wanted.items() if applied.get(k) != v}
    changed.update({k: None for k in applied if k not in wanted})
    return dict(sorted(changed.items()))


def topics(prefix: str, names: Iterable[str]) -> list[str]:
    return [f"{prefix}:{name}" for name in names]


def orphan_deactivations(wanted: Mapping[str, DesiredUser], users: Mapping[str, AppliedUser],
                         tables_version: str | None) -> list[Change]:
    """Applied users nobody wants any more (their person and SCIM user are gone, or
    someone added them by hand in the BI platform): deactivated, never deleted."""
    return [Change("user.deactivate", u.user_name, {},
                   Reason(None, (), tables_version, "no person or SCIM user has this userName"))
            for key, u in sorted(users.items()) if key not in wanted and u.active]


def group_changes(active: Sequence[DesiredUser], users: Mapping[str, AppliedUser],
                  groups: Mapping[str, AppliedGroup]) -> list[Change]:
    """One change per group: a create carrying its first members, else one batch of
    members added and removed."""
    adds: dict[str, list[DesiredUser]] = {}
    removes: dict[str, list[DesiredUser]] = {}
    names: dict[str, str] = {}
    for d in active:
        applied = users.get(key_of(d.user_name))
        have = {key_of(g): g for g in (applied.groups if applied else ())}
        want = {key_of(g): g for g in d.groups}
        for key in want.keys() - have.keys():
            names.setdefault(key, want[key])
            adds.setdefault(key, []).append(d)
        for key in have.keys() - want.keys():
            names.setdefault(key, have[key])
            removes.setdefault(key, []).append(d)
    changes = []
    for key in sorted(adds.keys() | removes.keys()):
        added, removed = adds.get(key, []), removes.get(key, [])
        name = groups[key].name if key in groups else names[key]
        reason = _members_reason(name, added, removed)
        if key not in groups:
            changes.append(Change("group.create", name, {"members": [d.user_name for d in added]}, reason))
        else:
            changes.append(Change("group.members", name, {"add": [d.user_name for d in added],
                                                          "remove": [d.user_name for d in removed]}, reason))
    return changes


def _members_reason(group: str, added: Sequence[DesiredUser], removed: Sequence[DesiredUser]) -> Reason:
    rows = tuple(dict.fromkeys(r for d in added for r in d.why.get(f"group:{group}", ())))
    version = next((d.tables_version for d in [*added, *removed]), None)
    note = f"{len(added)} added, {len(removed)} removed (no row gives them {group} any more)" \
        if removed else f"{len(added)} added"
    return Reason(None, rows, version, note)


def role_rank(name: str | None) -> int | None:
    """The role's place on Omni's ladder; None for a custom role (never a downgrade)."""
    return Role[name].value if name in Role.__members__ else None


def is_downgrade(before: str | None, after: str) -> bool:
    old, new = role_rank(before), role_rank(after)
    return old is not None and new is not None and new < old


def group_role_changes(groups: Mapping[str, AppliedGroup], created: set[str],
                       group_roles: GroupRoles) -> list[Change]:
    """Roles for groups that exist or are being created; a role no row gives the group
    any more is lowered to NO_ACCESS (Omni's API has no role removal)."""
    wanted_by_key = {key_of(g): (g, r) for g, r in group_roles.roles.items()}
    existing = {key: g.name for key, g in groups.items()} | {key_of(n): n for n in created}
    changes = []
    for key in sorted(existing):
        name = existing[key]
        wanted = dict(wanted_by_key.get(key, (name, {}))[1])
        applied = groups[key].roles if key in groups else {}
        wanted.update({k: NO_ACCESS for k in applied if k not in wanted and "/" in k})
        for role_key, role in sorted(wanted.items()):
            if applied.get(role_key) != role:
                rows = group_roles.rows.get(f"{key}:{role_key}", ())
                reason = Reason(None, rows, group_roles.tables_version, f"{name}: {role_key} {role}")
                changes.append(Change("group.role", name, {"key": role_key, "role": role}, reason,
                                      role_key, is_downgrade(applied.get(role_key), role)))
    return changes


def user_role_changes(d: DesiredUser, applied: AppliedUser | None, group_roles: GroupRoles) -> list[Change]:
    """Direct roles only where the user's groups give less than their winning role. A key
    once given directly stays direct (with the winning role, or what the groups give, or
    NO_ACCESS), so a move between groups never leaves a stale higher direct role behind."""
    given = roles_from_groups(d.groups, group_roles)
    have = dict(applied.roles) if applied else {}
    wanted: dict[str, str] = {}
    for key, role in d.roles.items():
        if key in have or key not in given or (role_rank(role) or 0) > (role_rank(given[key]) or 0):
            wanted[key] = role
    for key in have:
        if key not in d.roles and "/" in key:  # a connection-wide role cannot be lowered
            wanted[key] = given.get(key, NO_ACCESS)
    return [Change("user.role", d.user_name, {"key": key, "role": role},
                   d.reason(f"role:{key}"), key, is_downgrade(have.get(key), role))
            for key, role in sorted(wanted.items()) if have.get(key) != role]


def roles_from_groups(groups: Iterable[str], group_roles: GroupRoles) -> dict[str, str]:
    by_key = {key_of(g): r for g, r in group_roles.roles.items()}
    given: dict[str, str] = {}
    for group in groups:
        for key, role in by_key.get(key_of(group), {}).items():
            if key not in given or (role_rank(role) or 0) > (role_rank(given[key]) or 0):
                given[key] = role
    return given
