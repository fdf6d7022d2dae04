"""What changed for each person whose content hash moved, as history events.

Pure over plain values: the stored documents of the people concerned come in, the update
rows and events go out in ``Outcome``. Every change marks the person dirty.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.audit.log import EncodedValue
from sync.people.document import changed_fields, content_hash
from sync.people.lifecycle import TERMINATED, Standing
from sync.people.snapshot import Known

CONVERTIBLE = frozenset({"employee", "contractor"})
ADD, CHANGE, TERMINATE, REHIRE = "person.add", "person.change", "person.terminate", "person.rehire"


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision about a person that the audit log records: who (``employee_id``, and
    ``name`` — their email — for the people reading the log), what (``action``), the changed
    fields before and after, and why. Plain values: the importer adds actor, run and file."""

    action: str
    employee_id: str
    name: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | EncodedValue | None  # a new person's fields come encoded
    why: str | None = None


@dataclass
class Outcome:
    """What one import does: counts for the run, problems for ``runs show``, and the rows."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    # (employee id, event, details): details may come encoded (EncodedJSON)
    events: list[tuple[str, str, dict[str, Any] | str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def event(self, employee_id: str, event: str, details: dict[str, Any] | str) -> None:
        self.events.append((employee_id, event, details))


def record_changes(outcome: Outcome, changed: Mapping[int, tuple[Known, dict[str, Any]]],
                   documents: Mapping[int, Mapping[str, Any]], now: dt.datetime) -> None:
    for person_id, (old, new) in changed.items():
        before = documents[person_id]["fields"]
        if "standing" in new:
            _left_by_absence(outcome, person_id, old, new["absences"], new["standing"], before, now)
        else:
            _changed(outcome, person_id, old, new, before, now)
        outcome.counts["marked"] += 1


def _changed(outcome: Outcome, person_id: int, old: Known, row: dict[str, Any],
             before: Mapping[str, Any], now: dt.datetime) -> None:
    outcome.updates.append({**row, "_id": person_id, "dirty": True, "changed_at": now})
    outcome.counts["changed"] += 1
    employee_id = row["employee_id"]
    if old.employee_id != employee_id:
        outcome.counts["converted"] += 1
        outcome.event(employee_id, "converted", {"employee_id": [old.employee_id, employee_id],
                                                 "employment_type": [old.employment_type, row["employment_type"]]})
    elif {old.employment_type, row["employment_type"]} == CONVERTIBLE:
        outcome.counts["converted"] += 1
        outcome.event(employee_id, "converted", {"employment_type": [old.employment_type, row["employment_type"]]})
    action, why = _lifecycle_event(outcome, old, row)
    diff = changed_fields(before, row["fields"])
    outcome.decisions.append(_decision(action, old, row, diff, why))
    diff.pop("employment_status", None)  # the lifecycle event says it
    if diff:
        outcome.event(employee_id, "changed", {"fields": diff})
    if row["scim_user_id"] != old.scim_user_id:
        outcome.counts["linked"] += bool(row["scim_user_id"])
        name = "linked" if row["scim_user_id"] else "unlinked"
        outcome.event(employee_id, name, {"scim_user_id": row["scim_user_id"] or old.scim_user_id,
                                          "why": row["link_reason"]})


def _lifecycle_event(outcome: Outcome, old: Known, row: Mapping[str, Any]) -> tuple[str, str | None]:
    """Records the lifecycle move in the person's history; returns the audit action and why."""
    state, employee_id = row["lifecycle"], row["employee_id"]
    if old.lifecycle == TERMINATED and state != TERMINATED:
        # Back under the same employee id: the same person, re-enabled, never a duplicate.
        event = "returned" if old.absences else "rehired"
        outcome.counts[event] += 1
        outcome.event(employee_id, event, {"state": state})
        return REHIRE, f"back in the feed as {state}" if old.absences else f"rehired: {state} in HR"
    if state == TERMINATED and old.lifecycle != TERMINATED:
        outcome.counts["left"] += 1
        outcome.event(employee_id, "left", {"why": "HR says so (status or termination date)"})
        return TERMINATE, "HR says so (status or termination date)"
    if state != old.lifecycle:
        outcome.event(employee_id, "lifecycle", {"from": old.lifecycle, "to": state})
    return CHANGE, None


def _decision(action: str, old: Known, row: Mapping[str, Any], diff: Mapping[str, list[Any]],
              why: str | None) -> Decision:
    """Only the fields that changed go in before and after (plus the lifecycle when the
    fields do not show it, and the employee id of a conversion)."""
    before = {name: values[0] for name, values in diff.items()}
    after = {name: values[1] for name, values in diff.items()}
    if row["lifecycle"] != old.lifecycle and "employment_status" not in diff:
        before["lifecycle"], after["lifecycle"] = old.lifecycle, row["lifecycle"]
    if old.employee_id != row["employee_id"]:
        before["employee_id"], after["employee_id"] = old.employee_id, row["employee_id"]
    return Decision(action, row["employee_id"], row["fields"].get("email"), before, after, why)


def _left_by_absence(outcome: Outcome, person_id: int, old: Known, absences: int, standing: Standing,
                     before: Mapping[str, Any], now: dt.datetime) -> None:
    fields = dict(before)
    if "employment_status" in fields:
        fields["employment_status"] = TERMINATED
    outcome.updates.append({"_id": person_id, "fields": fields, "content_hash": content_hash(fields, standing),
                            "lifecycle": TERMINATED, "provision_from": None, "absences": absences,
                            "dirty": True, "changed_at": now, "updated_at": now})
    outcome.counts["left"] += 1
    outcome.event(old.employee_id, "left", {"why": standing.reason})
    diff = changed_fields(before, fields)
    if "employment_status" not in diff:
        diff["lifecycle"] = [old.lifecycle, TERMINATED]
    outcome.decisions.append(Decision(TERMINATE, old.employee_id, before.get("email"),
                                      {n: v[0] for n, v in diff.items()}, {n: v[1] for n, v in diff.items()},
                                      standing.reason))
