"""schemathesis over every operation of the admin API's served OpenAPI document
(``/api/v1/openapi.json``), with an admin bearer token and data present (a few people, an
import run and a plan run): no answer is a 5xx, every answer conforms to its documented
schema and has a documented status code. Bounded (few examples an operation, no deadline)
so the whole document runs in well under a minute."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from bi_world import bi_settings, sandbox_server  # noqa: E402  (puts tests/people on sys.path)
from hr_export import person, run_import  # noqa: E402

from sync.audit.checkpoint import generate_key_files  # noqa: E402
from sync.db import session_scope  # noqa: E402
from sync.plan.service import plan  # noqa: E402
from sync.tokens import create_token  # noqa: E402
from sync.web import create_app  # noqa: E402
from tests.conftest import empty_tables  # noqa: E402

# Issue 16's URL contract (path parameters by place, not name): everything the console
# shows and does is also an API call.
CONTRACT = {f"{method} /api/v1/{path}" for method, path in (
    ("GET", "overview"), ("GET", "runs"), ("GET", "runs/{}"), ("GET", "runs/{}/changes"),
    ("POST", "runs/{}/approve"), ("POST", "runs/{}/reject"), ("POST", "provision"),
    ("GET", "people"), ("GET", "people/{}"), ("GET", "mappings"), ("POST", "mappings/impact"),
    ("GET", "provisioning"), ("GET", "audit/events"), ("GET", "audit/checkpoints"),
    ("GET", "audit/export"), ("GET", "tokens"), ("POST", "tokens"), ("POST", "tokens/{}/revoke"))}
# Bodies whose validity the document cannot describe (OpenAPI 3.0 cannot constrain an
# object's keys; whether a text is a valid table is for the loader): a documented 422 that
# names the problems is the right answer there, not a schema violation.
SEMANTIC = {"POST /api/v1/mappings/impact"}
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
        private_key, _ = generate_key_files(work / "keys")  # so audit export bundles are signed
        config = bi_settings(database_url, sandbox, audit_signing_key=private_key)
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
    missing = CONTRACT - {re.sub(r"\{[^}]*\}", "{}", operation.label) for operation in operations}
    assert not missing, f"operations of the URL contract missing from the document: {sorted(missing)}"
    failures = [failure for operation in operations if (failure := _fuzz(operation, token))]
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: Any, token: str) -> str | None:
    """What schemathesis found wrong with one operation, or None."""
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def answers(case: Any) -> None:
        # The default checks: no 5xx, a conforming body, a documented status and content type,
        # and valid data accepted, less where a rule spans two fields (OpenAPI cannot say it).
        excluded = [positive_data_acceptance] if _inverted_range(case) or operation.label in SEMANTIC else []
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)

    try:
        answers()
    except (Exception, FailureGroup) as exc:  # noqa: BLE001  (every operation's findings)
        return f"{operation.label}: {exc}"
    return None


def _inverted_range(case: Any) -> bool:
    """``since`` not before ``until``: refused with a 400 that says so."""
    query = case.query or {}
    try:
        since, until = (dt.datetime.fromisoformat(str(query[k])) for k in ("since", "until"))
        return since >= until
    except (KeyError, ValueError, TypeError):
        return False

