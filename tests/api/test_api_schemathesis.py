"""schemathesis over every operation of the admin API's served OpenAPI document
(``/api/v1/openapi.json``), with an admin bearer token and data present (a few people, an
import run and a plan run): no answer is a 5xx, every answer conforms to its documented
schema and has a documented status code. Bounded (few examples an operation, no deadline)
so the whole document runs in well under a minute."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from bi_world import bi_settings, sandbox_server  # noqa: E402  (puts tests/people on sys.path)
from hr_export import person, run_import  # noqa: E402

from sync.db import session_scope  # noqa: E402
from sync.plan.service import plan  # noqa: E402
from sync.tokens import create_token  # noqa: E402
from sync.web import create_app  # noqa: E402
from tests.conftest import empty_tables  # noqa: E402

# Issue 16's URL contract: everything the console shows and does is also an API call.
CONTRACT = {f"{method} /api/v1/{path}" for method, path in (
    ("GET", "overview"), ("GET", "runs"), ("GET", "runs/{id}"), ("GET", "runs/{id}/changes"),
    ("POST", "runs/{id}/approve"), ("POST", "runs/{id}/reject"), ("POST", "provision"),
    ("GET", "people"), ("GET", "people/{key}"), ("GET", "mappings"), ("POST", "mappings/impact"),
    ("GET", "provisioning"), ("GET", "audit/events"), ("GET", "audit/checkpoints"),
    ("GET", "audit/export"), ("GET", "tokens"), ("POST", "tokens"), ("POST", "tokens/{name}/revoke"))}
EXAMPLES = 10  # an operation: enough to find a 5xx on bad input, fast enough for every run
PEOPLE = [person("2001", Department="Finance", Job_Title="Financial Analyst"),
          person("2002", Department="Sales", Job_Title="Account Executive", Last_Name="Okafor"),
          person("2003", Department="Marketing", Worker_Status="Terminated", Termination_Date="03/01/2026")]


@pytest.fixture(scope="module")
def served_api(migrated_engine: Engine, database_url: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app over a database holding a few people, an import run and a plan run, and an
    admin token, with the BI sandbox as its target (module scope: one world for every
    generated case)."""
    empty_tables(migrated_engine)
    work = tmp_path_factory.mktemp("api-world")
    with sandbox_server(work, "--rate-limit", "0") as sandbox:
        config = bi_settings(database_url, sandbox)
        run_import(migrated_engine, work, PEOPLE)
        plan(migrated_engine, config)
        with session_scope(migrated_engine) as session:
            token = create_token(session, "schemathesis-admin", "admin")
        yield create_app(config, migrated_engine), token
    empty_tables(migrated_engine)


def test_every_operation_answers_within_its_documented_schema(served_api: tuple[Flask, str]) -> None:
    # One test walking the document (schemathesis.pytest.from_fixture breaks on pytest 9:
    # it reads the removed Function._nodeid); a failure names the operation and the case.
    app, token = served_api
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    missing = CONTRACT - {operation.label for operation in operations}
    assert not missing, f"operations of the URL contract missing from the document: {sorted(missing)}"
    for operation in operations:
        _fuzz(operation, token)


def _fuzz(operation: Any, token: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def answers(case: Any) -> None:
        # The default checks: no 5xx, a conforming body, a documented status and content type.
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

    try:
        answers()
    except Exception as exc:
        raise AssertionError(f"{operation.label}: {exc}") from exc
