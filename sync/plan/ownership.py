"""Which BI accounts hr2bi owns, and so may change.

hr2bi owns an account it created, or one it adopted: an account whose userName a person
or SCIM user wants (matched to them), recorded by the first plan that sees the match and
counted in that plan's summary (``adopted``). Every other account (the admin who owns the
API key, service and break-glass accounts, users made by hand or by another SCIM app) is
*unmanaged*: plans and ``reconcile`` report them (``unmanaged: N`` and the list) and leave
them alone, unless the operator opts in (``manage_unmatched = "deactivate"``; such a plan
goes through the safety guard like any other). Accounts whose userName matches a
``protected`` pattern (shell globs, case-insensitive) are never changed or deactivated,
whatever the setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.models import BiUserState, Run
from sync.plan.values import DesiredUser, Plan, key_of

CREATED, ADOPTED = "created", "adopted"
UNMANAGED_SHOWN = 50  # names listed in a plan's report
UNMANAGED_KEPT = 1000  # names kept in the run's details


@dataclass(frozen=True)
class Ownership:
    """``owned``: keys of the accounts hr2bi created or adopted (None: every account, for
    callers that keep no store)."""

    owned: frozenset[str] | None = None
    deactivate_unmatched: bool = False
    protected: tuple[str, ...] = ()

    def is_protected(self, user_name: str) -> bool:
        name = user_name.casefold()
        return any(fnmatchcase(name, pattern.casefold()) for pattern in self.protected)

    def may_deactivate(self, key: str, user_name: str) -> bool:
        if self.is_protected(user_name):
            return False
        return self.owned is None or key in self.owned or self.deactivate_unmatched


def ownership_rules(session: Session, settings: Any) -> Ownership:
    """The store's owned accounts with the settings' ``manage_unmatched`` and ``protected``."""
    return Ownership(owned_keys(session), settings.manage_unmatched == "deactivate",
                     tuple(settings.protected))


def owned_keys(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(BiUserState.user_name_key)
                                     .where(BiUserState.ownership.is_not(None))))


def adopt_matched(session: Session, desired: Iterable[DesiredUser],
                  protected: Sequence[str] = ()) -> dict[str, int]:
    """Record as adopted every known account a desired user matches that hr2bi did not own
    yet; ``{"adopted": N}`` for the plan's summary when there were any."""
    rules = Ownership(protected=tuple(protected))
    keys = [key_of(d.user_name) for d in desired if not rules.is_protected(d.user_name)]
    adopted = 0
    for start in range(0, len(keys), 500):
        rows = session.scalars(select(BiUserState).where(
            BiUserState.user_name_key.in_(keys[start:start + 500]), BiUserState.ownership.is_(None)))
        for row in rows:
            row.ownership = ADOPTED
            adopted += 1
    return {"adopted": adopted} if adopted else {}


def ownership_summary(session: Session, run: Run, plan: Plan, desired: Iterable[DesiredUser],
                      settings: Any) -> dict[str, int]:
    """Adopt the matched accounts; the plan summary's ``adopted`` and ``unmanaged`` counts
    (present when not zero). The unmanaged accounts' names go in the run's details."""
    found = adopt_matched(session, desired, settings.protected)
    if not plan.unmanaged:
        return found
    rules = Ownership(protected=tuple(settings.protected))
    run.details = {**run.details, "unmanaged": list(plan.unmanaged[:UNMANAGED_KEPT]),
                   "unmanaged_protected": [n for n in plan.unmanaged if rules.is_protected(n)]}
    return found | {"unmanaged": len(plan.unmanaged)}


def ownership_lines(session: Session, run_id: int) -> list[str]:
    """What a plan's report says about ownership: accounts adopted, accounts left alone."""
    run = session.get(Run, run_id)
    if run is None:
        return []
    lines = []
    if run.counts.get("adopted"):
        lines.append(f"  adopted: {run.counts['adopted']} existing BI accounts matched to people "
                     "(hr2bi manages them from now on)")
    names = run.details.get("unmanaged") or []
    if run.counts.get("unmanaged"):
        lines.append("  " + unmanaged_line(int(run.counts["unmanaged"]), names,
                                           run.details.get("unmanaged_protected") or []))
    return lines


def mark_created(row: BiUserState) -> None:
    """An account hr2bi's apply created (or adopted while creating) is owned."""
    if row.ownership is None:
        row.ownership = CREATED


def unmanaged_line(count: int, names: Sequence[str], protected: Sequence[str]) -> str:
    shown = ", ".join(names[:UNMANAGED_SHOWN]) + (f" and {count - UNMANAGED_SHOWN} more"
                                                   if count > UNMANAGED_SHOWN else "")
    guarded = f" ({len(protected)} of them protected)" if protected else ""
    return (f"unmanaged: {count} active BI accounts hr2bi did not create or adopt{guarded} "
            f"are left alone: {shown} (manage_unmatched = \"deactivate\" deactivates the "
            "unprotected ones)")
