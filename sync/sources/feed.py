"""A feed as the importers hand it to the identity store: plain, source-neutral values.

A CSV file and an HR API both become a ``Feed``: its columns (the header) and its records
(column -> text), each carrying where it came from (``line 12`` of a file, ``record 3`` of an
API answer), plus the rows that could not even be read (``Reject``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FULL = "full"
INCREMENTAL = "incremental"
MODES = (FULL, INCREMENTAL)


@dataclass(frozen=True)
class Record:
    """One person's row: ``position`` is the physical line (CSV) or the record number (API)."""

    position: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class Reject:
    """A row left out of the import, and why; ``values`` as read, for the rejects report."""

    position: int
    reason: str
    employee_id: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Feed:
    """Everything one import read. ``unit`` names what ``position`` counts (line, record)."""

    source: str
    mode: str
    origin: str
    columns: tuple[str, ...]
    records: tuple[Record, ...]
    rejects: tuple[Reject, ...] = ()
    content_hash: str | None = None
    unit: str = "line"
    size: int | None = None
