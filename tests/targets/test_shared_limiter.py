"""Several workers, one rate limit per key: the Redis-backed pool (GCRA) keeps workers that
share keys under the BI's limit together, where each worker's own bucket does not.

Against a real Redis (skipped when none answers on 127.0.0.1:6379) and the strict sandbox
served over HTTP with a short window; each worker is a thread with its own pool and its
own HTTP client, sharing nothing in-process (as separate processes would)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from sync.admin.overview import rate_limit
from sync.config import load_settings
from sync.db import session_scope
from sync.sandbox.app import create_sandbox_app
from sync.sandbox.limits import SandboxConfig
from sync.sandbox.state import SandboxStore, load_seed
from sync.targets.build import key_pool, rate_limit_url
from sync.targets.calls import ApiCaller, CallStats
from sync.targets.limiter import KeyPool
from sync.targets.shared_limiter import RedisKeyPool, key_name

redis = pytest.importorskip("redis")
KEYS = ("shared-key-1", "shared-key-2")
WINDOW, LIMIT = 2.0, 20  # the sandbox: 20 requests per key in any 2 s (600 a minute)


@pytest.fixture
def client() -> Iterator[Any]:
    server = redis.Redis.from_url("redis://127.0.0.1:6379/13", socket_timeout=2)
    try:
        server.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    yield server
    server.close()


@pytest.fixture
def sandbox() -> Iterator[str]:
    config = SandboxConfig(api_keys=KEYS, rate_limit=LIMIT, window=WINDOW, retry_after=True)
    app = create_sandbox_app(config, SandboxStore.open(None, load_seed()))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _workers(url: str, pool_for: Callable[[], Any], workers: int, calls: int) -> list[CallStats]:
    stats = [CallStats() for _ in range(workers)]

    def work(mine: CallStats) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            caller = ApiCaller(http, pool_for(), sleep=time.sleep, stats=mine)
            for _ in range(calls):
                caller.send("GET", "/api/v1/user-attributes")

    threads = [threading.Thread(target=work, args=(s,)) for s in stats]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return stats


def test_three_workers_sharing_two_keys_stay_under_the_limit(client: Any, sandbox: str) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    # 90% of the sandbox's rate: client-side pacing cannot see the network's jitter.
    rate = LIMIT * 60 / WINDOW * 0.9
    started = time.monotonic()
    stats = _workers(sandbox, lambda: RedisKeyPool(KEYS, rate, client, namespace=namespace), 3, 24)
    elapsed = time.monotonic() - started
    assert sum(s.calls for s in stats) == 72
    assert sum(s.rate_limited for s in stats) == 0
    # 72 requests over 2 keys at 540/min each: about 4 s; the keys were shared, not idle.
    assert elapsed >= (72 / 2 - 1) * 60 / rate * 0.95
    assert elapsed < 20
    assert client.exists(key_name(namespace, KEYS[0])) and not client.keys(f"{namespace}:*shared-key*")


def test_each_worker_on_its_own_bucket_is_refused(sandbox: str) -> None:
    # What the shared pool prevents: three workers at the same rate, each alone, are 429'd.
    rate = LIMIT * 60 / WINDOW * 0.9
    stats = _workers(sandbox, lambda: KeyPool(KEYS, rate), 3, 24)
    assert sum(s.rate_limited for s in stats) > 0


def test_a_429_parks_the_key_for_every_worker(client: Any) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    one = RedisKeyPool(KEYS, 6000, client, namespace=namespace)
    other = RedisKeyPool(KEYS, 6000, client, namespace=namespace)
    one.park(KEYS[0], 5)
    assert {other.acquire() for _ in range(6)} == {KEYS[1]}


def test_an_unreachable_redis_falls_back_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    pool = RedisKeyPool(KEYS, 6000, dead, namespace="unreachable")
    assert pool.acquire() in KEYS and pool.acquire() in KEYS
    assert [r.message for r in caplog.records].count(
        "the shared rate limiter's Redis is unreachable (ConnectionError): this process limits "
        "itself until it answers again") == 1


def test_workers_share_the_limit_through_the_redis_broker_or_the_setting() -> None:
    base = {"database_url": "sqlite:///unused.db", "bi_api_keys": "k1,k2"}
    assert rate_limit_url(load_settings(**base, broker_url="redis://127.0.0.1:6379/0")) == "redis://127.0.0.1:6379/0"
    assert rate_limit_url(load_settings(**base, broker_url="amqp://guest@127.0.0.1//")) is None
    assert rate_limit_url(load_settings(**base, broker_url="amqp://guest@127.0.0.1//",
                                        rate_limit_url="redis://cache:6379/2")) == "redis://cache:6379/2"
    assert key_pool(load_settings(**base), ["k1", "k2"]) is None  # embedded: the in-process bucket
    shared = key_pool(load_settings(**base, broker_url="redis://127.0.0.1:6379/13"), ["k1", "k2"])
    assert isinstance(shared, RedisKeyPool) and shared.keys == ["k1", "k2"]


def test_the_overview_shows_each_shared_key_s_booking(client: Any, engine: Any) -> None:
    """With the limit shared through Redis, the console's overview knows the headroom: the
    keys a worker just used are booked ahead, the others are free."""
    settings = load_settings(database_url="sqlite:///unused.db", bi_api_keys="k-a,k-b,k-c",
                             bi_rate_per_key=6.0, rate_limit_url="redis://127.0.0.1:6379/13")
    client.flushdb()
    worker = RedisKeyPool(["k-a", "k-b", "k-c"], 6.0, client, namespace="hr2bi")
    assert [worker.acquire(), worker.acquire()] == ["k-a", "k-b"]  # each booked 10 s ahead
    with session_scope(engine) as session:
        found = rate_limit(session, settings)
    assert found["headroom_known"] and found["headroom"] == 1 / 3
    assert [round(k["ahead_seconds"]) for k in found["per_key"]] == [10, 10, 0]
    worker.park("k-c", 30)
    with session_scope(engine) as session:
        assert rate_limit(session, settings)["headroom"] == 0
