"""Streaming the audit log to a SIEM: every event reaches a real syslog receiver and a real
HEC receiver at least once, resumed from the stored cursor after a kill -9 of the shipper,
and a resent event carries the same id."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from siem_receivers import (
    SYSLOG,
    Received,
    hec_items,
    hec_receiver,
    self_signed,
    syslog_receiver,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.audit.log import record_event
from sync.audit.ship import ShipError, ShippedEvent, committed_after, cursor_of, drain
from sync.audit.ship_hec import HecSink
from sync.audit.ship_syslog import SyslogSink, frame, syslog_message
from sync.audit.ship_targets import sinks_for
from sync.config import load_settings
from sync.db import session_scope
from sync.models import AuditEvent

TOKEN = "test-hec-token"


def record(engine: Engine, count: int, start: int = 0) -> None:
    with session_scope(engine) as session:
        for n in range(start, start + count):
            record_event(session, actor="system:apply", action="bi.user.create",
                         target={"type": "user", "userName": f"p{n}@example.com"},
                         after={"active": True, "note": "line\nbreak ] \" \\"},
                         outcome="failed" if n % 9 == 0 else "applied")


def leaf_hashes(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return {seq: leaf for seq, leaf in session.execute(select(AuditEvent.seq, AuditEvent.leaf_hash))}


def shipped(engine: Engine) -> list[ShippedEvent]:
    with session_scope(engine) as session:
        return committed_after(session, 0, 100)


def test_a_syslog_message_is_rfc_5424_with_the_event_id(engine: Engine) -> None:
    record(engine, 1)
    [event] = shipped(engine)
    message = syslog_message(event, "hr2bi-host")
    found = SYSLOG.match(message)
    assert found is not None, message
    assert found["pri"] == b"108"  # facility 13 (log audit) * 8 + 4 (warning): a failed change
    assert (found["host"], found["app"], found["msgid"]) == (b"hr2bi-host", b"hr2bi", b"bi.user.create")
    assert found["id"].decode() == event.event_id == leaf_hashes(engine)[1]
    assert json.loads(found["msg"])["after"]["note"] == "line\nbreak ] \" \\"
    assert frame(message) == f"{len(message)} ".encode() + message


def test_drain_resumes_from_the_cursor_and_a_refused_batch_is_sent_again(engine: Engine) -> None:
    record(engine, 25)
    bodies: list[str] = []
    answers = iter([200, 503, 200, 200])

    def hec(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/services/collector/event"
        assert request.headers["Authorization"] == f"Splunk {TOKEN}"
        status = next(answers)
        if status == 200:
            bodies.append(request.content.decode())
        return httpx.Response(status, json={"text": "Success" if status == 200 else "Server is busy"})

    sink = HecSink(httpx.Client(transport=httpx.MockTransport(hec)), "https://siem.example:8088/",
                   TOKEN, "h")
    with pytest.raises(ShipError, match="503"):
        drain(engine, [sink], batch=10)
    with session_scope(engine) as session:
        assert cursor_of(session, sink.name) == 10  # the first batch only
    assert drain(engine, [sink], batch=10) == {sink.name: 15}
    seqs = [item["fields"]["seq"] for body in bodies for item in hec_items(body)]
    assert seqs == [str(n) for n in range(1, 26)]
    assert drain(engine, [sink], batch=10) == {sink.name: 0}


def test_an_unreachable_syslog_target_keeps_its_cursor(engine: Engine) -> None:
    record(engine, 3)
    sink = SyslogSink("tcp://127.0.0.1:9", "h", timeout=1.0)  # discard port: nobody listens
    with pytest.raises(ShipError, match="cannot send"):
        drain(engine, [sink], batch=10)
    with session_scope(engine) as session:
        assert cursor_of(session, sink.name) == 0


def test_syslog_over_tls_checks_the_receivers_certificate(engine: Engine, tmp_path: Path) -> None:
    record(engine, 5)
    cert, key = self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with syslog_receiver(tls=server) as (port, received):
        untrusting = SyslogSink(f"tls://127.0.0.1:{port}", "h", timeout=5.0)  # system CAs only
        with pytest.raises(ShipError, match="CERTIFICATE_VERIFY_FAILED"):
            drain(engine, [untrusting], batch=10)
        sink = SyslogSink(f"tls://127.0.0.1:{port}", "h", ca_file=cert, timeout=5.0)
        assert drain(engine, [sink], batch=2) == {sink.name: 5}
        sink.close()
        deadline = time.monotonic() + 10
        while len(received.seqs()) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert received.problems == [] and received.seqs() == {1, 2, 3, 4, 5}


def test_no_secret_in_a_target_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HR2BI_HEC_TOKEN", TOKEN)
    for url in ("https://admin:hunter2@splunk:8088", "https://splunk:8088/?token=hunter2"):
        with pytest.raises(ShipError, match="no credentials") as refused:
            sinks_for(load_settings(audit_ship_hec_url=url))
        assert "hunter2" not in str(refused.value)
    monkeypatch.delenv("HR2BI_HEC_TOKEN")
    with pytest.raises(ShipError, match=r"\$HR2BI_HEC_TOKEN, which is not set"):
        sinks_for(load_settings(audit_ship_hec_url="https://splunk:8088"))


def _shipper(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from sync.cli import main; main()",
                             "audit", "ship", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(until: Callable[[], bool], process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        if process.poll() is not None:
            pytest.fail(f"the shipper exited: {process.stdout.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out: {process.stdout.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.02)


def _check(received: Received, hashes: dict[int, str]) -> None:
    assert received.problems == []
    assert received.seqs() == set(hashes)  # none lost
    for seq, event_id, event in received.messages:  # a resend carries the same id
        assert event_id == hashes[seq] and event["seq"] == seq and event["event_id"] == event_id


@pytest.mark.slow
def test_every_event_reaches_both_receivers_after_a_kill_9(engine: Engine, database_url: str,
                                                           tmp_path: Path, repo_root: Path) -> None:
    record(engine, 300)
    with syslog_receiver(delay=0.001) as (syslog_port, syslog), \
            hec_receiver(TOKEN, delay=0.03) as (hec_port, hec):
        env = {**os.environ, "DATABASE_URL": database_url, "HR2BI_HEC_TOKEN": TOKEN,
               "HR2BI_AUDIT_SHIP_SYSLOG": f"tcp://127.0.0.1:{syslog_port}",
               "HR2BI_AUDIT_SHIP_HEC_URL": f"http://127.0.0.1:{hec_port}",
               "HR2BI_AUDIT_SHIP_BATCH": "10", "HR2BI_AUDIT_SHIP_INTERVAL": "0.1",
               "PYTHONPATH": str(repo_root)}
        env.pop("HR2BI_CONFIG", None)
        first = _shipper(env, tmp_path)
        _wait(lambda: len(hec.seqs()) >= 40 and len(syslog.seqs()) >= 40, first)
        first.send_signal(signal.SIGKILL)  # mid-stream: no chance to finish a batch or a cursor
        first.wait(10)
        assert len(hec.seqs()) < 300  # it really was stopped half way
        record(engine, 50, start=300)  # committed while no shipper runs
        second = _shipper(env, tmp_path)
        _wait(lambda: len(hec.seqs()) == 350 and len(syslog.seqs()) == 350, second)
        record(engine, 5, start=350)  # committed while it streams: shipped as they come
        _wait(lambda: len(hec.seqs()) == 355 and len(syslog.seqs()) == 355, second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0
        hashes = leaf_hashes(engine)
        _check(syslog, hashes)
        _check(hec, hashes)
        print(f"resent after the kill: syslog {len(syslog.messages) - 355}, hec {len(hec.messages) - 355}")
        again = _shipper(env, tmp_path, "--once")  # nothing left to send
        output: Any = again.communicate(timeout=30)[0].decode()
        assert again.returncode == 0 and output.count(": 0 events sent") == 2, output
