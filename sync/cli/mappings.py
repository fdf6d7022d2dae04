"""``hr2bi mappings check | test | explain | impact``: the tables from a terminal.

DIR defaults to ``$HR2BI_MAPPINGS_DIR``, else ``./mappings``. Every user error (bad tables,
unreadable person file, unknown git revision, unreachable store) prints a clear message and
exits 1; none shows a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click

from sync.cli.output import json_option, print_json
from sync.rules.cases import Case, load_cases, run_case
from sync.rules.errors import PersonError, TableErrors
from sync.rules.evaluate import DesiredAccount, evaluate
from sync.rules.explain import Explanation, explanation_to_dict
from sync.rules.impact import impact as impact_of
from sync.rules.loader import load_dir, load_tables
from sync.rules.person import Person, person_from_document
from sync.rules.report import (
    account_to_dict,
    impact_to_dict,
    render_explanation,
    render_impact,
)
from sync.rules.source import CASES_FILE, default_dir, read_dir, read_git
from sync.rules.tables import Tables
from sync.rules.version import short_version

DIR_ARGUMENT = click.Path(file_okay=False, path_type=Path)


@click.group(help="Check, test and explain the mapping tables (mappings/).")
def mappings() -> None:
    pass


def _load(directory: Path | None) -> Tables:
    try:
        return load_dir(directory or default_dir())
    except TableErrors as exc:
        _fail_problems(exc)


def _fail_problems(exc: TableErrors) -> NoReturn:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    raise click.ClickException(f"{len(exc.problems)} problem(s) found")


@mappings.command(help="Validate the tables (and cases.yaml if present); print every problem "
                       "and exit 1 if there is any.")
@click.argument("directory", required=False, type=DIR_ARGUMENT)
def check(directory: Path | None) -> None:
    directory = directory or default_dir()
    tables = _load(directory)
    cases = _cases(directory, tables) if (directory / CASES_FILE).is_file() else []
    click.echo(f"ok: {len(tables.groups)} group rows, {len(tables.roles)} role rows, "
               f"{len(tables.attributes)} attribute rows, {len(tables.lookups)} lookup tables, "
               f"{len(cases)} golden cases; version {short_version(tables.version)}")


def _cases(directory: Path, tables: Tables) -> list[Case]:
    path = directory / CASES_FILE
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file (write golden cases there; see mappings/README.md)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read it as UTF-8 text: {exc}") from exc
    try:
        return load_cases(CASES_FILE, text, tables.attribute_map)
    except TableErrors as exc:
        _fail_problems(exc)


@mappings.command(help="Run the golden cases in DIR/cases.yaml; show a diff for each failure.")
@click.argument("directory", required=False, type=DIR_ARGUMENT)
def test(directory: Path | None) -> None:
    directory = directory or default_dir()
    tables = _load(directory)
    cases = _cases(directory, tables)
    failed = 0
    for result in (run_case(case, tables) for case in cases):
        status = "PASS" if result.passed else "FAIL"
        click.echo(f"{status} {result.case.name} ({CASES_FILE}:{result.case.line})")
        for line in result.differences:
            click.echo(f"    {line}")
        failed += not result.passed
    click.echo(f"{len(cases) - failed} passed, {failed} failed (tables {short_version(tables.version)})")
    if failed:
        raise SystemExit(1)


@mappings.command(help="Show the account a person gets and why: a person in the identity store "
                       "(employee id, email, userName or SCIM id), or --person FILE.json (person "
                       "fields, or a SCIM User resource).")
@click.argument("employee_id", required=False)
@click.option("--person", "person_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dir", "directory", type=DIR_ARGUMENT, help="The tables (default: mappings/).")
@json_option
def explain(employee_id: str | None, person_file: Path | None, directory: Path | None, as_json: bool) -> None:
    if (employee_id is None) == (person_file is None):
        raise click.UsageError("give either EMPLOYEE_ID or --person FILE.json")
    tables = _load(directory)
    if person_file is not None:
        people = _people_from_file(person_file, tables)
    else:
        people = _people_from_store(tables, employee_id)
    if not people:
        raise click.ClickException(f"nobody has the employee id, email, userName or SCIM id {employee_id!r} "
                                   "in the identity store: `hr2bi people list` shows everyone")
    results = [_evaluate(person, tables) for person in people]
    if as_json:
        documents = [{"account": account_to_dict(a), "explanation": explanation_to_dict(e)} for a, e in results]
        print_json(documents[0] if len(documents) == 1 else documents)
    else:
        click.echo("\n\n".join(render_explanation(account, explanation) for account, explanation in results))


def _evaluate(person: Person, tables: Tables) -> tuple[DesiredAccount, Explanation]:
    try:
        return evaluate(person, tables)
    except PersonError as exc:
        raise click.ClickException(f"{person.label()}: {exc}") from exc


@mappings.command(help="Who would gain or lose what if the tables in DIR replaced those in "
                       "--against (a directory or a git revision such as main or HEAD~1).")
@click.option("--against", required=True, help="The current tables: a directory or a git revision.")
@click.option("--dir", "directory", type=DIR_ARGUMENT, help="The proposed tables (default: mappings/).")
@click.option("--people", "people_file", type=click.Path(dir_okay=False, path_type=Path),
              help="People as JSON (default: everyone in the identity store).")
@json_option
def impact(against: str, directory: Path | None, people_file: Path | None, as_json: bool) -> None:
    directory = directory or default_dir()
    new = _load(directory)
    old = _load_against(against, directory)
    people = _people_from_file(people_file, new) if people_file else _people_from_store(new, None)
    found = impact_of(old, new, people)
    if as_json:
        print_json(impact_to_dict(found, old.version, new.version))
    else:
        click.echo(render_impact(found, old.version, new.version, len(people)))


def _load_against(against: str, directory: Path) -> Tables:
    try:
        files = read_dir(Path(against)) if Path(against).is_dir() else read_git(against, directory)
        return load_tables(files)
    except TableErrors as exc:
        click.echo(f"the tables at {against} do not load:", err=True)
        _fail_problems(exc)


def _people_from_file(path: Path, tables: Tables) -> list[Person]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    items = doc.get("people", [doc]) if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise click.ClickException(f"{path}: expected a person object, a list of them, or {{\"people\": [...]}}")
    try:
        return [person_from_document(item, tables.attribute_map) for item in items]
    except PersonError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _people_from_store(tables: Tables, key: str | None) -> list[Person]:
    """Everyone in the identity store as the planner sees them (HR people merged with their
    IdP user, and IdP-only users), or the one whose employee id, email or userName is
    ``key``; imported lazily so the tables commands work without a database."""
    try:
        from sync.config import load_settings
        from sync.db import engine_for, session_scope
        from sync.jobs.on_demand import find
        from sync.people.merged import Scope, merged_people
        from sync.people.views import PersonNotFound
    except ImportError as exc:
        raise click.ClickException(f"the identity store is not available ({exc}); use a JSON file instead") from exc
    problems: list[str] = []
    try:
        engine = engine_for(load_settings())
        with session_scope(engine) as session:
            scope = Scope() if key is None else find(session, key)
            people = [m.person for m in merged_people(session, tables.attribute_map, scope, problems)]
    except PersonNotFound:
        return []
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    return people
