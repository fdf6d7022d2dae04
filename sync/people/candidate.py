"""What an import hands the people store for one valid HR row.

It lives here, beside the store that consumes it, so that ``sync.sources`` (which reads
feeds and validates rows) depends on ``sync.people`` and never the other way round."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sync.rules import Person


@dataclass(frozen=True)
class Candidate:
    """A valid row: the mapped HR columns as read, their hash, and the HR view of the person
    — None when the row is exactly what the store already holds (nothing to rebuild)."""

    position: int
    hr_record: Mapping[str, str]
    person: Person | None
    employee_id: str
    record_hash: str
