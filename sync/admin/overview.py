"""The console's home and ``GET /api/v1/overview``: is everything up, what ran last, how fresh
each HR source is, what waits for someone (held runs, failing and quarantined changes), and
the BI rate limit as far as it is known.

Health reuses ``/healthz``'s checks (``sync.health``) with short timeouts, and adds whether the
BI platform answers at all (any HTTP answer counts: no key is sent, nothing secret is shown).
Rate-limit headroom is known when the workers share the limit through Redis
(``sync.targets.shared_limiter``): each key's schedule says how far ahead of now it is booked.
Without it the limiter lives in whichever worker calls the BI platform, so the overview gives
the configured rate per key and the last plan's calls and 429s, and says the headroom is
unknown rather than invent it.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sync.admin.runs import run_summary
from sync.config import Settings
from sync.db import DatabaseUnavailable, check_connection
from sync.health import broker_problem
from sync.models import OutboxChange, Run
from sync.plan.service import KIND as PLAN_KIND
from sync.sources.importer import KIND as IMPORT_KIND
from sync.statuses import ACCEPTED_RUNS, ChangeStatus, RunStatus
from sync.targets.build import api_keys, key_pool
from sync.targets.errors import TargetSetupError
from sync.targets.shared_limiter import RedisKeyPool

PROBE_SECONDS = 2.0  # a health check never holds the page longer than this, per check
HELD_SHOWN = 20


def health(engine: Engine, settings: Settings) -> dict[str, str]:
    """``ok``, ``embedded`` (no broker configured) or ``unreachable`` for each part."""
    try:
        check_connection(engine)
        database = "ok"
    except DatabaseUnavailable:
        database = "unreachable"
    broker = "embedded" if settings.broker_url is None else (
        "ok" if broker_problem(settings, timeout=PROBE_SECONDS) is None else "unreachable")
    return {"database": database, "broker": broker, "bi_platform": bi_reachable(settings)}


def bi_reachable(settings: Settings) -> str:
    try:
        httpx.get(settings.bi_base_url, timeout=min(PROBE_SECONDS, settings.bi_timeout))
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        return "unreachable"
    return "ok"


def summary(session: Session, settings: Settings) -> dict[str, Any]:
    """Everything on the overview but the health checks (they take time: the page loads
    them separately)."""
    return {"last_runs": last_runs(session), "sources": freshness(session),
            "held": [run_summary(r) for r in _held(session)], "outbox": outbox(session),
            "rate_limit": rate_limit(session, settings)}


def last_runs(session: Session) -> list[dict[str, Any]]:
    found = []
    for kind in (IMPORT_KIND, PLAN_KIND):
        run = session.scalars(select(Run).where(Run.kind == kind).order_by(Run.id.desc()).limit(1)).first()
        if run is not None:
            found.append(run_summary(run))
    return found


def freshness(session: Session) -> list[dict[str, Any]]:
    """Each HR source that ever ran an import: when it last imported successfully (None:
    never) and how its newest import ended."""
    rows = session.execute(select(Run.source, func.max(Run.id)).where(
        Run.kind == IMPORT_KIND, Run.source.is_not(None)).group_by(Run.source).order_by(Run.source)).all()
    found = []
    for source, newest in rows:
        good = session.scalars(select(Run).where(
            Run.kind == IMPORT_KIND, Run.source == source, Run.status.in_(ACCEPTED_RUNS))
            .order_by(Run.id.desc()).limit(1)).first()
        last = session.get(Run, newest)
        found.append({"source": source, "last_success": _iso(good.finished_at or good.started_at) if good else None,
                      "last_run": newest, "last_status": last.status if last else None})
    return found


def outbox(session: Session) -> dict[str, int]:
    counts = dict(session.execute(select(OutboxChange.status, func.count()).where(
        OutboxChange.status.in_((ChangeStatus.FAILED, ChangeStatus.QUARANTINED, ChangeStatus.PENDING)))
        .group_by(OutboxChange.status)).all())
    return {status: int(counts.get(status, 0))
            for status in (ChangeStatus.FAILED, ChangeStatus.QUARANTINED, ChangeStatus.PENDING)}


def rate_limit(session: Session, settings: Settings) -> dict[str, Any]:
    try:
        keys = len(api_keys(settings))
    except TargetSetupError:
        keys = 0
    plan = session.scalars(select(Run).where(Run.kind == PLAN_KIND).order_by(Run.id.desc()).limit(1)).first()
    counts = plan.counts if plan else {}
    per_key = _shared_status(settings)
    free = [k for k in per_key or () if k["free"]]
    return {"keys": keys, "per_key_per_minute": settings.bi_rate_per_key,
            "headroom": None if per_key is None else len(free) / max(len(per_key), 1),
            "headroom_known": per_key is not None, "per_key": per_key,
            "last_plan": plan.id if plan else None,
            "last_plan_calls": counts.get("bi_calls"), "last_plan_rate_limited": counts.get("rate_limited")}


def _shared_status(settings: Settings) -> list[dict[str, Any]] | None:
    """Each key's booking in the shared limiter, or None (not shared, or Redis silent)."""
    try:
        pool = key_pool(settings, api_keys(settings))
        return pool.status() if isinstance(pool, RedisKeyPool) else None
    except Exception:  # noqa: BLE001  (the overview never fails on a cache)
        return None


def _held(session: Session) -> list[Run]:
    return list(session.scalars(select(Run).where(Run.status == RunStatus.HELD)
                                .order_by(Run.id.desc()).limit(HELD_SHOWN)))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
