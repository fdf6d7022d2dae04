"""Named locks in the database (the ``locks`` table), so one sync runs at a time whatever the
number of workers, beats or machines — they share nothing else but the database.

A lock is a lease: it names its holder and expires. A holder renews it while it works
(:func:`held` does so from a heartbeat thread), so a live holder keeps it however long the
work takes, and a crashed one (a killed worker, a lost machine) loses it ``ttl`` seconds
after its last renewal, when anyone may take it over. Expiry compares the clocks of the
machines that share the database: keep them in NTP sync and ``ttl`` well above any skew.

Portable on purpose (one row per name, a conditional UPDATE or an INSERT that the primary
key refuses to a second taker): the same code and the same tests on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from sync.models import Lock, utcnow

log = logging.getLogger(__name__)

SYNC = "sync"
DEFAULT_TTL = 60.0


@dataclass(frozen=True)
class Lease:
    """A lock this process holds: its name, who holds it (unique per taking) and until when."""

    name: str
    holder: str
    expires_at: dt.datetime


def new_holder(label: str = "") -> str:
    """A holder name unique to this taking, readable in the table: host, pid, a nonce."""
    base = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return f"{label}@{base}"[:200] if label else base


def acquire(engine: Engine, name: str, holder: str, ttl: float = DEFAULT_TTL) -> Lease | None:
    """Take ``name`` for ``ttl`` seconds, or renew it if ``holder`` has it; None when
    someone else holds it and has not let it expire."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl)
    with engine.begin() as conn:
        taken = conn.execute(
            update(Lock)
            .where(Lock.name == name, (Lock.expires_at < now) | (Lock.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=expires))
        if taken.rowcount == 1:
            return Lease(name, holder, expires)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Lock).values(name=name, holder=holder, acquired_at=now,
                                             expires_at=expires))
    except IntegrityError:
        return None  # a live holder has it (or took it a moment ago)
    return Lease(name, holder, expires)


def renew(engine: Engine, lease: Lease, ttl: float = DEFAULT_TTL) -> Lease | None:
    """Extend a lease still held; None when it expired and someone else took it."""
    expires = utcnow() + dt.timedelta(seconds=ttl)
    with engine.begin() as conn:
        kept = conn.execute(update(Lock).where(Lock.name == lease.name, Lock.holder == lease.holder)
                            .values(expires_at=expires))
    return Lease(lease.name, lease.holder, expires) if kept.rowcount == 1 else None


def release(engine: Engine, lease: Lease) -> bool:
    """Give the lock back; False if it was no longer ours (it expired and was taken over)."""
    with engine.begin() as conn:
        gone = conn.execute(delete(Lock).where(Lock.name == lease.name, Lock.holder == lease.holder))
    return gone.rowcount == 1


def holder_of(engine: Engine, name: str) -> str | None:
    """Who holds ``name`` now (an expired lease counts as nobody)."""
    with engine.connect() as conn:
        row = conn.execute(select(Lock.holder, Lock.expires_at).where(Lock.name == name)).first()
    if row is None or _aware(row.expires_at) < utcnow():
        return None
    return str(row.holder)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes for DateTime(timezone=True) columns: they are UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@contextmanager
def held(engine: Engine, name: str, ttl: float = DEFAULT_TTL, label: str = "") -> Iterator[Lease | None]:
    """``with held(engine, "sync") as lease:`` — lease is None when someone else holds it.

    While the block runs a daemon thread renews the lease every ``ttl / 3`` seconds, so
    only a holder that stopped running loses it.
    """
    lease = acquire(engine, name, new_holder(label), ttl)
    if lease is None:
        yield None
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(engine, lease, ttl, stop),
                            name=f"lock-{name}", daemon=True)
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()
        release(engine, lease)


def _heartbeat(engine: Engine, lease: Lease, ttl: float, stop: threading.Event) -> None:
    while not stop.wait(ttl / 3):
        try:
            if renew(engine, lease, ttl) is None:
                log.error("lost the %s lock (held by %s): it expired and was taken over",
                          lease.name, lease.holder)
                return
        except DBAPIError as exc:
            # A database blip must not end the heartbeat: the next beat tries again before
            # the lease runs out.
            log.warning("could not renew the %s lock: %s", lease.name, exc)
