"""``GET /api/audit/export``: an admin token downloads a zip that verifies offline, streamed."""

from __future__ import annotations

import io
import json
import time
import types
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from sync.audit.bundle import MANIFEST_FILE, BundleError, manifest_bytes
from sync.audit.checkpoint import generate_key_files, load_public_key
from sync.audit.log import Event, record_events
from sync.audit.store import checkpoint_now
from sync.audit.verify import BUNDLE_FILES, BundleInvalid, Reason, verify_bundle
from sync.cli import main
from sync.config import load_settings
from sync.db import session_scope
from sync.models import AuditEvent
from sync.tokens import create_token, revoke_token
from sync.web import create_app

ORIGIN = "hr2bi.test/audit"
URL = "/api/audit/export"


def events(count: int, start: int = 0) -> list[Event]:
    return [Event(actor="@SUM(1+1)" if n == 0 else "source:workday", action="user.create",
                  target={"type": "user", "id": f"u-{n}", "name": f"person{n}@example.com"},
                  after={"active": True, "title": "=HYPERLINK(\"x\")"}, reason={"rules": ["groups.csv:2"]})
            for n in range(start, start + count)]


def append(engine: Engine, count: int, start: int = 0) -> None:
    with session_scope(engine) as session:
        record_events(session, events(count, start))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_key_files(tmp_path / "keys")


@pytest.fixture
def keyed_app(database_url: str, engine: Engine, keys: tuple[Path, Path]) -> Flask:
    settings = load_settings(database_url=database_url, migrate_on_start=False,
                             audit_signing_key=keys[0], audit_origin=ORIGIN)
    return create_app(settings, engine)


@pytest.fixture
def admin(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {"Authorization": f"Bearer {create_token(session, 'auditor', 'admin')}"}


def download(app: Flask, headers: dict[str, str], query: str = "") -> bytes:
    response = app.test_client().get(f"{URL}{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    return response.get_data()


def unzip(content: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == sorted([*BUNDLE_FILES, MANIFEST_FILE])
        archive.extractall(into)
    return into


def test_download_unpacks_and_verifies(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                       keys: tuple[Path, Path], tmp_path: Path) -> None:
    append(engine, 25)
    bundle = unzip(download(keyed_app, admin), tmp_path / "bundle")
    report = verify_bundle(bundle, public_key=load_public_key(keys[1]))
    assert (report.first_seq, report.last_seq, report.tree_size) == (1, 25, 25)
    assert report.origin == ORIGIN and report.signature_checked
    lines = (bundle / "events.jsonl").read_bytes().splitlines()
    assert json.loads(lines[24])["target"]["name"] == "person24@example.com"
    assert b",'@SUM(1+1),user.create," in (bundle / "events.csv").read_bytes()  # formula-safe


def test_the_cli_verifies_the_zip_as_downloaded(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                                keys: tuple[Path, Path], tmp_path: Path) -> None:
    append(engine, 3)
    (tmp_path / "audit.zip").write_bytes(download(keyed_app, admin))
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "audit.zip"),
                                       "--public-key", str(keys[1])])
    assert result.exit_code == 0, result.output
    assert "OK: events 1..3" in result.output and "signature verified" in result.output
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    bad = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "not.zip")])
    assert bad.exit_code == 1 and "verification FAILED: malformed" in bad.output
    assert "Traceback" not in bad.output


def test_a_tampered_download_fails_verification(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                                keys: tuple[Path, Path], tmp_path: Path) -> None:
    append(engine, 10)
    bundle = unzip(download(keyed_app, admin), tmp_path / "bundle")
    events_file = bundle / "events.jsonl"
    events_file.write_bytes(events_file.read_bytes().replace(b"person4@", b"person9@", 1))
    with pytest.raises(BundleInvalid) as unfixed:
        verify_bundle(bundle, public_key=load_public_key(keys[1]))
    assert unfixed.value.reason == Reason.MANIFEST_MISMATCH
    files = {name: (bundle / name).read_bytes() for name in BUNDLE_FILES}
    (bundle / MANIFEST_FILE).write_bytes(manifest_bytes(files))  # a careful forger
    with pytest.raises(BundleInvalid) as forged:
        verify_bundle(bundle, public_key=load_public_key(keys[1]))
    assert forged.value.reason == Reason.ROOT_MISMATCH


def test_since_and_until_pick_a_consecutive_slice(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                                  tmp_path: Path) -> None:
    append(engine, 4)
    time.sleep(0.01)  # the second batch is stamped strictly later
    append(engine, 3, start=4)
    with session_scope(engine) as session:
        later = session.scalar(select(AuditEvent.time).where(AuditEvent.seq == 5))
    stamp = later.replace(tzinfo=None).isoformat()  # naive: read as UTC
    tail = verify_bundle(unzip(download(keyed_app, admin, f"?since={stamp}"), tmp_path / "tail"))
    head = verify_bundle(unzip(download(keyed_app, admin, f"?until={stamp}&format=csv,ocsf"),
                               tmp_path / "head"))
    assert (tail.first_seq, tail.last_seq, tail.tree_size) == (5, 7, 7)
    assert (head.first_seq, head.last_seq, head.tree_size) == (1, 4, 7)


