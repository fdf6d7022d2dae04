"""Named database locks: one holder at a time, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update
from sqlalchemy.engine import Engine

from sync.locks import acquire, held, holder_of, new_holder, release, renew
from sync.models import Lock, utcnow


def _expire(engine: Engine, name: str) -> None:
    """Make the lease look like its holder died a while ago."""
    with engine.begin() as conn:
        conn.execute(update(Lock).where(Lock.name == name)
                     .values(expires_at=utcnow() - dt.timedelta(seconds=5)))


def test_two_concurrent_takers_one_wins(engine: Engine) -> None:
    start = threading.Barrier(8)

    def take(n: int) -> str | None:
        start.wait()
        lease = acquire(engine, "sync", f"taker-{n}", ttl=60)
        return lease.holder if lease else None

    with ThreadPoolExecutor(8) as pool:
        winners = [h for h in pool.map(take, range(8)) if h]
    assert len(winners) == 1
    assert holder_of(engine, "sync") == winners[0]


def test_released_lock_can_be_taken_again(engine: Engine) -> None:
    first = acquire(engine, "sync", "a")
    assert first is not None
    assert acquire(engine, "sync", "b") is None
    assert release(engine, first)
    assert holder_of(engine, "sync") is None
    assert acquire(engine, "sync", "b") is not None


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_release_it(engine: Engine) -> None:
    crashed = acquire(engine, "sync", "crashed")
    assert crashed is not None
    _expire(engine, "sync")
    assert holder_of(engine, "sync") is None
    taker = acquire(engine, "sync", "taker")
    assert taker is not None and holder_of(engine, "sync") == "taker"
    assert renew(engine, crashed) is None
    assert not release(engine, crashed)
    assert holder_of(engine, "sync") == "taker"


def test_the_holder_renews_and_reacquires_its_own_lock(engine: Engine) -> None:
    lease = acquire(engine, "sync", "me", ttl=10)
    assert lease is not None
    again = acquire(engine, "sync", "me", ttl=120)
    assert again is not None and again.expires_at > lease.expires_at
    renewed = renew(engine, again, ttl=300)
    assert renewed is not None and renewed.expires_at > again.expires_at


def test_locks_with_different_names_are_independent(engine: Engine) -> None:
    assert acquire(engine, "sync", "a") is not None
    assert acquire(engine, "provision:42", "b") is not None


def test_held_keeps_a_short_lease_alive_while_the_work_runs(engine: Engine) -> None:
    with held(engine, "sync", ttl=0.6) as lease:
        assert lease is not None
        time.sleep(1.5)  # well past the ttl: only the heartbeat keeps it
        assert holder_of(engine, "sync") == lease.holder
        assert acquire(engine, "sync", "intruder", ttl=0.6) is None
    assert holder_of(engine, "sync") is None


def test_held_yields_none_while_another_holds_it(engine: Engine) -> None:
    other = acquire(engine, "sync", new_holder("other"))
    assert other is not None
    with held(engine, "sync") as lease:
        assert lease is None
    assert holder_of(engine, "sync") == other.holder


def test_held_releases_when_the_work_fails(engine: Engine) -> None:
    try:
        with held(engine, "sync") as lease:
            assert lease is not None
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    assert holder_of(engine, "sync") is None
