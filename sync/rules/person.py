"""The person the rules look at, and the pure functions that build one from each source.

A ``Person`` is a frozen bag of typed fields named in ``fields.yaml``, plus where each value
came from (``hr``, ``idp``, ``default`` or ``given``) so an explanation can say so and a merge
can tell a real value from a default. Sources never apply a default over one another:

    hr = person_from_hr_row(row, attribute_map)          # HR CSV row / HR API record
    idp = person_from_scim(scim_user_resource, attribute_map)
    person = merge_people(hr, idp, attribute_map)          # per field, the preferred source wins
    hr = person_from_stored(document, field_sources, attribute_map)   # HR's view, as stored

Each builder raises ``PersonError`` when a value cannot become its field's type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from scim.filters import And, Present, ValuePath
from scim.matching import lookup, matches
from sync.rules.errors import PersonError
from sync.rules.fields import AttributeMap, FieldSpec, ScimPath
from sync.rules.values import (
    Transform,
    ValueProblem,
    coerce,
    is_empty,
    split_text_steps,
)


@dataclass(frozen=True)
class Person:
    """Typed field values by field name; a field nobody provided is None (``()`` for lists)."""

    fields: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __getitem__(self, name: str) -> Any:
        return self.fields.get(name)

    @property
    def employee_id(self) -> str | None:
        return self.fields.get("employee_id")

    def label(self) -> str:
        """How reports name this person: employee id and user name."""
        return f"{self.fields.get('employee_id') or '?'} ({self.fields.get('user_name') or '?'})"


def person_from_hr_row(row: Mapping[str, str], attribute_map: AttributeMap) -> Person:
    """The HR view of a person from one CSV row or HR API record (column name -> text).

    A column the attribute map names but the row lacks is an error, not a silent None:
    a feed that lost a column must fail loudly.
    """
    return _hr_reader(attribute_map).person(row)


def person_from_scim(resource: Mapping[str, Any], attribute_map: AttributeMap) -> Person:
    """The identity provider's view of a person from a SCIM User resource (RFC 7643 4.1)."""
    values: dict[str, Any] = {}
    for spec in attribute_map.fields.values():
        if spec.idp_paths:
            raws = [_scim_value(resource, path, spec.type == "list") for path in spec.idp_paths]
            values[spec.name] = _typed(spec, _combine(spec, raws))
    return _with_defaults(values, _sources(values, "idp"), attribute_map)


def person_from_document(document: Mapping[str, Any], attribute_map: AttributeMap) -> Person:
    """A person from a ``--person`` file's object: a SCIM User resource (it names its
    schemas or has a userName), else plain person fields."""
    if "schemas" in document or "userName" in document:
        return person_from_scim(document, attribute_map)
    return person_from_values(document, attribute_map)


def person_from_values(values: Mapping[str, Any], attribute_map: AttributeMap) -> Person:
    """A person written out by hand (golden cases, ``--person`` files): field -> value.

    Values are typed (``"2024-03-01"`` becomes a date) but not transformed.
    """
    typed: dict[str, Any] = {}
    for name, value in values.items():
        spec = attribute_map.fields.get(name)
        if spec is None:
            known = ", ".join(attribute_map.fields)
            raise PersonError(name, value, f"no such person field (the fields are {known})")
        typed[name] = _coerce(spec, value)
    return _with_defaults(typed, _sources(typed, "given"), attribute_map)


def person_from_stored(values: Mapping[str, Any], sources: Mapping[str, str],
                       attribute_map: AttributeMap) -> Person:
    """What HR says of a person, from the identity store's document and its field sources.

    The store holds HR's view only (an import merges nothing); a value an older import
    took from the identity provider (source ``idp``) is left out, so the IdP's current
    view, merged by :func:`merge_people`, always decides it. A value that differs from its
    field's default is HR's word even if marked ``default``: the lifecycle verdict
    (``employment_status``) is written over the default by the import.
    """
    typed: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, spec in attribute_map.fields.items():
        source = sources.get(name)
        if name not in values or source == "idp" or is_empty(values[name]):
            continue
        typed[name] = _coerce(spec, values[name])
        origin[name] = "default" if source == "default" and typed[name] == spec.default else "hr"
    return _with_defaults(typed, origin, attribute_map)


