"""What stands in front of the sandbox's API: bearer keys, the per-key rate limit (a
sliding window of one minute, as Omni counts "60 requests per minute per key") and the
optional fault injection used by convergence tests."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sync.sandbox.state import SandboxError

WINDOW = 60.0


@dataclass(frozen=True)
class SandboxConfig:
    api_keys: tuple[str, ...]
    rate_limit: int = 60  # requests per minute per key; 0 for none
    retry_after: bool = True  # send Retry-After with a 429 (Omni does not document it)
    reactivation: str = "new-empty"  # users.REACTIVATIONS: new-empty, carry-over or same-id
    role_answers: str = "spec"  # "docs": model-role answers in the shapes Omni's docs show
    error_rate: float = 0.0  # share of requests answered 500 before anything is done
    slow_rate: float = 0.0  # share of writes answered only after slow_seconds (done, though)
    slow_seconds: float = 0.0
    random_seed: int | None = None
    window: float = WINDOW  # seconds the rate limit counts over (tests shorten it)

    def __post_init__(self) -> None:
        if self.reactivation not in ("new-empty", "carry-over", "same-id"):
            raise ValueError(f"reactivation must be new-empty, carry-over or same-id, not {self.reactivation!r}")
        if self.role_answers not in ("spec", "docs"):
            raise ValueError(f"role_answers must be spec or docs, not {self.role_answers!r}")


class Gate:
    """Authenticates, rate-limits and injects faults; thread-safe."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self._clock = config, clock
        self._sent: dict[str, deque[float]] = {k: deque() for k in config.api_keys}
        self._random = random.Random(config.random_seed)
        self._lock = threading.Lock()

    def admit(self, authorization: str | None) -> None:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or key not in self._sent:
            raise SandboxError(401, "Authentication required")
        with self._lock:
            self._count(key)
            if self._random.random() < self.config.error_rate:
                raise SandboxError(500, "Injected failure")

    def _count(self, key: str) -> None:
        limit = self.config.rate_limit
        if limit <= 0:
            return
        now, sent = self._clock(), self._sent[key]
        window = self.config.window
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) >= limit:
            raise RateLimited(math.ceil(sent[0] + window - now) if self.config.retry_after else None)
        sent.append(now)

    def slow_down(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """After a write was done: maybe answer late, so the client times out."""
        with self._lock:
            slow = self._random.random() < self.config.slow_rate
        if slow:
            sleep(self.config.slow_seconds)


class RateLimited(SandboxError):
    def __init__(self, retry_after: int | None) -> None:
        super().__init__(429, "Rate limit exceeded")
        self.retry_after = retry_after


def keys_of(values: Iterable[str]) -> tuple[str, ...]:
    keys = tuple(v for v in values if v)
    if not keys:
        raise ValueError("the sandbox needs at least one API key")
    return keys
