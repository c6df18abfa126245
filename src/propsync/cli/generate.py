"""`propsync generate`: the plan's scenario, the org's starting state and its ground truth."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from propsync.cli import Context, emit_json, error_handler, pass_ctx, stdout_console
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


def _workspace_defaults(ctx: Context) -> tuple[Any, Path | None]:
    """(config, root) of the workspace when there is one, else (None, None)."""
    from propsync.config import CONFIG_NAME

    path = ctx.config_path or Path.cwd() / CONFIG_NAME
    if ctx.config_path is None and not path.exists():
        return None, None
    ws = ctx.workspace()
    return ws.config, ws.root


def _default_target(config: Any, root: Path) -> str:
    from propsync.config import secret

    source = config.source
    if source.kind == "duckdb":
        path = Path(source.path)
        return f"duckdb:{path if path.is_absolute() else root / path}"
    return secret(source.dsn_env, what="[source] PostgreSQL DSN")


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
) -> None:
    """Write synthetic RDS tables, the matching Salesforce starting state and the truth."""
    from propsync.generate import DEFAULT_SCALE, DEFAULT_SEED, generate

    config, root = _workspace_defaults(ctx)
    if config is not None and root is not None:
        scale = scale or config.generate.scale
        seed = config.generate.seed if seed is None else seed
        target = target or _default_target(config, root)
        out = out or root / "generated"
    if target is None:
        raise UsageError("--to is required outside a workspace (duckdb:PATH or postgresql://...)")
    now = None
    if now_text is not None:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise UsageError(f"--now: not an ISO 8601 timestamp: {now_text!r}") from None
        if now.tzinfo is None:
            raise UsageError("--now needs a time zone, e.g. 2026-01-01T00:00:00+00:00")
    kwargs: dict[str, Any] = {
        "scale": scale or DEFAULT_SCALE,
        "seed": DEFAULT_SEED if seed is None else seed,
        "rds_target": target,
        "out_dir": out or Path("generated"),
        "now": now,
    }
    if load_org is None:
        load_org = config is not None and config.salesforce.kind == "emulator"
    if load_org and config is None:
        raise UsageError("--load-org needs a workspace (propsync.toml) naming the org")
    if reset_org:
        if config is None or root is None or config.salesforce.kind != "emulator":
            raise UsageError("--reset-org empties the local emulator org only")
        from propsync.salesforce.connect import reset_emulator_org

        reset_emulator_org(config.salesforce, root)
    if as_json or ctx.quiet:
        truth = generate(**kwargs)
        loaded = _load_org(ctx, truth.salesforce_parquet) if load_org else None
        if as_json:
            org = {"org_load": loaded} if loaded else {}
            emit_json(
                {"paths": truth.paths, "seconds": round(truth.seconds, 2), **org, **truth.counts}
            )
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("generating", total=None)
        truth = generate(
            **kwargs, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    _summary(truth)
    if load_org:
        with Progress(transient=True) as bar:
            bar.add_task("loading the starting state into the org", total=None)
            loaded = _load_org(ctx, truth.salesforce_parquet)
        click.echo(
            f"org: {loaded['inserted']:,} records inserted, {loaded['deleted']:,} deleted, "
            f"{loaded['api_calls']} API calls, {loaded['seconds']:.1f} s"
        )


def _load_org(ctx: Context, parquet: Path) -> dict[str, Any]:
    """Load the starting state into the workspace's org (starting the emulator if needed)."""
    from propsync.salesforce.connect import connect
    from propsync.salesforce.load import load_starting_state

    with (
        ctx.workspace() as ws,
        connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as client,
    ):
        stats = load_starting_state(client, parquet)
    return {
        "inserted": stats.inserted,
        "deleted": stats.deleted,
        "api_calls": stats.api_calls,
        "seconds": round(stats.seconds, 2),
    }


def _summary(truth: Any) -> None:
    from rich.table import Table

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
