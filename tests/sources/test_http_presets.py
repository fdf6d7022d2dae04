"""The HR API presets against real local servers answering in each vendor's documented shapes:
Workday REST (capped pages, an announced total, the refresh-token grant), BambooHR (custom
report and datasets), HiBob (people search), Personio-style client_secret_post, and SAP
SuccessFactors OData dates. The servers are on 127.0.0.1, never a vendor."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session
from test_http_source import HrServer, client, fetch, server, write_sources  # noqa: F401 (fixtures)

from sync.cli import main
from sync.models import Run, StoredPerson
from sync.sources.api import ApiSource, Paging, api_feed
from sync.sources.errors import SourceResponseError
from sync.sources.http import Auth, HrApi

WORKERS = "/ccx/api/v1/acme/workers"
TOKEN = "/ccx/oauth2/acme/token"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def workday_worker(n: int) -> dict[str, Any]:
    """A worker as Workday's REST API (common v1 /workers) describes one."""
    return {"id": f"wid{n:04d}", "descriptor": f"Worker {n}", "href": f"https://wd.example/workers/wid{n:04d}",
            "workerId": str(21000 + n), "primaryWorkEmail": f"w{n}@acme.example", "businessTitle": "Analyst",
            "isManager": False, "primarySupervisoryOrganization": {"id": "org1", "descriptor": "Finance"},
            "location": {"id": "loc1", "descriptor": "London"}, "workerType": {"id": "wt1", "descriptor": "Regular"}}


def workday(server: HrServer, announced: int, available: int, cap: int = 100) -> None:
    """/workers capped at ``cap`` a page whatever ``limit`` asks, announcing ``announced``
    but holding only ``available`` (a server that stops early)."""
    people = [workday_worker(n) for n in range(1, available + 1)]

    def workers(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if request["headers"].get("Authorization") != "Bearer wd-access":
            return 401, {}, {"error": "invalid token"}
        offset, limit = int(request["query"]["offset"][0]), int(request["query"]["limit"][0])
        return 200, {}, {"total": announced, "data": people[offset:offset + min(limit, cap)]}

    def token(request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        form = parse_qs(request["body"])
        good = (form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == ["wd-refresh"]
                and request["headers"].get("Authorization") == basic("wd-client", "wd-secret"))
        if not good:
            return 400, {}, {"error": "invalid_grant"}
        return 200, {}, {"access_token": "wd-access", "token_type": "Bearer", "expires_in": 3600}

    server.route(WORKERS, workers)
    server.route(TOKEN, token)


def workday_config(tmp_path, server: HrServer, size: int = 200) -> dict[str, str]:
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path}"\n[sources.workday]\ntype = "api"\npreset = "workday-rest"\n'
        f'url = "{server.url}{WORKERS}"\npaging = {{ size = {size} }}\n'
        f'[sources.workday.auth]\ntoken_url = "{server.url}{TOKEN}"\nclient_id = "wd-client"\n'
        'client_secret_env = "WD_SECRET"\nrefresh_token_env = "WD_REFRESH"\n')
    return {"HR2BI_CONFIG": str(tmp_path / "hr2bi.toml"), "WD_SECRET": "wd-secret", "WD_REFRESH": "wd-refresh"}


def cli_env(database_url: str, repo_root, extra: dict[str, str]) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(repo_root / "mappings"),
            "HR2BI_MIGRATE_ON_START": "false", **extra}


def people(engine) -> dict[str, StoredPerson]:
    with Session(engine) as session:
        return {p.employee_id: p for p in session.scalars(select(StoredPerson))}


