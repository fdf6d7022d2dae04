"""The README's identity-provider guides, held to what hr2bi does.

The guides ("Connecting an identity provider") tell an admin which IdP attribute to map to
which SCIM attribute; these tests keep that table equal to what ``mappings/fields.yaml``
reads, replay Entra's Test Connection exactly as Microsoft describes it, follow the Entra
guide's mappings end to end (a user and a pushed group become a BI account with the groups,
roles and attributes the tables give), and check that ``/ServiceProviderConfig``'s
``documentationUri`` names a heading the README has.

Entra's probes: Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint
in Microsoft Entra ID" ("Microsoft Entra ID makes requests to fetch a random user and group
... as a part of the Test Connection flow"; the expected answer is 200 with an empty
ListResponse), https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ;
the group lookup's shape (``excludedAttributes=members&filter=displayName+eq+%22...%22``)
is quoted in the Microsoft Q&A thread "Disable displayName filter SCIM Groups API",
https://learn.microsoft.com/en-us/answers/questions/923479/disable-displayname-filter-scim-groups-api .
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from test_okta import ENTERPRISE, GROUP, LIST_RESPONSE, USER

from scim.schema import SPC_SCHEMA
from sync.db import session_scope
from sync.plan.desired import Scope, desired_users
from sync.rules import load_dir

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAPPINGS = ROOT / "mappings"
GUIDE = "## Connecting an identity provider"
READS = "### What hr2bi reads from the identity provider"


# --- the README ---------------------------------------------------------------------------


def readme_headings(text: str) -> list[str]:
    """The Markdown headings of ``text``, outside fenced code blocks."""
    headings: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} +(.+?) *#* *$", line)):
            headings.append(match.group(1))
    return headings


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines))
                if re.match(rf"#{{1,{len(level)}}} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``, as cells."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_github_slug_is_githubs() -> None:
    assert github_slug("Connecting an identity provider") == "connecting-an-identity-provider"
    assert github_slug("HR sources (`[sources]` in `hr2bi.toml`)") == "hr-sources-sources-in-hr2bitoml"
    assert github_slug("OneLogin, JumpCloud, Google Workspace") == "onelogin-jumpcloud-google-workspace"


def test_documentation_uri_names_a_readme_heading(client: FlaskClient, auth: dict[str, str]) -> None:
    config = client.get("/scim/v2/ServiceProviderConfig", headers=auth).get_json()
    assert config["schemas"] == [SPC_SCHEMA]

    anchor = urlsplit(config["documentationUri"]).fragment
    slugs = {github_slug(h): h for h in readme_headings(README.read_text(encoding="utf-8"))}

    assert anchor in slugs, f"#{anchor} is no heading of README.md"
    assert "identity provider" in slugs[anchor].lower()


def test_readme_attribute_table_is_what_fields_yaml_reads() -> None:
    """Every person field with an ``idp:`` path, and nothing else, in the guide's table,
    with exactly the paths ``fields.yaml`` reads."""
    table = table_rows(section(README.read_text(encoding="utf-8"), READS))
    documented: dict[str, tuple[str, ...]] = {}
    for fields_cell, paths_cell, _used_for in table:
        names = re.findall(r"`([^`]+)`", fields_cell)
        paths = re.findall(r"`([^`]+)`", paths_cell)
        if len(names) == 1:  # one field read from several paths, first non-empty wins
            documented[names[0]] = tuple(paths)
            continue
        assert len(names) == len(paths), f"row {fields_cell!r} names {len(names)} fields, {len(paths)} paths"
        documented.update((name, (path,)) for name, path in zip(names, paths, strict=True))

    attribute_map = load_dir(MAPPINGS).attribute_map
    read = {spec.name: tuple(p.text for p in spec.idp_paths)
            for spec in attribute_map.fields.values() if spec.idp_paths}

    assert documented == read


def test_every_guide_names_the_scim_base_url_and_the_endpoint_exists(client: FlaskClient,
                                                                    auth: dict[str, str]) -> None:
    guide = section(README.read_text(encoding="utf-8"), GUIDE)
    assert guide.count("`https://<your host>/scim/v2`") >= 5  # Okta, Entra, OneLogin, JumpCloud, Google
    assert client.get("/scim/v2/Users", headers=auth).status_code == 200


# --- Entra's Test Connection, as Entra sends it -------------------------------------------


def entra_get(client: FlaskClient, auth: dict[str, str], url: str) -> dict:
    response = client.get(url, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [LIST_RESPONSE]
    return body


@pytest.mark.parametrize("encode", [quote_plus, quote], ids=["plus-encoded", "percent-encoded"])
def test_entra_test_connection_probes_answer_empty_lists(client: FlaskClient, auth: dict[str, str],
                                                        encode) -> None:
    # A store that holds users and groups already: the probes must match none of them.
    user = client.post("/scim/v2/Users", headers=auth, json={
        "schemas": [USER], "userName": "existing@northwind.example"}).get_json()
    client.post("/scim/v2/Groups", headers=auth, json={
        "schemas": [GROUP], "displayName": "Existing Group", "members": [{"value": user["id"]}]})

    user_probe = entra_get(client, auth, "/scim/v2/Users?filter="
                           + encode(f'userName eq "{uuid.uuid4()}"'))
    group_probe = entra_get(client, auth, "/scim/v2/Groups?excludedAttributes=members&filter="
                            + encode(f'displayName eq "{uuid.uuid4()}"'))

    assert (user_probe["totalResults"], user_probe["Resources"]) == (0, [])
    assert (group_probe["totalResults"], group_probe["Resources"]) == (0, [])


def test_entra_test_connection_without_the_secret_token_is_refused(client: FlaskClient) -> None:
    # Left blank, Entra sends a token of its own; hr2bi knows only its own tokens.
    response = client.get("/scim/v2/Users?filter=" + quote(f'userName eq "{uuid.uuid4()}"'),
                          headers={"Authorization": "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.x"})
    assert response.status_code == 401


# --- the Entra guide's mappings, end to end -----------------------------------------------


def test_entra_user_mapped_as_the_guide_says_gets_the_tables_account(
        client: FlaskClient, auth: dict[str, str], engine: Engine) -> None:
    """A user with the guide's mappings, and an assigned group named as the tables test it,
    give an IdP-only person the groups, roles and attributes the shipped tables promise."""
    user = client.post("/scim/v2/Users", headers=auth, json={
        "schemas": [USER, ENTERPRISE],
        "externalId": "ana",                                       # mailNickname
        "userName": "Ana.Lopez@northwind.example",                 # userPrincipalName
        "active": "True",                                          # Switch([IsSoftDeleted], ...)
        "displayName": "Ana Lopez",                                # displayName
        "title": "Senior Financial Analyst",                       # jobTitle
        "emails": [{"primary": True, "type": "work", "value": "ana.lopez@northwind.example"}],  # mail
        "name": {"givenName": "Ana", "familyName": "Lopez", "formatted": "Ana Lopez"},
        ENTERPRISE: {"employeeNumber": "7001",                     # employeeId
                     "department": "Finance",                      # department
                     "costCenter": "CC-1100"},                     # the cost center
    }).get_json()
    client.post("/scim/v2/Groups", headers=auth, json={
        "schemas": [GROUP], "externalId": str(uuid.uuid4()), "displayName": "BI Admins",
        "members": [{"value": user["id"]}]})
    client.post("/scim/v2/Groups", headers=auth, json={
        "schemas": [GROUP], "displayName": "BI-Admins", "members": [{"value": user["id"]}]})

    with session_scope(engine) as session:
        (account,), problems = desired_users(session, load_dir(MAPPINGS), Scope())

    assert problems == []
    assert (account.user_name, account.display_name, account.active) == (
        "ana.lopez@northwind.example", "Ana Lopez", True)
    assert {"Finance", "Analysts", "BI Admins"} <= account.groups
    assert account.roles["warehouse"] == "CONNECTION_ADMIN"             # roles.csv: BI Admins
    assert account.attributes["employee_id"] == "7001"
    assert account.attributes["department"] == "Finance"
    assert account.attributes["cost_center"] == "CC-1100"
    assert account.attributes["region"] == "AMER"                       # lookup on the cost center
    # A group under another name reaches the idp_groups attribute but no group or role.
    assert sorted(account.attributes["idp_groups"]) == ["BI Admins", "BI-Admins"]


def test_entra_soft_delete_makes_the_account_inactive(client: FlaskClient, auth: dict[str, str],
                                                     engine: Engine) -> None:
    user = client.post("/scim/v2/Users", headers=auth, json={
        "schemas": [USER, ENTERPRISE], "userName": "leaver@northwind.example", "active": True,
        ENTERPRISE: {"employeeNumber": "7002", "department": "Sales"}}).get_json()
    client.patch(f"/scim/v2/Users/{user['id']}", headers=auth, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})

    with session_scope(engine) as session:
        (account,), _ = desired_users(session, load_dir(MAPPINGS), Scope())

    assert account.user_name == "leaver@northwind.example"
    assert account.active is False
