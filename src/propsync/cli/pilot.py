"""`propsync pilot select|show|run|validate|signoff`: the pilot of phase 4.

Exit codes: 0 done / every item passed; 1 `validate` found failures; 2 `run` refused by
its pre-flight checklist (or a sync aborted), `signoff` refused; 64 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from propsync import api
from propsync.cli.common import (
    Context,
    emit_json,
    error_handler,
    num,
    pass_ctx,
    progress_bars,
    status_style,
    stdout_console,
)
from propsync.cli.sync import LABELS

NAME_OPTION = click.option(
    "--name", default="pilot", show_default=True, help="The pilot set's name."
)


@click.group("pilot")
def pilot_group() -> None:
    """The pilot of phase 4: select, show, run, validate, sign off."""


@pilot_group.command("select")
@NAME_OPTION
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random picks.")
@click.option("--no-refresh", is_flag=True, help="Select over the engine's views as they are.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def select_cmd(ctx: Context, name: str, seed: int, no_refresh: bool, as_json: bool) -> None:
    """Select 50 properties to create and 50 to update in the plan's strata (Step 4.1)."""
    result = api.pilot_select(ctx.config_path, name=name, seed=seed, refresh_inputs=not no_refresh)
    if as_json:
        emit_json(result.to_json())
        return
    console = stdout_console()
    table = Table(title=f"pilot {name} (seed {seed}): {result.size} selected")
    for column in ("queue", "priority", "stratum", "target", "selected", "filled", "short"):
        table.add_column(column, justify="left" if column in ("queue", "stratum") else "right")
    for s in result.strata:
        table.add_row(
            s.queue,
            str(s.priority),
            s.reason,
            num(s.target),
            num(s.selected),
            num(s.filled) if s.filled else "",
            num(s.shortfall) if s.shortfall else "",
        )
    console.print(table)
    for s in result.strata:
        if s.filled:
            console.print(
                f"[yellow]{s.queue} {s.reason}: {s.filled} of {s.target} did not meet the rule;"
                " filled from the rest of the queue[/yellow]"
            )
        if s.shortfall:
            console.print(f"[red]{s.queue} {s.reason}: {s.shortfall} short (queue ran out)[/red]")
    for queue, path in result.exports.items():
        console.print(f"{queue} export: {path}")


