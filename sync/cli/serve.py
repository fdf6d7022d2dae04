"""``hr2bi serve``: the SCIM endpoint and admin API on the development server."""

from __future__ import annotations

import click

from sync.config import load_settings


@click.command(help="Run the SCIM endpoint and admin API (development server; use the "
                    "Procfile's gunicorn line in production).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    from sync.serving import serve_dev
    from sync.web import create_app

    loaded = load_settings()
    app = create_app(loaded)
    click.echo(f"SCIM endpoint: http://{host}:{port}/scim/v2  (Ctrl+C to stop)")
    serve_dev(app, host, port, loaded.serve_timeout)
