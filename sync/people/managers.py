"""Manager references: HR names a manager by employee id, which is the person's key.

No copy of the resolution is stored (a join on ``employee_id`` resolves it), so a manager
who appears later resolves at once. A reference to nobody we know — a typo, a manager
outside the feed — is reported by every import, never guessed.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import and_, or_, select
from sqlmodel import Session

from sync.people.snapshot import PEOPLE

SHOWN = 50  # dangling references listed by name in a run's details; all are counted


def dangling_managers(session: Session, problems: list[str]) -> Counter[str]:
    manager = PEOPLE.alias("manager")
    query = (select(PEOPLE.c.employee_id, PEOPLE.c.manager_employee_id, manager.c.id)
             .outerjoin(manager, manager.c.employee_id == PEOPLE.c.manager_employee_id)
             .where(PEOPLE.c.manager_employee_id.is_not(None),
                    or_(manager.c.id.is_(None), and_(manager.c.id == PEOPLE.c.id)))
             .order_by(PEOPLE.c.employee_id))
    dangling = [f"{eid}: manager {mid} is nobody in the identity store" if found is None
                else f"{eid}: is their own manager" for eid, mid, found in session.execute(query)]
    problems.extend(dangling[:SHOWN])
    return Counter({"dangling_managers": len(dangling)})