@pilot_group.command("show")
@NAME_OPTION
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also write the two CSV exports (the plan's columns) into this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def show_cmd(ctx: Context, name: str, csv_dir: Path | None, as_json: bool) -> None:
    """The saved pilot set: its members per queue with their stratum."""
    result = api.pilot_show(ctx.config_path, name=name, csv_dir=csv_dir)
    if as_json:
        emit_json(result.to_json())
        return
    console = stdout_console()
    console.print(
        f"pilot {name}: selection {result.selection_id} at {result.selected_at:%Y-%m-%d %H:%M} UTC"
    )
    for queue, rows in result.rows.items():
        table = Table(title=f"{queue} set ({len(rows)})")
        columns = _columns(queue)
        for column in columns:
            table.add_column(column)
        for r in rows:
            table.add_row(*[_text(r.get(c)) for c in columns])
        console.print(table)
    if csv_dir is not None:
        console.print(f"CSV exports written to {csv_dir}")


def _columns(queue: str) -> list[str]:
    if queue == "create":
        return ["priority", "pilot_reason", "rds_property_id", "property_name", "company_id",
                "idv_enabled", "bank_linking_enabled", "filled"]  # fmt: skip
    return ["priority", "pilot_reason", "snappt_property_id_c", "property_name",
            "active_property_count", "idv_enabled", "has_any_features_enabled",
            "filled"]  # fmt: skip


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def print_items(title: str, items: list[Any], *, rows: int = 5) -> None:
    """A checklist as a table, then each failed item's first offending rows."""
    console = stdout_console()
    table = Table(title=title)
    for column in ("", "item", "measured", "threshold", "offending"):
        table.add_column(column, justify="right" if column == "offending" else "left")
    for i in items:
        table.add_row(
            "[green]PASS[/green]" if i.passed else "[red]FAIL[/red]",
            i.name,
            _text(i.measured),
            _text(i.threshold),
            num(i.offending_count),
        )
    console.print(table)
    for i in items:
        if not i.passed and i.offending:
            console.print(f"[red]{i.name}[/red]: {i.offending_count} offending")
            for r in list(i.offending)[:rows]:
                console.print("  " + ", ".join(f"{k}={v}" for k, v in r.items()))


@pilot_group.command("run")
@NAME_OPTION
@click.option("--force", is_flag=True, help="Run even when a pre-flight item fails.")
@click.option(
    "--no-monitoring",
    is_flag=True,
    help="Say that no alert channel is configured on purpose (the pre-flight item passes).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def run_cmd(ctx: Context, name: str, force: bool, no_monitoring: bool, as_json: bool) -> None:
    """Pre-flight checklist, baseline, then Sync A and Sync B on the pilot (Steps 4.2, 4.3)."""
    with progress_bars(ctx, not as_json, LABELS) as progress:
        result = api.pilot_run(
            ctx.config_path, name=name, force=force, no_monitoring=no_monitoring,
            progress=progress,
        )  # fmt: skip
    if as_json:
        emit_json(result.to_json())
        raise SystemExit(result.exit_code)
    print_items(f"pilot {name}: pre-flight", result.items)
    console = stdout_console()
    if result.refused:
        console.print(
            "[red]refused: a pre-flight item failed (rerun with --force to override)[/red]"
        )
        raise SystemExit(result.exit_code)
    if result.preflight.forced:
        console.print("[yellow]forced past a failed pre-flight item (recorded)[/yellow]")
    console.print(f"baseline: {result.baseline_records} update-set record(s) saved")
    for label, run in (("Sync A", result.create), ("Sync B", result.update)):
        if run is not None:
            t = run.totals()
            console.print(
                f"{label}: run {run.run_id} {status_style(run.status)}: {t['sent']} sent,"
                f" {t['created']} created, {t['updated']} updated, {t['failed']} failed"
            )
    raise SystemExit(result.exit_code)


@pilot_group.command("validate")
@NAME_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def validate_cmd(ctx: Context, name: str, as_json: bool) -> None:
    """The validation checklist of Step 4.4, with a read-back; writes the reports."""
    with progress_bars(ctx, not as_json, LABELS) as progress:
        result = api.pilot_validate(ctx.config_path, name=name, progress=progress)
    if as_json:
        emit_json(result.to_json())
        raise SystemExit(result.exit_code)
    print_items(f"pilot {name}: validation {result.validation.validation_id}", result.items)
    console = stdout_console()
    verdict = "[green]passed[/green]" if result.passed else "[red]failed[/red]"
    console.print(f"validation {verdict}; reports: {result.markdown} and {result.html}")
    raise SystemExit(result.exit_code)


@pilot_group.command("signoff")
@NAME_OPTION
@click.option("--by", "by", required=True, help="Who signs off (recorded).")
@click.option("--note", default=None, help="A comment kept with the sign-off.")
@click.option("--role", default=None, help="The signer's role, e.g. 'CS lead'.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def signoff_cmd(
    ctx: Context, name: str, by: str, note: str | None, role: str | None, as_json: bool
) -> None:
    """Approve the pilot's latest validation (refused while it has failures)."""
    result = api.pilot_signoff(ctx.config_path, name=name, by=by, note=note, role=role)
    if as_json:
        emit_json(result.to_json())
        return
    v = result.validation
    who = ", ".join(s.who for s in result.signoffs)
    stdout_console().print(
        f"pilot {name}: validation {v.validation_id} signed off by {who}; the rollout may start"
    )
