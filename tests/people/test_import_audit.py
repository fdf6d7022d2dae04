"""An import leaves exactly the audit events issue 5 describes, in its own transaction:
the run, each person added, changed, terminated or rehired, each rejected row, a hold,
an approval; and a signed checkpoint at the end of the run when a key is configured."""

from __future__ import annotations

from typing import Any

import pytest
from hr_export import TODAY, attribute_map, person, run_import, staff
from sqlalchemy import select

from sync.audit.checkpoint import generate_key_files, load_public_key, parse_checkpoint, verify_checkpoint
from sync.audit.errors import SigningKeyError
from sync.audit.merkle import root_hash
from sync.audit.store import leaf_hashes
from sync.db import session_scope
from sync.models import AuditCheckpoint, AuditEvent, StoredPerson
from sync.sources.importer import ImportOptions, approve_import


def audit_events(engine, run_id: int | None = None) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if run_id is not None:
            query = query.where(AuditEvent.run_id == run_id)
        return [{"seq": e.seq, "actor": e.actor, "action": e.action, "target": e.target, "before": e.before,
                 "after": e.after, "reason": e.reason, "run": e.run_id, "outcome": e.outcome}
                for e in session.scalars(query)]


def by_target(events: list[dict[str, Any]]) -> dict[tuple[str, Any], dict[str, Any]]:
    return {(e["action"], e["target"]["id"]): e for e in events}


def test_an_import_records_each_decision_with_its_source_and_file(engine, tmp_path):
    first = run_import(engine, tmp_path, [person("1000"), person("1001"), person("1002")])
    hostile = "=HYPERLINK(\"http://evil.example\")"
    rows = [person("1000", Department="Sales"), person("1001", Worker_Status="Terminated"), person("1002"),
            person("1003"), person("1004", Hire_Date="31/31/2020", Cost_Center=hostile)]
    run = run_import(engine, tmp_path, rows)
    events = audit_events(engine, run.id)
    found = by_target(events)
    assert sorted(found) == [("import.reject", "line 6"), ("import.run", run.id), ("person.add", "1003"),
                             ("person.change", "1000"), ("person.terminate", "1001")]
    assert {e["actor"] for e in events} == {"source:hr"}
    origin = run.details["origin"]
    assert all(e["reason"]["run"] == run.id and e["reason"]["file"] == origin and e["reason"]["source"] == "hr"
               for e in events)

    change = found[("person.change", "1000")]
    assert change["target"] == {"type": "person", "id": "1000", "name": "p1000@northwind.example"}
    assert (change["before"], change["after"]) == ({"department": "Finance"}, {"department": "Sales"})
    leaver = found[("person.terminate", "1001")]
    assert (leaver["before"], leaver["after"]) == ({"employment_status": "active"},
                                                   {"employment_status": "terminated"})
    added = found[("person.add", "1003")]
    assert added["before"] is None
    assert added["after"]["employee_id"] == "1003" and added["after"]["department"] == "Finance"
    assert added["after"]["employment_status"] == "active" and added["reason"]["why"] == "active in HR"

    reject = found[("import.reject", "line 6")]
    assert reject["outcome"] == "failure"
    assert reject["after"]["line"] == 6 and reject["after"]["employee_id"] == "1004"
    assert "Hire Date" in reject["after"]["reason"]
    assert "HYPERLINK" not in repr(reject)  # the row's other cells stay in the rejects report

    summary = found[("import.run", run.id)]
    assert summary == {**summary, "target": {"type": "run", "id": run.id, "name": "import hr"},
                       "outcome": "success", "after": run.counts}
    assert events[-1] is summary  # the run's own event closes its events
    assert [e["action"] for e in audit_events(engine, first.id)].count("person.add") == 3


def test_reimporting_the_same_file_records_only_the_run(engine, tmp_path):
    run_import(engine, tmp_path, staff(5))
    again = run_import(engine, tmp_path, staff(5))
    assert [(e["action"], e["after"]["unchanged"]) for e in audit_events(engine, again.id)] == [("import.run", 5)]


def test_a_rehire_is_recorded_as_one(engine, tmp_path):
    run_import(engine, tmp_path, [person("1000", Worker_Status="Terminated"), *staff(3, 2000)])
    run = run_import(engine, tmp_path, [person("1000"), *staff(3, 2000)])
    rehire = by_target(audit_events(engine, run.id))[("person.rehire", "1000")]
    assert (rehire["before"], rehire["after"]) == ({"employment_status": "terminated"},
                                                   {"employment_status": "active"})


def test_a_leaver_by_absence_is_a_termination_with_why(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    run_import(engine, tmp_path, staff(19))
    run = run_import(engine, tmp_path, staff(19))
    leaver = by_target(audit_events(engine, run.id))[("person.terminate", "1019")]
    assert leaver["after"] == {"employment_status": "terminated"}
    assert leaver["reason"]["why"] == "missing from 2 consecutive full feeds"


def test_a_hold_and_its_approval_are_recorded(engine, tmp_path):
    run_import(engine, tmp_path, staff(20))
    held = run_import(engine, tmp_path, staff(15))
    hold = audit_events(engine, held.id)
    assert [(e["action"], e["outcome"], e["actor"]) for e in hold] == [("run.hold", "held", "source:hr")]
    assert "25% fewer" in hold[0]["reason"]["why"]

    options = ImportOptions(rejects_dir=tmp_path / "rejects", today=TODAY)
    approve_import(engine, held.id, "dana", attribute_map(), options)
    events = audit_events(engine, held.id)
    approval = events[1]
    assert (approval["action"], approval["actor"], approval["target"]["id"]) == ("run.approve", "approver:dana",
                                                                                  held.id)
    assert (approval["before"], approval["after"]) == ({"status": "held"}, {"status": "approved"})
    assert [e["action"] for e in events[2:]] == ["import.run"]  # 5 absent, nobody left yet
    assert events[2]["after"]["missing"] == 5


def test_each_run_ends_with_a_signed_checkpoint_of_the_log(engine, tmp_path):
    private, public = generate_key_files(tmp_path / "keys")
    run = run_import(engine, tmp_path, staff(3), audit_signing_key=private, audit_origin="test log")
    with session_scope(engine) as session:
        stored = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.run_id == run.id)).one()
        hashes = leaf_hashes(session)
    signed = parse_checkpoint(stored.note)
    verify_checkpoint(signed, load_public_key(public))
    assert signed.checkpoint.size == len(hashes) == 4  # three people and the run
    assert signed.checkpoint.root == root_hash(hashes)


def test_a_failed_run_keeps_only_its_failure_event_and_changes_nobody(engine, tmp_path):
    with pytest.raises(SigningKeyError):
        run_import(engine, tmp_path, staff(3), audit_signing_key=tmp_path / "no-such-key.pem")
    with session_scope(engine) as session:
        assert session.scalars(select(StoredPerson)).first() is None
    [failure] = audit_events(engine)
    assert (failure["action"], failure["outcome"], failure["actor"]) == ("import.run", "failure", "source:hr")
    assert "cannot load private key" in failure["reason"]["why"]
