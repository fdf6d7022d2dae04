"""Sending one API call with the retries a rate-limited, sometimes failing platform needs.

- 429: park the key for ``Retry-After`` seconds, or a jittered backoff when the header is
  missing (Omni does not document whether it sends one), then send again; a 429 was not
  processed, so every method may be resent.
- 5xx, timeouts, dropped connections: jittered exponential backoff ("full jitter"), then
  send again, but only for idempotent calls. For a create, the outcome is unknown (it may
  have been applied), so :class:`OutcomeUnknown` goes back to the caller, which looks the
  resource up before sending it again.
- Other 4xx: the matching :mod:`sync.targets.errors` error, at once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sync.targets.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    TargetError,
    TargetUnavailable,
)
from sync.targets.limiter import Pool, Sleep

log = logging.getLogger(__name__)

# The request never left: resending cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # failures (5xx, timeouts) tolerated per call, first try included
    rate_limited_attempts: int = 30  # 429s tolerated per call
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def backoff(self, failures: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
        return rng() * min(self.backoff_cap, self.backoff_base * 2 ** max(failures - 1, 0))


@dataclass
class CallStats:
    """What calls to the platform cost: requests sent, 429s met, and requests sent again
    (after a 429, a 5xx or a timeout). The pipeline records them on its run for /metrics."""

    calls: int = 0
    rate_limited: int = 0
    retries: int = 0

    def as_counts(self) -> dict[str, int]:
        return {"bi_calls": self.calls, "rate_limited": self.rate_limited, "bi_call_retries": self.retries}


class ApiCaller:
    """Sends calls through ``http`` with a bearer key from ``pool``; never builds a client."""

    def __init__(self, http: httpx.Client, pool: Pool, policy: RetryPolicy | None = None, *,
                 sleep: Sleep = time.sleep, rng: Callable[[], float] = random.random,
                 stats: CallStats | None = None) -> None:
        self.http, self.pool = http, pool
        self.policy = policy or RetryPolicy()
        self.stats = stats if stats is not None else CallStats()
        self._sleep, self._rng = sleep, rng

    def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, idempotent: bool = True) -> httpx.Response:
        failures = limited = 0
        while True:
            key = self.pool.acquire()
            self.stats.calls += 1
            try:
                response = self.http.request(method, path, params=params, json=json,
                                             headers={"Authorization": f"Bearer {key}"})
            except httpx.TransportError as exc:
                failures += 1
                self._after_failure(method, path, failures, str(exc) or type(exc).__name__,
                                    idempotent or isinstance(exc, _NOT_SENT), exc)
                self.stats.retries += 1
                continue
            status = response.status_code
            if status == 429:
                limited += 1
                self.stats.rate_limited += 1
                self._after_rate_limit(key, response, limited, method, path)
            elif status >= 500:
                failures += 1
                self._after_failure(method, path, failures, f"{status} {error_message(response)}",
                                    idempotent, None)
            elif status >= 400:
                raise error_for(response)
            else:
                return response
            self.stats.retries += 1  # a 429 or a 5xx the helpers above let us send again

    def _after_failure(self, method: str, path: str, failures: int, what: str,
                       may_resend: bool, exc: Exception | None) -> None:
        if failures >= self.policy.attempts:
            raise TargetUnavailable(f"{method} {path} failed {failures} times: {what}") from exc
        self._sleep(self.policy.backoff(failures, self._rng))
        if not may_resend:
            raise OutcomeUnknown(f"{method} {path}: {what}; it may have been applied") from exc
        log.info("retrying %s %s after: %s", method, path, what)

    def _after_rate_limit(self, key: str, response: httpx.Response, limited: int,
                          method: str, path: str) -> None:
        hint = retry_after(response)
        if limited >= self.policy.rate_limited_attempts:
            raise RateLimited(f"{method} {path}: still 429 after {limited} tries", hint)
        self.pool.park(key, hint if hint is not None else self.policy.backoff(limited, self._rng))


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_message(response: httpx.Response) -> str:
    """Omni's ``{"error", "message"}``, or a SCIM error's ``detail``, or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        for name in ("message", "detail", "error"):
            if body.get(name):
                return str(body[name])
    return response.text[:200]


def error_for(response: httpx.Response) -> InvalidRequest:
    message = f"{response.request.method} {response.request.url.path}: {error_message(response)}"
    if response.status_code == 404:
        return NotFound(message)
    if response.status_code == 409:
        return Conflict(message)
    return InvalidRequest(response.status_code, message)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise TargetError(f"{response.request.url.path}: the answer is not JSON") from exc
