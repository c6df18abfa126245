"""What every command module shares: the context, the error handler, output helpers."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from propsync.errors import INTERNAL_EXIT_CODE, GuardrailTripped, LockHeld, PropsyncError

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command receives: where the config is (None: ./propsync.toml; the
    `workspace` argument of every `propsync.api` call), and how to report."""

    def __init__(self, config: Path | None, debug: bool, quiet: bool) -> None:
        self.config_path = config
        self.debug = debug
        self.quiet = quiet


pass_ctx = click.make_pass_decorator(Context)


def _root_context() -> Context | None:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Context) else None


def wants_json() -> bool:
    """Whether the command being run was given --json."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


def failure_document(
    error: str, exit_code: int, *, status: str = "ERROR", **extra: Any
) -> dict[str, Any]:
    """What --json prints when a command fails: `status`, `error`, `exit_code`, and the
    run's id when a recorded run ended this way."""
    return {"status": status, "error": error, "exit_code": exit_code, **extra}


def fail(message: str, exit_code: int, *, as_json: bool, **document: Any) -> None:
    """One red line on stderr (and the JSON document on stdout with --json); exit."""
    click.secho(f"error: {message}", fg="red", err=True)
    if as_json:
        emit_json(failure_document(message, exit_code, **document))
    sys.exit(exit_code)


def error_handler(func: F) -> F:
    """Every failure: one red line on stderr, the exit code of its kind (a
    PropsyncError's own; 70 for anything else, an internal error), and with --json one
    JSON document on stdout. --debug adds the traceback and never changes the code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PropsyncError as exc:
            root = _root_context()
            if root is not None and root.debug:
                traceback.print_exception(exc, file=sys.stderr)
            status = exc.run_status or (
                "ABORTED" if isinstance(exc, LockHeld | GuardrailTripped) else "ERROR"
            )
            extra = {"run_id": exc.run_id} if exc.run_id else {}
            fail(
                str(exc),
                exc.exit_code,
                as_json=wants_json(),
                status=status,
                error_type=type(exc).__name__,
                **extra,
            )
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise  # click's own: the root group reports them (usage errors exit 64)
        except Exception as exc:  # a bug: exit 70, never 1 (which cron reads as partial)
            root = _root_context()
            debug = root is not None and root.debug
            if debug:
                traceback.print_exception(exc, file=sys.stderr)
            hint = "" if debug else " (rerun with --debug for the traceback)"
            fail(
                f"internal error: {type(exc).__name__}: {exc}{hint}",
                INTERNAL_EXIT_CODE,
                as_json=wants_json(),
                status="INTERNAL_ERROR",
                error_type=type(exc).__name__,
            )

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