def test_workday_rest_capped_pages_with_a_total_import_everyone(server, engine, database_url, tmp_path, repo_root):
    workday(server, announced=250, available=250)
    env = cli_env(database_url, repo_root, workday_config(tmp_path, server, size=200))
    result = CliRunner().invoke(main, ["import", "api", "workday", "--json"], env=env)
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded" and run["counts"]["records"] == 250 and run["counts"]["added"] == 250
    pages = [r for r in server.requests if r["path"] == WORKERS]
    # Three pages of at most 100, each offset where the last one ended (not at 200).
    assert [r["query"]["offset"] for r in pages] == [["0"], ["100"], ["200"]]
    assert all(r["query"]["limit"] == ["200"] for r in pages)
    assert people(engine)["21250"].fields["department"] == "Finance"


def test_workday_rest_stopping_short_of_its_total_fails_and_changes_nobody(server, engine, database_url,
                                                                           tmp_path, repo_root):
    workday(server, announced=250, available=180)
    env = cli_env(database_url, repo_root, workday_config(tmp_path, server))
    first = CliRunner().invoke(main, ["import", "api", "workday"], env=env)
    assert first.exit_code == 1 and "Traceback" not in first.output
    assert "announced 250 records but sent 180" in first.output and "nobody was changed" in first.output
    assert people(engine) == {}  # a first import too: nothing was let in

    server.routes.clear()
    workday(server, announced=250, available=250)
    assert CliRunner().invoke(main, ["import", "api", "workday"], env=env).exit_code == 0
    before = {k: (p.lifecycle, p.absences, p.content_hash) for k, p in people(engine).items()}
    server.routes.clear()
    workday(server, announced=250, available=180)
    again = CliRunner().invoke(main, ["import", "api", "workday"], env=env)
    assert again.exit_code == 1 and "announced 250 records but sent 180" in again.output
    after = {k: (p.lifecycle, p.absences, p.content_hash) for k, p in people(engine).items()}
    assert after == before and len(after) == 250  # the 70 unread people are not absent, nor leavers
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1  # only the good import ran


def test_refresh_token_grant_end_to_end_and_a_bad_refresh_token(server, client, engine, database_url,
                                                                   tmp_path, repo_root):
    workday(server, announced=3, available=3)
    env = cli_env(database_url, repo_root, workday_config(tmp_path, server))
    result = CliRunner().invoke(main, ["import", "api", "workday", "--json"], env=env)
    assert result.exit_code == 0, result.output
    token_request = next(r for r in server.requests if r["path"] == TOKEN)
    assert token_request["method"] == "POST"
    assert parse_qs(token_request["body"]) == {"grant_type": ["refresh_token"], "refresh_token": ["wd-refresh"]}
    assert sum(r["path"] == TOKEN for r in server.requests) == 1  # one token for every page
    revoked = CliRunner().invoke(main, ["import", "api", "workday"], env={**env, "WD_REFRESH": "revoked"})
    assert revoked.exit_code == 1 and "invalid_grant" in revoked.output and "Traceback" not in revoked.output


def test_a_rotated_refresh_token_is_used_when_the_access_token_expires(server, client):
    issued: list[str] = []

    def token(request):
        form = parse_qs(request["body"])
        issued.append(form["refresh_token"][0])
        n = len(issued)
        return 200, {}, {"access_token": f"a{n}", "refresh_token": f"r{n + 1}", "expires_in": 120}

    server.route("/token", token)
    server.route("/people", lambda r: (200, {}, {"total": 4, "data": [{"id": str(int(r["query"]["offset"][0]) + i)}
                                                                      for i in range(2)]}))
    now = [0.0]

    def clock() -> float:
        now[0] += 100  # every look at the clock is 100 s later: the 120 s token lapses between pages
        return now[0]

    auth = Auth("oauth2", token_url=f"{server.url}/token", client_id="c", client_secret="s",
                refresh_token="r1", grant="refresh_token")
    api = HrApi(client, auth, sleep=lambda s: None, timeout=5, clock=clock)
    source = ApiSource("hr", f"{server.url}/people", records_path="data", fields={"Employee ID": "id"},
                       paging=Paging("offset", size=2, total_path="total"))
    assert len(api_feed(api, source, "full").records) == 4
    assert issued == ["r1", "r2"]
    bearers = [r["headers"]["Authorization"] for r in server.requests if r["path"] == "/people"]
    assert bearers == ["Bearer a1", "Bearer a2"]


