"""The library surface for data: a workspace, the scenario, extraction, the views, the
emulator and the demo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync import models, sources
from propsync.config import EmulatorConfig, secret
from propsync.errors import UsageError
from propsync.models.checks import CheckResult, run_checks
from propsync.salesforce.connect import reset_emulator_org
from propsync.salesforce.load import load_starting_state
from propsync.sources.stats import ExtractStats
from propsync.sources.stats import Progress as ExtractProgress
from propsync.sync.lifecycle import Progress
from propsync.sync.refresh import build_models as _build_models
from propsync.workspace import Workspace

if TYPE_CHECKING:
    from propsync.demo import DemoReport, Step
    from propsync.emulator import Emulator
    from propsync.generate import GroundTruth

from propsync.api._common import WorkspaceLike, _opened, _optional

# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgLoad:
    """The org's starting state, loaded through the API."""

    inserted: int
    deleted: int
    api_calls: int
    seconds: float


@dataclass(frozen=True)
class GenerateResult:
    truth: GroundTruth
    org_load: OrgLoad | None = None


@dataclass(frozen=True)
class ExtractResult:
    stats: ExtractStats
    views_built: list[str]


@dataclass(frozen=True)
class BuildResult:
    built: list[str]
    skipped: dict[str, list[str]]  # view -> the input tables it is missing


# --- data -------------------------------------------------------------------------------


def generate(
    workspace: WorkspaceLike = None,
    *,
    scale: int | None = None,
    seed: int | None = None,
    to: str | None = None,
    out_dir: str | Path | None = None,
    now: datetime | None = None,
    load_org: bool | None = None,
    reset_org: bool = False,
    progress: Callable[[int, int], None] | None = None,
    key_type: str = "int",
) -> GenerateResult:
    """Generate the plan's scenario into `to` (default: the workspace's source), the
    org's starting state and the ground truth; load that state into the workspace's org
    (`load_org`, default: when the org is the local emulator), emptying the local org
    first with `reset_org`. Outside a workspace `to` is required. `key_type` (int, uuid,
    text) keys the same scenario on that type (R9)."""
    import propsync.generate as gen  # the generator: numpy and pyarrow at its top

    with _optional(workspace) as ws:
        if ws is not None:
            scale = scale or ws.config.generate.scale
            seed = ws.config.generate.seed if seed is None else seed
            to = to or _source_target(ws)
            out_dir = out_dir or ws.path("generated")
        if to is None:
            raise UsageError(
                "--to is required outside a workspace (to= from Python):"
                " duckdb:PATH or postgresql://..."
            )
        if now is not None and now.tzinfo is None:
            raise UsageError("now needs a time zone, e.g. 2026-01-01T00:00:00+00:00")
        emulated = ws is not None and ws.config.salesforce.kind == "emulator"
        if load_org is None:
            load_org = emulated
        if load_org and ws is None:
            raise UsageError("loading the org needs a workspace (propsync.toml) naming it")
        if reset_org:
            if ws is None or not emulated:
                raise UsageError("reset_org empties the local emulator org only")
            reset_emulator_org(ws.config.salesforce, ws.root)
        truth = gen.generate(
            scale or gen.DEFAULT_SCALE,
            gen.DEFAULT_SEED if seed is None else seed,
            rds_target=to,
            out_dir=Path(out_dir) if out_dir else Path("generated"),
            now=now,
            progress=progress,
            key_type=key_type,
        )
        loaded = None
        if load_org:
            assert ws is not None
            stats = load_starting_state(ws.client(), truth.salesforce_parquet)
            loaded = OrgLoad(stats.inserted, stats.deleted, stats.api_calls, stats.seconds)
        return GenerateResult(truth, loaded)


def _source_target(ws: Workspace) -> str:
    source = ws.config.source
    if source.kind == "duckdb":
        return f"duckdb:{ws.path(source.path)}"
    return secret(source.dsn_env, what="[source] PostgreSQL DSN")


def extract(
    workspace: WorkspaceLike = None,
    *,
    full: bool = False,
    build: bool = True,
    progress: ExtractProgress | None = None,
) -> ExtractResult:
    """Copy the RDS tables into the engine (incremental where it can be), then rebuild
    the views over them unless `build=False`."""
    with _opened(workspace) as ws:
        stats = sources.extract(
            ws.config.source, ws.engine(), root=ws.root, full=full, progress=progress
        )
        built = _build_models(ws, strict=False) if build else []
        return ExtractResult(stats, built)


