"""Load and validate the mapping tables once, reporting every problem together.

``load_tables(files)`` is pure: it takes the table files as ``{relative path: bytes}`` (see
``sync.rules.source`` for reading them from a directory or a git revision) and returns
``Tables`` or raises ``TableErrors`` listing each problem as ``file:line: what: how to fix``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from scim.filters import And, Compare, Node
from sync.rules.csvfile import decode
from sync.rules.errors import Problem, TableErrors
from sync.rules.fields import AttributeMap, load_attribute_map
from sync.rules.index import build_index
from sync.rules.readers import (
    read_attributes,
    read_groups,
    read_lookup,
    read_roles,
    read_scope,
)
from sync.rules.source import LOOKUP_DIR, TABLE_FILES, read_dir
from sync.rules.tables import AttributeRule, LookupTable, Tables
from sync.rules.version import tables_version
from sync.rules.yamlfile import load_yaml

T = TypeVar("T")


def load_dir(directory: Path) -> Tables:
    """The tables in ``directory`` (``mappings/``)."""
    return load_tables(read_dir(directory))


def load_tables(files: Mapping[str, bytes]) -> Tables:
    """The tables these file contents define. Parsing the same contents again (every plan,
    import and push reads ``mappings/``) returns the value parsed before: ``Tables`` is
    frozen, so sharing it is safe, and a changed byte is a new key."""
    return _parsed(tuple(sorted(files.items())))


@lru_cache(maxsize=8)
def _parsed(items: tuple[tuple[str, bytes], ...]) -> Tables:
    files = dict(items)
    problems: list[Problem] = []
    texts = _texts(files, problems)

    def read(name: str, reader: Callable[[str], T], missing: T) -> T:
        return reader(texts[name]) if name in texts else missing  # missing: reported by _texts

    amap = read("fields.yaml", lambda text: load_attribute_map(
        "fields.yaml", load_yaml("fields.yaml", text, problems), problems), AttributeMap({}, "fields.yaml"))
    if not amap.fields:
        # Every condition names fields from fields.yaml; checking them against nothing
        # would bury the real mistake under one "unknown field" per row.
        raise TableErrors(problems)
    lookups = {name: read_lookup(path, name, texts[path], problems) for name, path in _lookup_files(texts)}
    scope = read("scope.yaml", lambda text: read_scope(
        "scope.yaml", load_yaml("scope.yaml", text, problems), amap, problems), None)
    groups = read("groups.csv", lambda text: read_groups("groups.csv", text, amap, problems), [])
    roles = read("roles.csv", lambda text: read_roles("roles.csv", text, amap, problems), [])
    attributes = read("attributes.csv", lambda text: read_attributes("attributes.csv", text, amap, problems), [])
    for rule in attributes:
        _check_lookup(rule, lookups, problems)
    if problems or scope is None:
        raise TableErrors(problems)
    index = build_index([*groups, *roles, *attributes], amap)
    return Tables(tables_version(files), amap, scope, tuple(groups), tuple(roles), tuple(attributes),
                  lookups, index)


def _texts(files: Mapping[str, bytes], problems: list[Problem]) -> dict[str, str]:
    """Each file's text; a missing table file is reported here, once."""
    for name in TABLE_FILES:
        if name not in files:
            problems.append(Problem(name, None, "is missing", "create it (mappings/README.md describes each file)"))
    texts = {}
    for path, data in files.items():
        text = decode(path, data, problems)
        if text is not None:
            texts[path] = text
    return texts


def _lookup_files(texts: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    for path in sorted(texts):
        if path.startswith(f"{LOOKUP_DIR}/"):
            yield path.removeprefix(f"{LOOKUP_DIR}/").removesuffix(".csv"), path


def _check_lookup(rule: AttributeRule, lookups: Mapping[str, LookupTable], problems: list[Problem]) -> None:
    if rule.source != "lookup":
        return
    table = lookups.get(rule.value)
    if table is None:
        known = ", ".join(lookups) or "none yet"
        problems.append(Problem(rule.row.file, rule.row.line, f"unknown lookup table {rule.value!r}",
                                f"create {LOOKUP_DIR}/{rule.value}.csv or use one of: {known}"))
        return
    for key in _pinned_values(rule.when.node, rule.key_field):
        if not table.get(key):
            problems.append(Problem(rule.row.file, rule.row.line,
                                    f"the key {key!r} is missing from the lookup table {table.file}",
                                    f"add a row '{key},<value>' to {table.file}"))
    if not rule.multi:
        _check_single(rule, table, problems)


def _check_single(rule: AttributeRule, table: LookupTable, problems: list[Problem]) -> None:
    for key, entries in table.entries.items():
        if len(entries) > 1:
            problems.append(Problem(rule.row.file, rule.row.line,
                                    f"{rule.attribute} is single-valued but {table.file} gives the key "
                                    f"{key!r} {len(entries)} values (lines {', '.join(str(e.row.line) for e in entries)})",
                                    "write yes in the multi column, or keep one value per key"))
            return


def _pinned_values(node: Node | None, field: str | None) -> Iterator[str]:
    """Values the condition requires ``field`` to equal (``field eq "x" and ...``)."""
    if isinstance(node, And):
        yield from _pinned_values(node.left, field)
        yield from _pinned_values(node.right, field)
    elif (isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str)
          and node.path.attr.lower() == field):
        yield node.value
