"""``explain EMPLOYEE_ID`` and ``impact`` without --people read people from the identity store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from rules_tables import GROUPS, write_tables

from scim.store import GroupStore, UserStore
from sync.cli import main
from sync.db import session_scope

SHIPPED = Path(__file__).resolve().parents[2] / "mappings"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def add_people(engine) -> None:
    with session_scope(engine) as session:
        users = UserStore(session, "")
        ben = users.create({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "ben.okafor@northwind.example", "title": "Analytics Engineer",
            ENTERPRISE: {"employeeNumber": "1002", "department": "Data", "costCenter": "cc-5100"},
        }, "test")
        users.create({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                      "userName": "sam@northwind.example", ENTERPRISE: {"employeeNumber": "1003", "department": "Sales"}},
                     "test")
        GroupStore(session, "").create({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                        "displayName": "BI Admins", "members": [{"value": ben["id"]}]}, "test")


def test_explain_an_employee_from_the_store(engine, database_url):
    add_people(engine)
    result = CliRunner().invoke(main, ["mappings", "explain", "1002", "--dir", str(SHIPPED), "--json"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    account = json.loads(result.output)["account"]
    assert account["user_name"] == "ben.okafor@northwind.example"
    assert account["roles"]["warehouse"] == "CONNECTION_ADMIN"  # from the IdP group membership
    assert account["attributes"]["region"] == "AMER"  # costCenter upper-cased, then looked up


def test_explain_an_unknown_employee_is_a_clear_error(engine, database_url):
    result = CliRunner().invoke(main, ["mappings", "explain", "9999", "--dir", str(SHIPPED)],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "nobody has the employee id, email, userName or SCIM id '9999'" in result.output


def test_impact_over_everyone_in_the_store(engine, database_url, tmp_path):
    add_people(engine)
    old = write_tables(tmp_path / "old")
    new = write_tables(tmp_path / "new", {"groups.csv": GROUPS + 'department eq "Sales",Sales\n'})
    result = CliRunner().invoke(main, ["mappings", "impact", "--against", str(old), "--dir", str(new)],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    # The test tables take employee_id from HR only, so the label shows '?' for it.
    assert "1 of 2 people change\n? (sam@northwind.example):\n  gains group Sales\n" in result.output
