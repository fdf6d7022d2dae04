"""The safety guard's floor (``guard_min_changes``): on a tiny account one leaver is 25 % of
the active users, which the share alone would hold; the floor lets it through, and a
company-sized cut is still held (tests/e2e/test_bi_writer_e2e.py)."""

from __future__ import annotations

from pathlib import Path

from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, Sandbox, bi_settings, example_rows, import_rows)
from sqlalchemy.engine import Engine

from sync.apply.service import ApplyResult
from sync.jobs.plan_apply import plan_and_apply
from sync.plan.service import plan


def _tiny_company(engine: Engine, tmp_path: Path) -> list[dict[str, str]]:
    rows = [r for r in example_rows() if r["Worker Status"] == "Active"][:4]
    import_rows(engine, tmp_path, rows)
    return rows


def _leaver(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [dict(r, **({"Worker Status": "Terminated"} if i == 0 else {})) for i, r in enumerate(rows)]


def test_one_leaver_of_four_active_users_is_applied_not_held(
        engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = _tiny_company(engine, tmp_path)
    settings = bi_settings(database_url, bi_sandbox)
    first = plan_and_apply(engine, settings).last
    assert isinstance(first, ApplyResult) and first.failed == 0
    import_rows(engine, tmp_path, _leaver(rows))

    result = plan_and_apply(engine, settings).last

    assert isinstance(result, ApplyResult) and not result.held, result
    leaver = rows[0]["Work Email"].lower()
    assert [u["active"] for u in bi_sandbox.state()["users"].values() if u["userName"] == leaver] == [False]


def test_the_floor_is_a_setting(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path) -> None:
    rows = _tiny_company(engine, tmp_path)
    plan_and_apply(engine, bi_settings(database_url, bi_sandbox))
    import_rows(engine, tmp_path, _leaver(rows))

    held = plan(engine, bi_settings(database_url, bi_sandbox, guard_min_changes=0))

    assert held.status == "held" and "max(0, min(500, 20% of 4 active" in (held.reason or "")
