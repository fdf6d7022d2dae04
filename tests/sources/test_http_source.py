"""The HTTP importer against a real HTTP server on 127.0.0.1 (never a vendor, never the internet)."""

from __future__ import annotations

import base64
import json
import threading
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sync.config import Settings
from sync.sources.api import ApiSource, Paging, api_feed
from sync.sources.config import load_sources
from sync.sources.errors import SourceResponseError, SourceUnavailable
from sync.sources.http import Auth, HrApi, Retry

Answer = tuple[int, dict[str, str], Any]


class HrServer:
    """A tiny HR API: ``route(path, handler)`` where handler(request) -> (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, Any]], Answer]] = {}
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                           "headers": dict(self.headers), "body": self.rfile.read(length).decode()}
                server.requests.append(request)
                status, headers, body = server.routes[url.path](request)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def route(self, path: str, handler: Callable[[dict[str, Any]], Answer]) -> None:
        self.routes[path] = handler


@pytest.fixture
def server() -> Iterator[HrServer]:
    hr = HrServer()
    thread = threading.Thread(target=hr.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield hr
    hr.http.shutdown()
    hr.http.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def employees(first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": str(n), "email": f"p{n}@x.example", "name": {"last": f"L{n}"}} for n in range(first, first + count)]


FIELDS = {"Employee ID": "id", "Work Email": "email", "Last Name": "name.last"}


def fetch(client: httpx.Client, source: ApiSource, auth: Auth | None = None, sleeps: list[float] | None = None):
    api = HrApi(client, auth or source.auth, source.retry, (sleeps if sleeps is not None else []).append, 5)
    return api_feed(api, source, "full")


def test_page_number_paging_reads_every_page(server, client):
    people = employees(1, 25)

    def page(request):
        number, size = int(request["query"]["page"][0]), int(request["query"]["per_page"][0])
        return 200, {}, {"data": people[(number - 1) * size:number * size]}

    server.route("/people", page)
    source = ApiSource("hr", f"{server.url}/people", records_path="data", fields=FIELDS,
                       paging=Paging("page", size=10))
    feed = fetch(client, source)
    assert [r.values["Employee ID"] for r in feed.records] == [str(n) for n in range(1, 26)]
    assert feed.records[0].values == {"Employee ID": "1", "Work Email": "p1@x.example", "Last Name": "L1"}
    assert len(server.requests) == 3 and feed.unit == "record"


def test_offset_paging(server, client):
    people = employees(1, 7)
    server.route("/people", lambda r: (200, {}, people[int(r["query"]["offset"][0]):][:int(r["query"]["limit"][0])]))
    feed = fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, paging=Paging("offset", size=3)))
    assert len(feed.records) == 7 and len(server.requests) == 3


def test_cursor_paging(server, client):
    pages = {"": (employees(1, 2), "c2"), "c2": (employees(3, 2), "c3"), "c3": (employees(5, 1), None)}

    def answer(request):
        records, cursor = pages[request["query"].get("cursor", [""])[0]]
        return 200, {}, {"results": records, "meta": {"next": cursor}}

    server.route("/people", answer)
    source = ApiSource("hr", f"{server.url}/people", records_path="results", fields=FIELDS,
                       paging=Paging("cursor", cursor_path="meta.next"))
    assert [r.values["Employee ID"] for r in fetch(client, source).records] == ["1", "2", "3", "4", "5"]


def test_next_link_in_the_body_and_in_the_link_header(server, client):
    server.route("/a", lambda r: (200, {}, {"value": employees(1, 2), "@odata.nextLink": "/b?skip=2"}))
    server.route("/b", lambda r: (200, {"Link": f'<{server.url}/c>; rel="next"'}, {"value": employees(3, 2)}))
    server.route("/c", lambda r: (200, {}, {"value": employees(5, 1)}))
    body_link = ApiSource("hr", f"{server.url}/a", records_path="value", fields=FIELDS,
                          paging=Paging("next_link", next_path="@odata.nextLink"))
    assert len(fetch(client, body_link).records) == 4  # /b's next is in a header this source ignores
    header_link = ApiSource("hr", f"{server.url}/b", records_path="value", fields=FIELDS, paging=Paging("next_link"))
    assert len(fetch(client, header_link).records) == 3


def test_bearer_and_basic_auth_are_sent(server, client):
    server.route("/people", lambda r: (200, {}, employees(1, 1)))
    fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, auth=Auth("bearer", token="t0k")))
    fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, auth=Auth("basic", username="key", password="x")))
    assert server.requests[0]["headers"]["Authorization"] == "Bearer t0k"
    assert server.requests[1]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"key:x").decode()


def test_oauth2_client_credentials(server, client):
    server.route("/token", lambda r: (200, {}, {"access_token": "issued", "token_type": "Bearer", "expires_in": 3600}))
    server.route("/people", lambda r: (200, {}, employees(1, 1)))
    auth = Auth("oauth2", token_url=f"{server.url}/token", client_id="app", client_secret="s3cret", scope="workers")
    fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, auth=auth))
    token_request, people_request = server.requests
    assert token_request["method"] == "POST"
    assert parse_qs(token_request["body"]) == {"grant_type": ["client_credentials"], "scope": ["workers"]}
    assert token_request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"app:s3cret").decode()
    assert people_request["headers"]["Authorization"] == "Bearer issued"


def test_429_and_503_are_retried_honouring_retry_after(server, client):
    answers = iter([(429, {"Retry-After": "7"}, {"error": "slow down"}), (503, {}, b"busy"), (200, {}, employees(1, 2))])
    server.route("/people", lambda r: next(answers))
    sleeps: list[float] = []
    feed = fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, retry=Retry(5, backoff=0.5)), sleeps=sleeps)
    assert len(feed.records) == 2
    assert sleeps[0] == 7 and 0.8 <= sleeps[1] <= 1.2  # Retry-After, then 2 x 0.5 s backoff, jittered


def test_retries_give_up_with_a_clear_error(server, client):
    server.route("/people", lambda r: (502, {}, b"bad gateway"))
    with pytest.raises(SourceUnavailable, match="answered 502 Bad Gateway 3 times"):
        fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS, retry=Retry(3, backoff=0)))


def test_an_unreachable_source_is_a_clear_error(client):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(SourceUnavailable, match="cannot reach the HR API after 2 tries"):
        fetch(client, ApiSource("hr", f"http://127.0.0.1:{port}/people", fields=FIELDS, retry=Retry(2, backoff=0)))


def test_garbage_and_refusals_are_clear_errors(server, client):
    server.route("/html", lambda r: (200, {"Content-Type": "text/html"}, b"<html>Sign in</html>"))
    server.route("/shape", lambda r: (200, {}, {"data": {"not": "a list"}}))
    server.route("/denied", lambda r: (401, {}, {"error": "invalid key"}))
    with pytest.raises(SourceResponseError, match="not JSON"):
        fetch(client, ApiSource("hr", f"{server.url}/html", fields=FIELDS))
    with pytest.raises(SourceResponseError, match="no list of records at 'data'"):
        fetch(client, ApiSource("hr", f"{server.url}/shape", records_path="data", fields=FIELDS))
    with pytest.raises(SourceResponseError, match="refused the credentials"):
        fetch(client, ApiSource("hr", f"{server.url}/denied", fields=FIELDS))


def test_a_field_no_record_has_is_a_missing_column(server, client):
    server.route("/people", lambda r: (200, {}, [{"id": "1", "email": "a@x.example"}]))
    feed = fetch(client, ApiSource("hr", f"{server.url}/people", fields=FIELDS))
    assert feed.columns == ("Employee ID", "Work Email")


def write_sources(tmp_path, text: str):
    path = tmp_path / "hr2bi.toml"
    path.write_text(text)
    return load_sources(settings=Settings(**tomllib.loads(path.read_text())))[1]


def test_bamboohr_custom_report_preset(server, client, tmp_path, monkeypatch):
    report = {"title": "hr2bi", "fields": [], "employees": [
        {"id": "4", "employeeNumber": "1001", "firstName": "Ana", "preferredName": None, "lastName": "Lee",
         "workEmail": "ana@x.example", "department": "Finance", "jobTitle": "Analyst", "location": "London",
         "supervisorId": "1000", "status": "Active", "employmentHistoryStatus": "Full-Time",
         "hireDate": "2020-01-02", "terminationDate": "0000-00-00"}]}
    server.route("/api/gateway.php/acme/v1/reports/custom", lambda r: (200, {}, report))
    monkeypatch.setenv("BAMBOO_KEY", "k3y")
    sources = write_sources(tmp_path, f'[sources.bamboo]\ntype = "api"\npreset = "bamboohr-custom-report"\n'
                                      f'url = "{server.url}/api/gateway.php/acme/v1/reports/custom"\n'
                                      'auth = {{ username_env = "BAMBOO_KEY" }}\n'.replace("{{", "{").replace("}}", "}"))
    bamboo = sources["bamboo"]
    feed = fetch(client, bamboo.api)
    [record] = feed.records
    assert record.values["Employee ID"] == "1001" and record.values["Termination Date"] == ""
    assert record.values["Preferred First Name"] == ""
    request = server.requests[0]
    assert request["method"] == "POST" and request["query"]["format"] == ["JSON"]
    assert "employeeNumber" in json.loads(request["body"])["fields"]
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"k3y:x").decode()
    assert "Cost Center" in bamboo.options.optional_columns


def test_workday_raas_preset(server, client, tmp_path):
    entry = {"Employee_ID": "21001", "Work_Email": "logan@x.example", "Legal_First_Name": "Logan",
             "Last_Name": "McNeil", "Worker_Type": "Employee", "Hire_Date": "2000-01-01"}
    server.route("/ccx/service/customreport2/acme/lmcneil/hr2bi", lambda r: (200, {}, {"Report_Entry": [entry]}))
    sources = write_sources(tmp_path, '[sources.workday]\ntype = "api"\npreset = "workday-raas"\n'
                                      f'url = "{server.url}/ccx/service/customreport2/acme/lmcneil/hr2bi"\n'
                                      '[sources.workday.auth]\ntype = "bearer"\ntoken = "wd"\n')
    feed = fetch(client, sources["workday"].api)
    assert feed.records[0].values["Employee ID"] == "21001"
    assert server.requests[0]["query"]["format"] == ["json"]
    assert "Location" not in feed.columns  # the report has no such column: the guard will hold it


def test_hr2bi_import_api_end_to_end(server, engine, database_url, tmp_path, repo_root):
    from click.testing import CliRunner

    from sync.cli import main

    workers = [{"Employee_ID": str(n), "Work_Email": f"w{n}@x.example", "Legal_First_Name": "W",
                "Last_Name": "Lee", "Department": "Sales", "Business_Title": "Rep", "Location": "Berlin",
                "Cost_Center": "cc-1", "Manager_Employee_ID": "", "Worker_Status": "Active",
                "Worker_Type": "Employee", "Hire_Date": "2021-03-01", "Termination_Date": "",
                "Preferred_First_Name": ""} for n in range(1, 4)]
    server.route("/raas", lambda r: (200, {}, {"Report_Entry": workers}))
    (tmp_path / "hr2bi.toml").write_text(
        f'[sources]\nrejects_dir = "{tmp_path}"\n[sources.workday]\ntype = "api"\npreset = "workday-raas"\n'
        f'url = "{server.url}/raas"\nauth = {{ type = "basic", username = "isu", password_env = "WD_PASSWORD" }}\n')
    env = {"DATABASE_URL": database_url, "HR2BI_MAPPINGS_DIR": str(repo_root / "mappings"),
           "HR2BI_MIGRATE_ON_START": "false", "HR2BI_CONFIG": str(tmp_path / "hr2bi.toml")}
    unset = CliRunner().invoke(main, ["import", "api", "workday"], env=env)
    assert unset.exit_code == 1 and "WD_PASSWORD" in unset.output and "Traceback" not in unset.output
    result = CliRunner().invoke(main, ["import", "api", "workday", "--json"], env={**env, "WD_PASSWORD": "pw"})
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded" and run["counts"]["added"] == 3 and run["details"]["unit"] == "record"
    assert server.requests[-1]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"isu:pw").decode()


def test_an_api_feed_without_a_mapped_field_is_held(server, client, engine, tmp_path, repo_root):
    from sync.rules import load_dir
    from sync.sources.importer import ImportOptions, import_feed

    workers = [{"id": str(n), "mail": f"w{n}@x.example"} for n in range(3)]
    server.route("/people", lambda r: (200, {}, workers))
    source = ApiSource("api-hr", f"{server.url}/people", fields={"Employee ID": "id", "Work Email": "mail",
                                                                  "Department": "dept"})
    amap = load_dir(repo_root / "mappings").attribute_map
    run = import_feed(engine, fetch(client, source), amap, ImportOptions(source="api-hr", rejects_dir=tmp_path))
    assert run.status == "held" and "Department" in run.reason
    optional = ImportOptions(source="api-hr", rejects_dir=tmp_path, optional_columns=tuple(
        c for spec in amap.fields.values() for c in spec.hr_columns if c not in ("Employee ID", "Work Email")))
    assert import_feed(engine, fetch(client, source), amap, optional).status == "succeeded"
