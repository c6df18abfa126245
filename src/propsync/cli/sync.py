"""`propsync plan`, `propsync sync`, `propsync runs`: parse, call propsync.api, report.

Exit codes of `sync`: 0 every record written, 1 completed with record failures,
2 aborted (quota, lock held, guardrail, interrupted) or failed.
"""

from __future__ import annotations

import functools
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
    seconds,
    status_style,
    stdout_console,
)

WHICH = click.Choice(["create", "update", "all"])


def _restrict_options(func: Any) -> Any:
    """The options `plan` and `sync` share, handed to the command as one `run_options`
    mapping of the keyword arguments `propsync.api.plan` and `api.sync` both take."""

    @functools.wraps(func)
    def command(
        *args: Any,
        pilot: str | None,
        ids: Path | None,
        no_refresh: bool,
        full_refresh: bool,
        retry_failed: bool,
        **kwargs: Any,
    ) -> Any:
        run_options = {
            "pilot": pilot,
            "ids": ids,
            "refresh_inputs": not no_refresh,
            "full_refresh": full_refresh,
            "retry_failed": retry_failed,
        }
        return func(*args, run_options=run_options, **kwargs)

    options = [
        click.option(
            "--no-refresh",
            is_flag=True,
            help="Use the tables already in the engine instead of extracting RDS and Salesforce.",
        ),
        click.option(
            "--full-refresh",
            is_flag=True,
            help="Extract every Salesforce record (default: only those changed since the last).",
        ),
        click.option(
            "--retry-failed",
            is_flag=True,
            help="Resend records Salesforce rejected last time for the same values.",
        ),
        click.option("--pilot", default=None, help="Restrict to a pilot set (pilot select)."),
        click.option(
            "--ids",
            "ids",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            help="File with one RDS property id per line; only these are considered.",
        ),
    ]
    decorated: Any = command
    # Applied last-listed first, as stacked decorators are: --help lists them in order.
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


LABELS = {
    "extract": "extract RDS + Salesforce, build models",
    "create": "Sync A (create)",
    "update": "Sync B (update)",
}


@click.command("plan")
@click.argument("which", type=WHICH, default="all")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_restrict_options
@pass_ctx
@error_handler
def plan_cmd(
    ctx: Context,
    which: str,
    as_json: bool,
    run_options: dict[str, Any],
) -> None:
    """The dry run: what a sync would write, field by field, and its API cost."""
    with progress_bars(ctx, not as_json, LABELS) as progress:
        result = api.plan(
            ctx.config_path,
            which,  # type: ignore[arg-type]
            progress=progress,
            **run_options,
        )
    if as_json:
        emit_json(result.to_json())
        return
    _print_plan(result)


