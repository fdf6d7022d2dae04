"""Reading the CSV rule tables with exact line numbers and forgiving-but-loud parsing.

Each physical line is one row, parsed on its own: a quoted cell may not span lines. That
keeps ``file:line`` exact and turns an unterminated quote into an error on *its* line
instead of silently swallowing the rest of the file (what ``csv.reader`` would do).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

from sync.rules.errors import Problem

QUOTING_HINT = 'wrap a cell holding a comma in double quotes and double the quotes inside it: "title eq ""VP, Sales"""'


@dataclass(frozen=True)
class CsvRow:
    """One data row: its 1-based line and its cells by column name (trimmed)."""

    line: int
    cells: dict[str, str]


def decode(file: str, data: bytes, problems: list[Problem]) -> str | None:
    """The file's text; spreadsheet programs add a byte-order mark, which is dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                "save the file as CSV UTF-8"))
        return None


def read_csv(
    file: str,
    text: str,
    required: Sequence[str],
    optional: Sequence[str],
    problems: list[Problem],
) -> list[CsvRow]:
    """Rows of ``text``; blank lines and lines starting with ``#`` are skipped."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if _is_data(line)]
    if not lines:
        problems.append(Problem(file, 1, "has no header line",
                                f"start the file with the header {','.join(required)}"))
        return []
    header_line, header_text = lines[0]
    header = _cells(file, header_line, header_text, problems)
    if header is None or not _header_ok(file, header_line, header, required, optional, problems):
        return []
    rows = []
    for number, raw in lines[1:]:
        cells = _cells(file, number, raw, problems)
        if cells is None:
            continue
        if len(cells) != len(header):
            problems.append(Problem(
                file, number, f"has {len(cells)} cells but the header has {len(header)}",
                QUOTING_HINT))
            continue
        rows.append(CsvRow(number, {name: cell.strip() for name, cell in zip(header, cells)}))
    return rows


def _is_data(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _cells(file: str, number: int, line: str, problems: list[Problem]) -> list[str] | None:
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:
        what = "has an unterminated quote" if "end of data" in str(exc) else f"is not valid CSV ({exc})"
        problems.append(Problem(file, number, what, QUOTING_HINT))
        return None


def _header_ok(
    file: str,
    line: int,
    header: list[str],
    required: Sequence[str],
    optional: Sequence[str],
    problems: list[Problem],
) -> bool:
    names = [h.strip().lower() for h in header]
    header[:] = names
    expected = ",".join(list(required) + [f"[{o}]" for o in optional])
    before = len(problems)
    for name in required:
        if name not in names:
            problems.append(Problem(file, line, f"the header lacks the column {name!r}",
                                    f"the header must name the columns {expected}"))
    for name in names:
        if name not in required and name not in optional:
            problems.append(Problem(file, line, f"unknown column {name!r}",
                                    f"the columns are {expected}"))
    duplicated = sorted({n for n in names if names.count(n) > 1})
    for name in duplicated:
        problems.append(Problem(file, line, f"the column {name!r} appears twice",
                                "keep one of them"))
    return len(problems) == before
