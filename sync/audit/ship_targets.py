"""The SIEM targets the settings name (``audit_ship_*``): a syslog receiver and/or a Splunk
HEC endpoint, each checked to carry no secret in its URL (the HEC token comes from the
variable ``audit_ship_hec_token_env`` names, in the environment or ``.env``)."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import httpx

from sync.audit.ship import ShipError, Sink
from sync.audit.ship_hec import HecSink
from sync.audit.ship_syslog import SyslogSink
from sync.config import Settings, env_value

log = logging.getLogger(__name__)
NO_TARGET = ("no SIEM target configured: set HR2BI_AUDIT_SHIP_SYSLOG (tcp:// or tls://HOST:PORT) "
             "and/or HR2BI_AUDIT_SHIP_HEC_URL (see the README's SIEM section)")


def _no_secret(url: str) -> str:
    # Target names are logged and the URLs recorded in config.change events: a secret never
    # goes in one (the HEC token is read from its own variable).
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query:
        raise ShipError(f"{parts.scheme}://{parts.hostname}: put no credentials or query in "
                        "the URL; the HEC token is read from the variable named by "
                        "HR2BI_AUDIT_SHIP_HEC_TOKEN_ENV")
    return url


def sinks_for(settings: Settings) -> list[Sink]:
    """The targets the settings name; ShipError when one is unusable (no token, bad URL)."""
    host = settings.audit_ship_hostname or socket.gethostname()
    sinks: list[Sink] = []
    for url in (settings.audit_ship_syslog, settings.audit_ship_hec_url):
        if url:
            _no_secret(url)
    if settings.audit_ship_syslog:
        sinks.append(SyslogSink(settings.audit_ship_syslog, host,
                                ca_file=settings.audit_ship_syslog_ca_file))
    if settings.audit_ship_hec_url:
        token = env_value(settings.audit_ship_hec_token_env)
        if not token:
            raise ShipError(f"the HEC token is read from ${settings.audit_ship_hec_token_env}, "
                            "which is not set")
        verify = str(settings.audit_ship_hec_ca_file) if settings.audit_ship_hec_ca_file else True
        http = httpx.Client(timeout=httpx.Timeout(30.0), verify=verify)
        sinks.append(HecSink(http, settings.audit_ship_hec_url, token, host))
    return sinks
