"""The attribute map (``fields.yaml``): which HR columns and SCIM attributes feed each person field.

Each field names its HR column(s), its SCIM attribute path(s), the transforms applied to the raw
value, its type, a default, and which source wins when HR and the identity provider disagree.
SCIM paths are parsed with the project's one condition language (``scim.filters``): the path
``emails[primary eq true].value`` is read as the filter ``emails[primary eq true].value pr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim.errors import InvalidFilter
from scim.filters import And, Node, Present, ValuePath, parse_filter
from sync.rules.errors import Problem
from sync.rules.values import FIELD_TYPES, TRANSFORMS, Transform, ValueProblem, coerce
from sync.rules.yamlfile import INVALID, LineDict

SOURCES = ("hr", "idp")
REQUIRED_FIELDS = ("employee_id", "user_name")
FIELD_KEYS = frozenset({"type", "hr", "idp", "prefer", "join", "transforms", "default", "description"})
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ScimPath:
    """A SCIM attribute path as written, and its parsed ``PATH pr`` form."""

    text: str
    node: Node


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    hr_columns: tuple[str, ...]
    idp_paths: tuple[ScimPath, ...]
    prefer: str
    join: str | None
    transforms: tuple[Transform, ...]
    default: Any
    line: int


@dataclass(frozen=True)
class AttributeMap:
    """Person fields by name, in the order ``fields.yaml`` declares them."""

    fields: Mapping[str, FieldSpec]
    file: str

    def type_of(self, name: str) -> str | None:
        spec = self.fields.get(name)
        return spec.type if spec else None


def load_attribute_map(file: str, doc: Any, problems: list[Problem]) -> AttributeMap:
    """Validate the parsed ``fields.yaml``; problems are appended, bad fields left out."""
    if doc is INVALID:
        return AttributeMap({}, file)
    top = doc if isinstance(doc, LineDict) else None
    specs = top.get("fields") if top is not None else None
    if not isinstance(specs, LineDict):
        problems.append(Problem(file, getattr(doc, "line", 1) or 1, "has no 'fields:' mapping",
                                "start the file with 'fields:' and one entry per person field"))
        return AttributeMap({}, file)
    fields = {}
    for name, raw in specs.items():
        spec = _field(file, name, raw, specs.line_of(name), problems)
        if spec is not None:
            fields[name] = spec
    for name in REQUIRED_FIELDS:
        if name not in specs:
            problems.append(Problem(file, specs.line, f"the field {name!r} is not declared",
                                    f"add '{name}:' with its HR column and SCIM attribute"))
    return AttributeMap(fields, file)


def _field(file: str, name: str, raw: Any, line: int, problems: list[Problem]) -> FieldSpec | None:
    before = len(problems)
    if not FIELD_NAME.match(name):
        problems.append(Problem(file, line, f"{name!r} is not a valid field name",
                                "use lower-case letters, digits and underscores, starting with a letter"))
    if not isinstance(raw, LineDict):
        problems.append(Problem(file, line, f"the field {name!r} is not a mapping",
                                "give it keys such as 'hr:', 'idp:' and 'type:'"))
        return None
    for key in raw:
        if key not in FIELD_KEYS:
            problems.append(Problem(file, raw.line_of(key), f"unknown key {key!r} in field {name!r}",
                                    f"the keys are {', '.join(sorted(FIELD_KEYS))}"))
    type_name = _choice(file, raw, "type", FIELD_TYPES, "string", problems)
    prefer = _choice(file, raw, "prefer", SOURCES, "hr", problems)
    columns = _strings(file, raw, "hr", problems)
    paths = tuple(_scim_path(file, raw.line_of("idp"), text, problems)
                  for text in _strings(file, raw, "idp", problems))
    transforms = _transforms(file, raw, problems)
    default = _default(file, raw, type_name, problems)
    if not columns and not paths and default is None:
        problems.append(Problem(file, line, f"the field {name!r} has no source",
                                "give it an 'hr:' column, an 'idp:' SCIM attribute or a 'default:'"))
    if len(problems) > before:
        return None
    join = raw.get("join")
    return FieldSpec(name, type_name, columns, tuple(p for p in paths if p), prefer,
                     None if join is None else str(join), transforms, default, line)


def _choice(file: str, raw: LineDict, key: str, allowed: tuple[str, ...], default: str,
            problems: list[Problem]) -> str:
    value = str(raw.get(key, default)).strip().lower()
    if value not in allowed:
        problems.append(Problem(file, raw.line_of(key), f"unknown {key} {raw.get(key)!r}",
                                f"write one of {', '.join(allowed)}"))
        return default
    return value


def _strings(file: str, raw: LineDict, key: str, problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in items):
        problems.append(Problem(file, raw.line_of(key), f"'{key}:' must be a name or a list of names",
                                f"write '{key}: Name' or '{key}: [First, Second]'"))
        return ()
    return tuple(v.strip() for v in items)


def _scim_path(file: str, line: int, text: str, problems: list[Problem]) -> ScimPath | None:
    hint = "write a path such as userName, name.givenName or emails[primary eq true].value"
    try:
        node = parse_filter(f"{text} pr")
    except InvalidFilter as exc:
        problems.append(Problem(file, line, f"{text!r} is not a SCIM attribute path ({exc.detail})", hint))
        return None
    if not is_attribute_path(node):
        problems.append(Problem(file, line, f"{text!r} is not a single SCIM attribute path", hint))
        return None
    return ScimPath(text, node)


def is_attribute_path(node: Node) -> bool:
    """``attr``, ``attr.sub`` or ``attr[filter].sub``, each as parsed from ``PATH pr``."""
    if isinstance(node, Present):
        return True
    return (isinstance(node, ValuePath) and isinstance(node.filter, And)
            and isinstance(node.filter.right, Present))


def _transforms(file: str, raw: LineDict, problems: list[Problem]) -> tuple[Transform, ...]:
    items = raw.get("transforms") or []
    if not isinstance(items, list):
        items = [items]
    steps = []
    for index, item in enumerate(items):
        line = items.line_of(index) if hasattr(items, "line_of") else raw.line_of("transforms")
        step = _transform(file, line, item, problems)
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _transform(file: str, line: int, item: Any, problems: list[Problem]) -> Transform | None:
    name, arg = _transform_parts(item)
    if name not in TRANSFORMS:
        problems.append(Problem(file, line, f"unknown transform {name!r}",
                                f"use one of {', '.join(TRANSFORMS)}"))
        return None
    needs = {"split": str, "map": dict, "date": (str, list)}
    if name in needs and not isinstance(arg, needs[name]):
        problems.append(Problem(file, line, f"the transform {name!r} needs an argument",
                                "write it as 'split: \";\"', 'map: {Old: New}' or 'date: \"%m/%d/%Y\"'"))
        return None
    if name == "map":
        return Transform(name, None, {str(k).casefold(): str(v) for k, v in arg.items()})
    return Transform(name, tuple(arg) if isinstance(arg, list) else arg)


def _transform_parts(item: Any) -> tuple[str, Any]:
    """``trim`` is a bare name; ``{split: ";"}`` is a one-key mapping of name to argument."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and len(item) == 1:
        name, arg = next(iter(item.items()))
        return str(name), arg
    return repr(item), None


def _default(file: str, raw: LineDict, type_name: str, problems: list[Problem]) -> Any:
    if raw.get("default") is None:
        return None
    try:
        return coerce(type_name, raw["default"])
    except ValueProblem as exc:
        problems.append(Problem(file, raw.line_of("default"), f"the default does not fit the type {type_name}: {exc}",
                                f"give a {type_name} value"))
        return None
