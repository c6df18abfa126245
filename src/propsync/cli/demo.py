"""`propsync demo`: the main job on the embedded default."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console


@click.command("demo")
@click.option(
    "--workspace",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-workspace"),
    show_default=True,
    help="Folder for the fresh demo workspace (wiped if an earlier demo made it).",
)
@click.option("--scale", type=click.IntRange(min=50), default=None, help="Properties to generate.")
@click.option("--seed", type=int, default=None, help="Generator seed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of tables.")
@pass_ctx
@error_handler
def demo_cmd(
    ctx: Context, directory: Path, scale: int | None, seed: int | None, as_json: bool
) -> None:
    """Run the main job end to end on the embedded default: generate the plan's scenario,
    start the local org, plan, Sync A, Sync B, await the Salesforce workflow, validate,
    and print the plan's success metrics before and after."""
    console = Console(stderr=True, quiet=ctx.quiet or as_json)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def step(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=max(total, 1))
            progress.update(tasks[name], completed=done, total=max(total, 1))

        def sync_progress(phase: str, done: int, total: int) -> None:
            step(f"sync: {phase}", done, total)

        report = api.demo(directory, scale=scale, seed=seed, step=step, sync_progress=sync_progress)
    if as_json:
        emit_json(report.to_json())
    else:
        # Piped output (cron mail, CI logs) gets room for the tables, not rich's 80 columns.
        _print(stdout_console(), report)
    sys.exit(0 if report.ok else 1)


def _print(console: Any, report: Any) -> None:
    queues = Table(title="Queues before the sync (computed from the views)")
    queues.add_column("view")
    queues.add_column("rows", justify="right")
    for name, rows in report.queues_before.items():
        queues.add_row(name, f"{rows:,}")
    console.print(queues)

    runs = Table(title="Runs")
    for col in ("run", "sync", "status", "sent", "succeeded", "failed", "API calls", "seconds"):
        runs.add_column(col, justify="right" if col not in ("run", "sync", "status") else "left")
    for r in report.runs:
        t = r["totals"]
        runs.add_row(
            r["run_id"],
            r["which"],
            r["status"],
            f"{t['sent']:,}",
            f"{t['succeeded']:,}",
            f"{t['failed']:,}",
            f"{r['api_calls']:,}",
            f"{r['duration_s']:.1f}",
        )
    console.print(runs)

    metrics = Table(title="Final success metrics (plan, Phase 6)")
    for col in ("Metric", "Before", "After", "Improvement"):
        metrics.add_column(col, justify="left" if col == "Metric" else "right")
    for row in report.metrics:
        metrics.add_row(row["metric"], row["before"], row["after"], row["improvement"])
    console.print(metrics)

    if report.unsyncable:
        left = Table(title="Still missing: records Salesforce refuses, with the reason")
        for col in ("queue", "RDS property", "reason"):
            left.add_column(col)
        for row in report.unsyncable:
            left.add_row(str(row["queue"]), str(row["key"]), str(row["reason"]))
        console.print(left)
    wf = report.workflow
    if wf.get("enabled"):
        console.print(
            f"Salesforce workflow: {wf['records_awaiting_workflow'] - wf['pending']:,} of "
            f"{wf['records_awaiting_workflow']:,} records got sf_property_id__c "
            f"in {wf['waited_s']:.1f} s"
        )
    if report.exceptions:
        console.print(
            "Reported, never touched (R8): "
            + ", ".join(f"{k.lower()} {v:,}" for k, v in report.exceptions.items())
        )
    failed = [c["name"] for c in report.checks if not c["passed"]]
    second = report.second_plan["records_to_write"]["total"]
    console.print(
        f"Second plan: {second:,} records to write. Checks: "
        + ("all passed." if not failed else f"FAILED: {', '.join(failed)}")
    )
    console.print(f"Workspace: {report.workspace}")
    console.print(
        "Open the dashboard on it: "
        f"propsync --config {report.workspace / 'propsync.toml'} dashboard"
    )
