"""`propsync generate`: the plan's scenario, the org's starting state and its ground truth."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console
from propsync.errors import UsageError

# The ground-truth keys the summary table shows, in the plan's order.
_SUMMARY = (
    ("active_properties", "ACTIVE properties (R1)"),
    ("properties_to_create", "to create (Sync A)"),
    ("properties_to_create_with_features", "  of which with features (P1)"),
    ("properties_to_update", "to update (Sync B)"),
    ("update_records_with_changes", "  of which with changes"),
    ("properties_sharing_sfdc_id", "properties sharing an sfdc_id"),
    ("multi_property_groups", "multi-property groups"),
    ("feature_mismatches", "feature mismatches"),
    ("orphans", "orphan records"),
    ("sf_duplicates", "Salesforce-side duplicates"),
    ("id_mismatches", "sf_property_id mismatches"),
    ("deleted_sf_records", "records in the recycle bin"),
    ("invalid_sfdc_ids", "invalid sfdc_ids"),
    ("unsyncable_count", "cannot be synced"),
)


@click.command("generate")
@click.option("--scale", type=click.IntRange(min=1), default=None, help="Size of the scenario.")
@click.option("--seed", type=int, default=None, help="Random seed (deterministic output).")
@click.option(
    "--to", "target", default=None, help="duckdb:PATH or postgresql://... (default: [source])."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the parquet org state and ground_truth.json (default: ./generated).",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Anchor of relative dates, ISO 8601 with zone (default: this hour, UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="The ground truth as one JSON document.")
@click.option(
    "--load-org/--no-load-org",
    default=None,
    help="Load the Salesforce starting state into the workspace's org through the API "
    "(default: on when [salesforce] kind is emulator).",
)
@click.option(
    "--reset-org",
    is_flag=True,
    help="Empty the local emulator org first, so the starting state can load again.",
)
@click.option(
    "--key-type",
    type=click.Choice(["int", "uuid", "text"]),
    default="int",
    show_default=True,
    help="Type of the RDS ids: the same scenario and ground truth keyed on integers,"
    " UUIDs or text.",
)
@pass_ctx
@error_handler
def generate_cmd(
    ctx: Context,
    scale: int | None,
    seed: int | None,
    target: str | None,
    out: Path | None,
    now_text: str | None,
    as_json: bool,
    load_org: bool | None,
    reset_org: bool,
    key_type: str,
) -> None:
    """Write synthetic RDS tables, the matching Salesforce starting state and the truth."""
    now = None
    if now_text is not None:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise UsageError(f"--now: not an ISO 8601 timestamp: {now_text!r}") from None
        if now.tzinfo is None:
            raise UsageError("--now needs a time zone, e.g. 2026-01-01T00:00:00+00:00")
    options: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "to": target,
        "out_dir": out,
        "now": now,
        "load_org": load_org,
        "reset_org": reset_org,
        "key_type": key_type,
    }
    if as_json or ctx.quiet:
        result = api.generate(ctx.config_path, **options)
        truth = result.truth
        if as_json:
            org = {"org_load": _org_json(result.org_load)} if result.org_load else {}
            emit_json(
                {"paths": truth.paths, "seconds": round(truth.seconds, 2), **org, **truth.counts}
            )
        return
    with Progress(transient=True) as bar:
        task = bar.add_task("generating", total=None)
        result = api.generate(
            ctx.config_path,
            **options,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _summary(result.truth)
    loaded = result.org_load
    if loaded is not None:
        click.echo(
            f"org: {loaded.inserted:,} records inserted, {loaded.deleted:,} deleted, "
            f"{loaded.api_calls} API calls, {loaded.seconds:.1f} s"
        )


def _org_json(loaded: api.OrgLoad) -> dict[str, Any]:
    return {**asdict(loaded), "seconds": round(loaded.seconds, 2)}


def _summary(truth: Any) -> None:
    counts = truth.counts
    table = Table(title=f"scenario: scale {counts['scale']:,}, seed {counts['seed']}")
    table.add_column("ground truth")
    table.add_column("count", justify="right")
    for key, label in _SUMMARY:
        table.add_row(label, f"{counts[key]:,}")
    pk = counts.get("park_kennedy")
    if pk:
        on = [name for name, flag in pk["expected"].items() if flag]
        table.add_row(
            f"Park Kennedy {pk['sfdc_id']}",
            f"{pk['active_properties']} active; expects {', '.join(on)}",
        )
    console = stdout_console()
    console.print(table)
    for name, path in truth.paths.items():
        console.print(f"{name}: {path}")
    console.print(f"in {truth.seconds:.1f} s")
