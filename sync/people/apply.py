"""Fold a validated feed into the identity store: join, move, leave, rehire, convert, link.

``apply_feed`` is the *load* and *sweep* of an import: each valid row becomes (or updates)
one person as HR sees them, linked to the identity provider's SCIM user that is them (the
IdP's values are merged at read time, by ``sync.people.merged``, never stored); a person missing
from a full feed counts an absence and leaves after ``absences_before_leaver`` of them; only
people whose content hash changed are marked dirty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.audit.log import EncodedValue
from sync.bulk import EncodedJSON
from sync.jsontext import dumps, stored
from sync.models import ScimUser, utcnow
from sync.names import name_key
from sync.people.candidate import Candidate
from sync.people.changes import ADD, Decision, Outcome, record_changes
from sync.people.document import Built, build, rfc8785_text
from sync.people.lifecycle import TERMINATED, absent
from sync.people.linking import Link, link_all, load_scim_index
from sync.people.managers import dangling_managers
from sync.people.snapshot import (
    Known,
    insert_events,
    insert_people,
    load_documents,
    load_known,
    person_ids,
    update_people,
)
from sync.rules import (
    AttributeMap,
    Person,
    person_from_hr_row,
)


@dataclass(frozen=True)
class Policy:
    """How the lifecycle is judged: today's date, the pre-hire lead, the absence limit."""

    today: dt.date
    lead_days: int = 0
    absences_before_leaver: int = 2


def apply_feed(session: Session, run_id: int, source: str, full: bool, candidates: Sequence[Candidate],
               seen: set[str], attribute_map: AttributeMap, policy: Policy) -> Outcome:
    """Write the feed's people; ``seen`` also holds ids of rejected rows (present, not absent)."""
    known = load_known(session)
    rekeyed = _conversions(candidates, known)
    links, outcome = _links(session, candidates, known)
    context = _Context(outcome, policy, source, attribute_map, utcnow())
    for candidate in candidates:
        employee_id = candidate.employee_id
        old = known.get(employee_id) or rekeyed.get(employee_id)
        context.person(candidate, old, links.get(employee_id))
    if full:
        # Only this source's people can be missing from its feed: another HR system's
        # contractors are not absent from the employee export.
        present = seen | {old.employee_id for old in rekeyed.values()}
        context.absences([k for k in known.values() if k.source == source and k.employee_id not in present])
    context.finish(session, run_id)
    outcome.counts.update(dangling_managers(session, outcome.problems))
    return outcome


def _conversions(candidates: Sequence[Candidate], known: Mapping[str, Known]) -> dict[str, Known]:
    """New employee ids that are existing people under a new id — a contractor hired as an
    employee, say — found by the same email on a person whose old id is not in this feed."""
    in_feed = {c.employee_id for c in candidates}
    by_email: dict[str, list[Known]] = {}
    for person in known.values():
        if person.email_key and person.employee_id not in in_feed:
            by_email.setdefault(person.email_key, []).append(person)
    found = {}
    for candidate in candidates:
        if candidate.person is None or candidate.employee_id in known:
            continue
        matches = by_email.get(name_key(candidate.person["email"] or ""), [])
        if len(matches) == 1:
            found[candidate.employee_id] = matches[0]
    return found


def _links(session: Session, candidates: Sequence[Candidate],
           known: Mapping[str, Known]) -> tuple[dict[str, Link], Outcome]:
    outcome = Outcome()
    if session.execute(select(ScimUser.id).limit(1)).first() is None:
        return {}, outcome  # no identity provider has pushed anyone yet
    emails = {c.employee_id: (name_key(c.person["email"] or "") or None) if c.person is not None
              else known[c.employee_id].email_key for c in candidates}
    links, problems = link_all(emails, load_scim_index(session))
    outcome.problems.extend(problems)
    return links, outcome


@lru_cache(maxsize=256)
def _sources_json(sources: tuple[tuple[str, str], ...]) -> EncodedJSON:
    """A person's field sources as stored: nearly everyone's are the same (all "hr" but a
    default or two), so each distinct set is encoded once."""
    return EncodedJSON(dumps(dict(sources)))


@lru_cache(maxsize=1024)
def _joined_json(state: str, why: str) -> EncodedJSON:
    """A joiner's history details: a handful of distinct verdicts, each encoded once."""
    return EncodedJSON(dumps({"state": state, "why": why}))


