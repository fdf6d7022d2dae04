"""One outbox change against the target, and the store's BI state brought up to date.

Every call here is safe to repeat, which is what makes a crash harmless: creates go
through the target's create-or-adopt (a userName or group name that exists is looked up
and patched), membership adds and removes and role upserts are idempotent, and a PATCH
sets values rather than adding to them. Target calls come first and state writes last,
so a change that fails half way leaves the state as it was and the next plan sends the
rest again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from sync.models import OutboxChange
from sync.plan.ownership import mark_created
from sync.plan.state import (
    group_row,
    locked_group_row,
    locked_user_row,
    save_group,
    save_user,
    set_membership,
    user_row,
    user_snapshot,
)
from sync.rules.tables import Role, parse_role_key
from sync.targets import NotFound, Target, UserChanges, UserRef


@dataclass(frozen=True)
class Effect:
    """What one change did, for its audit event."""

    target: Mapping[str, Any]
    before: Any
    after: Any
    outcome: str = "applied"  # or "skipped": nothing to do yet, the next plan asks again


def perform(target: Target, session: Session, row: OutboxChange) -> Effect:
    return _HANDLERS[row.kind](target, session, row.subject, row.payload, row.reason)


def _port(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """JSON lists become the port's tuples; None (unset) stays None."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in attributes.items()}


def _user_target(user_name: str, bi_id: str | None) -> dict[str, Any]:
    return {"type": "user", "userName": user_name, "id": bi_id}


def create_user(target: Target, session: Session, user_name: str, payload: Mapping[str, Any],
                reason: Mapping[str, Any]) -> Effect:
    before = user_snapshot(user_row(session, user_name))
    attributes = {k: v for k, v in payload["attributes"].items() if v is not None}
    user = target.create_user(user_name, payload["display_name"], _port(attributes))
    row = save_user(session, user_name, bi_id=user.id, active=True, display_name=payload["display_name"],
                    attributes=attributes, tables_version=reason.get("tables_version"))
    mark_created(row)
    return Effect(_user_target(user_name, user.id), before, user_snapshot(row))


def update_user(target: Target, session: Session, user_name: str, payload: Mapping[str, Any],
                reason: Mapping[str, Any]) -> Effect:
    row = user_row(session, user_name)
    before = user_snapshot(row)
    changes = UserChanges(display_name=payload.get("display_name"), active=payload.get("active"),
                          attributes=_port(payload["attributes"]) if "attributes" in payload else None)
    user = target.update_user(UserRef(user_name, row.bi_id if row else None), changes)
    row = locked_user_row(session, user_name)  # merged into what is committed now
    renewed = row is not None and row.bi_id is not None and user.id != row.bi_id
    attributes = dict(row.attributes) if row and not renewed else {}
    for name, value in payload.get("attributes", {}).items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    values: dict[str, Any] = {"bi_id": user.id, "active": True, "attributes": attributes,
                              "tables_version": reason.get("tables_version")}
    if "display_name" in payload:
        values["display_name"] = payload["display_name"]
    if renewed:
        # A new id (Omni re-activated the user as a new account): it holds none of the old
        # one's groups or roles. The plan that re-activated it adds them in this run.
        values |= {"groups": [], "roles": {}}
    row = save_user(session, user_name, **values)
    return Effect(_user_target(user_name, user.id), before, user_snapshot(row))


def deactivate_user(target: Target, session: Session, user_name: str, payload: Mapping[str, Any],
                    reason: Mapping[str, Any]) -> Effect:
    row = user_row(session, user_name)
    before = user_snapshot(row)
    try:
        user_id: str | None = target.deactivate_user(UserRef(user_name, row.bi_id if row else None)).id
    except NotFound:
        user_id = None  # gone from the platform: nobody is left to switch off
    row = save_user(session, user_name, active=False, **({"bi_id": user_id} if user_id else {}))
    return Effect(_user_target(user_name, row.bi_id), before, user_snapshot(row))


