"""The OCSF view: each event as the right class and activity, one record per member, and
every record valid under the OCSF version it declares (checked with pydantic-ocsf)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ocsf_schema import ocsf_problems

from sync.audit.ocsf import OCSF_VERSION, ocsf_records
from sync.cli import main

APPLY = "system:apply:worker-1"


def applied(seq: int, action: str, target: dict[str, Any], before: Any, after: Any,
            outcome: str = "applied", payload: Any = None) -> dict[str, Any]:
    """An event as sync/apply writes it (target, before and after of its Effect)."""
    return {"seq": seq, "time": "2026-11-02T09:00:00.000000+00:00", "actor": APPLY,
            "action": action, "target": target, "before": before, "after": after,
            "reason": {"person": "Ann", "rows": ["groups.csv:3"], "change": "x", "payload": payload},
            "run": 4, "outcome": outcome}


ANN = {"type": "user", "userName": "ann@example.com", "id": "bi-1"}
SALES = {"type": "group", "name": "Sales", "id": "g-1"}


def activities(event: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["class_name"], r["activity_name"], r.get("user", {}).get("name"))
            for r in ocsf_records(event, "0.1.0")]


def test_deactivation_and_reactivation_are_disable_and_enable() -> None:
    off = applied(1, "bi.user.deactivate", ANN, {"active": True}, {"active": False})
    on = applied(2, "bi.user.reactivate", ANN, {"active": False}, {"active": True})
    assert activities(off) == [("Account Change", "Disable", "ann@example.com")]
    assert activities(on) == [("Account Change", "Enable", "ann@example.com")]
    assert ocsf_records(off, "0.1.0")[0]["user"]["uid"] == "bi-1"


def test_a_membership_change_is_one_record_per_member() -> None:
    event = applied(3, "bi.group.members", SALES, None,
                    {"added": ["ann@example.com", "bo@example.com"], "removed": ["cy@example.com"],
                     "skipped": []})
    assert activities(event) == [("Group Management", "Add User", "ann@example.com"),
                                 ("Group Management", "Add User", "bo@example.com"),
                                 ("Group Management", "Remove User", "cy@example.com")]
    records = ocsf_records(event, "0.1.0")
    assert [r["metadata"]["uid"] for r in records] == ["3.1", "3.2", "3.3"]
    assert {r["metadata"]["correlation_uid"] for r in records} == {"3"}
    assert all(r["group"] == {"name": "Sales", "uid": "g-1"} for r in records)
    # the member lists are not repeated on every record (n members would take n * n names)
    assert all(set(r["unmapped"]) == {"run", "target"} for r in records)
    single = ocsf_records(applied(9, "bi.user.deactivate", ANN, {"active": True}, {"active": False}), "0.1.0")
    assert set(single[0]["unmapped"]) == {"before", "after", "reason", "run", "target"}


def test_a_failed_membership_change_names_the_planned_members() -> None:
    event = applied(4, "bi.group.members", {"type": "group", "name": "Sales"}, None,
                    {"error": "503", "attempts": 1}, "failed", {"add": ["ann@example.com"], "remove": []})
    [record] = ocsf_records(event, "0.1.0")
    assert (record["activity_name"], record["user"]["name"]) == ("Add User", "ann@example.com")
    assert record["status_id"] == 2 and record["severity_id"] == 3


def test_a_new_group_is_create_then_add_user_for_each_first_member() -> None:
    event = applied(5, "bi.group.create", SALES, None,
                    {"name": "Sales", "id": "g-1", "added": ["ann@example.com"], "skipped": []})
    assert activities(event) == [("Group Management", "Create", None),
                                 ("Group Management", "Add User", "ann@example.com")]


def test_roles_are_privileges_on_groups_and_policies_on_users() -> None:
    group = applied(6, "bi.group.role", SALES, {"warehouse/finance": None},
                    {"warehouse/finance": "QUERIER"})
    [granted] = ocsf_records(group, "0.1.0")
    assert (granted["activity_name"], granted["privileges"]) == ("Assign Privileges",
                                                                 ["warehouse/finance: QUERIER"])
    revoked = applied(7, "bi.group.role", SALES, {"warehouse/finance": "QUERIER"},
                      {"warehouse/finance": None})
    assert activities(revoked) == [("Group Management", "Revoke Privileges", None)]
    user = applied(8, "bi.user.role", ANN, {"warehouse/": None}, {"warehouse/": "CONNECTION_ADMIN"})
    [policy] = ocsf_records(user, "0.1.0")
    assert policy["activity_name"] == "Attach Policy"
    assert policy["policy"] == {"name": "warehouse/: CONNECTION_ADMIN", "uid": "warehouse/"}


def scim(seq: int, action: str, kind: str, before: Any, after: Any) -> dict[str, Any]:
    """An identity provider's SCIM write as sync/audit/record.py writes it."""
    name = (after or before).get("userName") or (after or before).get("displayName")
    return {"seq": seq, "time": "2026-11-02T09:00:00+00:00", "actor": "token:okta",
            "action": f"{kind}.{action}", "target": {"type": kind, "id": "r-1", "name": name},
            "before": before, "after": after, "reason": {"source": "scim"}, "run": None,
            "outcome": "success"}


