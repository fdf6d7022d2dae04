"""A held plan to review, for the console's and the API's runs tests: a real BI sandbox (a
subprocess, ``tests/e2e/bi_world.py``), four people imported and applied, then one of them
terminated, which the guard holds (with no floor, one of four active accounts is 25 %)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from bi_world import Sandbox, bi_sandbox, bi_settings, example_rows, import_rows  # noqa: E402

from sync.config import Settings  # noqa: E402
from sync.jobs.plan_apply import plan_and_apply  # noqa: E402
from sync.plan.service import plan  # noqa: E402

# The console's sign-in settings (tests/console/conftest.py oidc_settings) kept as they are.
__all__ = ["CONSOLE_KEYS", "HeldWorld", "Sandbox", "bi_sandbox", "example_rows", "held_world", "import_rows"]
CONSOLE_KEYS = ("console_oidc_issuer", "console_oidc_client_id", "console_viewer_groups",
                "console_approver_groups", "console_admin_groups")


@dataclass
class HeldWorld:
    engine: Engine
    settings: Settings
    tmp_path: Path
    rows: list[dict[str, str]]

    @property
    def leaver(self) -> dict[str, str]:
        return self.rows[0]

    def terminate_one(self) -> None:
        """The first person terminated in a fresh HR import (nothing planned yet)."""
        changed = [dict(r, **({"Worker Status": "Terminated"} if i == 0 else {})) for i, r in enumerate(self.rows)]
        import_rows(self.engine, self.tmp_path, changed)

    def held_plan(self) -> int:
        """The leaver's import, then a plan for everyone: held; its run id."""
        self.terminate_one()
        held = plan(self.engine, self.settings)
        assert held.status == "held", held
        return held.run_id


def held_world(engine: Engine, database_url: str, sandbox: Sandbox, tmp_path: Path, console: Settings,
               **overrides: Any) -> HeldWorld:
    rows = [r for r in example_rows() if r["Worker Status"] == "Active"][:4]
    settings = bi_settings(database_url, sandbox, guard_min_changes=0,
                           **{k: getattr(console, k) for k in CONSOLE_KEYS}, **overrides)
    import_rows(engine, tmp_path, rows)
    first = plan_and_apply(engine, settings)
    assert first.applied is not None and first.applied.failed == 0, first
    return HeldWorld(engine, settings, tmp_path, rows)