def test_client_secret_post_as_personio_v2_wants_it(server, client, tmp_path, monkeypatch):
    server.route("/v2/auth/token", lambda r: (200, {}, {"access_token": "p-access", "token_type": "Bearer",
                                                         "expires_in": 86400}))
    server.route("/v2/persons", lambda r: (200, {}, {"_data": [{"id": "7", "email": "p7@x.example"}]}))
    monkeypatch.setenv("PERSONIO_SECRET", "papi-secret")
    sources = write_sources(tmp_path, '[sources.personio]\ntype = "api"\n'
                                      f'url = "{server.url}/v2/persons"\nrecords_path = "_data"\n'
                                      'fields = { "Employee ID" = "id", "Work Email" = "email" }\n'
                                      f'[sources.personio.auth]\ntype = "oauth2"\ntoken_url = "{server.url}/v2/auth/token"\n'
                                      'client_id = "papi-id"\nclient_secret_env = "PERSONIO_SECRET"\n'
                                      'client_auth = "client_secret_post"\n')
    assert len(fetch(client, sources["personio"].api).records) == 1
    token_request, persons = server.requests
    assert parse_qs(token_request["body"]) == {"grant_type": ["client_credentials"], "client_id": ["papi-id"],
                                               "client_secret": ["papi-secret"]}
    assert "Authorization" not in token_request["headers"]
    assert persons["headers"]["Authorization"] == "Bearer p-access"


def test_paging_without_a_total_follows_a_capped_server(server, client):
    rows = [{"id": str(n)} for n in range(250)]
    server.route("/people", lambda r: (200, {}, rows[int(r["query"]["offset"][0]):][:100]))
    source = ApiSource("hr", f"{server.url}/people", fields={"Employee ID": "id"}, paging=Paging("offset", size=200))
    assert len(fetch(client, source).records) == 250


def test_a_server_that_ignores_the_page_parameter_is_a_clear_error(server, client):
    server.route("/people", lambda r: (200, {}, [{"id": "1"}, {"id": "2"}]))
    source = ApiSource("hr", f"{server.url}/people", fields={"Employee ID": "id"}, paging=Paging("page", size=2))
    with pytest.raises(SourceResponseError, match="same page twice"):
        fetch(client, source)


def bamboo_employee(number: str, supervisor: str, department: str = "Finance") -> dict[str, Any]:
    """A custom report row: ``id`` is BambooHR's internal id, ``employeeNumber`` the company's."""
    return {"id": str(int(number) - 900), "employeeNumber": number, "firstName": f"F{number}", "preferredName": None,
            "lastName": f"L{number}", "workEmail": f"e{number}@acme.example", "department": department,
            "jobTitle": "Analyst", "location": "London", "supervisorId": str(int(supervisor) - 900) if supervisor else "",
            "supervisorEId": supervisor, "status": "Active", "employmentHistoryStatus": "Full-Time",
            "hireDate": "2020-01-02", "terminationDate": "0000-00-00"}


def test_bamboohr_custom_report_current_values_and_managers_by_employee_number(server, engine, database_url,
                                                                            tmp_path, repo_root):
    report = {"title": "hr2bi", "fields": [], "employees": [bamboo_employee("1000", ""),
                                                             bamboo_employee("1001", "1000")]}
    server.route("/api/gateway.php/acme/v1/reports/custom", lambda r: (200, {}, report))
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path}"\n[sources.bamboo]\ntype = "api"\npreset = "bamboohr-custom-report"\n'
        f'url = "{server.url}/api/gateway.php/acme/v1/reports/custom"\nauth = {{ username_env = "BAMBOO_KEY" }}\n')
    env = cli_env(database_url, repo_root, {"HR2BI_CONFIG": str(tmp_path / "hr2bi.toml"), "BAMBOO_KEY": "k"})
    result = CliRunner().invoke(main, ["import", "api", "bamboo", "--json"], env=env)
    assert result.exit_code == 0, result.output
    request = server.requests[0]
    assert "onlyCurrent" not in request["query"]  # BambooHR's default: current values only
    asked = json.loads(request["body"])["fields"]
    assert "supervisorEId" in asked and "supervisorId" not in asked
    assert people(engine)["1001"].manager_employee_id == "1000"
    assert json.loads(result.stdout)["counts"].get("dangling_managers", 0) == 0


