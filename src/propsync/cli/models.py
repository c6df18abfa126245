"""`propsync models`: build the views, print one, compile them for Spark, run the checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console
from propsync.errors import UsageError


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


def _placement(func: Any) -> Any:
    """--catalog, --schema and --table, shared by compile and deploy."""
    func = click.option(
        "--table",
        "tables",
        multiple=True,
        metavar="NAME=QUALIFIED",
        help="Read an input from an existing table, e.g. "
        "salesforce_product_property=crm.salesforce.product_property (repeatable).",
    )(func)
    func = click.option("--schema", default=None, help="Create the views in this schema.")(func)
    return click.option("--catalog", default=None, help="... of this catalog (Databricks).")(func)


# the object a DDL statement creates: CREATE [OR REPLACE] VIEW|SCHEMA [IF NOT EXISTS] name
_CREATED = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:VIEW|SCHEMA)\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.`\"]+)", re.I
)


def _tables(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, qualified = pair.partition("=")
        if not sep or not name.strip() or not qualified.strip():
            raise UsageError(f"--table {pair!r}: expected NAME=QUALIFIED")
        out[name.strip()] = qualified.strip()
    return out


@models_group.command("compile")
@click.option("--dialect", type=click.Choice(["spark", "databricks", "duckdb"]), required=True)
@_placement
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write one NN_<statement>.sql per statement here instead of printing.",
)
@error_handler
def compile_cmd(
    dialect: str,
    catalog: str | None,
    schema: str | None,
    tables: tuple[str, ...],
    out: Path | None,
) -> None:
    """Emit the DDL that creates the views on another engine (transpiled with sqlglot),
    optionally in CATALOG.SCHEMA under the plan's names."""
    statements = api.compile_models(dialect, catalog=catalog, schema=schema, tables=_tables(tables))
    if out is None:
        for statement in statements:
            click.echo(statement.rstrip() + ";\n")
        return
    out.mkdir(parents=True, exist_ok=True)
    for i, statement in enumerate(statements, start=1):
        # A numeric prefix keeps dependency order when the files are run by name.
        named = _CREATED.search(statement)
        stem = f"{i:02d}_{named.group(1).split('.')[-1]}" if named else f"{i:02d}"
        (out / f"{stem}.sql").write_text(statement.rstrip() + ";\n", encoding="utf-8")
    click.echo(f"wrote {len(statements)} files to {out}")


@models_group.command("deploy")
@_placement
@pass_ctx
@error_handler
def deploy_cmd(
    ctx: Context, catalog: str | None, schema: str | None, tables: tuple[str, ...]
) -> None:
    """Apply the views' DDL to the configured engine (`[engine]`), optionally in
    CATALOG.SCHEMA, reading the inputs named by --table from existing tables."""
    run = api.deploy_models(ctx.config_path, catalog=catalog, schema=schema, tables=_tables(tables))
    if not ctx.quiet:
        click.echo(f"applied {len(run)} statements")


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