class _Context:
    """The rows and events one import will write, gathered before a single bulk write."""

    def __init__(self, outcome: Outcome, policy: Policy, source: str, attribute_map: AttributeMap,
                 now: dt.datetime) -> None:
        self.outcome, self.policy, self.source = outcome, policy, source
        self.attribute_map, self.now = attribute_map, now
        self.changed: dict[int, tuple[Known, dict[str, Any]]] = {}

    def person(self, candidate: Candidate, old: Known | None, link: Link | None) -> None:
        if candidate.person is None:
            assert old is not None  # only rows the store already holds come unbuilt
            if link is None and old.scim_user_id is None and not old.absences and (
                    old.review_on is None or self.policy.today < old.review_on):
                self.outcome.counts["unchanged"] += 1
                return
            candidate = replace(candidate, person=person_from_hr_row(candidate.hr_record, self.attribute_map))
        hr = candidate.person
        assert hr is not None
        # HR's view only: the IdP's current values are merged when the person is read
        # (sync.people.merged), so a later push can never be undone by a stale copy here.
        merged = hr
        built = build(merged.fields, self.policy.today, self.policy.lead_days)
        row = self._row(candidate, merged, built, link)
        if old is None:
            self._joined(row, built, link)
        elif row["content_hash"] != old.content_hash or old.employee_id != row["employee_id"]:
            self.changed[old.id] = (old, row)
        elif (link.scim_user_id if link else None) != old.scim_user_id or old.absences:
            self.outcome.updates.append({**row, "_id": old.id})
            self.outcome.counts["unchanged"] += 1
            self._link_event(row, old)
        else:
            self.outcome.counts["unchanged"] += 1

    def _row(self, candidate: Candidate, merged: Person, built: Built, link: Link | None) -> dict[str, Any]:
        document, standing = built.document, built.standing
        return {
            "employee_id": merged.employee_id, "source": self.source,
            "email_key": name_key(document.get("email") or "") or None,
            "hr_record": candidate.hr_record, "fields": document,
            "field_sources": _sources_json(tuple(merged.sources.items())), "content_hash": built.content_hash,
            "lifecycle": standing.state, "employment_type": document.get("employment_type"),
            "provision_from": standing.provision_from, "record_hash": candidate.record_hash,
            "review_on": built.review_on,
            "scim_user_id": link.scim_user_id if link else None,
            "link_reason": link.reason if link else None,
            "manager_employee_id": document.get("manager_id"), "absences": 0, "updated_at": self.now,
        }

    def _joined(self, row: dict[str, Any], built: Built, link: Link | None) -> None:
        # The fields' text is made once, for the people table and the audit event alike (the
        # stored text, never hashed: the event's hash covers ``canonical``).
        fields = row["fields"]
        canonical = rfc8785_text(fields, built.text)  # not None: the document is plain JSON
        text = EncodedJSON(stored(fields, plain=canonical is not None))
        self.outcome.inserts.append({**row, "fields": text, "hr_record": EncodedJSON(stored(row["hr_record"])),
                                     "dirty": True, "changed_at": self.now, "created_at": self.now})
        self.outcome.counts["added"] += 1
        self.outcome.counts["marked"] += 1
        standing = built.standing
        self._event(row["employee_id"], "joined", _joined_json(standing.state, standing.reason))
        after = fields if canonical is None else EncodedValue(canonical, text)
        self.outcome.decisions.append(Decision(ADD, row["employee_id"], fields.get("email"), None, after,
                                               standing.reason))
        if link:
            self.outcome.counts["linked"] += 1
            self._event(row["employee_id"], "linked", {"scim_user_id": link.scim_user_id, "why": link.reason})

    def _link_event(self, row: Mapping[str, Any], old: Known) -> None:
        if row["scim_user_id"] == old.scim_user_id:
            return
        if row["scim_user_id"]:
            self.outcome.counts["linked"] += 1
            self._event(row["employee_id"], "linked", {"scim_user_id": row["scim_user_id"], "why": row["link_reason"]})
        else:
            self._event(row["employee_id"], "unlinked", {"scim_user_id": old.scim_user_id})

    def absences(self, missing: Iterable[Known]) -> None:
        for old in missing:
            if old.lifecycle == TERMINATED:
                continue
            self.outcome.counts["missing"] += 1
            count = old.absences + 1
            left = absent(count, self.policy.absences_before_leaver)
            if left is None:
                self.outcome.updates.append({"_id": old.id, "absences": count, "updated_at": self.now})
                self._event(old.employee_id, "absent", {"absences": count})
            else:
                self.changed[old.id] = (old, {"absences": count, "standing": left})

    def _event(self, employee_id: str, event: str, details: dict[str, Any] | str) -> None:
        self.outcome.event(employee_id, event, details)

    def finish(self, session: Session, run_id: int) -> None:
        record_changes(self.outcome, self.changed, load_documents(session, self.changed), self.now)
        update_people(session, self.outcome.updates)
        insert_people(session, self.outcome.inserts)
        ids = person_ids(session)
        insert_events(session, ({"person_id": ids[eid], "run_id": run_id, "event": event,
                                 "details": details, "at": self.now}
                                for eid, event, details in self.outcome.events))
