"""The `propsync` command: parse, call the library, map errors to exit codes.

Exit codes: 0 success; 1 completed with record failures or yellow health;
2 aborted or red health; 64 usage error; 70 internal error; 78 configuration error;
130 interrupted. With --json every outcome, failures included, is one JSON document on
stdout (`status`, `error`, `exit_code` on failure); --debug never changes the code.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from propsync import api
from propsync.cli import (
    alerts,
    dashboard,
    demo,
    emulator,
    extract,
    generate,
    health,
    models,
    pilot,
    rollback,
    serve,
    sync,
)
from propsync.cli.common import Context, error_handler, failure_document


def _setup_logging(debug: bool) -> None:
    """On a terminal, log lines go through rich so they print above live progress bars;
    elsewhere (cron, CI, Airflow) plain timestamped lines."""
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(
            console=Console(stderr=True), show_path=False, markup=False, rich_tracebacks=debug
        )
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


EX_USAGE = 64
EX_INTERRUPTED = 130


class _Main(click.Group):
    """The root group: usage errors exit 64 (EX_USAGE), not click's 2, because 2 means
    an aborted run here."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        argv = args[0] if args else kwargs.get("args")
        as_json = "--json" in (sys.argv[1:] if argv is None else list(argv))
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            exc.show()
            _json_failure(as_json, exc.format_message(), EX_USAGE)
            sys.exit(EX_USAGE)
        except click.ClickException as exc:
            exc.show()
            code = EX_USAGE if exc.exit_code == 1 else exc.exit_code  # a bad argument
            _json_failure(as_json, exc.format_message(), code)
            sys.exit(code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            _json_failure(as_json, "interrupted", EX_INTERRUPTED, status="ABORTED")
            sys.exit(EX_INTERRUPTED)
        sys.exit(result if isinstance(result, int) else 0)


def _json_failure(as_json: bool, message: str, code: int, *, status: str = "ERROR") -> None:
    if as_json:
        click.echo(json.dumps(failure_document(message, code, status=status), indent=2))


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file (default: ./propsync.toml).",
)
@click.option("--debug", is_flag=True, help="Full tracebacks and debug logging.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; errors only.")
@click.version_option(package_name="propsync")
@click.pass_context
def main(ctx: click.Context, config: Path | None, debug: bool, quiet: bool) -> None:
    """propsync keeps Salesforce product_property__c true to the product database."""
    _setup_logging(debug)
    ctx.obj = Context(config, debug, quiet)


@main.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing propsync.toml.")
@error_handler
def init_cmd(directory: Path, force: bool) -> None:
    """Write a commented propsync.toml for the embedded default."""
    path = api.init(directory, force=force)
    click.echo(f"wrote {path}")


for command in (
    generate.generate_cmd,
    extract.extract_cmd,
    emulator.emulator_group,
    models.models_group,
    sync.plan_cmd,
    sync.sync_cmd,
    sync.runs_grp,
    rollback.rollback_cmd,
    demo.demo_cmd,
    dashboard.dashboard_cmd,
    serve.serve_cmd,
    pilot.pilot_group,
    health.health_cmd,
    alerts.alerts_group,
):
    main.add_command(command)
