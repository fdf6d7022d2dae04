"""BI calls, 429s and resent calls are counted on the run that made them, and /metrics
(which sums the runs' counts when scraped) shows them rising."""

from __future__ import annotations

from pathlib import Path

from bi_world import bi_settings, example_rows, import_rows, sandbox_server
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from sync import metrics
from sync.apply.service import ApplyResult
from sync.db import session_scope
from sync.jobs.plan_apply import plan_and_apply
from sync.runs import get_run


def _scrape(engine: Engine) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(metrics.render(engine).decode())
            for s in f.samples if s.name.startswith("hr2bi_bi_")}


def test_an_apply_through_429s_records_its_calls_and_the_metrics_rise(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    import_rows(engine, tmp_path, example_rows()[:6])
    before = _scrape(engine)
    # Four calls a second allowed, and the client told it may send 60,000 a minute: the
    # sandbox answers 429 (with Retry-After) until the pipeline waits its turn.
    with sandbox_server(tmp_path, "--rate-limit", "4", "--rate-window", "1") as sandbox:
        settings = bi_settings(database_url, sandbox)
        result = plan_and_apply(engine, settings).last
        calls = sandbox.calls()

    assert isinstance(result, ApplyResult) and result.failed == 0
    limited = sum(c.endswith(" 429") for c in calls)
    assert limited > 0
    with session_scope(engine) as session:
        counts = get_run(session, result.run_id).counts
    # The plan's two reads (connections and models: roles.csv's are checked before a plan
    # that gives roles is saved) count on the run too.
    assert counts["bi_calls"] == len(calls) == result.bi_calls + 2
    assert calls[:2] == ["GET /api/v1/connections 200", "GET /api/v1/models 200"]
    assert counts["rate_limited"] == limited and counts["bi_call_retries"] == limited
    after = _scrape(engine)
    assert (before["hr2bi_bi_rate_limited"], after["hr2bi_bi_rate_limited"]) == (0, limited)
    assert after["hr2bi_bi_calls"] - before["hr2bi_bi_calls"] == len(calls)
    assert after["hr2bi_bi_call_retries"] == limited
