"""``/metrics`` in the Prometheus text format.

Most figures are read from the database when Prometheus scrapes, because the work is done
by many processes (gunicorn workers, Celery workers on other machines) that share nothing
else: runs by kind and outcome, BI changes by outcome (applied, failed, quarantined, held,
pending), retried changes, BI calls, 429s and resent calls as the apply runs record them,
and the queue lag (how long the oldest queued identity-provider push has waited).

SCIM requests are counted where they are answered, in the web process. Under gunicorn set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (the Procfile does) so every worker's
counts add up, whichever worker Prometheus reaches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine

from sync.audit.consistency import ALERT
from sync.models import Lock, Run, utcnow
from sync.statuses import ChangeStatus, RunStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Created once per process (Prometheus' idiom), registered only in the registries below.
SCIM_REQUESTS = Counter("hr2bi_scim_requests", "SCIM requests answered, by method and status.",
                        ["method", "status"], registry=None)

_OUTBOX = table("bi_outbox", column("status"), column("attempts"), column("run_id"))
_AUDIT = table("audit_events", column("action"))
# Outbox statuses as the metric names them (done rows were applied).
_CHANGE_STATES = {ChangeStatus.DONE: "applied"}
# Counters a plan run records in its counts as it is applied (or reconciled), summed over
# every run (sync/targets/build.py add_call_stats).
_RUN_COUNTERS = {"rate_limited": ("hr2bi_bi_rate_limited", "BI answers 429 (rate limited), "
                                  "as recorded by apply runs."),
                 "bi_calls": ("hr2bi_bi_calls", "Calls made to the BI platform by apply runs."),
                 "bi_call_retries": ("hr2bi_bi_call_retries", "BI calls sent again after a 429, "
                                     "a 5xx or a timeout, as recorded by apply runs.")}


def count_scim_request(method: str, status: int) -> None:
    SCIM_REQUESTS.labels(method=method, status=str(status)).inc()


def registry_for(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(SCIM_REQUESTS)
    registry.register(DatabaseCollector(engine))
    return registry


def render(engine: Engine) -> bytes:
    return generate_latest(registry_for(engine))


class DatabaseCollector(Collector):
    """Figures computed from the runs, the outbox and the queued-push markers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            yield _runs(conn)
            yield from _run_counters(conn)
            if inspect(conn).has_table("bi_outbox"):
                yield _changes(conn)
                yield _retries(conn)
            yield from _queue(conn)
            yield _audit_alerts(conn)


def _runs(conn: Connection) -> Metric:
    family = GaugeMetricFamily("hr2bi_runs", "Runs recorded, by kind and outcome.",
                               labels=["kind", "status"])
    query = select(Run.kind, Run.status, func.count()).group_by(Run.kind, Run.status)
    for kind, status, count in conn.execute(query):
        family.add_metric([kind, status], count)
    return family


def _run_counters(conn: Connection) -> Iterator[Metric]:
    totals: dict[str, int] = dict.fromkeys(_RUN_COUNTERS, 0)
    for (counts,) in conn.execute(select(Run.counts).where(Run.kind != "import")):
        for key in totals:
            totals[key] += _int((counts or {}).get(key))
    for key, (name, text) in _RUN_COUNTERS.items():
        family = GaugeMetricFamily(name, text)
        family.add_metric([], totals[key])
        yield family


def _changes(conn: Connection) -> Metric:
    family = GaugeMetricFamily("hr2bi_bi_changes", "Planned BI changes by outcome (applied, "
                               "failed, quarantined, pending) and those waiting in held runs.",
                               labels=["status"])
    held = select(Run.id).where(Run.status == RunStatus.HELD)
    query = (select(_OUTBOX.c.status, func.count()).where(_OUTBOX.c.run_id.not_in(held))
             .group_by(_OUTBOX.c.status))
    for status, count in conn.execute(query):
        family.add_metric([_CHANGE_STATES.get(status, status)], count)
    waiting = conn.scalar(select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.run_id.in_(held)))
    family.add_metric(["held"], waiting or 0)
    return family


def _retries(conn: Connection) -> Metric:
    family = GaugeMetricFamily("hr2bi_bi_retries", "Extra attempts BI changes needed "
                               "(5xx, timeouts, rate limits beyond the caller's own retries).")
    extra = conn.scalar(select(func.coalesce(func.sum(_OUTBOX.c.attempts - 1), 0))
                        .where(_OUTBOX.c.attempts > 1))
    family.add_metric([], int(extra or 0))
    return family


def _audit_alerts(conn: Connection) -> Metric:
    family = GaugeMetricFamily("hr2bi_audit_alerts", "audit.alert events: checkpoints refused "
                               "because the log no longer extends the stored ones (alert on > 0).")
    family.add_metric([], conn.scalar(select(func.count()).select_from(_AUDIT)
                                      .where(_AUDIT.c.action == ALERT)) or 0)
    return family


def _queue(conn: Connection) -> Iterator[Metric]:
    queued = conn.execute(select(func.count(), func.min(Lock.acquired_at))
                          .where(Lock.name.like("push:%"))).one()
    depth = GaugeMetricFamily("hr2bi_pushes_queued", "Identity-provider pushes queued and "
                              "not yet started (one per person: bursts coalesce).")
    depth.add_metric([], queued[0])
    yield depth
    lag = GaugeMetricFamily("hr2bi_queue_lag_seconds", "How long the oldest queued push has "
                            "waited for a worker (0 when none waits).")
    lag.add_metric([], _age(queued[1]))
    yield lag


def _age(since: Any) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite returns naive UTC datetimes
        since = since.replace(tzinfo=utcnow().tzinfo)
    return max((utcnow() - since).total_seconds(), 0.0)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def install(app: Any, engine: Engine) -> None:
    """Count SCIM answers and serve ``/metrics`` on a Flask app."""
    from flask import Response, request

    @app.after_request
    def _count(response: Any) -> Any:
        if request.path.startswith("/scim/"):
            count_scim_request(request.method, response.status_code)
        return response

    @app.get("/metrics")
    def metrics() -> Any:
        return Response(render(engine), content_type=CONTENT_TYPE)