def test_bamboohr_datasets_pages_by_next_page_and_checks_the_total(server, client, tmp_path, monkeypatch):
    employees = [bamboo_employee(str(1000 + n), "1000") for n in range(5)]

    def dataset(request):
        page = int(request["query"].get("page", ["1"])[0])
        rows = employees[(page - 1) * 2:page * 2]
        more = page * 2 < len(employees)
        return 200, {}, {"data": rows, "pagination": {
            "total_records": 5, "current_page": page, "total_pages": 3,
            "next_page": f"{server.url}/api/v1/datasets/employee?page={page + 1}" if more else None,
            "prev_page": None}}

    server.route("/api/v1/datasets/employee", dataset)
    monkeypatch.setenv("BAMBOO_KEY", "k")
    text = (f'[sources.bamboo]\ntype = "api"\npreset = "bamboohr-datasets"\n'
            f'url = "{server.url}/api/v1/datasets/employee"\nauth = {{ username_env = "BAMBOO_KEY" }}\n')
    feed = fetch(client, write_sources(tmp_path, text)["bamboo"].api)
    assert [r.values["Employee ID"] for r in feed.records] == [e["employeeNumber"] for e in employees]
    assert all(r["method"] == "POST" for r in server.requests) and len(server.requests) == 3
    body = json.loads(server.requests[0]["body"])
    assert "supervisorEId" in body["fields"] and "show_history" not in body

    employees.pop()  # the dataset now holds 4 but still says 5
    server.requests.clear()
    with pytest.raises(SourceResponseError, match="announced 5 records but sent 4"):
        fetch(client, write_sources(tmp_path, text)["bamboo"].api)


def test_hibob_people_search_preset(server, client, tmp_path, monkeypatch):
    def employee(number: int, manager: int | None, status: str, terminated: str | None) -> dict[str, Any]:
        # humanReadable=APPEND: machine values in place, display names under "humanReadable".
        return {"id": f"33328838840177{number}", "email": f"b{number}@acme.example", "firstName": f"B{number}",
                "surname": "Bob", "work": {"employeeIdInCompany": number, "department": "209192163",
                                           "title": "108", "site": "22", "startDate": "2021-04-01",
                                           "reportsToIdInCompany": manager},
                "internal": {"status": "8", "terminationDate": terminated},
                "humanReadable": {"work": {"department": "Finance", "title": "Analyst", "site": "London"},
                                  "internal": {"status": status}}}

    answer = {"employees": [employee(1, None, "Active", None), employee(2, 1, "Inactive", "2024-05-31")]}
    server.route("/v1/people/search", lambda r: (200, {}, answer))
    monkeypatch.setenv("BOB_TOKEN", "bob-token")
    sources = write_sources(tmp_path, f'[sources.bob]\ntype = "api"\npreset = "hibob"\n'
                                      f'url = "{server.url}/v1/people/search"\n'
                                      'auth = { username = "SERVICE-123", password_env = "BOB_TOKEN" }\n')
    feed = fetch(client, sources["bob"].api)
    leaver = feed.records[1].values
    assert leaver["Employee ID"] == "2" and leaver["Manager ID"] == "1" and leaver["Department"] == "Finance"
    assert leaver["Worker Status"] == "Inactive" and leaver["Termination Date"] == "2024-05-31"
    assert feed.records[0].values["Manager ID"] == ""
    request = server.requests[0]
    body = json.loads(request["body"])
    assert request["method"] == "POST" and body["showInactive"] is True and "work.reportsToIdInCompany" in body["fields"]
    assert request["headers"]["Authorization"] == basic("SERVICE-123", "bob-token")


