"""Does each column still hold what its name says? A feed whose labels were swapped is held.

A header can keep every column name and still be wrong: an export template edited by hand
with the Hire Date and Termination Date labels swapped (everyone "leaves" on their hire
day), or first and last name swapped. The header checks in ``guard`` cannot see it; the
cells can. Pure and cheap: one pass over an evenly spaced sample of the records (at most
``SAMPLE``), with the store's last HR record of those people (column -> text) to compare
against. Three checks, each per HR column that ``fields.yaml`` reads:

- **type**: a date, number or email column (a field of ``type: date`` or ``number``, or
  the ``email`` field) where more than half of the non-empty values do not parse as one;
- **swapped**: a column whose value, for more than half of the people compared with the
  store, changed to exactly what another column held for them before;
- **moved**: in a full feed, a steady column (dates, names, emails) whose value changed
  for more than half of the people compared at once (a termination date appearing for most
  people, most hire dates changing).

Checked are at most ``SAMPLE`` evenly spaced records (every one of a smaller feed); the
people compared are those of them the store holds an HR record of.

Fewer than ``MIN_PEOPLE`` values prove nothing, so small feeds are never held by this.
A held feed's reason names the column, the check, the counts and two examples.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.rules import AttributeMap
from sync.rules.fields import FieldSpec
from sync.rules.values import ValueProblem, coerce
from sync.sources.feed import Record
from sync.sources.validate import EMAIL, id_columns

MIN_PEOPLE = 5  # fewer misfits, changes or swaps than this are a few people, not a column
# Records checked: a mislabelled column is wrong for more than half of the people, which
# 2,000 evenly spaced records show as surely as 100,000, at a fiftieth of the cost (reading
# 100,000 stored records alone takes a second). Single bad cells are validation's to reject.
SAMPLE = 2000
SHARE = 0.5  # more than this share of a column's values (or people) is the column itself
EXAMPLES = 2
STEADY_FIELDS = frozenset({"given_name", "family_name", "display_name", "email", "user_name"})
KIND_NAMES = {"date": "dates", "number": "numbers", "email": "email addresses"}
Stored = Mapping[str, Mapping[str, str]]  # employee id -> the HR record the store holds


@dataclass(frozen=True)
class ColumnCheck:
    """What a column is expected to hold: ``kind`` (date, number, email, text), whether it
    should stay put between two full feeds, and ``read``: a cell as (whether it is of its
    kind, the form two cells are compared in)."""

    column: str
    kind: str
    steady: bool
    read: Callable[[str], tuple[bool, str]]


@dataclass
class _Tally:
    """One column's counts over the feed, and the first few examples of each finding."""

    filled: int = 0
    misfits: int = 0
    misfit_examples: list[str] = field(default_factory=list)
    changed: int = 0
    change_examples: list[tuple[str, str, str]] = field(default_factory=list)  # employee id, before, after
    took: Counter[str] = field(default_factory=Counter)  # column -> people given its old value
    took_examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def column_checks(attribute_map: AttributeMap) -> dict[str, ColumnCheck]:
    """Each HR column once; a column several fields read (Work Email: user_name and email)
    takes the strictest kind and is steady if any of them is."""
    specs: dict[str, list[FieldSpec]] = {}
    for spec in attribute_map.fields.values():
        for column in spec.hr_columns:
            specs.setdefault(column, []).append(spec)
    return {column: _check(column, found) for column, found in specs.items()}


def _check(column: str, specs: list[FieldSpec]) -> ColumnCheck:
    kind, spec = next(((_kind(s), s) for s in specs if _kind(s) != "text"), ("text", specs[0]))
    steady = any(s.type == "date" or s.name in STEADY_FIELDS for s in specs)
    read = functools.partial(_read, spec, kind)
    if kind in ("date", "number"):  # an export repeats a few thousand hire days: read each once
        read = functools.lru_cache(maxsize=65536)(read)
    return ColumnCheck(column, kind, steady, read)


def _kind(spec: FieldSpec) -> str:
    if spec.type in ("date", "number"):
        return spec.type
    return "email" if spec.name == "email" else "text"


def _read(spec: FieldSpec, kind: str, text: str) -> tuple[bool, str]:
    """Text compares ignoring case and spacing; a date as its ISO date, so a new date
    format is not a change; a number as its value."""
    plain = " ".join(text.split()).casefold()
    if kind == "text" or not plain:
        return True, plain
    if kind == "email":
        return EMAIL.match(plain) is not None, plain
    value: object = text
    try:
        for transform in spec.transforms:
            value = transform.apply(value)
        typed = coerce(kind, value)
    except (ValueProblem, ValueError):
        return False, plain
    return True, typed.isoformat() if hasattr(typed, "isoformat") else str(typed)


