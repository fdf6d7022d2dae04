"""What the jobs return, typed, and the one place a result becomes the plain dict a Celery
task returns (and ``hr2bi sync --json`` prints): :func:`as_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import PlanApplyResult
from sync.plan.service import PlanResult
from sync.statuses import RunStatus, SyncStatus

UNCHANGED = "unchanged"  # a source's export was already imported: nothing new to read, no run


@dataclass(frozen=True)
class SourceOutcome:
    """One source's import within a sync: its run (when one was made) and how it ended."""

    source: str
    status: str  # its run's RunStatus (succeeded | held | failed), or UNCHANGED
    run_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync did: ``status`` says how it ended (``SyncStatus``); ``plan`` and
    ``apply`` are None when it was skipped, ``apply`` also when the plan was held or empty."""

    status: SyncStatus
    imports: tuple[SourceOutcome, ...] = ()
    plan: PlanResult | None = None
    apply: ApplyResult | None = None

    @property
    def held(self) -> bool:
        """An import or the plan waits for ``hr2bi runs approve`` or ``reject``."""
        return ((self.plan is not None and self.plan.status == RunStatus.HELD)
                or any(i.status == RunStatus.HELD for i in self.imports))

    def as_dict(self) -> dict[str, Any]:
        return as_dict(self)


Result = SyncOutcome | SourceOutcome | PlanApplyResult | PlanResult | ApplyResult


def as_dict(result: Result | None) -> dict[str, Any]:
    """``result`` as JSON-able primitives; a result that is not there (no apply after a held
    plan, no plan in a skipped sync) is ``{}``."""
    if result is None:
        return {}
    if isinstance(result, SyncOutcome):
        return {"status": result.status, "imports": [as_dict(i) for i in result.imports],
                "plan": as_dict(result.plan), "apply": as_dict(result.apply)}
    if isinstance(result, PlanApplyResult):
        return {"plan": as_dict(result.plan), "apply": as_dict(result.applied)}
    return asdict(result)
