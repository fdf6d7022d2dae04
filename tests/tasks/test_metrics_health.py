"""/metrics (Prometheus text, figures from the database and the web process) and /healthz
(database and broker)."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sync.config import Settings
from sync.db import session_scope
from sync.models import Lock, Run, utcnow
from sync.web import create_app

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "grace@example.com"}


def _samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def test_scim_requests_are_counted_by_method_and_status(client: FlaskClient, auth: dict[str, str]) -> None:
    key = ("hr2bi_scim_requests_total", (("method", "POST"), ("status", "201")))
    conflict = ("hr2bi_scim_requests_total", (("method", "POST"), ("status", "409")))
    before = _samples(client)
    client.post("/scim/v2/Users", json=USER, headers=auth)
    client.post("/scim/v2/Users", json=USER, headers=auth)
    after = _samples(client)
    assert after[key] - before.get(key, 0) == 1
    assert after[conflict] - before.get(conflict, 0) == 1


def test_runs_by_kind_and_outcome_come_from_the_database(client: FlaskClient, engine: Engine) -> None:
    with session_scope(engine) as session:
        for kind, status in [("import", "succeeded"), ("import", "succeeded"), ("import", "held"),
                             ("apply", "failed")]:
            session.add(Run(kind=kind, status=status,
                            counts={"rate_limited": 3, "bi_calls": 10} if kind == "apply" else {}))
    samples = _samples(client)
    assert samples[("hr2bi_runs", (("kind", "import"), ("status", "succeeded")))] == 2
    assert samples[("hr2bi_runs", (("kind", "import"), ("status", "held")))] == 1
    assert samples[("hr2bi_runs", (("kind", "apply"), ("status", "failed")))] == 1
    assert samples[("hr2bi_bi_rate_limited", ())] == 3
    assert samples[("hr2bi_bi_calls", ())] == 10


def test_queue_lag_is_the_age_of_the_oldest_queued_push(client: FlaskClient, engine: Engine) -> None:
    assert _samples(client)[("hr2bi_queue_lag_seconds", ())] == 0
    now = utcnow()
    with engine.begin() as conn:
        for user, age in (("a", 40), ("b", 5)):
            conn.execute(insert(Lock).values(name=f"push:{user}", holder="t",
                                             acquired_at=now - dt.timedelta(seconds=age),
                                             expires_at=now + dt.timedelta(seconds=300)))
        conn.execute(insert(Lock).values(name="sync", holder="t",  # not a push: not counted
                                         acquired_at=now - dt.timedelta(seconds=999),
                                         expires_at=now + dt.timedelta(seconds=300)))
    samples = _samples(client)
    assert samples[("hr2bi_pushes_queued", ())] == 2
    assert 40 <= samples[("hr2bi_queue_lag_seconds", ())] < 999


def test_healthz_in_the_embedded_mode(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "embedded"}


def test_healthz_says_when_the_broker_is_unreachable(settings: Settings, engine: Engine) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = f"redis://:s3cret@127.0.0.1:{port}/0"
    client = create_app(settings.model_copy(update={"broker_url": secret}), engine).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}
    assert b"s3cret" not in response.data


def test_healthz_with_a_reachable_redis(settings: Settings, engine: Engine) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client = create_app(settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/14"}),
                        engine).test_client()
    assert client.get("/healthz").get_json()["broker"] == "ok"
