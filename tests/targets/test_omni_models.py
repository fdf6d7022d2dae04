"""Issue 14: model ids come from Omni (``GET /api/v1/models``, cursor paging, deleted
models skipped), never from the sandbox's seed; a ``roles.csv`` row naming a model or
connection Omni lacks is an error naming the row."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEYS, http_for
from flask import Flask
from openapi_contract import Contract

from sync.plan.role_targets import (
    UnknownRoleTarget,
    require_role_targets,
    role_target_problems,
)
from sync.rules import load_dir
from sync.targets.build import configured_models
from sync.targets.omni import OmniTarget

AUTH = {"Authorization": f"Bearer {KEYS[0]}"}
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_the_sandbox_lists_models_with_cursor_paging_as_the_spec_says(sandbox: Flask, seed: dict[str, Any]) -> None:
    api, contract = sandbox.test_client(), Contract.load()
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"pageSize": "3", **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/v1/models", headers=AUTH, query_string=query)
        assert response.status_code == 200
        request = httpx.Request("GET", "https://acme.omniapp.co/api/v1/models", params=query, headers=AUTH)
        assert contract.response_problems(request, httpx.Response(200, json=response.json)) == []
        body = response.json
        seen += [m["name"] for m in body["records"]]
        pages += 1
        assert body["pageInfo"]["totalRecords"] == len(seed["models"])
        if not body["pageInfo"]["hasNextPage"]:
            assert body["pageInfo"]["nextCursor"] is None
            break
        cursor = body["pageInfo"]["nextCursor"]
    assert sorted(seen) == sorted(m["name"] for m in seed["models"]) and pages == -(-len(seen) // 3)
    assert api.get("/api/v1/models", headers=AUTH, query_string={"pageSize": "0"}).status_code == 400
    one = api.get("/api/v1/models", headers=AUTH, query_string={"name": "finance"}).json["records"]
    assert [m["name"] for m in one] == ["finance"]


def test_the_target_pages_through_every_model_and_skips_deleted_ones(
        make_sandbox: Callable[..., Flask], make_omni: Callable[..., OmniTarget]) -> None:
    app = make_sandbox()
    store = app.config["store"]
    store.change(lambda s: s.models[0].__setitem__("deletedAt", "2026-02-01T00:00:00.000Z"))
    gone = store.read(lambda s: s.models[0]["name"])
    sent: list[httpx.Request] = []
    omni = make_omni(http_for(app, event_hooks={"request": [sent.append]}))
    omni.models_page_size = 2

    names = {m.name for m in omni.models()}

    assert gone not in names and len(names) == len(store.read(lambda s: s.models)) - 1
    listing = [r for r in sent if r.url.path == "/api/v1/models"]
    assert len(listing) > 1 and "cursor" in listing[1].url.params
    assert [p for r in sent for p in Contract.load().request_problems(r)] == []
    omni.models()
    assert len([r for r in sent if r.url.path == "/api/v1/models"]) == len(listing)  # listed once


def test_a_roles_row_naming_a_model_omni_lacks_is_an_error_naming_the_row(
        sandbox: Flask, make_omni: Callable[..., OmniTarget], tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    roles = mappings / "roles.csv"
    lines = roles.read_text(encoding="utf-8").splitlines()
    lines += ["*,warehouse,no_such_model,VIEWER", "*,no_such_connection,company,VIEWER"]
    roles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tables = load_dir(mappings)
    omni = make_omni(http_for(sandbox))

    problems = role_target_problems(tables, omni)

    assert len(problems) == 2
    assert problems[0].startswith(f"roles.csv:{len(lines) - 1}: ") and "no_such_model" in problems[0]
    assert problems[1].startswith(f"roles.csv:{len(lines)}: ") and "no_such_connection" in problems[1]
    with pytest.raises(UnknownRoleTarget, match=f"roles.csv:{len(lines) - 1}"):
        require_role_targets(tables, omni)
    assert role_target_problems(load_dir(MAPPINGS), omni) == []  # the shipped tables fit the sandbox


def test_the_models_file_is_only_an_override(tmp_path: Path) -> None:
    assert configured_models(None) is None  # default: Omni's own list
    path = tmp_path / "models.json"
    path.write_text('{"models": [{"id": "m-1", "name": "company", "connection": "warehouse"}]}')
    assert [m.id for m in configured_models(path) or []] == ["m-1"]


def test_query_topics_and_restricted_querier_are_one_role(tmp_path: Path) -> None:
    from sync.rules.tables import Role, canonical_role
    from sync.targets.omni_wire import role_assignment
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    roles = mappings / "roles.csv"
    roles.write_text(roles.read_text(encoding="utf-8") + "title eq \"Quiz\",warehouse,sales,QUERY_TOPICS\n", encoding="utf-8")
    rule = load_dir(mappings).roles[-1]
    assert rule.role is Role.RESTRICTED_QUERIER and rule.role.name == "RESTRICTED_QUERIER"
    assert [r.name for r in Role] == ["NO_ACCESS", "VIEWER", "RESTRICTED_QUERIER", "QUERIER", "MODELER",
                                      "CONNECTION_ADMIN"]  # the alias is no seventh role
    assert canonical_role("QUERY_TOPICS") == canonical_role("restricted querier") == "RESTRICTED_QUERIER"
    assert canonical_role("MY_CUSTOM_ROLE") == "MY_CUSTOM_ROLE"
    names, models = {"c1": "warehouse"}, {"m1": "sales"}
    shapes = [{"connectionId": "c1", "modelId": "m1", "roleName": "QUERY_TOPICS", "from": {"type": "User Role"}},
              {"connectionId": "c1", "modelId": "m1", "roleName": "RESTRICTED_QUERIER", "from": {"type": "USER"}},
              {"connectionId": "c1", "modelId": "m1", "roleName": "QUERY_TOPICS", "from": {"type": "user"}}]
    read = {role_assignment(row, "USER", names, models) for row in shapes}
    assert len(read) == 1 and next(iter(read)).role == "RESTRICTED_QUERIER"
    group = role_assignment({"connectionId": "c1", "modelId": "m1", "roleName": "VIEWER"}, "GROUP", names, models)
    assert (group.origin, group.model) == ("GROUP", "sales")  # a group answer without from
    base = role_assignment({**shapes[0], "from": {"type": "Base Role"}}, "USER", names, models)
    assert base.origin == "BASE"
