"""`propsync extract`: copy the RDS tables from the configured source into the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console


@click.command("extract")
@click.option("--full", is_flag=True, help="Read every row, not only rows changed since last time.")
@click.option(
    "--build/--no-build",
    default=True,
    show_default=True,
    help="Rebuild the views over the new rows (they are stale until then).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def extract_cmd(ctx: Context, full: bool, build: bool, as_json: bool) -> None:
    """Copy companies, properties and property_features from the source into the engine.

    PostgreSQL sources are read in bulk (Arrow over ADBC) and, with `incremental = true`,
    only rows whose updated_at moved since the last extraction; the embedded DuckDB
    file is always copied in full.
    """
    with _spinners(not (as_json or ctx.quiet)) as progress:
        result = api.extract(ctx.config_path, full=full, build=build, progress=progress)
    stats, built = result.stats, result.views_built
    if as_json:
        emit_json({**stats.to_dict(), "views_built": built})
        return
    if ctx.quiet:
        return
    table = Table(title=f"extracted from {stats.source} in {stats.seconds:.2f} s")
    for column in ("table", "mode", "rows read", "deleted", "rows now", "watermark (UTC)"):
        right = column.startswith(("rows", "del"))
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for t in stats.tables.values():
        table.add_row(
            t.table,
            t.mode,
            f"{t.rows_read:,}",
            f"{t.rows_deleted:,}",
            f"{t.rows_total:,}",
            f"{t.watermark:%Y-%m-%d %H:%M}" if t.watermark else "-",
        )
    console = stdout_console()
    console.print(table)
    if built:
        console.print(f"rebuilt {len(built)} views")
    for t in stats.tables.values():
        if t.mode == "full" and t.reason not in ("embedded source", "full extraction requested"):
            console.print(f"{t.table}: full read ({t.reason})")


@contextmanager
def _spinners(enabled: bool) -> Iterator[Callable[[str, int], None] | None]:
    """A spinner per table with its running row count (`api.extract`'s callback)."""
    if not enabled:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None, rows=0)
            bar.update(tasks[table], rows=rows)

        yield report
