"""``hr2bi doctor``: read-only checks that the configured BI organization fits the mapping
tables, before anything is applied. Every check is a read (counted against the rate
limit like any call): each API key answers; each attribute ``attributes.csv`` maps is
defined in the platform, writable, of a type hr2bi's text values fit and with the
multiple-values flag the row needs; each connection and model ``roles.csv`` names
exists; each group name fits the platform's limit. One :class:`Finding` per problem,
with its fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sync.plan.role_targets import missing_role_targets
from sync.rules import Tables
from sync.targets.base import AttributeDefinition, Target
from sync.targets.errors import InvalidRequest, TargetError


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.problem} -> fix: {self.fix}"


def key_label(index: int, key: str) -> str:
    """A key as the report names it: its place and last four characters, never the key."""
    return f"API key #{index + 1} (...{key[-4:]})" if len(key) > 8 else f"API key #{index + 1}"


def check_keys(keys: Sequence[str], make_target: Callable[[str], Target]
               ) -> tuple[list[Finding], Target | None, list[AttributeDefinition]]:
    """Each key lists the attribute definitions (one call each); the findings, a target on
    the first key that works (None: none does) and the definitions it listed."""
    findings: list[Finding] = []
    working: Target | None = None
    definitions: list[AttributeDefinition] = []
    for index, key in enumerate(keys):
        target = make_target(key)
        try:
            listed = target.attribute_definitions()
        except InvalidRequest as exc:
            if exc.status not in (401, 403):
                raise
            findings.append(Finding(
                f"{key_label(index, key)} is refused ({exc.status}: {exc.message})",
                "create an organization API key in Omni (Settings > API keys; SCIM and the "
                "v1 API need an organization key, not a personal one) and put it in HR2BI_BI_API_KEYS"))
            continue
        if working is None:
            working, definitions = target, listed
    return findings, working, definitions


def check_attributes(tables: Tables, definitions: Sequence[AttributeDefinition]) -> list[Finding]:
    defined = {d.name: d for d in definitions}
    multi: dict[str, bool] = {}
    rows: dict[str, str] = {}
    for rule in tables.attributes:
        multi[rule.attribute] = multi.get(rule.attribute, False) or rule.multi
        rows.setdefault(rule.attribute, str(rule.row))
    findings = []
    for name in sorted(multi):
        wanted = "yes" if multi[name] else "no"
        found = defined.get(name)
        if found is None:
            findings.append(Finding(
                f"user attribute {name!r} ({rows[name]}) is not defined in the BI platform",
                f"create it in Omni (Settings > User attributes: name {name}, type String, "
                f"multiple values {wanted}); the API cannot create attribute definitions"))
        elif found.system:
            findings.append(Finding(f"user attribute {name!r} ({rows[name]}) is a system attribute: "
                                    "read-only", f"map the value to another attribute name in {rows[name]}"))
        elif found.type != "String":
            findings.append(Finding(
                f"user attribute {name!r} ({rows[name]}) is a {found.type} in the BI platform, but "
                "hr2bi sends text", f"make {name} a String attribute in Omni, or map it to one"))
        elif multi[name] and not found.multiple_values:
            findings.append(Finding(
                f"user attribute {name!r} ({rows[name]}) takes several values (multi = yes) but the "
                "BI platform's definition allows one", f"allow multiple values for {name} in Omni, "
                "or drop multi in attributes.csv"))
    return findings


def check_role_targets(tables: Tables, target: Target) -> list[Finding]:
    findings = []
    for (connection, model), rows in sorted(missing_role_targets(tables, target).items(),
                                            key=lambda item: (item[0][0], item[0][1] or "")):
        where = ", ".join(rows)
        if model is None:
            known = ", ".join(sorted(c.name for c in target.connections())) or "none"
            findings.append(Finding(f"connection {connection!r} ({where}) does not exist in the BI "
                                    f"platform (it has: {known})",
                                    "fix the connection's name in roles.csv, or create it in Omni"))
        else:
            known = ", ".join(sorted(m.name for m in target.models() if m.connection == connection))
            findings.append(Finding(f"model {model!r} on connection {connection!r} ({where}) does not "
                                    f"exist in the BI platform (it has: {known or 'none'})",
                                    "fix the model's name in roles.csv (or HR2BI_BI_MODELS_FILE), "
                                    "or create the model in Omni"))
    return findings


def check_group_names(tables: Tables, limit: int | None) -> list[Finding]:
    if limit is None:
        return []
    return [Finding(f"group {rule.group!r} ({rule.row}) is longer than the BI platform's "
                    f"{limit} characters", f"shorten it in {rule.row.file}")
            for rule in tables.groups if len(rule.group) > limit]


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]  # what is fine or worth knowing (the rate limit)


def diagnose(tables: Tables, keys: Sequence[str], make_target: Callable[[str], Target],
             requests_per_minute: float) -> Report:
    """Every check; ``make_target(key)`` builds the target on one API key."""
    findings, target, definitions = check_keys(keys, make_target)
    working = len(keys) - len(findings)
    rate = (f"rate limit: {working} working key(s) x {requests_per_minute:g} requests/minute = "
            f"{working * requests_per_minute:g} calls a minute (about "
            f"{working * requests_per_minute * 60:g} an hour)")
    notes = [rate]
    if target is None:
        return Report(tuple(findings), (*notes, "no API key works: nothing else could be checked"))
    try:
        if target.capabilities.attributes:
            findings += check_attributes(tables, definitions)
        findings += check_role_targets(tables, target)
    except TargetError as exc:
        findings.append(Finding(f"the BI platform refused a read: {exc}", "check HR2BI_BI_BASE_URL "
                                "and the key's permissions"))
    findings += check_group_names(tables, target.capabilities.max_group_name_length)
    return Report(tuple(findings), tuple(notes))
