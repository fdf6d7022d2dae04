"""Per-row validation: which records become people, and why the others do not.

Pure: records and the attribute map in, ``Candidate``s and ``Reject``s out. A bad row
never sinks the feed; it lands in the rejects report with its line and the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from sync.jsontext import encoder
from sync.people.candidate import Candidate
from sync.rules import AttributeMap, Person, PersonError, person_from_hr_row
from sync.sources.errors import FeedError
from sync.sources.feed import Record, Reject

# Pragmatic, not RFC 5322: one @, no spaces, a dot in the domain. HR exports go wrong in
# ways this catches (two addresses in a cell, a name in the email column, a missing domain).
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
STATUSES = frozenset({"active", "leave", "terminated"})
PROGRESS_STEP = 1000
# Built once (see sync.jsontext); the same text as json.dumps(..., ensure_ascii=False),
# so stored record hashes stay valid.
_RECORD_JSON = encoder(ensure_ascii=False)
Carried = Callable[[str], Mapping[str, str]]


def map_fingerprint(attribute_map: AttributeMap) -> str:
    """Changes when fields.yaml does: an unchanged row must be re-read under a new map."""
    return hashlib.sha256(repr(sorted(attribute_map.fields.items())).encode()).hexdigest()


def record_hash(hr_record: Mapping[str, str], fingerprint: str) -> str:
    """The row's mapped cells in the attribute map's column order (which the fingerprint fixes)."""
    canonical = _RECORD_JSON([fingerprint, *hr_record.values()])
    return hashlib.sha256(canonical.encode()).hexdigest()


def mapped_columns(attribute_map: AttributeMap) -> tuple[str, ...]:
    """Every HR column the attribute map reads, in declaration order, once each."""
    return tuple(dict.fromkeys(c for spec in attribute_map.fields.values() for c in spec.hr_columns))


def id_columns(attribute_map: AttributeMap) -> tuple[str, ...]:
    return attribute_map.fields["employee_id"].hr_columns


def missing_columns(columns: Sequence[str], attribute_map: AttributeMap, where: str) -> tuple[str, ...]:
    """Mapped columns the header lacks; no employee id column at all is fatal (nobody could
    be told apart), so it raises before a single row is read."""
    present = set(columns)
    ids = id_columns(attribute_map)
    if ids and not any(c in present for c in ids):
        raise FeedError(f"{where}: the header has no {' or '.join(repr(c) for c in ids)} column, so no "
                        f"person can be identified: export it, or fix 'employee_id' in fields.yaml "
                        f"(the header has: {', '.join(columns)})")
    return tuple(c for c in mapped_columns(attribute_map) if c not in present)


def validate_records(records: Iterable[Record], attribute_map: AttributeMap, unit: str,
                     carried: Carried | None = None, progress: Callable[[int], None] | None = None,
                     known: Mapping[str, str] | None = None,
                     salt: str = "") -> tuple[list[Candidate], list[Reject]]:
    """Candidates and rejects; an employee id on several rows rejects every copy.

    ``known`` maps employee ids to the record hash the store holds: such a row was valid
    under the same attribute map (and ``salt``: the import settings that shape a person),
    so it is not rebuilt. ``progress`` is told every
    ``PROGRESS_STEP`` records (for a progress bar)."""
    columns = mapped_columns(attribute_map)
    fingerprint = map_fingerprint(attribute_map) + salt
    blanks = [""] * len(columns)
    candidates: list[Candidate] = []
    rejects: list[Reject] = []
    for count, record in enumerate(records, 1):
        if progress is not None and count % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
        hr_record = dict(zip(columns, map(record.values.get, columns, blanks)))  # a missing cell is ""
        if carried is not None:
            hr_record = _with_carried(hr_record, record, carried, attribute_map)
        digest = record_hash(hr_record, fingerprint)
        raw_id = raw_employee_id(hr_record, attribute_map)
        if known and raw_id is not None and known.get(raw_id) == digest:
            candidates.append(Candidate(record.position, hr_record, None, raw_id, digest))
            continue
        outcome = _candidate(record.position, hr_record, attribute_map, digest, raw_id)
        (rejects if isinstance(outcome, Reject) else candidates).append(outcome)
    return _without_duplicates(candidates, rejects, unit)


def _with_carried(hr_record: dict[str, str], record: Record, carried: Carried,
                  attribute_map: AttributeMap) -> dict[str, str]:
    """Columns the feed lacks keep the person's last known values (an approved feed that
    dropped a column must not blank it for everyone)."""
    absent = [c for c in hr_record if c not in record.values]
    if not absent:
        return hr_record
    previous = carried(raw_employee_id(record.values, attribute_map) or "")
    return {**hr_record, **{c: previous.get(c, "") for c in absent}}


def raw_employee_id(values: Mapping[str, str], attribute_map: AttributeMap) -> str | None:
    """The employee id as the row says it (trimmed), before the attribute map's transforms."""
    return next((values[c].strip() for c in id_columns(attribute_map) if values.get(c, "").strip()), None)


def _candidate(position: int, hr_record: Mapping[str, str], attribute_map: AttributeMap,
               digest: str, raw_id: str | None) -> Candidate | Reject:
    try:
        person = person_from_hr_row(hr_record, attribute_map)
    except PersonError as exc:
        return Reject(position, f"{_column_of(exc.field, attribute_map)}: {exc.reason}",
                      raw_id, hr_record)
    problem = _problem(person, attribute_map)
    if problem:
        return Reject(position, problem, person.employee_id or raw_id, hr_record)
    return Candidate(position, hr_record, person, person.employee_id, digest)


def _problem(person: Person, attribute_map: AttributeMap) -> str | None:
    for name in ("employee_id", "user_name"):
        if not person[name]:
            return f"{_column_of(name, attribute_map)} is empty: every person needs one"
    for name in ("email", "user_name"):
        value = person[name]
        # user_name may be a plain login; once it looks like an address it must be one.
        checked = name == "email" or (isinstance(value, str) and "@" in value)
        if isinstance(value, str) and value and checked and not EMAIL.match(value):
            return f"{_column_of(name, attribute_map)}: {value!r} is not an email address"
    status = person["employment_status"]
    if "employment_status" in attribute_map.fields and status is not None and status not in STATUSES:
        return (f"{_column_of('employment_status', attribute_map)}: unknown status {status!r}: map it to "
                "active, leave or terminated in fields.yaml")
    return None


def _column_of(field: str, attribute_map: AttributeMap) -> str:
    spec = attribute_map.fields.get(field)
    columns = spec.hr_columns if spec else ()
    return " / ".join(columns) if columns else field


def _without_duplicates(candidates: list[Candidate], rejects: list[Reject],
                        unit: str) -> tuple[list[Candidate], list[Reject]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for candidate in candidates:
        positions[candidate.employee_id].append(candidate.position)
    twice = {eid for eid, found in positions.items() if len(found) > 1}
    if not twice:
        return candidates, rejects
    kept = [c for c in candidates if c.employee_id not in twice]
    for c in candidates:
        if c.employee_id in twice:
            where = ", ".join(str(p) for p in positions[c.employee_id])
            rejects.append(Reject(c.position, f"employee id {c.employee_id!r} appears on {unit}s "
                                  f"{where}: every copy is rejected: keep one row per person",
                                  c.employee_id, c.hr_record))
    return kept, sorted(rejects, key=lambda r: r.position)
