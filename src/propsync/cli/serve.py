"""`propsync serve`: the scheduler, the dashboard and the alerts in one process."""

from __future__ import annotations

import sys

import click

from propsync import api
from propsync.cli.common import Context, error_handler, pass_ctx


@click.command("serve")
@click.option("--host", default=None, help="Dashboard address (default: [dashboard] host).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Dashboard port (default: [dashboard] port; 0 picks a free one).")  # fmt: skip
@click.option("--run-at-start", is_flag=True, help="Run every scheduled job once at start.")
@pass_ctx
@error_handler
def serve_cmd(ctx: Context, host: str | None, port: int | None, run_at_start: bool) -> None:
    """Run the schedule of [schedule] (Sync A every 15 minutes, Sync B every 30, the
    queue measurement every 5), the dashboard and the alerts until SIGTERM or Ctrl-C.
    Jobs run one at a time; a failing job is logged and recorded, the process lives on.
    SIGTERM lets the sync in flight finish its batch and record its run, then exits 0."""

    def ready(url: str) -> None:
        if not ctx.quiet:
            click.echo(f"serving: dashboard at {url} (SIGTERM or Ctrl-C to stop)", err=True)

    sys.exit(
        api.serve(ctx.config_path, host=host, port=port, run_at_start=run_at_start, ready=ready)
    )
