"""The planner's values: what each account should be, what was last applied, and the
changes between them. Plain frozen data, JSON-ready (attribute lists are lists), so the
pure core compares them with ``==`` and the outbox stores them as they are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.names import name_key

Json = Any

# Apply order: users exist before groups list them as members; deactivations go last so a
# held-back user is never switched off before the rest of the run has gone through.
USER_PHASE, GROUP_PHASE, MEMBERS_PHASE, ROLE_PHASE, DEACTIVATE_PHASE = 0, 1, 2, 3, 4

KINDS = {
    "user.create": ("bi.user.create", USER_PHASE),
    "user.update": ("bi.user.update", USER_PHASE),
    "user.reactivate": ("bi.user.reactivate", USER_PHASE),
    "user.deactivate": ("bi.user.deactivate", DEACTIVATE_PHASE),
    "group.create": ("bi.group.create", GROUP_PHASE),
    "group.members": ("bi.group.members", MEMBERS_PHASE),
    "group.role": ("bi.group.role", ROLE_PHASE),
    "user.role": ("bi.user.role", ROLE_PHASE),
}


def key_of(name: str) -> str:
    """The key a BI userName or group name is planned under: ``sync.names.name_key``, the
    same key the SCIM store and the importers use, so one person is one BI account."""
    return name_key(name)


@dataclass(frozen=True)
class Reason:
    """Why a change is planned: whose account, which mapping rows, which tables version."""

    person: str | None
    rows: tuple[str, ...] = ()
    tables_version: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found = {"person": self.person, "rows": list(self.rows), "tables_version": self.tables_version}
        return {**found, "note": self.note} if self.note else found


@dataclass(frozen=True)
class DesiredUser:
    """One BI account as the mapping tables want it. ``roles`` are all the person's winning
    roles ("connection/model" -> role name); ``why`` maps ``group:X``, ``attribute:X``,
    ``role:X`` and ``scope`` to the rows that decided them."""

    user_name: str
    display_name: str
    active: bool
    attributes: Mapping[str, Json] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    roles: Mapping[str, str] = field(default_factory=dict)
    employee_id: str | None = None
    label: str = ""
    tables_version: str | None = None
    why: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Whose account it is (sync.models.AccountOwner): the stored person and/or SCIM user.
    person_id: int | None = None
    scim_user_id: str | None = None

    def reason(self, *topics: str, note: str | None = None) -> Reason:
        rows = tuple(dict.fromkeys(r for t in topics for r in self.why.get(t, ())))
        return Reason(self.label or self.user_name, rows, self.tables_version, note)


@dataclass(frozen=True)
class AppliedUser:
    """What hr2bi last applied to (or, when reconciling, read from) one BI user."""

    user_name: str
    bi_id: str | None
    active: bool
    display_name: str | None
    attributes: Mapping[str, Json] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    roles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AppliedGroup:
    name: str
    bi_id: str | None
    roles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupRoles:
    """Roles that follow a group: a roles.csv row whose condition is exactly a groups.csv
    row's condition is given to that group (one call for all its members) instead of to
    each member. ``roles``: group -> "connection/model" -> role; ``rows`` says which rows."""

    roles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    rows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tables_version: str | None = None


@dataclass(frozen=True)
class Change:
    """One call's worth of work for the BI platform. ``name`` is unique within a plan and
    the same for the same change in every plan, so retries across runs can be matched."""

    kind: str
    subject: str
    payload: Mapping[str, Json]
    reason: Reason
    detail: str | None = None  # the role key of a role change
    downgrade: bool = False  # a role lowered: counts towards the safety guard

    @property
    def name(self) -> str:
        suffix = f":{self.detail}" if self.detail else ""
        return f"{self.kind}:{key_of(self.subject)}{suffix}"

    @property
    def phase(self) -> int:
        return KINDS[self.kind][1]

    @property
    def action(self) -> str:
        return KINDS[self.kind][0]


@dataclass(frozen=True)
class PlanCounts:
    creates: int = 0
    updates: int = 0
    reactivations: int = 0
    deactivations: int = 0
    group_creates: int = 0
    membership_changes: int = 0
    role_changes: int = 0
    role_downgrades: int = 0

    @property
    def total(self) -> int:
        return (self.creates + self.updates + self.reactivations + self.deactivations
                + self.group_creates + self.membership_changes + self.role_changes)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"total": self.total}


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = field(default=())
    # Active accounts nobody wants that this plan leaves alone: hr2bi does not own them,
    # or they are protected (sync/plan/ownership.py).
    unmanaged: tuple[str, ...] = ()

    @property
    def counts(self) -> PlanCounts:
        tally = {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}
        return PlanCounts(
            creates=tally["user.create"], updates=tally["user.update"],
            reactivations=tally["user.reactivate"], deactivations=tally["user.deactivate"],
            group_creates=tally["group.create"], membership_changes=tally["group.members"],
            role_changes=tally["group.role"] + tally["user.role"],
            role_downgrades=sum(1 for c in self.changes if c.downgrade))
