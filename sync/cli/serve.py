"""``hr2bi serve``: the SCIM endpoint, the admin API and the console on the development server."""

from __future__ import annotations

import click

from sync.config import load_settings


@click.command(help="Run the SCIM endpoint, the admin API and the console (development server; "
                    "use the Procfile's gunicorn line in production).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    from sync.serving import serve_dev
    from sync.web import create_app

    loaded = load_settings()
    app = create_app(loaded)
    base = f"http://{host}:{port}"
    click.echo(f"SCIM endpoint: {base}/scim/v2  (Ctrl+C to stop)")
    click.echo(f"Console:       {base}/console/   Admin API: {base}/api/v1/openapi.json")
    serve_dev(app, host, port, loaded.serve_timeout)
