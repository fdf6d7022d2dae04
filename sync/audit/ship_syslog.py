"""Audit events to a syslog receiver: RFC 5424 messages over TCP (RFC 6587) or TLS
(RFC 5425), each framed by octet counting (``LENGTH SP MESSAGE``), so a message may hold
any byte, line breaks included.

A message: ``<PRI>1 TIMESTAMP HOSTNAME hr2bi - MSGID [hr2bi@32473 id=".." seq=".."] BOM JSON``.
PRI is facility 13 ("log audit", RFC 5424 table 1) with severity 6 (informational) or 4
(warning, for a failed change); MSGID is the action; the structured element carries the
event's stable id for receivers that drop duplicates, and the message is the event as
JSON with its ``event_id``. 32473 is the private enterprise number RFC 5612 reserves for
documentation: hr2bi has none of its own.

Syslog over TCP has no acknowledgement: a batch counts as sent once the kernel took it.
"""

from __future__ import annotations

import datetime as dt
import json
import select
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from sync.audit.events import outcome_status
from sync.audit.ship import ShipError, ShippedEvent

FACILITY_LOG_AUDIT = 13
INFORMATIONAL, WARNING = 6, 4
ENTERPRISE_ID = 32473  # RFC 5612: the documentation PEN
APP_NAME = "hr2bi"
BOM = b"\xef\xbb\xbf"  # RFC 5424 6.4: a UTF-8 MSG starts with the BOM


def _sd_value(text: str) -> str:
    # RFC 5424 6.3.3: '"', '\' and ']' are escaped in a PARAM-VALUE.
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _token(text: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, at most ``limit`` long, "-" if empty."""
    kept = "".join(c if 33 <= ord(c) <= 126 else "_" for c in text)[:limit]
    return kept or "-"


def _timestamp(value: str) -> str:
    """RFC 5424 6.2.3: RFC 3339 with at most six fractional digits; UTC as Z."""
    when = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def syslog_message(shipped: ShippedEvent, hostname: str) -> bytes:
    """One RFC 5424 message (without its frame)."""
    event = shipped.event
    status_id, _ = outcome_status(event["outcome"])
    pri = FACILITY_LOG_AUDIT * 8 + (WARNING if status_id == 2 else INFORMATIONAL)
    data = (f'[{APP_NAME}@{ENTERPRISE_ID} id="{_sd_value(shipped.event_id)}" '
            f'seq="{shipped.seq}"]')
    header = (f"<{pri}>1 {_timestamp(event['time'])} {_token(hostname, 255)} {APP_NAME} - "
              f"{_token(str(event['action']), 32)} {data} ")
    body = json.dumps(shipped.record(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return header.encode() + BOM + body.encode()


def frame(message: bytes) -> bytes:
    """RFC 6587 3.4.1 / RFC 5425 4.3 octet counting: the length in bytes, a space, the message."""
    return b"%d " % len(message) + message


def _open(sock: socket.socket) -> bool:
    """Whether the receiver still holds the connection: a receiver never writes back, so
    a readable socket that yields no bytes has been closed by the other end."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return True
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except (BlockingIOError, ssl.SSLWantReadError):  # TLS: only a post-handshake record
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)


class SyslogSink:
    """Keeps one connection open; after an error the next batch reconnects."""

    def __init__(self, url: str, hostname: str, *, ca_file: Path | None = None,
                 timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
            raise ShipError(f"syslog target {url!r}: use tcp://HOST:PORT or tls://HOST:PORT")
        self.name = f"syslog {parts.scheme}://{parts.hostname}:{parts.port}"
        self.host, self.port, self.hostname, self.timeout = parts.hostname, parts.port, hostname, timeout
        self.tls = ssl.create_default_context(cafile=ca_file) if parts.scheme == "tls" else None
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        return sock

    def send(self, events: Sequence[ShippedEvent]) -> None:
        payload = b"".join(frame(syslog_message(e, self.hostname)) for e in events)
        try:
            if self.sock is not None and not _open(self.sock):
                self.close()  # the receiver hung up: what was written since would be lost
            if self.sock is None:
                self.sock = self._connect()
            self.sock.sendall(payload)
        except OSError as exc:  # ssl.SSLError is one too
            self.close()
            raise ShipError(f"cannot send to {self.host}:{self.port}: {exc}") from exc

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