def test_successfactors_odata_dates(server, engine, database_url, tmp_path, repo_root):
    # SAP SuccessFactors OData v2: {"d": {"results": [...], "__next": "..."}}, Edm.DateTime as /Date(ms)/.
    users = [{"userId": "sf1", "email": "sf1@acme.example", "firstName": "S", "lastName": "F",
              "department": "Finance", "title": "Analyst", "location": "London",
              "hireDate": "/Date(1700000000000)/", "custom01": "/Date(1699999200000+0120)/"}]
    server.route("/odata/v2/User", lambda r: (200, {}, {"d": {"results": users}}))
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path}"\n'
        f'[sources.sf]\ntype = "api"\nurl = "{server.url}/odata/v2/User"\nparams = {{ "$format" = "json" }}\n'
        'optional_columns = ["Preferred First Name", "Cost Center", "Security Level", "Manager ID", '
        '"Worker Status", "Worker Type"]\n'
        'records_path = "d.results"\npaging = { type = "next_link", next_path = "d.__next" }\n'
        '[sources.sf.fields]\n"Employee ID" = "userId"\n"Work Email" = "email"\n"Legal First Name" = "firstName"\n'
        '"Last Name" = "lastName"\nDepartment = "department"\n"Job Title" = "title"\nLocation = "location"\n'
        '"Hire Date" = "hireDate"\n"Termination Date" = "custom01"\n')
    env = cli_env(database_url, repo_root, {"HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")})
    result = CliRunner().invoke(main, ["import", "api", "sf", "--json"], env=env)
    assert result.exit_code == 0, result.output
    fields = people(engine)["sf1"].fields
    assert fields["hire_date"] == dt.date(2023, 11, 14).isoformat()
    assert fields["termination_date"] == dt.date(2023, 11, 15).isoformat()  # +0120: past midnight locally


def test_bamboohr_a_future_dated_transfer_is_applied_on_its_date_not_before(server, engine, database_url,
                                                                        tmp_path, repo_root):
    # BambooHR's custom report, as documented: history fields (department) answer the value
    # in effect today, unless onlyCurrent=false asks for future-dated rows too. A transfer
    # to Marketing is entered today, effective on the 1st of next month.
    effective = dt.date(2026, 7, 1)
    server_today = {"date": dt.date(2026, 6, 20)}

    def report(request):
        future = request["query"].get("onlyCurrent") == ["false"]
        moved = future or server_today["date"] >= effective
        return 200, {}, {"title": "hr2bi", "fields": [], "employees": [
            bamboo_employee("1000", ""), bamboo_employee("1001", "1000", "Marketing" if moved else "Finance")]}

    server.route("/api/gateway.php/acme/v1/reports/custom", report)
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path}"\n[sources.bamboo]\ntype = "api"\npreset = "bamboohr-custom-report"\n'
        f'url = "{server.url}/api/gateway.php/acme/v1/reports/custom"\nauth = {{ username_env = "BAMBOO_KEY" }}\n')
    env = cli_env(database_url, repo_root, {"HR2BI_CONFIG": str(tmp_path / "hr2bi.toml"), "BAMBOO_KEY": "k"})
    for night in (dt.date(2026, 6, 20), dt.date(2026, 6, 30)):
        server_today["date"] = night
        result = CliRunner().invoke(main, ["import", "api", "bamboo", "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert people(engine)["1001"].fields["department"] == "Finance", f"moved early, on {night}"
    server_today["date"] = effective
    result = CliRunner().invoke(main, ["import", "api", "bamboo", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert people(engine)["1001"].fields["department"] == "Marketing"
    assert json.loads(result.stdout)["counts"]["changed"] == 1
