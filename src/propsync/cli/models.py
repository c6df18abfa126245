"""`propsync models`: build the views, print one, compile them for Spark, run the checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console


@click.group("models")
def models_group() -> None:
    """Build, show, compile and check the SQL models."""


@models_group.command("build")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def build_cmd(ctx: Context, as_json: bool) -> None:
    """Create every view over the tables in the engine (dependency order)."""
    result = api.build_models(ctx.config_path)
    built, missing = result.built, result.skipped
    if as_json:
        emit_json({"built": built, "skipped": missing})
        return
    if not ctx.quiet:
        click.echo(f"built {len(built)} views: {', '.join(built)}")
    for view, tables in missing.items():
        click.secho(f"skipped {view}: missing {', '.join(tables)}", fg="yellow", err=True)


@models_group.command("show")
@click.argument("view")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def show_cmd(ctx: Context, view: str, limit: int, as_json: bool) -> None:
    """Print the rows of one view (build the models first)."""
    rows = api.show_model(ctx.config_path, view, limit=limit)
    if as_json:
        emit_json({"view": view, "rows": rows})
        return
    _table(view, rows)


@models_group.command("compile")
@click.option("--dialect", type=click.Choice(["spark", "databricks", "duckdb"]), required=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write one <view>.sql per view here instead of printing.",
)
@error_handler
def compile_cmd(dialect: str, out: Path | None) -> None:
    """Emit the views' SQL for another engine (transpiled with sqlglot)."""
    compiled = api.compile_models(dialect)
    if out is None:
        for statement in compiled.values():
            click.echo(statement.rstrip() + ";\n")
        return
    out.mkdir(parents=True, exist_ok=True)
    for i, (view, statement) in enumerate(compiled.items(), start=1):
        # A numeric prefix keeps dependency order when the files are run by name.
        (out / f"{i:02d}_{view}.sql").write_text(statement.rstrip() + ";\n", encoding="utf-8")
    click.echo(f"wrote {len(compiled)} files to {out}")


@models_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def check_cmd(ctx: Context, as_json: bool) -> None:
    """Run the audits; exit 1 if any returns offending rows."""
    results = api.check_models(ctx.config_path)
    failed = [r for r in results if not r.passed]
    if as_json:
        emit_json({"passed": not failed, "checks": [r.as_dict() for r in results]})
    else:
        table = Table(title="model checks")
        for column in ("check", "result", "offending rows", "guarantees"):
            table.add_column(column)
        for r in results:
            mark = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
            table.add_row(r.name, mark, str(r.offending), r.description)
        stdout_console().print(table)
    if failed:
        raise SystemExit(1)


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"{title} ({len(rows)} rows)")
    for column in rows[0] if rows else []:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    stdout_console().print(table)
