"""The OCSF view of an audit event: Account Change (3001) and Group Management (3006).

Each event becomes zero or more OCSF records, decided by what the event did rather than by
its verb alone: a membership change is one Add User / Remove User record per member (OCSF
has no "several users" form), a group role is Assign / Revoke Privileges, a user role is
Attach / Detach Policy, and a SCIM PATCH that switches ``active`` is an Enable or Disable.

Left out (they stay in the other views and the SIEM stream): HR record events
(``person.*``: a person in the HR system is not an account; the account change the rules
derive from it is recorded, and mapped, when it is applied), import runs and rejected rows,
tokens, configuration and mapping-table changes, run approvals and audit alerts.

``OCSF_VERSION`` is the schema every record is checked against (tests/audit): 1.4.0 is the
first version whose Group Management class has ``actor`` (1.1.0 to 1.3.0 do not).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.audit.events import event_millis, outcome_status, target_kind, target_label

OCSF_VERSION = "1.4.0"
PRODUCT = {"name": "hr2bi", "vendor_name": "hr2bi"}
IAM_CATEGORY = 3  # OCSF category "Identity & Access Management"
ACCOUNT_CHANGE, GROUP_MANAGEMENT = 3001, 3006
_CLASS_NAMES = {ACCOUNT_CHANGE: "Account Change", GROUP_MANAGEMENT: "Group Management"}
_USER_KINDS = {"user", "account", "scim_user"}
_GROUP_KINDS = {"group", "scim_group"}
# Activity ids of the two classes (OCSF 1.4.0).
CREATE, ENABLE, DISABLE, DELETE, ATTACH_POLICY, DETACH_POLICY = 1, 2, 5, 6, 7, 8
ASSIGN_PRIVILEGES, REVOKE_PRIVILEGES, ADD_USER, REMOVE_USER, GROUP_DELETE, GROUP_CREATE = 1, 2, 3, 4, 5, 6
OTHER = 99
_ACTIVITY_NAMES = {
    ACCOUNT_CHANGE: {CREATE: "Create", ENABLE: "Enable", DISABLE: "Disable", DELETE: "Delete",
                     ATTACH_POLICY: "Attach Policy", DETACH_POLICY: "Detach Policy", OTHER: "Other"},
    GROUP_MANAGEMENT: {ASSIGN_PRIVILEGES: "Assign Privileges", REVOKE_PRIVILEGES: "Revoke Privileges",
                       ADD_USER: "Add User", REMOVE_USER: "Remove User", GROUP_DELETE: "Delete",
                       GROUP_CREATE: "Create", OTHER: "Other"},
}
# By the last dotted part of the action: "bi.user.deactivate", "user.create", "group.delete".
_ACCOUNT_VERBS = {"create": CREATE, "enable": ENABLE, "reactivate": ENABLE, "disable": DISABLE,
                  "deactivate": DISABLE, "delete": DELETE}
_GROUP_VERBS = {"create": GROUP_CREATE, "delete": GROUP_DELETE}

_UNMAPPED = ("before", "after", "reason", "run", "target")
# An event of many records (a group's members) lists every member in before, after or
# reason: repeated on each record, a group of n members would take n * n names. Those
# records carry the run and target only; the whole event is in events.jsonl, found by
# metadata.correlation_uid (its seq).
_UNMAPPED_EACH = ("run", "target")
Subject = dict[str, Any]  # the class's own attributes: user, group, privileges, policy
Activity = tuple[int, Subject]


def ocsf_records(event: Mapping[str, Any], product_version: str,
                 millis: int | None = None) -> list[dict[str, Any]]:
    """The OCSF records of one event, in a fixed order (none for events left out)."""
    kind = target_kind(event)
    if kind in _USER_KINDS:
        class_uid, activities = ACCOUNT_CHANGE, list(_account_activities(event))
    elif kind in _GROUP_KINDS:
        class_uid, activities = GROUP_MANAGEMENT, list(_group_activities(event))
    else:
        return []
    when = event_millis(event) if millis is None else millis
    return [_record(event, product_version, when, class_uid, activity_id, subject,
                    part if len(activities) > 1 else None)
            for part, (activity_id, subject) in enumerate(activities, 1)]


def _record(event: Mapping[str, Any], product_version: str, millis: int, class_uid: int,
            activity_id: int, subject: Subject, part: int | None) -> dict[str, Any]:
    status_id, status = outcome_status(event["outcome"])
    seq = event["seq"]
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION, "product": {**PRODUCT, "version": product_version},
        # One event may give several records: each has its own uid, all share the event's seq.
        "uid": str(seq) if part is None else f"{seq}.{part}",
        "correlation_uid": str(seq), "sequence": seq,
    }
    return {
        "activity_id": activity_id,
        "activity_name": _ACTIVITY_NAMES[class_uid][activity_id],
        "category_uid": IAM_CATEGORY,
        "category_name": "Identity & Access Management",
        "class_uid": class_uid,
        "class_name": _CLASS_NAMES[class_uid],
        "type_uid": class_uid * 100 + activity_id,  # OCSF: class_uid * 100 + activity_id
        "time": millis,
        "severity_id": 1 if status_id != 2 else 3,  # Informational; a failure is Medium
        "status_id": status_id,
        "status": status,
        "message": str(event["action"]),
        "metadata": metadata,
        "actor": {"user": {"name": str(event["actor"])}},
        **subject,
        "unmapped": {k: event[k] for k in _UNMAPPED if part is None or k in _UNMAPPED_EACH},
    }


def _user(value: Any) -> dict[str, Any]:
    """An OCSF user object from a target or member: name, and uid when there is an id."""
    user: dict[str, Any] = {"name": target_label(value) or "unknown"}
    if isinstance(value, Mapping):
        name = value.get("userName") or value.get("name") or value.get("display")
        if isinstance(name, str):
            user["name"] = name
        uid = value.get("id") or value.get("value")
        if isinstance(uid, str | int) and not isinstance(uid, bool):
            user["uid"] = str(uid)
    return user


def _group(target: Any) -> dict[str, Any]:
    group: dict[str, Any] = {"name": target_label(target) or "unknown"}
    if isinstance(target, Mapping) and isinstance(target.get("id"), str | int):
        group["uid"] = str(target["id"])
    return group


def _verb(event: Mapping[str, Any]) -> str:
    return str(event["action"]).rsplit(".", 1)[-1]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _account_activities(event: Mapping[str, Any]) -> Iterator[Activity]:
    user = {"user": _user(event["target"])}
    verb = _verb(event)
    if verb == "role":  # bi.user.role: a role on a connection/model is an IAM policy
        for key, role in _roles(event).items():
            policy = {"name": f"{key}: {role}" if role else key, "uid": key}
            yield (ATTACH_POLICY if role else DETACH_POLICY), {**user, "policy": policy}
        return
    if verb in _ACCOUNT_VERBS:
        yield _ACCOUNT_VERBS[verb], user
        return
    # An update (SCIM replace or patch, bi.user.update): Enable or Disable when it switched
    # ``active``; any other change has no OCSF 1.4 activity of its own.
    was, now = _mapping(event["before"]).get("active"), _mapping(event["after"]).get("active")
    if was is True and now is False:
        yield DISABLE, user
    elif was is False and now is True:
        yield ENABLE, user
    else:
        yield OTHER, user


def _roles(event: Mapping[str, Any]) -> dict[str, str | None]:
    """key -> role granted (None: removed) from the event's after, or the planned payload
    when the change failed before anything was applied."""
    after = _mapping(event["after"])
    granted = {k: v for k, v in after.items() if k not in ("error", "attempts", "skipped")}
    if granted:
        return {str(k): v if isinstance(v, str) else None for k, v in granted.items()}
    payload = _mapping(_mapping(event["reason"]).get("payload"))
    key = payload.get("key")
    return {str(key): payload.get("role")} if key is not None else {"unknown": None}


def _group_activities(event: Mapping[str, Any]) -> Iterator[Activity]:
    group = {"group": _group(event["target"])}
    verb = _verb(event)
    if verb == "role":  # bi.group.role
        for key, role in _roles(event).items():
            activity = ASSIGN_PRIVILEGES if role else REVOKE_PRIVILEGES
            yield activity, {**group, "privileges": [f"{key}: {role}" if role else key]}
        return
    member = _mapping(event["target"]).get("member")
    if member is not None:  # one member named on the target ("group.add_member")
        activity = REMOVE_USER if "remove" in verb else ADD_USER
        yield activity, {**group, "user": _user(member)}
        return
    added, removed = _member_changes(event)
    if verb in _GROUP_VERBS:
        yield _GROUP_VERBS[verb], group
        if verb == "delete":
            return
    elif not added and not removed:
        yield OTHER, group  # a rename, or a membership change with nothing left to do
    for user in added:
        yield ADD_USER, {**group, "user": user}
    for user in removed:
        yield REMOVE_USER, {**group, "user": user}


def _member_changes(event: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The users added and removed: from apply's ``added``/``removed`` (or the planned
    ``add``/``remove`` of a failed change), else the SCIM members before and after."""
    after, before = _mapping(event["after"]), _mapping(event["before"])
    if "added" in after or "removed" in after:
        return ([_user(n) for n in after.get("added") or []],
                [_user(n) for n in after.get("removed") or []])
    payload = _mapping(_mapping(event["reason"]).get("payload"))
    if "add" in payload or "remove" in payload:
        return ([_user(n) for n in payload.get("add") or []],
                [_user(n) for n in payload.get("remove") or []])
    old, new = _scim_members(before), _scim_members(after)
    return ([_user(m) for k, m in new.items() if k not in old],
            [_user(m) for k, m in old.items() if k not in new])


def _scim_members(resource: Mapping[str, Any]) -> dict[str, Any]:
    # RFC 7643 4.2: a group's members are {"value": id, "display": ...}.
    members = resource.get("members") or []
    return {str(m.get("value")): m for m in members if isinstance(m, Mapping)}