def build_models(workspace: WorkspaceLike = None, *, strict: bool = False) -> BuildResult:
    """Build every view over what is in the engine. The state tables the monitoring
    views read are migrated (and mirrored into the engine when the state lives in
    PostgreSQL) first. Views whose input tables are missing are skipped (and listed)
    unless `strict`, which raises instead."""
    with _opened(workspace) as ws:
        built = _build_models(ws, strict=strict)
        return BuildResult(built, models.missing_inputs(ws.engine()))


def show_model(workspace: WorkspaceLike, view: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The first `limit` rows of one view."""
    with _opened(workspace) as ws:
        return models.show(ws.engine(), view, limit)


def compile_models(
    dialect: str,
    *,
    catalog: str | None = None,
    schema: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> list[str]:
    """The DDL that creates every view for an engine (duckdb, spark, databricks), in
    dependency order: with `schema` (and `catalog`) the views are created in and read
    from `catalog.schema` under the plan's names (CREATE SCHEMA first), and `tables`
    points inputs at tables that already exist in the warehouse, e.g.
    {"salesforce_product_property": "crm.salesforce.product_property"}."""
    return models.deploy_ddl(dialect, catalog=catalog, schema=schema, tables=tables)


def deploy_models(
    workspace: WorkspaceLike = None,
    *,
    catalog: str | None = None,
    schema: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> list[str]:
    """Apply `compile_models`' DDL to the configured engine; return the statements run.
    The SQL is the portable DuckDB subset, which each engine adapter transpiles."""
    with _opened(workspace) as ws:
        statements = models.deploy_ddl("duckdb", catalog=catalog, schema=schema, tables=tables)
        engine = ws.engine()
        for statement in statements:
            engine.execute(statement)
        return statements


def check_models(workspace: WorkspaceLike = None) -> list[CheckResult]:
    """Run the model audits (each a query returning offending rows; none = pass)."""
    with _opened(workspace) as ws:
        return run_checks(ws.engine())


def metrics(workspace: WorkspaceLike = None) -> dict[str, Any]:
    """The plan's success metrics over the views as they are in the engine now."""
    with _opened(workspace) as ws:
        return models.metrics.snapshot(ws.engine())


# --- the embedded default ---------------------------------------------------------------


def demo(
    directory: str | Path = "demo-workspace",
    *,
    scale: int | None = None,
    seed: int | None = None,
    step: Step | None = None,
    sync_progress: Progress | None = None,
) -> DemoReport:
    """The main job on the embedded default in a fresh workspace."""
    from propsync.demo import run_demo  # imports the generator (numpy, pyarrow)

    return run_demo(Path(directory), scale=scale, seed=seed, step=step, sync_progress=sync_progress)


def start_emulator(
    workspace: WorkspaceLike = None,
    *,
    port: int | None = None,
    data_dir: str | Path | None = None,
    latency_ms: float | None = None,
    workflow_delay_s: float | None = None,
    workflow_enabled: bool | None = None,
    daily_api_limit: int | None = None,
    knobs: Mapping[str, Any] | None = None,
    foreground: bool = False,
) -> Emulator:
    """Start the local Salesforce org over HTTPS. Options not given come from the
    workspace's [salesforce.emulator] section when there is a workspace, else port 0 (a
    free one), folder ./emulator, no latency, a 2 s workflow delay. `foreground=True`
    for a process that then calls `serve_forever()`; stop it with `stop()`."""
    from propsync.emulator import Emulator  # the local org's server stack

    with _optional(workspace) as ws:
        cfg = ws.config.salesforce.emulator if ws is not None else EmulatorConfig()
        root = ws.root if ws is not None else Path.cwd()
    data = Path(data_dir) if data_dir is not None else root / cfg.data
    chosen_port = cfg.port if port is None else port
    try:
        return Emulator.start(
            data,
            port=chosen_port,
            latency_ms=cfg.latency_ms if latency_ms is None else latency_ms,
            workflow_delay_s=cfg.workflow_delay_s if workflow_delay_s is None else workflow_delay_s,
            workflow_enabled=cfg.workflow_enabled if workflow_enabled is None else workflow_enabled,
            daily_api_limit=cfg.daily_api_limit if daily_api_limit is None else daily_api_limit,
            foreground=foreground,
            **dict(knobs or {}),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot serve on port {chosen_port}: {exc}") from exc
