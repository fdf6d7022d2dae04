"""Typed person values: the five field types and the transforms a field may apply.

A field's type decides how conditions compare it (``scim.filters.compare`` is led by the
Python type of the value), so an HR ``"03/01/2024"`` must become ``datetime.date`` before any
rule sees it, and ``"7"`` must become ``7`` for ``security_level ge 5`` to compare numbers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from scim.matching import parse_datetime

FIELD_TYPES = ("string", "date", "number", "bool", "list")
TRANSFORMS = ("trim", "lower", "upper", "split", "map", "date")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


class ValueProblem(ValueError):
    """A value that does not fit its field; the caller adds which field and where."""


@dataclass(frozen=True)
class Transform:
    """One step applied to a raw source value: ``trim``, ``lower``, ``upper``,
    ``split: ";"``, ``map: {from: to}`` (keys compared case-insensitively) or
    ``date: "%m/%d/%Y"`` (one format or a list, tried in order, then ISO 8601)."""

    name: str
    arg: Any = None
    table: Mapping[str, str] = field(default_factory=dict, compare=False)

    def apply(self, value: Any) -> Any:
        if isinstance(value, tuple):
            # Element by element; a split element adds its parts to the list.
            applied = (self.apply(v) for v in value)
            return tuple(part for item in applied for part in (item if isinstance(item, tuple) else (item,)))
        if not isinstance(value, str):
            return value  # SCIM booleans and numbers arrive typed already
        return _STEPS[self.name](self, value)


def _map(step: Transform, value: str) -> str:
    return step.table.get(value.casefold(), value)


def _date(step: Transform, value: str) -> Any:
    if not value.strip():
        return value
    return _parse_date(value, tuple(step.arg) if isinstance(step.arg, list | tuple) else (step.arg,))


# strptime costs ~40 µs a call and an export repeats the same few thousand dates (hire days)
# across 100,000 rows; the result is an immutable date, so sharing it is safe.
@functools.lru_cache(maxsize=65536)
def _parse_date(value: str, formats: tuple[str, ...]) -> Any:
    for fmt in formats:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return to_date(value)


_STEPS: dict[str, Callable[[Transform, str], Any]] = {
    "trim": lambda _s, v: v.strip(),
    "lower": lambda _s, v: v.lower(),
    "upper": lambda _s, v: v.upper(),
    "split": lambda s, v: tuple(part.strip() for part in v.split(s.arg) if part.strip()),
    "map": _map,
    "date": _date,
}


# Steps that always turn text into text: a field's leading run of them can be called directly.
_TEXT_TO_TEXT = frozenset({"trim", "lower", "upper", "map"})


def split_text_steps(steps: tuple[Transform, ...]) -> tuple[tuple[Callable[[str], str], ...], tuple[Transform, ...]]:
    """A field's transforms as (leading text-to-text steps as plain functions, the rest).

    On a text value the functions give what ``Transform.apply`` gives, without re-deciding
    the value's type and the step's function per value (person_from_hr_row's hot path)."""
    count = next((i for i, step in enumerate(steps) if step.name not in _TEXT_TO_TEXT), len(steps))
    return tuple(_text_step(step) for step in steps[:count]), steps[count:]


def _text_step(step: Transform) -> Callable[[str], str]:
    # trim, lower and upper are the str methods themselves: one C call, not two Python ones.
    method = {"trim": str.strip, "lower": str.lower, "upper": str.upper}.get(step.name)
    return method if method is not None else functools.partial(_STEPS[step.name], step)


# SAP SuccessFactors OData v2 writes Edm.DateTime as "/Date(1700000000000)/" (milliseconds
# since the epoch, UTC) and Edm.DateTimeOffset as "/Date(1700000000000+0060)/" (the offset
# in minutes, giving the local date).
_ODATA_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{4}))?\)/$")


def to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    odata = _ODATA_DATE.match(str(value).strip())
    if odata:
        return _odata_date(*odata.groups())
    try:
        return parse_datetime(str(value)).date()
    except ValueError as exc:
        raise ValueProblem(f"{value!r} is not a date (write YYYY-MM-DD)") from exc


def _odata_date(millis: str, sign: str | None, minutes: str | None) -> dt.date:
    offset = (-1 if sign == "-" else 1) * int(minutes or 0)
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(millis), minutes=offset)
    return moment.date()


def to_number(value: Any) -> int | Decimal:
    if isinstance(value, bool):
        raise ValueProblem(f"{value!r} is not a number")
    if isinstance(value, int | Decimal):
        return value
    text = str(value).strip().replace(",", "") if isinstance(value, str) else str(value)
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueProblem(f"{value!r} is not a number") from exc


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # Entra ID sends "active": "False" as a string; HR exports say Yes/No.
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueProblem(f"{value!r} is not true or false")


def to_list(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return tuple(str(v).strip() for v in items if v is not None and str(v).strip())


def to_string(value: Any) -> str:
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise ValueProblem(f"{value!r} has {len(value)} values where one is expected")
        value = value[0]
    return value.isoformat() if isinstance(value, dt.date) else str(value)


_COERCE: dict[str, Callable[[Any], Any]] = {
    "string": to_string,
    "date": to_date,
    "number": to_number,
    "bool": to_bool,
    "list": to_list,
}


def is_empty(value: Any) -> bool:
    """None, blank text, or a list of nothing but those: what HR exports leave in empty cells."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, tuple | list):
        return all(is_empty(v) for v in value)
    return value is None


def coerce(type_name: str, value: Any) -> Any:
    """``value`` as ``type_name``; empty becomes None (an empty tuple for lists)."""
    if is_empty(value):
        return () if type_name == "list" else None
    return _COERCE[type_name](value)


def as_text(value: Any) -> str:
    """How a typed value is written in a BI user attribute or a report."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
