"""One rate limit per API key across every process and host: GCRA in Redis.

Several workers applying with the same keys each kept their own token bucket, so together
they sent N times Omni's 60 requests a minute per key. ``RedisKeyPool`` keeps each key's
schedule in Redis instead: the generic cell rate algorithm (GCRA) stores one number per
key, the theoretical arrival time of its next request, and a Lua script (atomic on the
server, on the server's clock, so hosts' clocks never matter) grants a request when it is
due or says how long to wait. ``acquire`` asks for all keys in one call, starting at the
next key in turn, so the load spreads over the keys as the in-process pool spreads it.

A 429 parks the key for everyone (``park``). Redis names carry a hash of the key, never
the key. When Redis cannot be reached, the pool falls back to this process's own bucket
(``sync.targets.limiter.KeyPool``) and says so once: work goes on, the platform's 429s and
the retry policy absorb any excess, and the next acquire tries Redis again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from sync.targets.limiter import KeyPool, Sleep

log = logging.getLogger(__name__)

# KEYS: for each API key its schedule then its park marker. ARGV: interval (ms), burst
# tolerance (ms), index to start at (0-based). Returns {granted index (1-based) or 0,
# wait in ms}.
GCRA = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local count = #KEYS / 2
local start = tonumber(ARGV[3])
local soonest = -1
for step = 0, count - 1 do
  local i = (start + step) % count
  local schedule, parked = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local wait = redis.call('PTTL', parked)
  if wait < 0 then wait = 0 end
  local tat = tonumber(redis.call('GET', schedule) or now_ms)
  if tat < now_ms then tat = now_ms end
  local due = tat - tolerance - now_ms
  if due > wait then wait = due end
  if wait <= 0 then
    local next_tat = tat + interval
    redis.call('SET', schedule, next_tat, 'PX', next_tat - now_ms + 1000)
    return {i + 1, 0}
  end
  if soonest < 0 or wait < soonest then soonest = wait end
end
return {0, soonest}
"""
# KEYS: schedule then park marker of each key. Returns, per key, the milliseconds its
# schedule runs ahead of now and its park time left (reads only).
STATUS = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local out = {}
for i = 1, #KEYS, 2 do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now_ms)
  local ahead = tat - now_ms
  if ahead < 0 then ahead = 0 end
  local parked = redis.call('PTTL', KEYS[i + 1])
  if parked < 0 then parked = 0 end
  table.insert(out, ahead)
  table.insert(out, parked)
end
return out
"""
# KEYS[1]: the park marker; ARGV[1]: milliseconds. Parks for at least that long.
PARK = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], 1, 'PX', ARGV[1]) end
return 1
"""


def key_name(namespace: str, key: str) -> str:
    return f"{namespace}:rate:{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class RedisKeyPool:
    """The ``KeyPool`` interface (``keys``, ``acquire``, ``park``, ``wait_for``) over
    schedules in Redis shared by every process that uses the same keys and namespace."""

    def __init__(self, keys: Sequence[str], requests_per_minute: float | None, client: Any, *,
                 burst: float = 1.0, namespace: str = "hr2bi", sleep: Sleep = time.sleep,
                 max_sleep: float = 1.0) -> None:
        self._local = KeyPool(keys, requests_per_minute, burst=burst, sleep=sleep)
        self._keys = list(keys)
        self._limited = requests_per_minute is not None
        self._interval_ms = int(round(60_000 / requests_per_minute)) if requests_per_minute else 0
        self._tolerance_ms = int(round(max(burst - 1.0, 0.0) * self._interval_ms))
        self._names = [n for k in keys for n in (key_name(namespace, k), key_name(namespace, k) + ":park")]
        self._client = client
        self._acquire = client.register_script(GCRA)
        self._park = client.register_script(PARK)
        self._status = client.register_script(STATUS)
        self._sleep, self._max_sleep = sleep, max_sleep
        self._next = 0
        self._lock = threading.Lock()
        self._degraded = False

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def acquire(self) -> str:
        if not self._limited:
            return self._local.acquire()
        while True:
            with self._lock:
                start = self._next
            try:
                granted, wait_ms = self._acquire(keys=self._names, args=[
                    self._interval_ms, self._tolerance_ms, start])
            except Exception as exc:  # noqa: BLE001  (any Redis failure: the local bucket)
                self._fall_back(exc)
                return self._local.acquire()
            self._recovered()
            if granted:
                index = int(granted) - 1
                with self._lock:
                    self._next = (index + 1) % len(self._keys)
                return self._keys[index]
            self._sleep(min(int(wait_ms) / 1000.0, self._max_sleep))

    def park(self, key: str, seconds: float) -> None:
        self._local.park(key, seconds)
        try:
            park_name = self._names[2 * self._keys.index(key) + 1]
            self._park(keys=[park_name], args=[max(int(seconds * 1000), 1)])
        except Exception as exc:  # noqa: BLE001
            self._fall_back(exc)

    def status(self) -> list[dict[str, Any]]:
        """Per key, in order (never the key itself): how many seconds its schedule runs ahead
        of now, how long a 429 still parks it, and whether it may send at once (``free``).
        Raises on a Redis error."""
        found = self._status(keys=self._names)
        return [{"ahead_seconds": int(found[i]) / 1000.0, "parked_seconds": int(found[i + 1]) / 1000.0,
                 "interval_seconds": self._interval_ms / 1000.0,
                 "free": int(found[i]) <= self._tolerance_ms and not int(found[i + 1])}
                for i in range(0, len(found), 2)]

    def wait_for(self, key: str) -> float:
        return self._local.wait_for(key)

    def _fall_back(self, exc: Exception) -> None:
        if not self._degraded:
            log.warning("the shared rate limiter's Redis is unreachable (%s): this process "
                        "limits itself until it answers again", type(exc).__name__)
            self._degraded = True

    def _recovered(self) -> None:
        if self._degraded:
            log.warning("the shared rate limiter's Redis answers again")
            self._degraded = False
