"""A NUL byte or another control character in one cell rejects that row, never the import.

PostgreSQL cannot store U+0000 (nor a lone surrogate, which a JSON API can send): one such
cell used to fail the whole import with a traceback. These run on both databases.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from sync.cli import main
from sync.db import session_scope
from sync.models import StoredPerson
from sync.rules import load_dir
from sync.sources.api import ApiSource, api_feed
from sync.sources.csvfeed import CsvOptions, read_csv_file
from sync.sources.errors import FeedError
from sync.sources.http import HrApi
from sync.sources.importer import ImportOptions, import_feed

HEADER = "Employee ID,Work Email,Last Name"


def read(tmp_path: Path, text: str):
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("utf-8"))
    return read_csv_file(path, CsvOptions(), lambda columns: None)


def people(engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(StoredPerson))


def test_the_example_export_with_one_nul_cell_imports_everyone_else(engine, database_url, tmp_path, repo_root):
    lines = (repo_root / "examples/hr/northwind_workers.csv").read_text(encoding="utf-8").splitlines(True)
    row = next(csv.reader([lines[41]]))  # line 42 of the file
    row[6] = row[6][:3] + "\x00" + row[6][3:]  # Job Title
    lines[41] = ",".join(row) + "\n"
    export = tmp_path / "northwind_workers.csv"
    export.write_text("".join(lines), encoding="utf-8")
    (tmp_path / "hr2bi.toml").write_text(f'[sources]\nrejects_dir = "{tmp_path / "rejects"}"\n')
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(repo_root / "mappings"),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")}
    result = CliRunner().invoke(main, ["import", "csv", str(export), "--json"], env=env)
    assert result.exit_code == 0, result.output  # imported (see sync/cli/imports.py)
    assert "Traceback" not in result.output
    run = json.loads(result.stdout)
    report = Path(run["details"]["rejects_file"]).read_text(encoding="utf-8-sig")
    assert run["status"] == "succeeded" and run["counts"]["added"] == 300 and run["counts"]["rejected"] == 1
    [shown] = run["details"]["rejects"]
    assert shown["line"] == 42 and "Job Title" in shown["reason"] and "U+0000" in shown["reason"]
    assert people(engine) == 300
    [_, rejected] = list(csv.reader(report.splitlines()))
    assert rejected[0] == "42" and "\\x00" in rejected[3 + 6] and "\x00" not in report


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85"])
def test_control_characters_reject_their_row_with_line_and_column(tmp_path, char):
    parsed = read(tmp_path, f"{HEADER}\n1,a@x.com,Lee\n2,b@x.com,Fa{char}ade\n3,c@x.com,Ok\n")
    assert [r.values["Employee ID"] for r in parsed.records] == ["1", "3"]
    [reject] = parsed.rejects
    assert reject.position == 3 and reject.reason.startswith("Last Name: ")
    assert f"U+{ord(char):04X}" in reject.reason and "at character 3" in reject.reason
    assert reject.values["Last Name"] == f"Fa\\x{ord(char):02x}ade"


def test_tabs_and_line_breaks_in_quoted_cells_are_text(tmp_path):
    parsed = read(tmp_path, f'{HEADER}\n1,a@x.com,"Lee\tJr"\n2,b@x.com,"two\r\nlines"\n')
    assert not parsed.rejects and parsed.records[1].values["Last Name"] == "two\r\nlines"


def test_a_ragged_row_with_a_nul_is_rejected_storably(tmp_path):
    [reject] = read(tmp_path, f"{HEADER}\n1,a@x.com,Lee,\x00,extra\n").rejects
    assert "cells but the header has" in reject.reason and "\x00" not in "".join(reject.values.values())


def test_a_control_character_in_the_header_is_a_clear_error(tmp_path):
    with pytest.raises(FeedError, match="header column 2 .* control character"):
        read(tmp_path, "Employee ID,Work\x00Email\n1,a@x.com\n")


def test_surrogate_bytes_in_utf8_are_an_encoding_reject(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(f"{HEADER}\n1,a@x.com,Lee\n".encode() + b"2,b@x.com,\xed\xa0\x80\n")
    [reject] = read_csv_file(path, CsvOptions(), lambda columns: None).rejects
    assert reject.position == 3 and "bytes ed" in reject.reason


def test_an_api_record_with_nul_or_a_lone_surrogate_is_a_record_reject(engine, tmp_path, repo_root):
    workers = [{"id": str(n), "email": f"w{n}@x.example", "last": "Lee"} for n in range(1, 6)]
    workers[1]["last"] = "Le\u0000e"
    workers[3]["email"] = "w4\ud800@x.example"
    body = json.dumps(workers).encode()  # ensure_ascii: the JSON text says \u0000 and \ud800

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    source = ApiSource("api-hr", "http://hr.test/people",
                       fields={"Employee ID": "id", "Work Email": "email", "Last Name": "last"})
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        feed = api_feed(HrApi(client, source.auth), source, "full")
    assert [r.position for r in feed.rejects] == [2, 4]
    assert "Last Name" in feed.rejects[0].reason and "U+0000" in feed.rejects[0].reason
    assert "Work Email" in feed.rejects[1].reason and "U+D800" in feed.rejects[1].reason
    amap = load_dir(repo_root / "mappings").attribute_map
    optional = tuple(c for spec in amap.fields.values() for c in spec.hr_columns
                     if c not in ("Employee ID", "Work Email", "Last Name"))
    run = import_feed(engine, feed, amap, ImportOptions(source="api-hr", rejects_dir=tmp_path,
                                                        optional_columns=optional))
    assert run.status == "succeeded" and run.counts["added"] == 3 and run.counts["rejected"] == 2
    assert [r["record"] for r in run.details["rejects"]] == [2, 4]
