"""The rejects report: every row left out, with its line number and reason, as CSV.

Admins open it in a spreadsheet, so it is formula-safe (OWASP "CSV injection"): a cell
starting with = + - @, a tab or a carriage return is prefixed with a quote, so a value such
as ``=HYPERLINK(...)`` from a hostile or broken export is shown, never run.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from sync.sources.errors import FeedError
from sync.sources.feed import Reject

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rejects(path: Path, rejects: Sequence[Reject], columns: Sequence[str], unit: str) -> Path:
    """Write the report (UTF-8 with a BOM, which Excel needs to read it as UTF-8)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([unit, "employee_id", "reason", *columns])
            for reject in rejects:
                cells = [reject.position, reject.employee_id, reject.reason,
                         *(reject.values.get(c) for c in columns)]
                writer.writerow([safe_cell(c) for c in cells])
    except OSError as exc:
        raise FeedError(f"{path}: cannot write the rejects report: {exc.strerror or exc}") from exc
    return path
