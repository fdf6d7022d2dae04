"""Real local SIEM receivers for the shipper tests: a syslog server reading RFC 5424
messages framed by octet counting over TCP, and an HTTP server answering as Splunk's
HTTP Event Collector does. Each keeps every message it got, duplicates included."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# RFC 5424 6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
SYSLOG = re.compile(
    rb'<(?P<pri>\d{1,3})>1 (?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) (?P<host>\S{1,255}) '
    rb'(?P<app>\S{1,48}) (?P<proc>\S{1,128}) (?P<msgid>\S{1,32}) '
    rb'\[hr2bi@32473 id="(?P<id>[0-9a-f]{64})" seq="(?P<seq>\d+)"\] \xef\xbb\xbf(?P<msg>.*)\Z', re.DOTALL)


@dataclass
class Received:
    """What a receiver got, in arrival order: (seq, event id, event) per message."""

    messages: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seq: int, event_id: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append((seq, event_id, event))

    def seqs(self) -> set[int]:
        with self.lock:
            return {seq for seq, _, _ in self.messages}


def _read_frames(stream: Any) -> Iterator[bytes]:
    """RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, repeated."""
    while True:
        digits = b""
        while (char := stream.read(1)) != b" ":
            if not char:
                return  # the sender closed (or was killed) between two frames
            digits += char
        message = stream.read(int(digits))
        if len(message) < int(digits):
            return  # cut inside a frame: a sender killed mid-write
        yield message


@contextmanager
def _serving(server: socketserver.ThreadingMixIn) -> Iterator[int]:
    """Serve ``server`` on a thread of its own; its port; shut down afterwards."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)  # type: ignore[attr-defined]
    thread.start()
    try:
        yield server.server_address[1]  # type: ignore[attr-defined]
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


@contextmanager
def syslog_receiver(delay: float = 0.0, tls: ssl.SSLContext | None = None
                    ) -> Iterator[tuple[int, Received]]:
    """``tls``: a server context, for a receiver speaking RFC 5425 (syslog over TLS)."""
    received = Received()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for message in _read_frames(self.rfile):
                found = SYSLOG.match(message)
                if found is None:
                    received.problems.append(f"not RFC 5424 as expected: {message[:120]!r}")
                    continue
                event = json.loads(found["msg"])
                if event["event_id"] != found["id"].decode() or event["seq"] != int(found["seq"]):
                    received.problems.append(f"id or seq differ from the event: {message[:120]!r}")
                received.add(int(found["seq"]), found["id"].decode(), event)
                time.sleep(delay)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with _serving(server) as port:
        yield port, received


def hec_items(body: str) -> Iterator[dict[str, Any]]:
    """HEC's batch form: JSON objects one after another, no separator."""
    decoder, at = json.JSONDecoder(), 0
    while at < len(body):
        item, at = decoder.raw_decode(body, at)
        yield item


@contextmanager
def hec_receiver(token: str, delay: float = 0.0) -> Iterator[tuple[int, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # http.server calls do_<METHOD>
            if self.path != "/services/collector/event":
                return self._answer(404, {"text": "Not found", "code": 404})
            if self.headers.get("Authorization") != f"Splunk {token}":
                return self._answer(401, {"text": "Invalid token", "code": 4})
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            time.sleep(delay)
            for item in hec_items(body):
                event = item["event"]
                if item["fields"]["event_id"] != event["event_id"]:
                    received.problems.append(f"fields and event disagree: {item}")
                received.add(int(item["fields"]["seq"]), item["fields"]["event_id"], event)
            self._answer(200, {"text": "Success", "code": 0})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the shipper was killed waiting for this answer: it sends the batch again

    with _serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as port:
        yield port, received


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files (the receiver's; the shipper
    trusts the certificate as its CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "siem.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "siem.crt", directory / "siem.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
