"""``hr2bi audit ship``: stream the audit log to the configured SIEM targets."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType
from urllib.parse import urlsplit

import click
import httpx

from sync.audit.ship import Schedule, ShipError, Sink, drain, run
from sync.audit.ship_hec import HecSink
from sync.audit.ship_syslog import SyslogSink
from sync.config import ConfigError, Settings, load_settings

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
        token = os.environ.get(settings.audit_ship_hec_token_env)
        if not token:
            raise ShipError(f"the HEC token is read from ${settings.audit_ship_hec_token_env}, "
                            "which is not set")
        verify = str(settings.audit_ship_hec_ca_file) if settings.audit_ship_hec_ca_file else True
        http = httpx.Client(timeout=httpx.Timeout(30.0), verify=verify)
        sinks.append(HecSink(http, settings.audit_ship_hec_url, token, host))
    return sinks


@click.command(help="Stream audit events to the configured syslog and HEC targets as they are "
               "committed, at least once, each with its stable event id; runs until stopped "
               "(SIGTERM or Ctrl-C), resuming from where each target was left.")
@click.option("--once", is_flag=True, help="Send what is committed now, then exit "
              "(exit 1 if a target did not take it).")
def ship(once: bool) -> None:
    from sync.db import engine_for

    try:
        settings = load_settings()
        sinks = sinks_for(settings)
    except (ConfigError, ShipError) as exc:
        raise click.ClickException(str(exc)) from exc
    if not sinks:
        raise click.ClickException(NO_TARGET)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    engine = engine_for(settings)
    try:
        if once:
            counts = drain(engine, sinks, settings.audit_ship_batch)
            for name, count in counts.items():
                click.echo(f"{name}: {count} events sent")
            return
        stop = threading.Event()
        _stop_on_signals(stop)
        log.info("audit ship: streaming to %s", ", ".join(s.name for s in sinks))
        run(engine, sinks, settings.audit_ship_batch, Schedule(settings.audit_ship_interval), stop)
    except ShipError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        for sink in sinks:
            sink.close()
        engine.dispose()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
