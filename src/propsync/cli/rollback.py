"""`propsync rollback`: undo runs from their audit before-images, as runs of their own.

Exit codes as for `sync`: 0 every planned write made, 1 some records failed, 2 aborted
or failed; 64 for a run that cannot be rolled back (unknown, a dry run, still RUNNING).
"""

from __future__ import annotations

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

LABELS = {
    "refresh": "read Salesforce (changes since the last extract)",
    "plan": "inverse plan from the audit log",
    "update": "restore fields",
    "delete": "delete created records",
}
LISTED = 10  # rows of each list printed (--json has up to 1,000)


@click.command("rollback")
@click.argument("run_ids", nargs=-1)
@click.option("--pilot", default=None, help="Also every run recorded with this pilot name.")
@click.option("--dry-run", is_flag=True, help="Preview field by field; write nothing.")
@click.option(
    "--delete-created", is_flag=True, help="Delete the records the run created (default: keep)."
)
@click.option("--force", is_flag=True, help="Restore fields changed since the run, too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def rollback_cmd(
    ctx: Context,
    run_ids: tuple[str, ...],
    pilot: str | None,
    dry_run: bool,
    delete_created: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Roll back RUN_ID(s) (newest first): every field a run wrote back to its before
    value, as a rollback run of its own (audited, so it can be rolled back too)."""
    with progress_bars(ctx, not as_json, LABELS) as progress:
        result = api.rollback(
            ctx.config_path,
            list(run_ids),
            pilot=pilot,
            dry_run=dry_run,
            delete_created=delete_created,
            force=force,
            progress=progress,
        )
    if as_json:
        emit_json(result.to_json())
    else:
        for one in result.results:
            _print(one.to_json())
    raise SystemExit(result.exit_code)


def _print(doc: dict[str, Any]) -> None:
    console = stdout_console()
    plan = doc["plan"]
    title = f"rollback of run {doc['source_run_id']}" + (" (dry run)" if doc["dry_run"] else "")
    fields = Table(title=f"{title}: fields restored")
    for name in ("field", "records", "example (current -> restored)"):
        fields.add_column(name, justify="right" if name == "records" else "left")
    for f in plan["fields"]:
        s = f["samples"][0] if f["samples"] else None
        example = f"{s['key']}: {s['current']!r} -> {s['restored']!r}" if s else ""
        fields.add_row(f["field"], num(f["count"]), example)
    console.print(fields)
    console.print(
        f"{num(plan['restores'])} record(s) to restore, {num(plan['deletes'])} to delete;"
        f" {num(plan['already_restored'])} field(s) already at their before value;"
        f" {num(plan['failed_rows'])} failed write(s) of the run (nothing to undo)"
    )
    if plan["drift_count"]:
        action = "restored (--force)" if plan["force"] else "left alone (--force restores them)"
        console.print(
            f"[yellow]drift: {num(plan['drift_count'])} field(s) on"
            f" {num(plan['drift_records'])} record(s) changed since the run; {action}[/yellow]"
        )
        for d in plan["drift"][:LISTED]:
            console.print(
                f"  {d['salesforce_id']} (rds {d['rds_property_id']}) {d['field']}:"
                f" run wrote {d['written']!r}, now {d['current']!r}, before {d['before']!r}"
            )
    for key, label in (
        ("created_left", "created by the run, left in place (--delete-created deletes them)"),
        ("not_restorable", "cannot be rolled back"),
    ):
        if plan[f"{key}_count"]:
            console.print(f"{num(plan[f'{key}_count'])} record(s) {label}:")
            for r in plan[key][:LISTED]:
                console.print(f"  {r['salesforce_id']} (rds {r['rds_property_id']}): {r['reason']}")
    counts = doc["counts"]
    console.print(
        f"run {doc['run_id']}: status {status_style(doc['status'])},"
        f" restored {num(counts['update']['succeeded'])}, deleted"
        f" {num(counts['delete']['succeeded'])}, failed {num(doc['failed'])}"
        f" in {doc['duration_s']:.1f}s, {num(doc['api_calls'])} API call(s)"
        + (f"\n[red]{doc['error']}[/red]" if doc["error"] else "")
    )
