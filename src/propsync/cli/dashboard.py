"""`propsync dashboard`: the web dashboard alone."""

from __future__ import annotations

import click

from propsync import api
from propsync.cli.common import Context, error_handler, pass_ctx


@click.command("dashboard")
@click.option("--host", default=None, help="Address to listen on (default: [dashboard] host).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="TCP port (default: [dashboard] port; 0 picks a free one).")  # fmt: skip
@pass_ctx
@error_handler
def dashboard_cmd(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve the web dashboard (the five widgets, runs with each record's outcome, the
    reports) until Ctrl-C. On an address other than 127.0.0.1 it requires the token in
    the variable [dashboard] token_env."""

    def ready(url: str) -> None:
        if not ctx.quiet:
            click.echo(f"dashboard at {url} (Ctrl-C to stop)", err=True)

    api.dashboard(ctx.config_path, host=host, port=port, ready=ready)
