"""Client-side rate limiting: a token bucket per API key and a pool that picks the key that
can send soonest. Omni allows 60 requests per minute per key and suggests several keys for
more throughput; a 429 parks the key for ``Retry-After`` seconds (or a backoff).

The clock and sleep are injected, so tests run on a fake clock and never sleep for real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; starts full."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def per_minute(cls, requests: float, now: float, burst: float = 1.0) -> TokenBucket:
        return cls(rate=requests / 60.0, capacity=burst, tokens=burst, updated=now)

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def wait(self, now: float) -> float:
        """Seconds until one token is there (0 if one is there now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        self.tokens -= 1.0


class Pool(Protocol):
    """What a caller needs of a key pool: this process's ``KeyPool``, or the one shared by
    every process through Redis (``sync.targets.shared_limiter.RedisKeyPool``)."""

    @property
    def keys(self) -> list[str]: ...

    def acquire(self) -> str: ...

    def park(self, key: str, seconds: float) -> None: ...


class KeyPool:
    """API keys, each with its own bucket; ``acquire`` returns the key free soonest,
    rotating among keys that are equally free so the load spreads evenly."""

    def __init__(self, keys: Sequence[str], requests_per_minute: float | None = 60.0, *,
                 burst: float = 1.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if not keys:
            raise ValueError("at least one API key is needed")
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("the rate limit must be positive (or None for no limit)")
        self._clock, self._sleep = clock, sleep
        now = clock()
        self._keys = list(keys)
        self._buckets = ({} if requests_per_minute is None else  # None: no limit
                         {k: TokenBucket.per_minute(requests_per_minute, now, burst) for k in keys})
        self._parked_until = dict.fromkeys(keys, now)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def acquire(self) -> str:
        """Block until a key may send, take its token and return it."""
        while True:
            with self._lock:
                key, wait = self._soonest(self._clock())
                if wait <= 0:
                    self._next = (self._keys.index(key) + 1) % len(self._keys)
                    if key in self._buckets:
                        self._buckets[key].take(self._clock())
                    return key
            self._sleep(wait)

    def park(self, key: str, seconds: float) -> None:
        """The platform said 429: send nothing with this key for ``seconds``."""
        with self._lock:
            now = self._clock()
            self._parked_until[key] = max(self._parked_until[key], now + seconds)

    def wait_for(self, key: str) -> float:
        with self._lock:
            return self._wait(key, self._clock())

    def _wait(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        return max(self._parked_until[key] - now, bucket.wait(now) if bucket else 0.0)

    def _soonest(self, now: float) -> tuple[str, float]:
        count = len(self._keys)
        order = [self._keys[(self._next + i) % count] for i in range(count)]
        key = min(order, key=lambda k: self._wait(k, now))  # first of equals: round robin
        return key, self._wait(key, now)
