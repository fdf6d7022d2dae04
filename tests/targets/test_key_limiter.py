"""The token bucket per API key and the key pool, on a fake clock (nothing sleeps)."""

from __future__ import annotations

import pytest
from conftest import FakeClock

from sync.targets.limiter import KeyPool, TokenBucket


def test_a_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    bucket = TokenBucket.per_minute(60, now=0.0, burst=2)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(1.0)
    assert bucket.wait(0.5) == pytest.approx(0.5)
    assert bucket.wait(100.0) == 0.0
    bucket.refill(100.0)
    assert bucket.tokens == 2  # never more than the capacity


def test_one_key_at_60_per_minute_sends_one_call_a_second(clock: FakeClock) -> None:
    pool = KeyPool(["k"], 60, clock=clock, sleep=clock.sleep)
    start = clock.now
    sent_at = []
    for _ in range(5):
        pool.acquire()
        sent_at.append(clock.now - start)
    assert sent_at == pytest.approx([0, 1, 2, 3, 4])


def test_several_keys_share_the_load_round_robin(clock: FakeClock) -> None:
    pool = KeyPool(["a", "b", "c"], 60, clock=clock, sleep=clock.sleep)
    start = clock.now
    keys = [pool.acquire() for _ in range(9)]
    assert keys == ["a", "b", "c"] * 3
    assert clock.now - start == pytest.approx(2.0)  # three times the throughput of one key


def test_a_parked_key_is_skipped_while_another_can_send(clock: FakeClock) -> None:
    pool = KeyPool(["a", "b"], 60, clock=clock, sleep=clock.sleep)
    pool.park("a", 30)
    start = clock.now
    keys = [pool.acquire() for _ in range(3)]
    assert keys == ["b", "b", "b"]
    assert clock.now - start == pytest.approx(2.0)
    assert pool.wait_for("a") == pytest.approx(28.0)


def test_when_every_key_is_parked_the_pool_waits_for_the_first_free(clock: FakeClock) -> None:
    pool = KeyPool(["a", "b"], 60, clock=clock, sleep=clock.sleep)
    pool.park("a", 10)
    pool.park("b", 4)
    start = clock.now
    assert pool.acquire() == "b"
    assert clock.now - start == pytest.approx(4.0)


def test_no_limit_never_waits(clock: FakeClock) -> None:
    pool = KeyPool(["a"], None, clock=clock, sleep=clock.sleep)
    assert [pool.acquire() for _ in range(100)] == ["a"] * 100
    assert clock.sleeps == []


def test_a_pool_needs_keys_and_a_positive_rate() -> None:
    with pytest.raises(ValueError):
        KeyPool([], 60)
    with pytest.raises(ValueError):
        KeyPool(["a"], 0)
