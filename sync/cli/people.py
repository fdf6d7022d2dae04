"""``hr2bi people list [--status S] | show ID``: the identity store as hr2bi sees it: HR
people, and people only an identity provider knows (marked ``idp-only``)."""

from __future__ import annotations

import json
from typing import Any

import click

from sync.cli.output import Column, json_option, print_json, print_table
from sync.cli.store import store
from sync.db import session_scope
from sync.people.lifecycle import STATES
from sync.people.views import list_people, show_person
from sync.rules import TableErrors, Tables, load_dir

COLUMNS = (Column("EMPLOYEE ID", 14), Column("STATE", 11), Column("TYPE", 11), Column("NAME", 28),
           Column("EMAIL", 36), Column("LINKED"))


@click.group(help="People in the identity store: merged from HR and identity providers.")
def people() -> None:
    pass


@people.command("list", help="People by employee id, with their lifecycle state.")
@click.option("--status", type=click.Choice(STATES), default=None, help="Only people in this state.")
@click.option("--dirty", is_flag=True, default=None, help="Only people an import added or changed (marked dirty).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@json_option
def people_list(status: str | None, dirty: bool | None, limit: int, as_json: bool) -> None:
    settings, engine = store()
    tables = _tables(settings)
    with session_scope(engine) as session:
        found = list_people(session, status, dirty, limit, tables)
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("Nobody yet: `hr2bi import csv PATH` imports an HR export.")
        return
    print_table(COLUMNS, (_row(p) for p in found))


def _row(p: dict[str, Any]) -> tuple[str, ...]:
    linked = "idp-only" if p["idp_only"] else "yes" if p["linked"] else "no"
    email = p["email"] or (p["user_name"] if p["idp_only"] else None)
    return (p["employee_id"] or "-", p["lifecycle"], p["employment_type"] or "-", (p["name"] or "-")[:28],
            (email or "-")[:36], linked)


def _tables(settings: Any) -> Tables | None:
    """The mapping tables, or None (with a warning) when they do not load: the people are
    still shown, without the IdP-only ones and the accounts the tables would give."""
    try:
        return load_dir(settings.mappings_dir)
    except (TableErrors, OSError) as exc:
        click.echo(f"warning: the mapping tables do not load ({exc}); `hr2bi mappings check` says why. "
                   "IdP-only people and accounts are not shown.", err=True)
        return None


@people.command("show", help="One person (employee id, email, or an IdP-only person's userName or SCIM "
                             "id): merged fields and where each came from, the account the mapping tables "
                             "give them, lifecycle, HR record, identity-provider link, manager, history.")
@click.argument("key", metavar="ID")
@json_option
def people_show(key: str, as_json: bool) -> None:
    settings, engine = store()
    tables = _tables(settings)
    with session_scope(engine) as session:
        person = show_person(session, key, tables)
    if as_json:
        print_json(person)
        return
    _render(person)


def _render(person: dict[str, Any]) -> None:
    marker = "  [idp-only]" if person.get("idp_only") else ""
    click.echo(f"{person['employee_id'] or '-'} {person['name'] or ''} <{person['email'] or '-'}>{marker}")
    click.echo(f"  lifecycle: {person['lifecycle']}"
               + (f" (provisioned from {person['provision_from']})" if person["lifecycle"] == "pre_hire" else "")
               + (f", missing from {person['absences']} full feed(s)" if person["absences"] else ""))
    scim = person["scim_user"]
    click.echo(f"  identity provider: {scim['userName']} ({scim['why']})" if scim else "  identity provider: not linked")
    manager = person["manager"]
    if manager["employee_id"]:
        click.echo(f"  manager: {manager['employee_id']}" + ("" if manager["resolved"] else " (nobody we know)"))
    click.echo(f"  direct reports: {person['direct_reports']}")
    merged = person.get("person")
    fields, sources = (merged["fields"], merged["sources"]) if merged else (person["fields"], person["field_sources"])
    click.echo("  fields (merged from HR and the identity provider):" if merged else "  fields (as HR gave them):")
    for name, value in fields.items():
        if value is not None and value != []:
            click.echo(f"    {name:<20} {value!s:<40} {sources.get(name, '-')}")
    account = person.get("account")
    if account:
        click.echo(f"  account: {account['user_name']} ({'active' if account['active'] else 'inactive'}); "
                   "`hr2bi mappings explain` shows the rows behind it")
        click.echo(f"    groups:     {', '.join(account['groups']) or '-'}")
        click.echo(f"    roles:      {', '.join(f'{k}={v}' for k, v in account['roles'].items()) or '-'}")
        click.echo(f"    attributes: {', '.join(f'{k}={v}' for k, v in account['attributes'].items()) or '-'}")
    for problem in person.get("problems") or ():
        click.echo(f"  problem: {problem}")
    for due in person.get("scheduled") or ():
        click.echo(f"  scheduled: {due['on']} {due['change']}")
    click.echo("  history:")
    for event in person["history"]:
        click.echo(f"    {event['at'][:19].replace('T', ' ')}  run {event['run'] or '-':<5} {event['event']:<10} "
                   f"{json.dumps(event['details'], default=str)}")