def sample(records: Sequence[Record]) -> Sequence[Record]:
    """Every k-th record, at most ``SAMPLE`` of them (all of a smaller feed): what is checked."""
    return records[::-(-len(records) // SAMPLE) or 1]


def sample_ids(records: Sequence[Record], attribute_map: AttributeMap) -> list[str]:
    """The sampled records' employee ids: whose stored HR records the comparisons read."""
    ids = id_columns(attribute_map)
    return [eid for record in sample(records) if (eid := _employee_id(record.values, ids))]


def content_reasons(records: Sequence[Record], attribute_map: AttributeMap, stored: Stored,
                    full: bool) -> list[str]:
    """Why the feed's columns look mislabelled (empty: they fit), in one pass over the
    sampled records; ``stored`` holds (at least) the HR records of their people."""
    checks = column_checks(attribute_map)
    columns = tuple(checks)
    tallies = {column: _Tally() for column in columns}
    typed = [(tallies[c], checks[c]) for c in columns if checks[c].kind != "text"]
    ids = id_columns(attribute_map)
    known = 0
    for record in sample(records):
        values = record.values
        for tally, check in typed:
            _fit(tally, check, values.get(check.column, ""))
        employee_id = _employee_id(values, ids)
        before = stored.get(employee_id) if stored and employee_id else None
        if before is None:
            continue
        known += 1
        new, old = tuple(map(values.get, columns)), tuple(map(before.get, columns))
        if new == old:  # most people: one comparison at C speed says nothing changed
            continue
        for column, cell, previous in zip(columns, new, old, strict=True):
            if cell is not None and previous is not None and cell != previous:
                _changed(tallies[column], checks[column], cell, previous, before, employee_id, checks)
    reasons = (_reason(checks[column], tally, known, full) for column, tally in tallies.items())
    return [reason for reason in reasons if reason is not None]


def _employee_id(values: Mapping[str, str], ids: tuple[str, ...]) -> str:
    for column in ids:
        found = values.get(column, "").strip()
        if found:
            return found
    return ""


def _fit(tally: _Tally, check: ColumnCheck, cell: str) -> None:
    if cell.strip():
        tally.filled += 1
        if not check.read(cell)[0]:
            tally.misfits += 1
            _example(tally.misfit_examples, cell)


def _changed(tally: _Tally, check: ColumnCheck, cell: str, previous: str, before: Mapping[str, str],
             employee_id: str, checks: Mapping[str, ColumnCheck]) -> None:
    """A cell that differs from the stored one: a real change (not a new date format, not
    case or spacing), and perhaps exactly what another column held before."""
    new = check.read(cell)[1]
    if check.read(previous)[1] == new:
        return
    tally.changed += 1
    _example(tally.change_examples, (employee_id, previous, cell))
    if not new:
        return
    for other, other_check in checks.items():
        held = before.get(other, "")
        if other != check.column and held.strip() and other_check.read(held)[1] == new:
            tally.took[other] += 1
            _example(tally.took_examples.setdefault(other, []), (employee_id, cell))
            return


def _example(examples: list[Any], item: Any) -> None:
    if len(examples) < EXAMPLES:
        examples.append(item)


def _reason(check: ColumnCheck, tally: _Tally, known: int, full: bool) -> str | None:
    """``known``: the feed's people the store holds a record of, whom the changes are out of."""
    column = check.column
    if _most(tally.misfits, tally.filled):
        shown = ", ".join(repr(_short(v)) for v in tally.misfit_examples)
        return (f"{column}: {tally.misfits} of the {tally.filled} values checked are not {KIND_NAMES[check.kind]} "
                f"(e.g. {shown}): the column's contents do not fit its name")
    if tally.took:
        other, count = tally.took.most_common(1)[0]
        if _most(count, known):
            shown = ", ".join(f"employee {eid}: {_short(value)!r}" for eid, value in tally.took_examples[other])
            return (f"{column} now holds what {other} held before for {count} of the {known} people compared "
                    f"(e.g. {shown}): the header labels look swapped")
    if full and check.steady and _most(tally.changed, known):
        shown = ", ".join(f"employee {eid}: {_short(old)!r} -> {_short(new)!r}"
                          for eid, old, new in tally.change_examples)
        return (f"{column} changed for {tally.changed} of the {known} people compared at once (e.g. {shown}): "
                "such a column does not move wholesale; the header labels may be swapped")
    return None


def _most(count: int, total: int) -> bool:
    return count >= MIN_PEOPLE and count > SHARE * total


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
