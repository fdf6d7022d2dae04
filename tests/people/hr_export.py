"""HR exports the identity-store tests write for themselves, and a way to import them."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sync.db import session_scope
from sync.models import PersonEvent, Run, StoredPerson
from sync.rules import AttributeMap, load_dir
from sync.sources.csvfeed import CsvOptions, csv_feed
from sync.sources.importer import ImportOptions, import_feed

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
TODAY = dt.date(2026, 6, 1)
HEADER = ["Employee ID", "Work Email", "Preferred First Name", "Legal First Name", "Last Name",
          "Department", "Job Title", "Location", "Cost Center", "Security Level", "Manager ID",
          "Worker Status", "Worker Type", "Hire Date", "Termination Date"]


def attribute_map() -> AttributeMap:
    return load_dir(MAPPINGS).attribute_map


def person(employee_id: str, **changes: str) -> dict[str, str]:
    row = {"Employee ID": employee_id, "Work Email": f"p{employee_id}@northwind.example",
           "Preferred First Name": "", "Legal First Name": f"First{employee_id}", "Last Name": "Lee",
           "Department": "Finance", "Job Title": "Analyst", "Location": "London", "Cost Center": "cc-1100",
           "Security Level": "2", "Manager ID": "", "Worker Status": "Active", "Worker Type": "Regular",
           "Hire Date": "01/15/2020", "Termination Date": ""}
    row.update({key.replace("_", " "): value for key, value in changes.items()})
    return row


def staff(count: int, start: int = 1000) -> list[dict[str, str]]:
    return [person(str(start + n)) for n in range(count)]


def write_csv(path: Path, rows: Iterable[dict[str, Any]], header: list[str] | None = None) -> Path:
    header = header or HEADER
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header])
    return path


def run_import(engine, tmp_path: Path, rows: Iterable[dict[str, Any]], *, header: list[str] | None = None,
               mode: str = "full", today: dt.date = TODAY, **options: Any) -> Run:
    """Write the rows as a fresh file and import it (forced past the ledger)."""
    path = write_csv(tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.csv", rows, header)
    amap = attribute_map()
    feed = csv_feed(path, options.pop("source", "hr"), mode, CsvOptions(), amap)
    settings = ImportOptions(source=feed.source, mode=mode, today=today, force=True,
                             rejects_dir=tmp_path / "rejects", **options)
    return import_feed(engine, feed, amap, settings)


def stored(engine, employee_id: str) -> StoredPerson | None:
    with session_scope(engine) as session:
        return session.scalars(select(StoredPerson).where(StoredPerson.employee_id == employee_id)).first()


def everyone(engine) -> dict[str, StoredPerson]:
    with session_scope(engine) as session:
        return {p.employee_id: p for p in session.scalars(select(StoredPerson))}


def events(engine, employee_id: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(engine) as session:
        query = (select(PersonEvent.event, PersonEvent.details).join(StoredPerson, StoredPerson.id == PersonEvent.person_id)
                 .where(StoredPerson.employee_id == employee_id).order_by(PersonEvent.id))
        return [(event, details) for event, details in session.execute(query)]


def clean(engine) -> None:
    """The planner's part, for these tests: it has looked at everyone."""
    with session_scope(engine) as session:
        for p in session.scalars(select(StoredPerson)):
            p.dirty = False
