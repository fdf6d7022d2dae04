"""The console's people pages, from the outside: a signed-in viewer searches by each key
and opens a person's page (fields with their source, the account they should have and the
one they have, the mapping rows behind a role, their history); an unknown key is a 404."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "people"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from bi_world import example_rows, okta_user  # noqa: E402
from hr_export import run_import  # noqa: E402

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
CONTRACTOR = {"schemas": [CORE], "userName": "zoe.angstrom@partner.example", "active": True,
              "name": {"givenName": "Zoë", "familyName": "Ångström"},
              "emails": [{"value": "zoe@partner.example", "primary": True, "type": "work"}]}


def people_world(engine: Engine, tmp_path: Path, app: Flask, scim_token: str) -> dict[str, Any]:
    """The Northwind export imported; Hiro Silva (1001, VP Finance) pushed by Okta under a
    login of his own, and a contractor only the identity provider knows."""
    rows = example_rows()
    run_import(engine, tmp_path, rows)
    hiro = okta_user(next(r for r in rows if r["Employee ID"] == "1001"))
    hiro["userName"] = "hsilva@northwind.example"
    auth = {"Authorization": f"Bearer {scim_token}"}
    client = app.test_client()
    pushed = client.post("/scim/v2/Users", json=hiro, headers=auth)
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    zoe = client.post("/scim/v2/Users", json=CONTRACTOR, headers=auth)
    assert zoe.status_code == 201, zoe.get_data(as_text=True)
    return {"hiro_scim_id": pushed.get_json()["id"], "zoe_scim_id": zoe.get_json()["id"]}


def _keys(page: str) -> list[str]:
    return re.findall(r'href="/console/people/([^"?]+)"', page.split('id="people"', 1)[1])


def test_search_finds_people_by_each_key(signed_in: Callable[[str], FlaskClient], oidc_app: Flask,
                                         engine: Engine, tmp_path: Path, scim_token: str) -> None:
    world = people_world(engine, tmp_path, oidc_app, scim_token)
    viewer = signed_in("viewer@example.com")
    found = {q: _keys(viewer.get("/console/people", query_string={"q": q}).get_data(as_text=True))
             for q in ("1001", "hiro.silva@NORTHWIND", "hsilva@", "Silv", "hiro silva", "Ångs", "zoe@partner",
                       "A\u030angs", "no-such-person-at-all")}
    assert found["1001"] == ["1001", "1001"]  # the id and the name link to the same page
    assert "1001" in found["hiro.silva@NORTHWIND"] and "1001" in found["hsilva@"]  # HR email, IdP login
    assert "1001" in found["Silv"] and "1001" in found["hiro silva"]
    assert found["Ångs"] == [f"idp:{world['zoe_scim_id']}"] * 2 == found["zoe@partner"]
    assert found["A\u030angs"] == found["Ångs"]  # typed decomposed (NFD), stored composed
    assert found["no-such-person-at-all"] == []
    everyone = viewer.get("/console/people").get_data(as_text=True)
    assert "302 people" in everyone and "Next" in everyone  # 301 HR people and one IdP-only, paged
    live = viewer.get("/console/people?q=1001", headers={"HX-Request": "true"})
    assert live.status_code == 200 and 'id="results"' in live.get_data(as_text=True)


def _row(page: str, marker: str) -> str:
    match = re.search(rf"<tr {marker}.*?</tr>", page, re.S)
    assert match, marker
    return match.group(0)


def test_a_persons_page_explains_where_everything_came_from(
        signed_in: Callable[[str], FlaskClient], oidc_app: Flask, engine: Engine, tmp_path: Path,
        scim_token: str) -> None:
    people_world(engine, tmp_path, oidc_app, scim_token)
    page = signed_in("viewer@example.com").get("/console/people/1001")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Hiro Silva" in html and "employee number 1001 matches" in html
    # Provenance: the login is the identity provider's (fields.yaml prefers it), the rest HR's.
    assert "hsilva@northwind.example" in _row(html, 'data-field="user_name"')
    assert "identity provider" in _row(html, 'data-field="user_name"')
    assert ">HR<" in _row(html, 'data-field="department"')
    # Should have (from the tables), has (nothing applied yet).
    assert 'id="account"' in html and "hr2bi has not applied an account for them yet" in html
    # A role and the row that gives it, with the value the row read.
    role = _row(html, 'data-kind="role" data-name="warehouse/finance"')
    assert "<b>QUERIER</b>" in role and "<code>roles.csv:14</code>" in role and '"Finance"' in role
    assert "lost: VIEWER from <code>roles.csv:32</code>" in role  # the executives' row, outranked
    assert "groups.csv:" in _row(html, 'data-kind="group" data-name="Finance"')
    # History, newest first: the IdP's user.create after HR's person.add.
    events = html.split('id="events"', 1)[1]
    assert events.index("user.create") < events.index("person.add")


def test_idp_only_people_and_unknown_keys(signed_in: Callable[[str], FlaskClient], oidc_app: Flask,
                                          engine: Engine, tmp_path: Path, scim_token: str) -> None:
    world = people_world(engine, tmp_path, oidc_app, scim_token)
    viewer = signed_in("viewer@example.com")
    zoe = viewer.get(f"/console/people/idp:{world['zoe_scim_id']}").get_data(as_text=True)
    assert "Zoë Ångström" in zoe and "not in any HR feed" in zoe
    assert "identity provider" in _row(zoe, 'data-field="family_name"')
    for key in ("no-such-person", "idp:00000000-0000-0000-0000-000000000000", "idp:"):
        missing = viewer.get(f"/console/people/{key}")
        assert missing.status_code == 404 and "No such person" in missing.get_data(as_text=True), key


def test_signed_out_people_pages_are_the_signin_page(app: Flask) -> None:
    for path in ("/console/people?q=a", "/console/people/1001", "/console/mappings"):
        answer = app.test_client().get(path, follow_redirects=True)
        assert answer.request.path == "/console/signin", path