def test_from_size_proves_the_log_only_grew(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                            keys: tuple[Path, Path], tmp_path: Path) -> None:
    append(engine, 6)
    with session_scope(engine) as session:
        trusted = checkpoint_now(session, keys[0], ORIGIN)  # what the auditor kept
    append(engine, 5, start=6)
    bundle = unzip(download(keyed_app, admin, "?from_size=6"), tmp_path / "bundle")
    report = verify_bundle(bundle, public_key=load_public_key(keys[1]), trusted_checkpoint=trusted)
    assert report.consistent_with == 6 and report.tree_size == 11


def test_the_response_is_streamed_as_it_is_made(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                                tmp_path: Path) -> None:
    append(engine, 6000)  # three batches of events
    with keyed_app.test_request_context(URL, headers=admin):
        response = keyed_app.full_dispatch_request()
    assert response.status_code == 200 and response.is_streamed
    assert isinstance(response.response, types.GeneratorType)  # not a prebuilt body
    assert response.headers["X-Audit-Last-Seq"] == "6000"
    chunks = list(response.response)
    total = b"".join(chunks)
    assert chunks[0].startswith(b"PK\x03\x04") and len(chunks) > 5
    assert max(len(c) for c in chunks) < len(total) / 3
    assert verify_bundle(unzip(total, tmp_path / "b")).last_seq == 6000


def test_no_token_or_a_bad_one_is_401(keyed_app: Flask, engine: Engine) -> None:
    append(engine, 2)
    client = keyed_app.test_client()
    for headers in ({}, {"Authorization": "Bearer hr2bi_0000_nope"}, {"Authorization": "Basic abc"}):
        response = client.get(URL, headers=headers)
        assert response.status_code == 401
        assert response.json is not None and "token" in response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "nope" not in response.get_data(as_text=True)


def test_a_scim_token_is_403_and_a_revoked_admin_401(keyed_app: Flask, engine: Engine, scim_token: str,
                                                     admin: dict[str, str]) -> None:
    append(engine, 2)
    client = keyed_app.test_client()
    response = client.get(URL, headers={"Authorization": f"Bearer {scim_token}"})
    assert response.status_code == 403 and response.json is not None
    assert "admin-scope" in response.json["error"]
    assert scim_token not in response.get_data(as_text=True)
    with session_scope(engine) as session:
        revoke_token(session, "auditor")
    assert client.get(URL, headers=admin).status_code == 401


@pytest.mark.parametrize(("query", "message"), [
    ("?since=yesterday", "not an ISO 8601"),
    ("?until=2026-13-01", "not an ISO 8601"),
    ("?since=2026-11-02&until=2026-11-01", "must be before until"),
    ("?format=xml", "unknown format 'xml'"),
    ("?format=csv,", "unknown format ''"),
    ("?limit=5", "unknown parameter 'limit'"),
    ("?since=2026-01-01&since=2026-02-01", "more than once"),
    ("?from_size=0", "positive integer"),
    ("?from_size=abc", "positive integer"),
    ("?from_size=" + "9" * 5000, "positive integer"),  # past Python's int-string limit
    ("?from_size=%C2%B2", "positive integer"),  # "²": isdigit() yet not int()
    ("?from_size=99", "not within the log's 3"),
])
def test_bad_parameters_are_400_with_the_reason(keyed_app: Flask, engine: Engine, admin: dict[str, str],
                                                query: str, message: str) -> None:
    append(engine, 3)
    response = keyed_app.test_client().get(URL + query, headers=admin)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json is not None and message in response.json["error"]


def test_an_empty_range_is_404(keyed_app: Flask, engine: Engine, admin: dict[str, str]) -> None:
    append(engine, 2)
    response = keyed_app.test_client().get(URL + "?since=2999-01-01", headers=admin)
    assert response.status_code == 404 and "no audit events" in response.json["error"]


def test_without_a_signing_key_it_is_503(client: FlaskClient, engine: Engine, admin: dict[str, str]) -> None:
    append(engine, 2)
    response = client.get(URL, headers=admin)
    assert response.status_code == 503 and "no signing key" in response.json["error"]


def test_an_unusable_key_is_503_without_its_path(database_url: str, engine: Engine,
                                                 admin: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "secret-key.pem").write_text("not a key")
    settings = load_settings(database_url=database_url, migrate_on_start=False,
                             audit_signing_key=tmp_path / "secret-key.pem")
    append(engine, 2)
    response = create_app(settings, engine).test_client().get(URL, headers=admin)
    assert response.status_code == 503 and "secret-key" not in response.get_data(as_text=True)


def test_a_row_altered_in_the_database_stops_the_download_unreadable(
        keyed_app: Flask, engine: Engine, admin: dict[str, str]) -> None:
    """Someone with database access edits an old event: the export refuses to sign it over,
    and what the client received before the stop cannot be opened as a bundle."""
    append(engine, 5000)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:  # the append-only trigger would refuse; a DBA could disable it
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        try:
            conn.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4500"))
        finally:
            if postgres:
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    with keyed_app.test_request_context(URL, headers=admin):
        response = keyed_app.full_dispatch_request()
    assert response.status_code == 200  # the head is over the stored leaf hashes
    received = []
    with pytest.raises(BundleError, match="seq 4500 is not the log's leaf"):
        for chunk in response.response:
            received.append(chunk)
    assert received  # the first batches had left already
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(b"".join(received)))
