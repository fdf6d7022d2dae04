"""Reviewing a plan's changes (sync/plan/review.py): literal outbox rows and applied state
in, one line per change out."""

from __future__ import annotations

import pytest

from sync.plan.review import UnknownKind, by_kind, parse_kinds, review_entries, review_lines
from sync.plan.values import AppliedGroup, AppliedUser

ADA = AppliedUser("ada@example.com", "u1", True, "Ada Lee", {"department": "Finance", "region": "EMEA"},
                  frozenset({"Finance"}), {"warehouse/sales": "QUERIER"})
USERS = {"ada@example.com": ADA}
GROUPS = {"finance": AppliedGroup("Finance", "g1", {"warehouse/finance": "VIEWER"})}


def row(kind: str, subject: str, payload: dict, status: str = "pending", **reason: object) -> dict:
    return {"kind": kind, "subject": subject, "payload": payload, "status": status, "attempts": 0,
            "last_error": None, "reason": {"person": f"1001 ({subject})", "rows": [], **reason}}


def test_kinds_are_repeated_comma_separated_or_prefixes() -> None:
    assert parse_kinds(["user.deactivate"]) == ("user.deactivate",)
    assert parse_kinds(["group.members, user.deactivate", "group.members"]) == ("group.members", "user.deactivate")
    assert parse_kinds(["group"]) == ("group.create", "group.members", "group.role")
    assert parse_kinds([]) == ()
    with pytest.raises(UnknownKind, match="user.deactivate"):
        parse_kinds(["user.delete"])


def test_each_change_says_what_it_changes_from_what_and_why() -> None:
    rows = [
        row("user.update", "Ada@example.com", {"attributes": {"department": "Marketing", "region": None}},
            rows=["attributes.csv:3"]),
        row("user.deactivate", "ada@example.com", {}, rows=["scope.yaml:3"], note="out of scope"),
        row("user.create", "bo@example.com", {"display_name": "Bo Kim", "attributes": {"region": "APAC"}}),
        row("user.role", "ada@example.com", {"key": "warehouse/sales", "role": "VIEWER"}, downgrade=True),
        row("group.role", "Finance", {"key": "warehouse/finance", "role": "NO_ACCESS"}),
        row("group.members", "Finance", {"add": ["a@x", "b@x", "c@x", "d@x"], "remove": ["ada@example.com"]}),
    ]

    lines = review_lines(review_entries(rows, USERS, GROUPS), None)

    assert [line.split()[0] for line in lines] == [r["kind"] for r in rows]
    assert "Ada@example.com (1001)" in lines[0]
    assert "update: department Finance -> Marketing; region EMEA -> (unset)  [attributes.csv:3]" in lines[0]
    assert lines[1].endswith("deactivate (was active)  [scope.yaml:3]  (out of scope)")
    assert "create: name Bo Kim; region APAC" in lines[2]
    assert "direct role warehouse/sales: QUERIER -> VIEWER  (downgrade)" in lines[3]
    assert "role warehouse/finance: VIEWER -> NO_ACCESS" in lines[4]
    assert "add 4 (a@x, b@x, c@x, +1 more), remove 1 (ada@example.com)" in lines[5]


def test_an_applied_change_has_no_before_and_shows_its_outcome() -> None:
    rows = [row("user.update", "ada@example.com", {"attributes": {"department": "Marketing"}}, status="done"),
            dict(row("user.deactivate", "ada@example.com", {}, status="failed"), last_error="HTTP 500")]

    entries = review_entries(rows, USERS, GROUPS)

    assert entries[0]["before"] is None and entries[0]["change"] == "update: department Marketing"
    assert entries[1]["before"] == {"active": True}
    lines = review_lines(entries, None)
    assert lines[0].endswith("<done>") and lines[1].endswith("<failed: HTTP 500>")


def test_a_filter_and_a_limit_keep_a_long_plan_readable() -> None:
    rows = [row("user.deactivate", f"p{n}@example.com", {}) for n in range(89)]
    rows.append(row("group.members", "Finance", {"add": [], "remove": ["p1@example.com"]}))

    entries = review_entries(rows, USERS, GROUPS, kinds=("user.deactivate",))
    lines = review_lines(entries, 10)

    assert by_kind(rows) == {"user.deactivate": 89, "group.members": 1}
    assert len(entries) == 89 and len(lines) == 11
    assert lines[-1].startswith("  ... and 79 more changes")
