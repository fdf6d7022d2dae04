"""The views derived from the events: formula-safe CSV, OCSF 3001/3006, escaped CEF."""

from __future__ import annotations

import csv
import io
import json

import pytest
from audit_samples import event, log

from sync.audit.views import cef_event, csv_cell, ocsf_event, render_csv, render_ocsf

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x","y")',
           "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_are_neutralised(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["alice@example.com", "a=b", "1-2", "", "'quoted"])
def test_harmless_cells_are_kept(value: str) -> None:
    assert csv_cell(value) == value


def test_csv_export_has_no_cell_a_spreadsheet_would_run() -> None:
    events = log(20)
    for e, hostile in zip(events, HOSTILE * 3, strict=False):
        e["actor"] = hostile
        e["run"] = hostile
    rows = list(csv.reader(io.StringIO(render_csv(events).decode(), newline="")))
    assert rows[0][:3] == ["seq", "time", "actor"]
    assert len(rows) == 21
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[1][2] == "'=1+1"
    # non-text values are canonical JSON, neutralised the same way
    assert rows[3][5].startswith("{") and "HYPERLINK" in rows[3][5]
    assert csv_cell({"k": 1}) == '{"k":1}' and csv_cell(None) == "" and csv_cell(-5) == "'-5"


# OCSF 1.x: the base event's required attributes, plus each class's own.
BASE_REQUIRED = ["activity_id", "category_uid", "class_uid", "type_uid", "time", "severity_id",
                 "metadata"]


def test_account_change_carries_every_required_field() -> None:
    record = ocsf_event(event(5), "0.1.0")  # seq 5: user.create
    assert record is not None
    for name in BASE_REQUIRED:
        assert name in record, name
    assert record["class_uid"] == 3001 and record["category_uid"] == 3
    assert record["activity_id"] == 1 and record["type_uid"] == 300101
    assert record["metadata"]["product"]["name"] == "hr2bi"
    assert record["metadata"]["product"]["vendor_name"] == "hr2bi"
    assert record["metadata"]["version"].startswith("1.")
    assert record["user"]["name"] == "person5@example.com"
    assert isinstance(record["time"], int) and record["time"] > 1_700_000_000_000


def test_group_management_carries_group_and_member() -> None:
    added, removed = ocsf_event(event(1), "0.1.0"), ocsf_event(event(4), "0.1.0")
    assert added is not None and removed is not None
    for record, activity in ((added, 3), (removed, 4)):
        for name in BASE_REQUIRED:
            assert name in record, name
        assert record["class_uid"] == 3006 and record["activity_id"] == activity
        assert record["type_uid"] == 300600 + activity
        assert record["group"]["name"] and record["user"]["name"]
    assert added["group"]["name"] == "Sales" and added["user"]["name"] == "person1@example.com"


def test_disable_and_failure_map_to_ocsf_ids() -> None:
    record = ocsf_event(event(7), "0.1.0")  # seq 7: group.add_member, failed
    assert record is not None and record["status_id"] == 2 and record["severity_id"] == 3
    disabled = ocsf_event(event(2), "0.1.0")  # seq 2: user.disable
    assert disabled is not None and disabled["activity_id"] == 5


def test_events_about_neither_accounts_nor_groups_are_left_out() -> None:
    assert ocsf_event(event(3), "0.1.0") is None  # import.run
    lines = render_ocsf(log(10), "0.1.0").decode().splitlines()
    assert len(lines) == 8
    assert all(json.loads(line)["class_uid"] in (3001, 3006) for line in lines)


def test_cef_escapes_pipes_backslashes_equals_and_newlines() -> None:
    e = event(4)  # group.remove_member of "=Finance|Ops"
    e["action"] = "group.remove|member\\x"
    e["reason"] = "line1\nline2\r\nend = a|b back\\slash"
    line = cef_event(e, "0.1.0")
    assert "\n" not in line and "\r" not in line
    header = line.split("|")
    assert header[:4] == ["CEF:0", "hr2bi", "hr2bi", "0.1.0"]
    assert "group.remove\\|member\\\\x" in line
    assert "cs3=line1\\nline2\\nend \\= a|b back\\\\slash cs4Label" in line
    # JSON values are canonical JSON first; its own escapes are then CEF-escaped
    assert 'cs5={"active":true,"note":"line\\\\nbreak \\= pipe' in line
    assert "suser=source:workday" in line and "externalId=4" in line
    assert "\\=Finance|Ops" in line


def test_cef_header_has_seven_fields_and_extension() -> None:
    line = cef_event(event(5), "0.1.0")
    # split on unescaped pipes only
    fields, current, i = [], "", 0
    while i < len(line):
        if line[i] == "\\":
            current += line[i : i + 2]
            i += 2
            continue
        if line[i] == "|" and len(fields) < 7:
            fields.append(current)
            current = ""
        else:
            current += line[i]
        i += 1
    fields.append(current)
    assert len(fields) == 8 and fields[6] == "3" and fields[7].startswith("rt=")


def _cef_extension(line: str) -> dict[str, str]:
    """key -> unescaped value of a CEF extension (keys are the word before an unescaped =)."""
    import re

    extension = line.split("|", 7)[7]
    keys = list(re.finditer(r"(?:^| )([A-Za-z0-9]+)=", extension))
    values = {}
    for found, following in zip(keys, [*keys[1:], None], strict=True):
        raw = extension[found.end(): following.start() if following else len(extension)]
        values[found.group(1)] = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), raw)
    return values


def test_cef_values_are_cut_to_the_field_limits_and_the_cut_is_named() -> None:
    e = event(5)
    e["after"] = {"attributes": {f"a{i}": "x=y|" * 50 for i in range(60)}}  # ~13,000 chars
    e["actor"] = "token:" + "k" * 2000
    fields = _cef_extension(cef_event(e, "0.1.0"))
    assert len(fields["cs5"]) == 4000 and fields["cs5"].endswith("...[truncated]")
    assert len(fields["suser"]) == 1023 and fields["suser"].startswith("token:kkk")
    assert fields["cs6Label"] == "truncated" and fields["cs6"] == "suser,cs5"
    assert all(len(fields[k]) <= 4000 for k in ("cs1", "cs2", "cs3", "cs4"))
    short = _cef_extension(cef_event(event(5), "0.1.0"))
    assert "cs6" not in short and short["cs1"].startswith("{")
