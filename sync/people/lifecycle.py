"""Joiner, mover, leaver: where a person stands, decided from their HR data and a date.

Pure. The verdict also becomes the stored person's ``employment_status`` (the field the
scope in ``mappings/scope.yaml`` tests), so a pre-hire or a leaver by termination date is
out of scope without the mapping tables having to know about dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PRE_HIRE = "pre_hire"
ACTIVE = "active"
LEAVE = "leave"
TERMINATED = "terminated"
STATES = (PRE_HIRE, ACTIVE, LEAVE, TERMINATED)


@dataclass(frozen=True)
class Standing:
    """The lifecycle state, the day provisioning may start, and why."""

    state: str
    provision_from: dt.date | None
    reason: str


def decide(fields: Mapping[str, Any], today: dt.date, lead_days: int) -> Standing:
    """Terminated by status, or by a termination date that has passed unless a later hire
    date says the person came back (a rehire); pre-hire until the start date minus the lead;
    on leave by status; otherwise active."""
    status = fields.get("employment_status") or ACTIVE
    hired: dt.date | None = fields.get("hire_date")
    ended: dt.date | None = fields.get("termination_date")
    provision_from = hired - dt.timedelta(days=lead_days) if hired else None
    if status == TERMINATED:
        return Standing(TERMINATED, None, "HR status is terminated")
    if ended is not None and ended < today and (hired is None or hired <= ended):
        return Standing(TERMINATED, None, f"termination date {ended.isoformat()} has passed")
    if provision_from is not None and today < provision_from:
        return Standing(PRE_HIRE, provision_from,
                        f"starts {hired.isoformat()}; provisioned from {provision_from.isoformat()}")
    if status == LEAVE:
        return Standing(LEAVE, provision_from, "HR status is on leave")
    return Standing(ACTIVE, provision_from, "active in HR")


def absent(absences: int, limit: int) -> Standing | None:
    """A person missing from ``limit`` consecutive full feeds has left."""
    if absences >= limit:
        return Standing(TERMINATED, None, f"missing from {absences} consecutive full feeds")
    return None


def review_on(fields: Mapping[str, Any], standing: Standing, today: dt.date) -> dt.date | None:
    """The first day the verdict could change with nothing else changing: the day a
    pre-hire is provisioned, or the day after a future termination date."""
    if standing.state == PRE_HIRE:
        return standing.provision_from
    ended: dt.date | None = fields.get("termination_date")
    if standing.state != TERMINATED and ended is not None and ended >= today:
        return ended + dt.timedelta(days=1)
    return None