def merge_people(hr: Person | None, idp: Person | None, attribute_map: AttributeMap) -> Person:
    """One person from both views: per field, the source named by ``prefer`` wins when it has
    a value; otherwise the other source's value; a default only when neither has one."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, spec in attribute_map.fields.items():
        order = (hr, idp) if spec.prefer == "hr" else (idp, hr)
        chosen = next((p for p in order if p is not None and _real(p, name)), None)
        if chosen is not None:
            values[name], sources[name] = chosen.fields[name], chosen.sources[name]
    return _with_defaults(values, sources, attribute_map)


def _real(person: Person, name: str) -> bool:
    return person.sources.get(name) not in (None, "default") and not is_empty(person.fields.get(name))


def _sources(values: Mapping[str, Any], source: str) -> dict[str, str]:
    return {name: source for name, value in values.items() if not is_empty(value)}


def _with_defaults(values: dict[str, Any], sources: dict[str, str], attribute_map: AttributeMap) -> Person:
    """Every declared field present: its default where no source gave a value, else None."""
    for name, spec in attribute_map.fields.items():
        if is_empty(values.get(name)) and spec.default is not None:
            values[name], sources[name] = spec.default, "default"
        elif name not in values:
            values[name] = () if spec.type == "list" else None
    return Person(MappingProxyType(values), MappingProxyType(sources))


def _column(row: Mapping[str, str], spec: FieldSpec, column: str) -> Any:
    if column not in row:
        raise PersonError(spec.name, None, f"the HR record has no column {column!r}")
    return row[column]


def _scim_value(resource: Mapping[str, Any], path: ScimPath, many: bool) -> Any:
    found = _resolve(resource, path)
    values = [v for v in (found if isinstance(found, list) else [found]) if not is_empty(v)]
    if many:
        return values
    return values[0] if values else None


def _resolve(resource: Mapping[str, Any], path: ScimPath) -> Any:
    node = path.node
    if isinstance(node, Present):
        return lookup(resource, node.path)
    # emails[primary eq true].value arrives as ValuePath(emails, And(primary eq true, value pr));
    # fields.is_attribute_path admitted no other shape.
    assert isinstance(node, ValuePath) and isinstance(node.filter, And)
    assert isinstance(node.filter.right, Present)
    elements = lookup(resource, node.path)
    elements = elements if isinstance(elements, list) else [elements]
    chosen = [e for e in elements if isinstance(e, Mapping) and matches(node.filter.left, e)]
    return [lookup(e, node.filter.right.path) for e in chosen]


def _combine(spec: FieldSpec, raws: Iterable[Any]) -> Any:
    """Several columns or paths: joined with ``join`` if set, else the first non-empty."""
    present = [r for r in raws if not is_empty(r)]
    if spec.join is not None:
        return spec.join.join(str(r).strip() for r in present) if present else None
    return present[0] if present else None


def _typed(spec: FieldSpec, raw: Any) -> Any:
    value = tuple(raw) if isinstance(raw, list) else raw
    try:
        for step in spec.transforms:
            value = step.apply(value)
    except ValueProblem as exc:
        raise PersonError(spec.name, raw, str(exc)) from exc
    return _coerce(spec, value)


def _coerce(spec: FieldSpec, value: Any) -> Any:
    try:
        return coerce(spec.type, value)
    except ValueProblem as exc:
        raise PersonError(spec.name, value, str(exc)) from exc


_UNSEEN = object()
_NEVER_EMPTY = frozenset({str, int, bool, Decimal, date})
_MEMO_CAP = 4096  # distinct cells remembered per field


class _HrField:
    """One HR-fed field with its per-row decisions made once: its columns, whether several
    combine, which transforms run directly on text, and what its empty value is."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec, self.name, self.columns = spec, spec.name, spec.hr_columns
        # One column without ``join`` needs no combining: its cell is the raw value.
        self.single = len(spec.hr_columns) == 1 and spec.join is None
        self.text_steps: tuple[Callable[[str], str], ...]
        self.other_steps: tuple[Transform, ...]
        self.text_steps, self.other_steps = split_text_steps(spec.transforms)
        self.empty: Any = () if spec.type == "list" else None
        self.plain_string = spec.type == "string"
        # Cell text -> typed value: an export repeats a column's few values (departments,
        # statuses, hire days) across every row. Values are immutable (text, numbers, dates,
        # tuples), so sharing them is safe; a column of unique values stops adding at the cap.
        self.column, self.memo = spec.hr_columns[0], {}

    def read(self, row: Mapping[str, str]) -> Any:
        """What ``_typed(spec, _combine(spec, raws))`` gives, by the shortest path."""
        if self.single:
            try:
                raw = row[self.column]
            except KeyError:
                raw = _column(row, self.spec, self.column)  # raises the PersonError naming it
            if type(raw) is str:  # a CSV cell: skip is_empty's type dispatch
                found = self.memo.get(raw, _UNSEEN)
                if found is _UNSEEN:
                    found = self._typed_text(raw) if raw.strip() else self.empty
                    if len(self.memo) < _MEMO_CAP:
                        self.memo[raw] = found
                return found
            raw = None if is_empty(raw) else raw
        else:
            raw = _combine(self.spec, [_column(row, self.spec, column) for column in self.columns])
        if raw is None:
            return self.empty  # no transform changes None, and None coerces to empty
        if type(raw) is not str:
            return _typed(self.spec, raw)  # an API's typed value: the general path
        return self._typed_text(raw)

    def _typed_text(self, raw: str) -> Any:
        value: Any = raw
        for step in self.text_steps:
            value = step(value)
        try:
            for transform in self.other_steps:
                value = transform.apply(value)
        except ValueProblem as exc:
            raise PersonError(self.name, raw, str(exc)) from exc
        if self.plain_string and type(value) is str:
            return value if value.strip() else None  # coerce("string", text), less the dispatch
        return _coerce(self.spec, value)


