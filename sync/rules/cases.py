"""Golden cases (``cases.yaml``): a person -> the account they must get under the tables.

Each case lists a person's fields and what to expect; only the parts of ``expect`` that are
written are checked, and each is checked exactly (``groups`` is the whole set of groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.rules.errors import PersonError, Problem, TableErrors
from sync.rules.evaluate import DesiredAccount, evaluate
from sync.rules.fields import AttributeMap
from sync.rules.person import Person, person_from_values
from sync.rules.tables import Role, Tables, role_key_text
from sync.rules.values import to_list
from sync.rules.yamlfile import LineDict, LineList, load_yaml

EXPECT_KEYS = ("active", "groups", "roles", "attributes")


@dataclass(frozen=True)
class Case:
    name: str
    line: int
    person: Person
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class CaseResult:
    case: Case
    differences: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.differences


def load_cases(file: str, text: str, attribute_map: AttributeMap) -> list[Case]:
    """The cases in ``text``; raises ``TableErrors`` with every problem found."""
    problems: list[Problem] = []
    doc = load_yaml(file, text, problems)
    items = doc.get("cases") if isinstance(doc, LineDict) else None
    if not isinstance(items, LineList):
        if not problems:
            problems.append(Problem(file, 1, "has no 'cases:' list", "start the file with 'cases:' and a list of cases"))
        raise TableErrors(problems)
    cases = [_case(file, item, items.line_of(i), attribute_map, problems) for i, item in enumerate(items)]
    if problems:
        raise TableErrors(problems)
    return [c for c in cases if c is not None]


def _case(file: str, item: Any, line: int, amap: AttributeMap, problems: list[Problem]) -> Case | None:
    if not isinstance(item, LineDict) or not isinstance(item.get("person"), LineDict):
        problems.append(Problem(file, line, "a case needs 'name:', 'person:' and 'expect:'",
                                "see the first case in the file"))
        return None
    person_doc, expect = item["person"], item.get("expect") or LineDict()
    try:
        person = person_from_values(person_doc, amap)
    except PersonError as exc:
        problems.append(Problem(file, person_doc.line_of(exc.field), f"field {exc.field!r}: {exc.reason}",
                                "fix the person's value or the field name"))
        return None
    for key in expect:
        if key not in EXPECT_KEYS:
            problems.append(Problem(file, expect.line_of(key), f"unknown expectation {key!r}",
                                    f"use {', '.join(EXPECT_KEYS)}"))
    for key, role in (expect.get("roles") or {}).items():
        if str(role).upper() not in Role.__members__:
            problems.append(Problem(file, expect["roles"].line_of(key), f"unknown role {role!r}",
                                    f"use one of {', '.join(r.name for r in Role)}"))
    return Case(str(item.get("name") or f"case at line {line}"), line, person, expect)


def run_case(case: Case, tables: Tables) -> CaseResult:
    try:
        account, _ = evaluate(case.person, tables)
    except PersonError as exc:
        return CaseResult(case, (f"cannot evaluate: {exc}",))
    return CaseResult(case, tuple(differences(case.expect, account)))


def differences(expect: Mapping[str, Any], account: DesiredAccount) -> list[str]:
    """Readable lines: ``- x`` expected but missing, ``+ x`` present but not expected."""
    lines: list[str] = []
    if "active" in expect and bool(expect["active"]) != account.active:
        lines.append(f"active: expected {bool(expect['active'])}, got {account.active}")
    if "groups" in expect:
        wanted = set(to_list(expect["groups"]))
        lines += [f"groups: - {g} (expected, not given)" for g in sorted(wanted - account.groups)]
        lines += [f"groups: + {g} (given, not expected)" for g in sorted(account.groups - wanted)]
    if "roles" in expect:
        got = {role_key_text(k): v.name for k, v in account.roles.items()}
        wanted_roles = {str(k): str(v).upper() for k, v in (expect["roles"] or {}).items()}
        lines += _mapping_diff("roles", wanted_roles, got)
    if "attributes" in expect:
        wanted_attrs = {str(k): _attribute(v) for k, v in (expect["attributes"] or {}).items()}
        lines += _mapping_diff("attributes", wanted_attrs, dict(account.attributes))
    return lines


def _attribute(value: Any) -> str | tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else str(value)


def _mapping_diff(kind: str, wanted: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(wanted.keys() | got.keys()):
        if name not in got:
            lines.append(f"{kind}: - {name} = {_show(wanted[name])} (expected, not given)")
        elif name not in wanted:
            lines.append(f"{kind}: + {name} = {_show(got[name])} (given, not expected)")
        elif _comparable(wanted[name]) != _comparable(got[name]):
            lines.append(f"{kind}: {name}: expected {_show(wanted[name])}, got {_show(got[name])}")
    return lines


def _comparable(value: Any) -> Any:
    # Multi-valued attributes are sets to the BI platform: order is not a difference.
    return frozenset(value) if isinstance(value, tuple) else value


def _show(value: Any) -> str:
    return "[" + ", ".join(value) + "]" if isinstance(value, tuple) else str(value)