def _member_ids(session: Session, user_names: list[str]) -> tuple[dict[str, str], list[str]]:
    """userName -> BI id for users the state knows an id for; the others are skipped
    (their create has not gone through yet) and the next plan adds them."""
    found, missing = {}, []
    for name in user_names:
        row = user_row(session, name)
        if row is not None and row.bi_id:
            found[name] = row.bi_id
        else:
            missing.append(name)
    return found, missing


def create_group(target: Target, session: Session, name: str, payload: Mapping[str, Any],
                 reason: Mapping[str, Any]) -> Effect:
    members, missing = _member_ids(session, list(payload["members"]))
    group = target.create_group(name, members.values())
    save_group(session, name, bi_id=group.id, tables_version=reason.get("tables_version"))
    set_membership(session, name, members, True)
    after = {"name": name, "id": group.id, "added": sorted(members), "skipped": missing}
    return Effect({"type": "group", "name": name, "id": group.id}, None, after)


def _group_id(target: Target, session: Session, name: str) -> str:
    row = group_row(session, name)
    if row is not None and row.bi_id:
        return row.bi_id
    found = target.find_group(name)
    if found is None:
        raise NotFound(f"no group named {name}")
    save_group(session, name, bi_id=found.id)
    return found.id


def change_members(target: Target, session: Session, name: str, payload: Mapping[str, Any],
                   reason: Mapping[str, Any]) -> Effect:
    group_id = _group_id(target, session, name)
    added, missing = _member_ids(session, list(payload["add"]))
    removed, _ = _member_ids(session, list(payload["remove"]))
    if added:
        target.add_members(group_id, added.values())
    if removed:
        target.remove_members(group_id, removed.values())
    set_membership(session, name, added, True)
    set_membership(session, name, removed, False)
    after = {"added": sorted(added), "removed": sorted(removed), "skipped": missing}
    return Effect({"type": "group", "name": name, "id": group_id}, None, after)


def set_group_role(target: Target, session: Session, name: str, payload: Mapping[str, Any],
                   reason: Mapping[str, Any]) -> Effect:
    group_id = _group_id(target, session, name)
    connection, model = parse_role_key(payload["key"])
    target.set_group_role(group_id, connection, model, Role[payload["role"]])
    row = locked_group_row(session, name)
    before = dict(row.roles) if row else {}
    save_group(session, name, roles={**before, payload["key"]: payload["role"]})
    return Effect({"type": "group", "name": name, "id": group_id},
                  {payload["key"]: before.get(payload["key"])}, {payload["key"]: payload["role"]})


def set_user_role(target: Target, session: Session, user_name: str, payload: Mapping[str, Any],
                  reason: Mapping[str, Any]) -> Effect:
    row = user_row(session, user_name)
    if row is None or not row.bi_id:
        # The user's create has not gone through (it failed, or waits for its retry): no
        # call, no state change, so the next plan asks for this role again.
        return Effect(_user_target(user_name, None), None, {"skipped": "the user does not exist yet"},
                      "skipped")
    connection, model = parse_role_key(payload["key"])
    target.set_user_role(UserRef(user_name, row.bi_id if row else None), connection, model,
                         Role[payload["role"]])
    bi_id = row.bi_id
    row = locked_user_row(session, user_name)
    before = dict(row.roles) if row else {}
    save_user(session, user_name, roles={**before, payload["key"]: payload["role"]})
    return Effect(_user_target(user_name, bi_id),
                  {payload["key"]: before.get(payload["key"])}, {payload["key"]: payload["role"]})


_HANDLERS = {
    "user.create": create_user,
    "user.update": update_user,
    "user.reactivate": update_user,
    "user.deactivate": deactivate_user,
    "group.create": create_group,
    "group.members": change_members,
    "group.role": set_group_role,
    "user.role": set_user_role,
}
