"""Which identity-provider (SCIM) user is which HR person.

By employee number first — it is what both systems agree a person is — else by email, but
only with a SCIM user that carries no employee number (one with a different number is
someone else). Ambiguous matches link nobody and say why. Every link records its reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from sync.models import ScimUser, ScimUserValue


@dataclass(frozen=True)
class Link:
    scim_user_id: str
    reason: str


@dataclass
class ScimIndex:
    """SCIM users by employee number and by (lower-case) email or userName."""

    names: dict[str, str] = field(default_factory=dict)
    by_number: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_email: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def load_scim_index(session: Session) -> ScimIndex:
    index = ScimIndex()
    numbered: set[str] = set()
    for user_id, number, user_name, user_name_key in session.execute(
            select(ScimUser.id, ScimUser.employee_number, ScimUser.user_name, ScimUser.user_name_key)):
        index.names[user_id] = user_name
        if number and number.strip():
            index.by_number[number.strip()].append(user_id)
            numbered.add(user_id)
        elif "@" in user_name_key:
            index.by_email[user_name_key].add(user_id)
    emails = select(ScimUserValue.user_id, ScimUserValue.value_key).where(ScimUserValue.attribute == "emails")
    for user_id, email in session.execute(emails):
        if email and user_id not in numbered:
            index.by_email[email].add(user_id)
    return index


def link(employee_id: str, email: str | None, index: ScimIndex) -> Link | str | None:
    """The link for one person, a sentence saying why there is none (ambiguous), or None."""
    numbered = sorted(index.by_number.get(employee_id, ()))
    if len(numbered) == 1:
        return Link(numbered[0], f"employee number {employee_id} matches SCIM user "
                                 f"{index.names[numbered[0]]}")
    if numbered:
        return f"SCIM users {_names(numbered, index)} all have employee number {employee_id}: none linked"
    matches = sorted(index.by_email.get(email or "", ())) if email else []
    if len(matches) == 1:
        return Link(matches[0], f"email {email} matches SCIM user {index.names[matches[0]]} "
                                "(which has no employee number)")
    if matches:
        return f"SCIM users {_names(matches, index)} all have email {email}: none linked"
    return None


def link_all(people: Mapping[str, str | None], index: ScimIndex) -> tuple[dict[str, Link], list[str]]:
    """Links for ``employee id -> email``; a SCIM user claimed by two people by email links
    neither. Returns the links and the problems, both in employee id order."""
    links: dict[str, Link] = {}
    problems: list[str] = []
    for employee_id in sorted(people):
        found = link(employee_id, people[employee_id], index)
        if isinstance(found, Link):
            links[employee_id] = found
        elif found:
            problems.append(f"{employee_id}: {found}")
    claimed: dict[str, list[str]] = defaultdict(list)
    for employee_id, found in links.items():
        claimed[found.scim_user_id].append(employee_id)
    for user_id, claimants in claimed.items():
        if len(claimants) > 1:
            for employee_id in claimants:
                del links[employee_id]
            problems.append(f"{', '.join(claimants)}: all match SCIM user {index.names[user_id]} by "
                            "email: none linked (give the SCIM user an employee number)")
    return links, problems


def _names(user_ids: Iterable[str], index: ScimIndex) -> str:
    return ", ".join(index.names[u] for u in user_ids)
