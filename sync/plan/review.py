"""A plan's changes for a person deciding whether to approve or reject it (``hr2bi runs
show ID``): one line per change — its kind, its subject, what changes (before -> after
where the applied state still knows the before) and the mapping rows behind it.

Pure: outbox rows (``sync.plan.store.row_dict``) and the applied state in, entries and
lines out. The applied state is the "before" only of changes not yet applied: once a
change is done (or a later run moved on), ``bi_users`` holds its after, and the audit
event of the apply has its before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sync.plan.render import why
from sync.plan.values import KINDS, AppliedGroup, AppliedUser, key_of
from sync.statuses import OPEN_CHANGES, ChangeStatus

# Rows whose change has not reached the BI platform: the applied state is their before.
UNAPPLIED = (*OPEN_CHANGES, ChangeStatus.QUARANTINED)
SHOWN_MEMBERS = 3  # names listed in a membership change before "+N more"


class UnknownKind(ValueError):
    """A ``--kind`` that names no change kind; the message lists those there are."""


def parse_kinds(values: Iterable[str]) -> tuple[str, ...]:
    """``--kind`` values, repeated or comma-separated, as the kinds they name: a kind
    (``user.deactivate``) or a prefix standing for every kind under it (``user``)."""
    wanted: list[str] = []
    for part in (p.strip().rstrip(".") for value in values for p in value.split(",")):
        if not part:
            continue
        found = [k for k in KINDS if k == part or k.startswith(f"{part}.")]
        if not found:
            raise UnknownKind(f"no change kind {part!r}: the kinds are {', '.join(KINDS)}, "
                              "or a prefix of them (user, group)")
        wanted.extend(found)
    return tuple(dict.fromkeys(wanted))


def review_entries(rows: Sequence[Mapping[str, Any]], users: Mapping[str, AppliedUser],
                   groups: Mapping[str, AppliedGroup], kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each row (of ``kinds``, when given) as a JSON-ready entry: the row, what its change
    does in words, and the relevant part of the applied state it changes (``before``)."""
    entries = []
    for row in rows:
        if kinds and row["kind"] not in kinds:
            continue
        before = _before(row, users, groups) if row["status"] in UNAPPLIED else None
        entries.append({**row, "person": row["reason"].get("person"), "before": before,
                        "change": what_changes(row["kind"], row["payload"], before or {}, row["reason"])})
    return entries


def review_lines(entries: Sequence[Mapping[str, Any]], limit: int | None) -> list[str]:
    """One line per entry, the first ``limit`` of them (None: all), then how many more."""
    shown = entries if limit is None else entries[:limit]
    lines = [_line(e) for e in shown]
    if len(entries) > len(shown):
        lines.append(f"  ... and {len(entries) - len(shown)} more changes "
                     "(--limit 0 shows all, --kind narrows them, --json prints them for scripts)")
    return lines


def by_kind(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for row in rows:
        tally[row["kind"]] = tally.get(row["kind"], 0) + 1
    return {k: tally[k] for k in KINDS if k in tally}


def _line(entry: Mapping[str, Any]) -> str:
    subject, person = entry["subject"], entry["person"]
    if person and person.endswith(f" ({subject})"):  # "1000 (ada@example.com)": the id is what's new
        person = person[: -len(subject) - 3]
    who = f"{subject} ({person})" if person and person != subject else subject
    status = entry["status"]
    outcome = "" if status == ChangeStatus.PENDING else f"  <{status}{': ' + entry['last_error'] if entry.get('last_error') else ''}>"
    return f"  {entry['kind']:<16} {who:<44} {entry['change']}{why(entry['kind'], entry['reason'])}{outcome}"


def _before(row: Mapping[str, Any], users: Mapping[str, AppliedUser],
            groups: Mapping[str, AppliedGroup]) -> dict[str, Any] | None:
    kind, payload, key = row["kind"], row["payload"], key_of(row["subject"])
    if kind == "group.role":
        group = groups.get(key)
        return {"role": group.roles.get(payload["key"])} if group else None
    user = users.get(key) if kind.startswith("user.") else None
    if user is None:
        return None
    if kind == "user.role":
        return {"role": user.roles.get(payload["key"])}
    before: dict[str, Any] = {"active": user.active}
    if "display_name" in payload:
        before["display_name"] = user.display_name
    if payload.get("attributes"):
        before["attributes"] = {name: user.attributes.get(name) for name in payload["attributes"]}
    return before


def what_changes(kind: str, payload: Mapping[str, Any], before: Mapping[str, Any],
                 reason: Mapping[str, Any]) -> str:
    if kind == "user.deactivate":
        return "deactivate" + (" (was active)" if before.get("active") else "")
    if kind in ("user.create", "user.update", "user.reactivate"):
        verb = {"user.create": "create", "user.update": "update", "user.reactivate": "re-activate"}[kind]
        fields = _fields(payload, before)
        return f"{verb}: {fields}" if fields else verb
    if kind == "group.create":
        return f"create with {_names(payload['members'])}"
    if kind == "group.members":
        parts = [f"{label} {_names(payload[field])}" for field, label in (("add", "add"), ("remove", "remove"))
                 if payload[field]]
        return ", ".join(parts) or "no member changes"
    old = f"{before['role']} -> " if before.get("role") else ""
    downgrade = "  (downgrade)" if reason.get("downgrade") else ""
    prefix = "role" if kind == "group.role" else "direct role"
    return f"{prefix} {payload['key']}: {old}{payload['role']}{downgrade}"


def _fields(payload: Mapping[str, Any], before: Mapping[str, Any]) -> str:
    old_attributes = before.get("attributes") or {}
    parts = []
    if "display_name" in payload:
        parts.append("name " + _arrow(before.get("display_name"), payload["display_name"], "display_name" in before))
    for name, value in (payload.get("attributes") or {}).items():
        parts.append(f"{name} " + _arrow(old_attributes.get(name), value, name in old_attributes))
    return "; ".join(parts)


def _arrow(old: Any, new: Any, known: bool) -> str:
    def shown(value: Any) -> str:
        if value is None:
            return "(unset)"
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return f"{shown(old)} -> {shown(new)}" if known else shown(new)


def _names(names: Sequence[str]) -> str:
    listed = ", ".join(names[:SHOWN_MEMBERS])
    more = f", +{len(names) - SHOWN_MEMBERS} more" if len(names) > SHOWN_MEMBERS else ""
    return f"{len(names)} ({listed}{more})"
