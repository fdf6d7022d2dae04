"""Manager references: HR names a manager by employee id; the store links the person.

A reference to nobody we know (a typo, a manager outside the feed) is reported, never
guessed; a manager who appears later is picked up by the next import.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlmodel import Session

from sync.people.snapshot import PEOPLE, update_people

SHOWN = 50  # dangling references listed by name in a run's details; all are counted


def resolve_managers(session: Session, problems: list[str]) -> Counter[str]:
    rows = session.execute(select(PEOPLE.c.id, PEOPLE.c.employee_id, PEOPLE.c.manager_employee_id,
                                  PEOPLE.c.manager_person_id)).all()
    ids = {row.employee_id: row.id for row in rows}
    updates, dangling = [], []
    for row in rows:
        manager = ids.get(row.manager_employee_id) if row.manager_employee_id else None
        if row.manager_employee_id and manager is None:
            dangling.append(f"{row.employee_id}: manager {row.manager_employee_id} is nobody in the identity store")
        if manager == row.id:
            dangling.append(f"{row.employee_id}: is their own manager")
            manager = None
        if manager != row.manager_person_id:
            updates.append({"_id": row.id, "manager_person_id": manager})
    update_people(session, updates)
    problems.extend(sorted(dangling)[:SHOWN])
    return Counter({"dangling_managers": len(dangling)})
