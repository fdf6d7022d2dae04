"""The mapping tables as the console and the API show them: the version in force, the
golden cases' status (``hr2bi mappings test``), and the impact of a proposed change of
tables on everyone in the identity store (``hr2bi mappings impact``).

Everything here reuses ``sync.rules``: the loader (``load_tables``, which caches parsed
tables by content), ``cases.run_case``, ``impact.impact`` and its report form.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlmodel import Session

from sync.audit.record import record_console_action
from sync.errors import UserError
from sync.people.merged import Scope, merged_people
from sync.rules import TableErrors, Tables, TableSourceError, load_tables, read_dir
from sync.rules.cases import load_cases, run_case
from sync.rules.impact import impact
from sync.rules.report import impact_to_dict
from sync.rules.source import CASES_FILE, is_table_file
from sync.rules.version import short_version

MAX_FILE_BYTES = 5_000_000
MAX_FILES = 20


class ProposedTablesError(UserError):
    """The proposed table files cannot be used; ``problems`` are ``file:line: ...`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def tables_in_force(directory: Path) -> Tables:
    """The tables in ``directory`` (raises ``TableErrors`` or ``TableSourceError``)."""
    return load_tables(read_dir(directory))


def tables_or_none(directory: Path) -> Tables | None:
    """The tables in force, or None when they do not load (people are then shown without
    the account the tables give them; the mappings page says why)."""
    try:
        return tables_in_force(directory)
    except (TableErrors, TableSourceError):
        return None


def mappings_status(directory: Path) -> dict[str, Any]:
    """The tables version in force, what the tables hold, and each golden case's result."""
    try:
        files = read_dir(directory)
        tables = load_tables(files)
    except TableErrors as exc:
        return _status(str(directory), None, [], [str(p) for p in exc.problems], None)
    except TableSourceError as exc:
        return _status(str(directory), None, [], [str(exc)], None)
    counts = {"groups": len(tables.groups), "roles": len(tables.roles),
              "attributes": len(tables.attributes), "lookups": len(tables.lookups)}
    status = _status(str(directory), tables.version, sorted(files), [], counts)
    status["cases"], status["case_problems"] = _cases(directory, tables)
    status["cases_passed"] = sum(1 for c in status["cases"] if c["passed"])
    status["cases_failed"] = len(status["cases"]) - status["cases_passed"]
    return status


def _status(directory: str, version: str | None, files: list[str], problems: list[str],
            counts: dict[str, int] | None) -> dict[str, Any]:
    return {"directory": directory, "version": version,
            "short_version": short_version(version) if version else None, "files": files,
            "problems": problems, "counts": counts, "cases": [], "case_problems": [],
            "cases_passed": 0, "cases_failed": 0}


def _cases(directory: Path, tables: Tables) -> tuple[list[dict[str, Any]], list[str]]:
    path = directory / CASES_FILE
    if not path.is_file():
        return [], []
    try:
        cases = load_cases(CASES_FILE, path.read_text(encoding="utf-8"), tables.attribute_map)
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{CASES_FILE}: cannot read it as UTF-8 text: {exc}"]
    except TableErrors as exc:
        return [], [str(p) for p in exc.problems]
    results = [run_case(case, tables) for case in cases]
    return [{"name": r.case.name, "line": r.case.line, "where": f"{CASES_FILE}:{r.case.line}",
             "passed": r.passed, "differences": list(r.differences)} for r in results], []


def proposed_files(directory: Path, changed: Mapping[str, bytes]) -> dict[str, bytes]:
    """The tables in force with ``changed`` (relative path -> new bytes) put in their place;
    a path that is not a table file is refused (cases.yaml and README do not decide)."""
    if not 1 <= len(changed) <= MAX_FILES:
        raise ProposedTablesError([f"give from 1 to {MAX_FILES} changed table files (got {len(changed)})"])
    bad = [p for p in changed if not is_table_file(p)]
    if bad:
        raise ProposedTablesError([f"{p[:200]!r}: not a table file (one of fields.yaml, scope.yaml, groups.csv, "
                                   "roles.csv, attributes.csv or lookups/NAME.csv)" for p in sorted(bad)])
    big = [p for p, data in changed.items() if len(data) > MAX_FILE_BYTES]
    if big:
        raise ProposedTablesError([f"{p}: larger than {MAX_FILE_BYTES} bytes" for p in sorted(big)])
    return {**read_dir(directory), **changed}


def impact_preview(session: Session, directory: Path, changed: Mapping[str, bytes], *,
                   actor: str, limit: int = 500) -> dict[str, Any]:
    """Who would gain or lose what if ``changed`` replaced those files of the tables in
    force, over everyone in the identity store; audited (``console.mappings.impact``) with
    ``actor`` in the caller's transaction. Proposed tables that do not load are a report
    too: ``table_problems`` lists their ``file:line`` problems (and nobody is evaluated)."""
    try:
        old = tables_in_force(directory)
    except (TableErrors, TableSourceError) as exc:
        return _refused(session, actor, changed, [f"the tables in force do not load: {p}" for p in _problems(exc)])
    try:
        new = load_tables(proposed_files(directory, changed))
    except (TableErrors, TableSourceError, ProposedTablesError) as exc:
        return _refused(session, actor, changed, _problems(exc))
    problems: list[str] = []
    people = [m.person for m in merged_people(session, new.attribute_map, Scope(), problems)]
    found = impact(old, new, people)
    report = impact_to_dict(found, old.version, new.version)
    report.update(people_evaluated=len(people), people_changed=sum(1 for f in found if not f.error),
                  people_failed=sum(1 for f in found if f.error), files=sorted(changed),
                  truncated=len(report["people"]) > limit, problems=problems, table_problems=[])
    report["people"] = report["people"][:limit]
    record_console_action(session, actor=actor, action="console.mappings.impact",
                          target={"type": "mappings", "id": new.version, "name": "impact preview"},
                          after={"from_version": old.version, "to_version": new.version,
                                 "files": sorted(changed), "people_changed": report["people_changed"],
                                 "people_failed": report["people_failed"]})
    return report


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, TableErrors):
        return [str(p) for p in exc.problems]
    if isinstance(exc, ProposedTablesError):
        return exc.problems
    return [str(exc)]


def _refused(session: Session, actor: str, changed: Mapping[str, bytes], problems: list[str]) -> dict[str, Any]:
    record_console_action(session, actor=actor, action="console.mappings.impact", outcome="failure",
                          target={"type": "mappings", "id": "proposed", "name": "impact preview"},
                          after={"files": sorted(changed), "problems": problems[:50]})
    return {"from_version": None, "to_version": None, "files": sorted(changed), "people_evaluated": 0,
            "people_changed": 0, "people_failed": 0, "truncated": False, "problems": [],
            "table_problems": problems, "people": []}
