"""``hr2bi sandbox`` as a real HTTP server: OmniTarget over the network, the rate limit
with a real 429, and the state kept across a restart of the process."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from servers import free_port, running

from sync.rules.tables import Role
from sync.targets.calls import RetryPolicy
from sync.targets.errors import RateLimited
from sync.targets.omni import OmniTarget
from sync.sandbox import load_seed, seed_models

pytestmark = pytest.mark.slow
KEY = "server-test-key"


def serve(port: int, state: Path, *options: str, command: str = "python -m") -> AbstractContextManager[object]:
    """``hr2bi sandbox``, or the same command through ``python -m`` (faster to start)."""
    program = ([str(Path(sys.executable).with_name("hr2bi")), "sandbox"] if command == "hr2bi"
               else [sys.executable, "-m", "sync.cli.sandbox"])
    command_line = [*program, "--port", str(port), "--state", str(state), "--key", KEY, *options]
    return running(command_line, f"http://127.0.0.1:{port}/api/v1/user-attributes",
                   {"Authorization": "Bearer not-a-key"})  # a 401 is an answer


def test_the_sandbox_serves_omni_target_and_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "sandbox.json"
    models = seed_models(load_seed())
    with serve(port, state, "--rate-limit", "0", command="hr2bi"), httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
        omni = OmniTarget(http, [KEY], models=models, requests_per_minute=6000)
        ada = omni.create_user("ada@example.com", "Ada", {"region": "EMEA"})
        group = omni.create_group("Finance", [ada.id])
        omni.set_group_role(group.id, "warehouse", "finance", Role.QUERIER)
    port = free_port()
    with serve(port, state, "--rate-limit", "0"), httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
        omni = OmniTarget(http, [KEY], models=models, requests_per_minute=6000)
        again = omni.find_user("ada@example.com")
        assert again is not None and again.id == ada.id
        assert again.attributes == {"region": "EMEA"}
        assert omni.find_group("Finance").member_ids == {ada.id}
        roles = omni.group_roles(group.id)
        assert [(r.model, r.role) for r in roles] == [("finance", "QUERIER")]


def test_the_sandbox_answers_429_past_its_rate(tmp_path: Path) -> None:
    port = free_port()
    with serve(port, tmp_path / "sandbox.json", "--rate-limit", "2", "--no-retry-after"), httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
        statuses = [http.get("/api/v1/connections", headers={"Authorization": f"Bearer {KEY}"})
                    for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert "Retry-After" not in statuses[2].headers
        assert statuses[2].json() == {"error": "429", "message": "Rate limit exceeded"}
        # With a 429 budget of one, the target gives up at once rather than wait here.
        omni = OmniTarget(http, [KEY], sleep=lambda s: None,
                          policy=RetryPolicy(rate_limited_attempts=1))
        with pytest.raises(RateLimited):
            omni.attribute_definitions()


def test_omni_target_converges_through_injected_500s_and_late_answers(tmp_path: Path) -> None:
    """A fifth of the calls fail with a 500 and a fifth of the writes answer after the
    client gave up (done, though): every user and membership ends up there exactly once."""
    port = free_port()
    faults = ("--rate-limit", "0", "--error-rate", "0.2", "--slow-rate", "0.2",
              "--slow-seconds", "1.0")
    policy = RetryPolicy(attempts=12, backoff_base=0.01, backoff_cap=0.05)
    names = [f"user{n}@example.com" for n in range(8)]
    with serve(port, tmp_path / "sandbox.json", *faults), httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=0.4) as http:
        omni = OmniTarget(http, [KEY], models=seed_models(load_seed()), policy=policy,
                          requests_per_minute=6000)
        ids = [omni.create_user(name, name.split("@")[0], {"region": "EMEA"}).id for name in names]
        group = omni.create_group("Everyone", ids[:4])
        omni.add_members(group.id, ids[4:])
        users = list(omni.list_users(page_size=3))
        assert sorted(u.user_name for u in users) == names
        assert all(u.attributes == {"region": "EMEA"} for u in users)
        assert [g.member_ids for g in omni.list_groups()] == [frozenset(ids)]
