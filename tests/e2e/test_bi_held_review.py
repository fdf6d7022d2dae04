"""A plan the safety guard held, reviewed and refused from the command line, as an operator
would: the nightly `hr2bi sync` imports a feed that terminates a third of the company and
holds the plan; `hr2bi runs show` lists each change (filtered by kind, as JSON for
scripts); `hr2bi runs reject` ends the run, discards its changes and audits who refused it
and why; later syncs never apply what was rejected."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from bi_world import (  # noqa: F401 (bi_sandbox is a fixture)
    bi_sandbox, KEY, MAPPINGS, Sandbox, assert_sandbox_matches, example_rows)
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.cli import main
from sync.db import session_scope
from sync.models import AuditEvent, OutboxChange

LEAVERS = 89  # a third of the 266 active people (some not provisioned): far past the guard's 53 (20 %)
Hr2bi = Callable[..., Result]


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    folder = tmp_path / "feeds"
    folder.mkdir()
    return folder


@pytest.fixture
def hr2bi(engine: Engine, database_url: str, bi_sandbox: Sandbox, tmp_path: Path, feeds: Path) -> Hr2bi:
    config = tmp_path / "hr2bi.toml"
    config.write_text(f'[sources]\nrejects_dir = "{tmp_path / "rejects"}"\n\n'
                      f'[sources.hr]\ntype = "csv"\npath = "{feeds}"\n')
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(MAPPINGS), "HR2BI_MIGRATE_ON_START": "false",
           "HR2BI_CONFIG": str(config), "HR2BI_BI_BASE_URL": bi_sandbox.url, "HR2BI_BI_API_KEYS": KEY,
           "HR2BI_BI_RATE_PER_KEY": "60000"}

    def run(*args: str, code: int | None = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env=env)
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    return run


def write_export(folder: Path, name: str, rows: list[dict[str, str]]) -> Path:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def terminating(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str], dict[str, str]]:
    """The export with the first LEAVERS active people terminated and one mover (Finance to
    Marketing); also the leavers' userNames and the mover's row."""
    active = [r for r in rows if r["Worker Status"] == "Active"]
    leavers = {r["Employee ID"] for r in active[:LEAVERS]}
    mover = next(r for r in active[LEAVERS:] if r["Department"] == "Finance")
    changed = [dict(r, **({"Worker Status": "Terminated"} if r["Employee ID"] in leavers else {}),
                    **({"Department": "Marketing"} if r is mover else {})) for r in rows]
    return changed, [r["Work Email"].lower() for r in active[:LEAVERS]], mover


def held_plan(hr2bi: Hr2bi, feeds: Path) -> tuple[int, Result, list[str], dict[str, str]]:
    """Everyone applied by a first sync, then the terminating feed: the plan is held."""
    rows = example_rows()
    write_export(feeds, "northwind-1.csv", rows)
    hr2bi("sync")
    changed, leavers, mover = terminating(rows)
    write_export(feeds, "northwind-2.csv", changed)
    held = hr2bi("sync", code=2)
    run_id = int(re.search(r"held as run (\d+)", held.output)[1])
    return run_id, held, leavers, mover


def test_a_held_plan_lists_each_change_and_filters_by_kind(hr2bi: Hr2bi, feeds: Path) -> None:
    run_id, held, leavers, mover = held_plan(hr2bi, feeds)

    # The hold message names the run and both ways out.
    assert f"`hr2bi runs show {run_id}`" in held.output
    assert f"`hr2bi runs approve {run_id} --by NAME`" in held.output
    assert f"`hr2bi runs reject {run_id} --by NAME --reason TEXT`" in held.output
    document = json.loads(hr2bi("runs", "show", str(run_id), "--json").output)
    counts = document["counts"]
    assert counts["deactivations"] > 80 and len(document["changes"]) == counts["total"]
    shown = hr2bi("runs", "show", str(run_id)).output
    assert f"reason: held as run {run_id}: {counts['deactivations']} deactivations" in shown
    # One line per change, up to the default limit, and a line saying how many more.
    deactivations = [line for line in shown.splitlines() if line.split()[:1] == ["user.deactivate"]]
    assert 0 < len(deactivations) < counts["deactivations"]
    assert f"... and {counts['total'] - 50} more changes" in shown

    only = hr2bi("runs", "show", str(run_id), "--kind", "user.deactivate", "--limit", "0").output
    lines = [line.split() for line in only.splitlines() if line.startswith("  user.")]
    assert len(lines) == counts["deactivations"] and {words[1] for words in lines} <= set(leavers)
    assert {words[0] for words in lines} == {"user.deactivate"}
    assert f"{counts['deactivations']} of {counts['total']} are user.deactivate" in only
    assert "more changes" not in only
    few = hr2bi("runs", "show", str(run_id), "--kind", "user.deactivate", "--limit", "5").output
    assert f"... and {counts['deactivations'] - 5} more changes" in few

    mover_name = mover["Work Email"].lower()
    users = hr2bi("runs", "show", str(run_id), "--kind", "user", "--limit", "0").output
    update = next(line for line in users.splitlines() if line.split()[:2] == ["user.update", mover_name])
    assert "Finance -> Marketing" in update and "[" in update  # before -> after, and the mapping rows why
    groups = hr2bi("runs", "show", str(run_id), "--kind", "group.members,user.update").output
    assert "user.deactivate" not in groups
    assert re.search(rf"group\.members +Marketing .*add 1 \({re.escape(mover_name)}\)", groups), groups

    document = json.loads(hr2bi("runs", "show", str(run_id), "--json", "--kind", "user.deactivate").output)
    assert (document["id"], document["kind"], document["status"]) == (run_id, "plan", "held")
    assert len(document["changes"]) == counts["deactivations"]
    first = document["changes"][0]
    assert first["kind"] == "user.deactivate" and first["subject"] in leavers
    assert first["status"] == "pending" and first["before"] == {"active": True}
    assert first["reason"]["rows"] and first["change"].startswith("deactivate")

    unknown = hr2bi("runs", "show", str(run_id), "--kind", "user.delete", code=2)
    assert "user.deactivate" in unknown.output  # says which kinds there are


def test_a_rejected_plan_is_never_applied_and_the_rejection_is_audited(
        hr2bi: Hr2bi, feeds: Path, engine: Engine, bi_sandbox: Sandbox) -> None:
    run_id, _held, leavers, mover = held_plan(hr2bi, feeds)
    state_before = bi_sandbox.state()
    total = json.loads(hr2bi("runs", "show", str(run_id), "--json").output)["counts"]["total"]

    rejected = hr2bi("runs", "reject", str(run_id), "--by", "ciso@example.com",
                     "--reason", "the HR export lost a third of the company")

    assert f"Run {run_id} rejected by ciso@example.com" in rejected.output
    shown = hr2bi("runs", "show", str(run_id)).output
    assert f"Run {run_id}: plan" in shown and ", rejected" in shown.splitlines()[0]
    assert "rejected by ciso@example.com" in shown and "lost a third" in shown
    with session_scope(engine) as session:
        statuses = set(session.scalars(select(OutboxChange.status).where(OutboxChange.run_id == run_id)))
        events = [e for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                  if e.action == "run.reject"]
    assert statuses == {"rejected"}
    assert [(e.actor, e.target["id"], e.run_id) for e in events] == [("approver:ciso@example.com", run_id, run_id)]
    assert events[0].reason["rejected_because"] == "the HR export lost a third of the company"
    assert (events[0].before, events[0].after) == ({"status": "held"}, {"status": "rejected", "discarded": total})

    # Neither an approval nor a second rejection nor an apply of the run does anything.
    refused = hr2bi("runs", "approve", str(run_id), "--by", "someone", code=1)
    assert f"run {run_id} is rejected" in refused.output
    again = hr2bi("runs", "reject", str(run_id), "--by", "someone", "--reason", "twice", code=1)
    assert f"run {run_id} is rejected, not held" in again.output
    hr2bi("apply", "--run", str(run_id), code=1)
    assert bi_sandbox.state() == state_before

    # The feed still says they left: the next sync plans them afresh and is held again.
    later = hr2bi("sync", code=2)
    new_id = int(re.search(r"held as run (\d+)", later.output)[1])
    assert new_id > run_id and bi_sandbox.state() == state_before
    # HR fixes the export (nobody left; the mover did move): the next sync applies the move
    # and switches nobody off.
    fixed = [dict(r, Department="Marketing") if r["Employee ID"] == mover["Employee ID"] else r
             for r in example_rows()]
    write_export(feeds, "northwind-3.csv", fixed)
    hr2bi("sync")
    users = {u["userName"]: u for u in bi_sandbox.state()["users"].values()}
    assert {name for name, u in users.items() if u["active"]} >= set(leavers) & set(users)
    assert users[mover["Work Email"].lower()]["attributes"]["department"] == "Marketing"
    assert_sandbox_matches(engine, bi_sandbox)
