"""The `propsync` command: parse, call the library, map errors to exit codes.

Exit codes: 0 success; 1 completed with record failures or yellow health;
2 aborted or red health; 64 usage error; 78 configuration error.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from propsync.errors import PropsyncError

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command receives: where the config is, and how to report."""

    def __init__(self, config: Path | None, debug: bool, quiet: bool) -> None:
        self.config_path = config
        self.debug = debug
        self.quiet = quiet

    def workspace(self) -> Any:
        from propsync.workspace import Workspace

        return Workspace.open(self.config_path)


pass_ctx = click.make_pass_decorator(Context)


def error_handler(func: F) -> F:
    """One red line per error; a traceback only with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PropsyncError as exc:
            ctx = click.get_current_context(silent=True)
            debug = bool(
                ctx and isinstance(ctx.find_root().obj, Context) and ctx.find_root().obj.debug
            )
            if debug:
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def stdout_console() -> Any:
    """A rich console for tables on stdout. Piped output (cron mail, CI logs, `| less`)
    gets 120 columns rather than rich's 80, so tables are not cut to ellipses."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def emit_json(document: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, default=str, sort_keys=False))


def _setup_logging(debug: bool) -> None:
    """On a terminal, log lines go through rich so they print above live progress bars;
    elsewhere (cron, CI, Airflow) plain timestamped lines."""
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=True), show_path=False, markup=False, rich_tracebacks=debug
        )
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


EX_USAGE = 64


class _Main(click.Group):
    """The root group: usage errors exit 64 (EX_USAGE), not click's 2, because 2 means
    an aborted run here."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EX_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


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
    from propsync.workspace import init

    path = init(directory, force=force)
    click.echo(f"wrote {path}")


def _register() -> None:
    # Each command group lives in its own module; importing them is cheap (heavy
    # drivers are imported inside the commands).
    from propsync.cli import commands

    commands.register(main)


_register()