class _HrReader:
    """``person_from_hr_row`` for one attribute map, compiled once for a whole feed."""

    def __init__(self, attribute_map: AttributeMap) -> None:
        self.attribute_map = attribute_map  # held so its id is not reused while cached
        self.fields = tuple(_HrField(spec) for spec in attribute_map.fields.values() if spec.hr_columns)
        self.defaults = tuple((spec.name, spec.default, () if spec.type == "list" else None)
                              for spec in attribute_map.fields.values())

    def person(self, row: Mapping[str, str]) -> Person:
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for hr_field in self.fields:
            value = values[hr_field.name] = hr_field.read(row)
            # read() gives text only when it is not blank, and a number or a date is never
            # empty: only None and the rest (lists) need the test.
            if type(value) in _NEVER_EMPTY or value is not None and not is_empty(value):
                sources[hr_field.name] = "hr"
        # As _with_defaults: sources given first, then defaults, in declaration order.
        for name, default, empty in self.defaults:
            if default is not None and name not in sources:
                values[name], sources[name] = default, "default"
            elif name not in values:
                values[name] = empty
        return Person(MappingProxyType(values), MappingProxyType(sources))


# AttributeMap holds a dict, so it cannot key a cache by value; by identity it can, and
# the reader keeps its map alive so the id is not reused. A handful of maps per process.
_READERS: dict[int, _HrReader] = {}
_MAX_READERS = 16


def _hr_reader(attribute_map: AttributeMap) -> _HrReader:
    reader = _READERS.get(id(attribute_map))
    if reader is None or reader.attribute_map is not attribute_map:
        if len(_READERS) >= _MAX_READERS:
            _READERS.clear()
        reader = _READERS[id(attribute_map)] = _HrReader(attribute_map)
    return reader
