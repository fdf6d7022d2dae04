"""Canonical name keys: recompute every userName, email and group-name key (issue 12)

The keys used to be ``lower()`` of the name; they are now ``sync.names.name_key`` (NFKC,
case-folded, trimmed, default-ignorables removed), so "José" in NFC and NFD, full-width
letters and stray spaces are one name. Recomputed here: scim_users.user_name_key,
scim_groups.display_name_key, scim_user_values.value_key, people.email_key,
bi_users.user_name_key, bi_groups.name_key and account_owners.user_name_key.

Rows that were two names before and are one now (the duplicates this revision exists
for) cannot share a unique key: the first of them (the one whose key is already
canonical, else the oldest) takes the canonical key, the others keep their old key and
are logged as a warning, naming both, for an operator to merge or delete. They stay
reachable by id; a later write to them answers 409 uniqueness, which tells the IdP.

NOTE: down_revision is '0006' in this branch; revision 0007 is written in parallel and
this one is re-parented onto it when both are merged.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

from sync.names import name_key

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# (table, primary key, key column, the column the key derives from, oldest-first order)
UNIQUE_KEYS = (
    ("scim_users", "id", "user_name_key", "user_name", "created_at"),
    ("scim_groups", "id", "display_name_key", "display_name", "created_at"),
    ("bi_users", "user_name_key", "user_name_key", "user_name", "updated_at"),
    ("bi_groups", "name_key", "name_key", "name", "updated_at"),
    ("account_owners", "user_name_key", "user_name_key", "user_name_key", "updated_at"),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table, pk, key, source, order in UNIQUE_KEYS:
        _rekey_unique(bind, table, pk, key, source, order, name_key)
    _rekey_plain(bind, "scim_user_values", "id", "value_key", "value", lambda v: name_key(v)[:512])
    _rekey_people(bind)


def downgrade() -> None:
    # Back to lower-cased keys, with the same collision rule.
    bind = op.get_bind()
    for table, pk, key, source, order in UNIQUE_KEYS:
        _rekey_unique(bind, table, pk, key, source, order, str.lower)
    _rekey_plain(bind, "scim_user_values", "id", "value_key", "value", lambda v: v.lower()[:512])


def _rekey_unique(bind: Any, table: str, pk: str, key: str, source: str, order: str,
                  derive: Callable[[str], str]) -> None:
    t = sa.table(table, *(sa.column(c) for c in {pk, key, source, order}))
    rows = bind.execute(sa.select(t.c[pk], t.c[key], t.c[source]).order_by(t.c[order], t.c[pk])).all()
    current = {row[0]: row[1] for row in rows}
    wanted = {row[0]: derive(row[2]) for row in rows}
    final = _without_collisions(table, rows, current, wanted)
    changed = [(ident, new) for ident, new in final.items() if new != current[ident]]
    # Two steps, so a key moving to a value another row is leaving never collides midway.
    for number, (ident, _new) in enumerate(changed):
        bind.execute(sa.update(t).where(t.c[pk] == ident).values({key: f"\x01rekey-0008-{number}"}))
    for number, (_ident, new) in enumerate(changed):
        bind.execute(sa.update(t).where(t.c[key] == f"\x01rekey-0008-{number}").values({key: new}))


def _without_collisions(table: str, rows: Iterable[Any], current: dict[Any, str],
                        wanted: dict[Any, str]) -> dict[Any, str]:
    """Each row's new key, unique: per canonical key one winner, the others keep theirs."""
    claims: dict[str, list[Any]] = {}
    for ident, _key, _source in rows:
        claims.setdefault(wanted[ident], []).append(ident)
    final: dict[Any, str] = {}
    for key, idents in claims.items():
        winner = next((i for i in idents if current[i] == key), idents[0])
        final[winner] = key
        for loser in (i for i in idents if i != winner):
            final[loser] = current[loser]
            log.warning("%s: %r and %r now share the canonical name key %r; %r keeps its old "
                        "key %r until one of them is merged or deleted", table, winner, loser, key,
                        loser, current[loser])
    # A kept old key can be another row's new key: that row keeps its old key too (its old
    # key was unique), until nothing clashes.
    clashing = True
    while clashing:
        holders: dict[str, list[Any]] = {}
        for ident, key in final.items():
            holders.setdefault(key, []).append(ident)
        moved = [i for idents in holders.values() if len(idents) > 1 for i in idents if final[i] != current[i]]
        for ident in moved:
            log.warning("%s: %r keeps its old key %r: its canonical key %r is held", table, ident,
                        current[ident], final[ident])
            final[ident] = current[ident]
        clashing = bool(moved)
    return final


def _rekey_plain(bind: Any, table: str, pk: str, key: str, source: str,
                 derive: Callable[[str], str]) -> None:
    t = sa.table(table, sa.column(pk), sa.column(key), sa.column(source))
    for ident, old, value in bind.execute(sa.select(t.c[pk], t.c[key], t.c[source])).all():
        new = None if value is None else derive(value)
        if new != old:
            bind.execute(sa.update(t).where(t.c[pk] == ident).values({key: new}))


def _rekey_people(bind: Any) -> None:
    t = sa.table("people", sa.column("id"), sa.column("email_key"), sa.column("fields", sa.JSON))
    for ident, old, fields in bind.execute(sa.select(t.c.id, t.c.email_key, t.c.fields)).all():
        new = name_key(str((fields or {}).get("email") or "")) or None
        if new != old:
            bind.execute(sa.update(t).where(t.c.id == ident).values(email_key=new))