def test_scim_writes_are_typed_by_what_they_changed() -> None:
    user = {"userName": "ann@example.com", "active": True}
    assert activities(scim(1, "create", "user", None, user))[0][1] == "Create"
    assert activities(scim(2, "patch", "user", user, {**user, "active": False}))[0][1] == "Disable"
    assert activities(scim(3, "replace", "user", {**user, "active": False}, user))[0][1] == "Enable"
    assert activities(scim(4, "patch", "user", user, {**user, "title": "CFO"}))[0][1] == "Other"
    old = {"displayName": "Sales", "members": [{"value": "u1", "display": "ann@example.com"}]}
    new = {"displayName": "Sales", "members": [{"value": "u2", "display": "bo@example.com"}]}
    assert activities(scim(5, "patch", "group", old, new)) == [
        ("Group Management", "Add User", "bo@example.com"),
        ("Group Management", "Remove User", "ann@example.com")]
    assert activities(scim(6, "delete", "group", old, None)) == [("Group Management", "Delete", None)]


def test_hr_records_and_housekeeping_are_left_out() -> None:
    for action, kind in (("person.add", "person"), ("person.terminate", "person"),
                         ("import.run", "run"), ("token.create", "token"),
                         ("config.change", "config"), ("run.approve", "run")):
        event = applied(9, action, {"type": kind, "id": "x", "name": "x"}, None, None)
        assert ocsf_records(event, "0.1.0") == [], action


def test_every_record_here_is_valid_ocsf() -> None:
    events = [
        applied(1, "bi.user.deactivate", ANN, {"active": True}, {"active": False}),
        applied(2, "bi.group.members", SALES, None, {"added": ["a"], "removed": ["b"], "skipped": []}),
        applied(3, "bi.group.role", SALES, {"k/": None}, {"k/": "VIEWER"}),
        applied(4, "bi.user.role", ANN, None, {"skipped": "no user"}, "skipped", {"key": "k/", "role": "VIEWER"}),
        applied(5, "bi.user.create", ANN, None, {"active": True}, "quarantined"),
    ]
    for event in events:
        for record in ocsf_records(event, "0.1.0"):
            assert record["metadata"]["version"] == OCSF_VERSION
            assert ocsf_problems(record) == [], record


def test_the_checker_catches_what_the_declared_version_does_not_allow() -> None:
    """The issue's case: OCSF 1.1.0 Group Management has no ``actor``."""
    [record] = ocsf_records(applied(1, "bi.group.create", SALES, None, {"added": []}), "0.1.0")
    assert ocsf_problems(record) == []
    older = {**record, "metadata": {**record["metadata"], "version": "1.1.0"}}
    assert "actor: not defined in OCSF 1.1.0" in ocsf_problems(older)
    assert ocsf_problems({**record, "group": {"name": "x", "members": 3}}) == [
        "group.members: not defined in OCSF 1.4.0"]


@pytest.mark.slow
def test_the_demo_exports_valid_ocsf_with_few_others(tmp_path: Path, repo_root: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)  # the demo reads examples/hr and mappings/ from the checkout
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "demo" / "audit-export" / "events.ocsf.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) > 1000  # one record per member added to the sample company's groups
    problems = Counter(p for record in records for p in ocsf_problems(record))
    assert problems == Counter()
    assert {r["metadata"]["version"] for r in records} == {OCSF_VERSION}
    others = sum(r["activity_id"] == 99 for r in records)
    assert others <= 0.05 * len(records), others
    kinds = Counter((r["class_name"], r["activity_name"]) for r in records)
    for wanted in (("Account Change", "Create"), ("Account Change", "Disable"),
                   ("Account Change", "Enable"), ("Group Management", "Add User"),
                   ("Group Management", "Assign Privileges")):
        assert kinds[wanted] > 0, wanted
    members = [r for r in records if r["activity_name"] in ("Add User", "Remove User")]
    assert all(r["user"]["name"] != "unknown" for r in members)
