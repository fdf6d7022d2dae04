"""``hr2bi sandbox``: run the local Omni-compatible BI platform."""

from __future__ import annotations

from pathlib import Path

import click

from sync.targets.sandbox.limits import SandboxConfig, keys_of
from sync.targets.sandbox.state import (
    DEFAULT_SEED,
    SandboxError,
    SandboxStore,
    load_seed,
)

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command(help="Run the local Omni-compatible BI sandbox (users, groups, user "
                    "attributes, model roles, connections). Its state is kept in --state, so "
                    "it survives a restart; delete that file to start afresh from --seed.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8010, show_default=True, type=click.IntRange(1, 65535))
@click.option("--state", "state_file", type=FILE, default=Path("hr2bi-sandbox.json"),
              show_default=True, help="Where the sandbox keeps its state (JSON).")
@click.option("--seed", "seed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help=f"Connections, models, attribute definitions and API keys "
                                 f"for a fresh state [default: {DEFAULT_SEED.name} shipped "
                                 f"with hr2bi].")
@click.option("--rate-limit", type=click.IntRange(0), default=60, show_default=True,
              help="Requests per minute per API key before 429 (0: no limit).")
@click.option("--rate-window", type=click.FloatRange(0.01), default=60.0, show_default=True,
              help="Seconds the rate limit counts over (Omni: a minute; shorter for fast tests).")
@click.option("--no-retry-after", is_flag=True, help="Send 429s without a Retry-After header.")
@click.option("--reactivation-new-id", is_flag=True,
              help="Give a re-activated user a new id, as Omni may.")
@click.option("--key", "keys", multiple=True, help="An accepted API key (repeatable); "
                                                  "default: the seed's api_keys.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of requests answered 500 (fault injection).")
@click.option("--slow-rate", type=click.FloatRange(0, 1), default=0.0,
              help="Share of writes answered only after --slow-seconds (done, though).")
@click.option("--slow-seconds", type=click.FloatRange(0), default=0.0)
@click.option("--access-log", type=FILE, default=None,
              help="Append one line per request (method, path, status) to this file, so a "
                   "test or benchmark can count the calls it cost; requests are not logged "
                   "to the terminal then.")
def sandbox(host: str, port: int, state_file: Path, seed_file: Path | None, rate_limit: int,
            rate_window: float, no_retry_after: bool, reactivation_new_id: bool, keys: tuple[str, ...],
            error_rate: float, slow_rate: float, slow_seconds: float, access_log: Path | None) -> None:
    from werkzeug.serving import run_simple

    from sync.targets.sandbox.app import create_sandbox_app

    try:
        seed = load_seed(seed_file)
        store = SandboxStore.open(state_file, seed)
        config = SandboxConfig(
            api_keys=keys_of(keys or seed.get("api_keys", [])), rate_limit=rate_limit,
            retry_after=not no_retry_after, reactivation_new_id=reactivation_new_id,
            error_rate=error_rate, slow_rate=slow_rate, slow_seconds=slow_seconds,
            window=rate_window)
    except (SandboxError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot start the sandbox: {exc}") from exc
    click.echo(f"Omni-compatible sandbox: http://{host}:{port}/api  (Ctrl+C to stop)")
    click.echo(f"State file:    {state_file}")
    click.echo(f"API keys:      {', '.join(config.api_keys)}")
    click.echo(f"Rate limit:    {rate_limit or 'none'} requests/minute per key")
    if access_log is not None:
        _log_requests_to(access_log)
    run_simple(host, port, create_sandbox_app(config, store), threaded=True, use_reloader=False)


def _log_requests_to(path: Path) -> None:
    """werkzeug logs each request at INFO; send those lines to ``path`` only (a terminal
    pipe nobody reads would fill up and stall the server)."""
    import logging

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("werkzeug")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
