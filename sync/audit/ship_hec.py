"""Audit events to an HTTP endpoint in Splunk HTTP Event Collector shape.

One POST to ``/services/collector/event`` per batch, ``Authorization: Splunk <token>``,
the body a run of JSON event objects (HEC's batch form, no separator needed); a batch is
taken when HEC answers 200 (``{"text": "Success", "code": 0}``), anything else is retried.
Each event object carries ``time`` (epoch seconds), ``host``, ``source`` ``hr2bi``,
``sourcetype`` ``hr2bi:audit``, the audit event with its ``event_id`` as ``event``, and
``event_id`` and ``seq`` as indexed ``fields`` so a search can drop duplicates.
The token is read from the environment variable the settings name, and never logged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import httpx

from sync.audit.ship import ShipError, ShippedEvent

EVENT_PATH = "/services/collector/event"
SOURCE, SOURCETYPE = "hr2bi", "hr2bi:audit"


def hec_event(shipped: ShippedEvent, host: str) -> dict[str, object]:
    when = dt.datetime.fromisoformat(shipped.event["time"]).timestamp()
    return {"time": round(when, 6), "host": host, "source": SOURCE, "sourcetype": SOURCETYPE,
            "event": shipped.record(),
            "fields": {"event_id": shipped.event_id, "seq": str(shipped.seq)}}


class HecSink:
    """``http`` is the caller's client (timeouts and TLS verification set there)."""

    def __init__(self, http: httpx.Client, base_url: str, token: str, host: str) -> None:
        self.http, self.host, self.token = http, host, token
        self.url = base_url.rstrip("/") + EVENT_PATH
        self.name = f"hec {base_url.rstrip('/')}"

    def send(self, events: Sequence[ShippedEvent]) -> None:
        body = "".join(json.dumps(hec_event(e, self.host), ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")) for e in events)
        try:
            response = self.http.post(self.url, content=body.encode(),
                                      headers={"Authorization": f"Splunk {self.token}",
                                               "Content-Type": "application/json"})
        except httpx.TransportError as exc:
            raise ShipError(f"cannot reach {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise ShipError(f"{self.url} answered {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self.http.close()
