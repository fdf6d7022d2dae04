"""``hr2bi audit ship``: stream the audit log to the configured SIEM targets
(``sync.audit.ship``, targets from ``sync.audit.ship_targets``)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from sync.audit.ship import Schedule, drain, run
from sync.audit.ship_targets import NO_TARGET, sinks_for
from sync.config import load_settings
from sync.db import engine_for

log = logging.getLogger("sync.audit.ship")


@click.command(help="Stream audit events to the configured syslog and HEC targets as they are "
               "committed, at least once, each with its stable event id; runs until stopped "
               "(SIGTERM or Ctrl-C), resuming from where each target was left.")
@click.option("--once", is_flag=True, help="Send what is committed now, then exit "
              "(exit 1 if a target did not take it).")
def ship(once: bool) -> None:
    settings = load_settings()
    sinks = sinks_for(settings)
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
    finally:
        for sink in sinks:
            sink.close()
        engine.dispose()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
