"""A saved plan as text for people: the counts, then per person what changes and which
mapping rows decided it, then the group-level changes. Pure: rows in, lines out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COUNT_NAMES = ("creates", "updates", "reactivations", "deactivations", "group_creates",
               "membership_changes", "role_changes", "role_downgrades")


def plan_lines(run_id: int, status: str, counts: Mapping[str, Any], changes: Sequence[Mapping[str, Any]],
               reason: str | None = None, limit: int = 200) -> list[str]:
    shown = ", ".join(f"{counts.get(n, 0)} {n.replace('_', ' ')}" for n in COUNT_NAMES if counts.get(n))
    lines = [f"Plan run {run_id}: {status}; {counts.get('total', len(changes))} changes"
             + (f" ({shown})" if shown else "")]
    if reason:
        lines.append(f"  {reason}")  # "held as run N: why; review it with ..."
    people, groups = _by_person(changes)
    for subject in sorted(people)[:limit]:
        entries = people[subject]
        lines.append(f"  {entries[0][0] or subject}:")
        lines.extend(f"    {text}" for _, text in entries)
    if len(people) > limit:
        lines.append(f"  ... and {len(people) - limit} more people (--json shows all)")
    if groups:
        lines.append("  groups:")
        lines.extend(f"    {text}" for text in groups)
    return lines


def _by_person(changes: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[tuple[str | None, str]]], list[str]]:
    people: dict[str, list[tuple[str | None, str]]] = {}
    groups: list[str] = []
    for change in changes:
        kind, subject, payload, reason = change["kind"], change["subject"], change["payload"], change["reason"]
        if kind.startswith("user."):
            people.setdefault(subject, []).append((reason.get("person"), describe(kind, payload, reason)))
            continue
        groups.append(f"{subject}: {describe(kind, payload, reason)}")
        for name in [*payload.get("members", ()), *payload.get("add", ())]:
            people.setdefault(name, []).append((None, f"joins {subject}"))
        for name in payload.get("remove", ()):
            people.setdefault(name, []).append((None, f"leaves {subject}"))
    return people, groups


def describe(kind: str, payload: Mapping[str, Any], reason: Mapping[str, Any]) -> str:
    text = {
        "user.create": lambda: "create" + _fields(payload),
        "user.update": lambda: "update" + _fields(payload),
        "user.reactivate": lambda: "re-activate" + _fields(payload),
        "user.deactivate": lambda: "deactivate",
        "group.create": lambda: f"create with {len(payload['members'])} members",
        "group.members": lambda: f"add {len(payload['add'])}, remove {len(payload['remove'])} members",
        "group.role": lambda: f"role {payload['key']} -> {payload['role']}",
        "user.role": lambda: f"direct role {payload['key']} -> {payload['role']}",
    }[kind]()
    return text + why(kind, reason)


def why(kind: str, reason: Mapping[str, Any]) -> str:
    """The mapping rows behind a change, and its note (a group role's note only repeats it)."""
    rows = ", ".join(reason.get("rows") or ())
    note = reason.get("note")
    return (f"  [{rows}]" if rows else "") + (f"  ({note})" if note and kind != "group.role" else "")


def _fields(payload: Mapping[str, Any]) -> str:
    parts = []
    if "display_name" in payload:
        parts.append(f"name {payload['display_name']!r}")
    for name, value in (payload.get("attributes") or {}).items():
        parts.append(f"{name}={'(unset)' if value is None else value}")
    return (": " + "; ".join(parts)) if parts else ""
