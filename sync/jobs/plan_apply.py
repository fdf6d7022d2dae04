"""Plan, then apply unless the plan is held or empty: what ``hr2bi apply``, the nightly sync,
a push and ``hr2bi provision`` all do (the CLI and the demo that show a plan before applying
it call the two services themselves)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult, apply
from sync.config import Settings
from sync.plan.service import PlanResult, plan
from sync.rules import Tables
from sync.statuses import RunStatus


@dataclass(frozen=True)
class PlanApplyResult:
    """The plan, and its apply (None when the plan was held or had nothing to change)."""

    plan: PlanResult
    applied: ApplyResult | None = None

    @property
    def last(self) -> ApplyResult | PlanResult:
        """What there is to show: the apply, or the plan when nothing was applied."""
        return self.applied or self.plan


def plan_and_apply(engine: Engine, settings: Settings, *, tables: Tables | None = None,
                   people: Collection[int] | None = None, scim_users: Collection[str] | None = None,
                   reconcile: bool = False, progress: bool = False,
                   observe: Callable[[httpx.Response], None] | None = None) -> PlanApplyResult:
    """Plan for everyone (or ``people`` and ``scim_users``) and apply that plan unless it is
    held or empty; ``observe`` sees each BI response of the apply."""
    planned = plan(engine, settings, tables=tables, people=people, scim_users=scim_users,
                   reconcile=reconcile)
    if planned.status != RunStatus.PLANNED:
        return PlanApplyResult(planned)
    return PlanApplyResult(planned, apply(engine, settings, planned.run_id, progress=progress, observe=observe))
