"""What every command module shares: the context, the error handler, output helpers."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from propsync.errors import PropsyncError

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command receives: where the config is (None: ./propsync.toml; the
    `workspace` argument of every `propsync.api` call), and how to report."""

    def __init__(self, config: Path | None, debug: bool, quiet: bool) -> None:
        self.config_path = config
        self.debug = debug
        self.quiet = quiet


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


def stdout_console() -> Console:
    """A rich console for tables on stdout. Piped output (cron mail, CI logs, `| less`)
    gets 120 columns rather than rich's 80, so tables are not cut to ellipses."""
    return Console(width=None if sys.stdout.isatty() else 120)


def emit_json(document: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, default=str, sort_keys=False))


@contextlib.contextmanager
def progress_bars(
    ctx: Context, enabled: bool, labels: dict[str, str] | None = None
) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar per phase, as the callback `propsync.api` takes
    (`phase, done, total`); None under --quiet or when not `enabled` (--json)."""
    if not enabled or ctx.quiet:
        yield None
        return
    names = labels or {}
    tasks: dict[str, Any] = {}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:

        def callback(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(names.get(phase, phase), total=total or 1)
            bar.update(tasks[phase], completed=done, total=total or 1)

        yield callback


def num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else str(value))


def seconds(value: Any) -> str:
    return f"{value:.1f}s" if isinstance(value, int | float) else ""


def status_style(status: str) -> str:
    color = {"SUCCEEDED": "green", "PARTIAL": "yellow", "RUNNING": "cyan"}.get(status, "red")
    return f"[{color}]{status}[/{color}]"