@click.command("sync")
@click.argument("which", type=WHICH)
@click.option("--dry-run", is_flag=True, help="Plan and record the run; write nothing.")
@click.option("--force", is_flag=True, help="Run Sync B even past the change guardrail.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@_restrict_options
@pass_ctx
@error_handler
def sync_cmd(
    ctx: Context,
    which: str,
    dry_run: bool,
    force: bool,
    as_json: bool,
    run_options: dict[str, Any],
) -> None:
    """Sync A (create), Sync B (update) or both (all)."""
    with progress_bars(ctx, not as_json, LABELS) as progress:
        result = api.sync(
            ctx.config_path,
            which,  # type: ignore[arg-type]
            dry_run=dry_run,
            force=force,
            progress=progress,
            **run_options,
        )
    if as_json:
        emit_json(result.to_json())
    else:
        if dry_run:
            _print_plan(result.plan)
        _print_result(result)
    raise SystemExit(result.exit_code)


@click.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--limit", default=20, show_default=True, help="How many recent runs.")
@click.pass_context
@error_handler
def runs_grp(click_ctx: click.Context, as_json: bool, limit: int) -> None:
    """Run history (newest first); `runs show RUN_ID` for one run's records."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Context = click_ctx.find_root().obj
    runs = [r.to_json() for r in api.runs(ctx.config_path, limit=limit)]
    if as_json:
        emit_json(runs)
        return
    table = Table(title="sync runs")
    for name in ("run", "sync", "status", "started", "duration", "sent", "ok", "failed", "api"):
        table.add_column(
            name, justify="right" if name in ("sent", "ok", "failed", "api") else "left"
        )
    for r in runs:
        table.add_row(
            str(r.get("run_id")),
            str(r.get("sync")) + (" (dry run)" if r.get("dry_run") else ""),
            status_style(str(r.get("status"))),
            str(r.get("started_at", ""))[:19],
            seconds(r.get("duration_s")),
            num(r.get("attempted")),
            num(r.get("succeeded")),
            num(r.get("failed")),
            num(r.get("api_calls")),
        )
    stdout_console().print(table)


@runs_grp.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--limit", default=50, show_default=True, help="Records to list.")
@pass_ctx
@error_handler
def runs_show(ctx: Context, run_id: str, as_json: bool, limit: int) -> None:
    """One run: its counts, error codes summarised, and its per-record outcomes."""
    report = api.run_details(ctx.config_path, run_id).to_json()
    if as_json:
        emit_json(report)
        return
    console = stdout_console()
    run = report["run"]
    console.print(
        f"run {run.get('run_id')}: sync {run.get('sync')} {status_style(str(run.get('status')))}"
        f"  started {str(run.get('started_at'))[:19]}  {seconds(run.get('duration_s'))}"
        f"  api calls {num(run.get('api_calls'))}"
        + (f"\n[red]{run.get('error')}[/red]" if run.get("error") else "")
    )
    summary = Table(title="outcomes")
    for name in ("operation", "status", "error code", "records"):
        summary.add_column(name, justify="right" if name == "records" else "left")
    for row in report["summary"]:
        summary.add_row(
            row["sync_operation"], row["sync_status"], row["error_code"] or "", num(row["records"])
        )
    console.print(summary)
    records = Table(title=f"records (first {limit})")
    for name in ("op", "status", "rds id", "salesforce id", "attempt", "error", "fields"):
        records.add_column(name, no_wrap=name in ("salesforce id", "rds id"))
    for r in report["records"][:limit]:
        records.add_row(
            str(r.get("sync_operation")),
            str(r.get("sync_status")),
            str(r.get("rds_property_id")),
            str(r.get("salesforce_id") or ""),
            str(r.get("attempt")),
            " ".join(filter(None, [r.get("error_code"), r.get("error_message")])),
            _fields(r.get("fields_written") or []),
        )
    console.print(records)


# --- rendering --------------------------------------------------------------------------


def _print_plan(p: Any) -> None:
    console = stdout_console()
    doc = p.to_json()
    head = Table(title="plan" + (f" ({doc['restriction']})" if doc["restriction"] else ""))
    for name in (
        "queue",
        "in view",
        "to send",
        "to write",
        "predicted failures",
        "held back",
        "path",
        "api calls",
    ):
        head.add_column(name, justify="left" if name in ("queue", "path") else "right")
    for name, q in doc["queues"].items():
        head.add_row(
            name,
            num(q["matched"]),
            num(q["records"]),
            num(q["records_to_write"]),
            num(q["predicted_failures"]),
            num(q["held_back"]),
            q["mode"],
            num(q["api_calls"]),
        )
    console.print(head)
    quota = doc["quota"]
    if quota.get("remaining") is not None:
        console.print(
            f"API quota today: {num(quota['remaining'])} of {num(quota['daily_max'])} left;"
            f" this plan needs about {num(doc['api_calls']['total'])}"
        )
    for name, q in doc["queues"].items():
        fields = [f for f in q["fields"] if f["count"]]
        if fields:
            t = Table(title=f"{name}: fields written")
            for col in ("field", "records", "example (before -> after)"):
                t.add_column(col, justify="right" if col == "records" else "left")
            for f in fields:
                s = f["samples"][0] if f["samples"] else None
                example = f"{s['key']}: {s['before']!r} -> {s['after']!r}" if s else ""
                t.add_row(f["field"], num(f["count"]), example)
            console.print(t)
        if q["invalid"]:
            t = Table(title=f"{name}: records that cannot be synced as they are")
            t.add_column("rds id")
            t.add_column("reason")
            t.add_column("this run")
            for r in q["invalid"]:
                action = "held back" if r["held_back"] else "sent; Salesforce should reject it"
                t.add_row(str(r["rds_property_id"]), r["reason"], action)
            console.print(t)
        if q.get("drift_note"):
            console.print(f"[yellow]{name}: {q['drift_note']}[/yellow]")
        for d in q.get("drift", [])[:10]:
            console.print(
                f"  {d['key']} (rds {d['rds_property_id']}) by {d['last_modified_by_id']}"
                f" at {d['last_modified_date']}: {', '.join(d['fields'])}"
            )
    listed = doc.get("exceptions", {}).get("source_rows", [])
    if listed:
        t = Table(title="RDS rows not synced as they are (sync_exceptions)")
        for col in ("type", "rds id", "reason"):
            t.add_column(col)
        for r in listed:
            t.add_row(r["exception_type"], str(r["rds_property_id"]), r["reason"])
        console.print(t)


def _print_result(result: Any) -> None:
    console = stdout_console()
    t = Table(title=f"run {result.run_id}: sync {result.which}")
    for name in ("queue", "sent", "succeeded", "created", "updated", "failed", "retried", "errors"):
        t.add_column(name, justify="left" if name in ("queue", "errors") else "right")
    for queue, c in result.counts.items():
        t.add_row(
            queue,
            num(c.sent),
            num(c.succeeded),
            num(c.created),
            num(c.updated),
            num(c.failed),
            num(c.retried),
            ", ".join(f"{k} x{v}" for k, v in sorted(c.errors.items())),
        )
    console.print(t)
    console.print(
        f"status {status_style(result.status)} in {result.duration_s:.1f}s,"
        f" {result.api_calls} API call(s)"
        + (f"\n[red]{result.error}[/red]" if result.error else "")
    )


def _fields(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} fields"
