"""The library surface for Python callers (Airflow, Databricks, a notebook).

Everything the command line does is one call here, with every option the command has;
`propsync.cli` only parses, calls these and prints what they return.

    from propsync import api
    plan = api.plan("prod/propsync.toml", "all")
    result = api.sync("prod/propsync.toml", "all")
    if result.exit_code:            # 1: some records failed, 2: aborted
        raise RuntimeError(result.status)

`workspace` is a path to a propsync.toml (or its folder), an open Workspace, or None
for ./propsync.toml. A Workspace opened here is closed before the call returns.
Progress callbacks are optional everywhere; the CLI turns them into progress bars.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync import models, sources
from propsync.config import CONFIG_NAME, EmulatorConfig, secret
from propsync.errors import UsageError
from propsync.models.checks import CheckResult, run_checks
from propsync.monitor import alerts as _alerts
from propsync.monitor.alerts import AlertCheck
from propsync.monitor.dashboard import serve as serve_dashboard
from propsync.monitor.health import HealthReport
from propsync.monitor.health import health as _health
from propsync.monitor.message import Delivery
from propsync.monitor.scheduler import serve as run_service
from propsync.rollout import pilot_run as pilot_run_mod
from propsync.rollout import pilot_select as pilot_select_mod
from propsync.rollout import pilot_signoff as pilot_signoff_mod
from propsync.rollout import pilot_validate as pilot_validate_mod
from propsync.rollout import rollback as _rollback
from propsync.rollout.rollback import RollbackResult, RollbackResults
from propsync.salesforce.connect import reset_emulator_org
from propsync.salesforce.load import load_starting_state
from propsync.sources.stats import ExtractStats
from propsync.sources.stats import Progress as ExtractProgress
from propsync.state import Incident, RunRecord
from propsync.sync import history
from propsync.sync.lifecycle import Progress
from propsync.sync.plan import SyncPlan, Which
from propsync.sync.prepare import plan as _plan
from propsync.sync.refresh import build_models as _build_models
from propsync.sync.run import RunResult, run_sync
from propsync.workspace import Workspace
from propsync.workspace import init as _init

if TYPE_CHECKING:
    from propsync.demo import DemoReport, Step
    from propsync.emulator import Emulator
    from propsync.generate import GroundTruth

WorkspaceLike = Workspace | str | Path | None
Ids = Iterable[str | int] | Path | None

__all__ = [
    "AlertCheck",
    "BuildResult",
    "Delivery",
    "ExtractResult",
    "GenerateResult",
    "HealthReport",
    "Incident",
    "OrgLoad",
    "Progress",
    "RollbackResult",
    "RollbackResults",
    "WorkspaceLike",
    "build_models",
    "check_alerts",
    "check_models",
    "compile_models",
    "dashboard",
    "demo",
    "deploy_models",
    "extract",
    "generate",
    "health",
    "incidents",
    "init",
    "latest_signed_validation",
    "metrics",
    "open_workspace",
    "pilot_run",
    "pilot_select",
    "pilot_show",
    "pilot_signoff",
    "pilot_validate",
    "plan",
    "rollback",
    "run_details",
    "runs",
    "send_test_alert",
    "serve",
    "show_model",
    "start_emulator",
    "sync",
]


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


# --- workspaces -------------------------------------------------------------------------


def open_workspace(workspace: WorkspaceLike = None) -> Workspace:
    """Open a workspace from a config path, its folder, or ./propsync.toml."""
    if isinstance(workspace, Workspace):
        return workspace
    return Workspace.open(_config_path(workspace))


def _config_path(workspace: str | Path | None) -> Path:
    path = Path(workspace) if workspace is not None else Path.cwd() / CONFIG_NAME
    return path / CONFIG_NAME if path.is_dir() else path


@contextlib.contextmanager
def _opened(workspace: WorkspaceLike) -> Iterator[Workspace]:
    if isinstance(workspace, Workspace):
        yield workspace
        return
    with open_workspace(workspace) as ws:
        yield ws


@contextlib.contextmanager
def _optional(workspace: WorkspaceLike) -> Iterator[Workspace | None]:
    """The workspace named, or ./propsync.toml when there is one, else None (for the
    commands that also work outside a workspace: generate, emulator serve)."""
    if workspace is None and not (Path.cwd() / CONFIG_NAME).exists():
        yield None
        return
    with _opened(workspace) as ws:
        yield ws


def init(directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write a commented propsync.toml for the embedded default; return its path."""
    return _init(Path(directory), force=force)


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


# --- syncs ------------------------------------------------------------------------------


def plan(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Ids = None,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> SyncPlan:
    """The dry run: refresh the inputs and say what a sync would write, field by field.
    `refresh_inputs=False` plans over the tables already in the engine; `full_refresh`
    reads every Salesforce record instead of those changed since the last extract."""
    with _opened(workspace) as ws:
        return _plan(
            ws,
            which,
            pilot=pilot,
            ids=ids,
            refresh_inputs=refresh_inputs,
            full_refresh=full_refresh,
            retry_failed=retry_failed,
            progress=progress,
        )


def sync(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: Ids = None,
    dry_run: bool = False,
    force: bool = False,
    refresh_inputs: bool = True,
    full_refresh: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run Sync A, Sync B or both; `result.exit_code` is what cron should see. `force`
    runs Sync B past the change guardrail; `retry_failed` resends records Salesforce
    rejected before with the same values."""
    with _opened(workspace) as ws:
        return run_sync(
            ws,
            which,
            pilot=pilot,
            ids=ids,
            dry_run=dry_run,
            force=force,
            refresh_inputs=refresh_inputs,
            full_refresh=full_refresh,
            retry_failed=retry_failed,
            progress=progress,
        )


def runs(workspace: WorkspaceLike = None, *, limit: int = 50) -> list[RunRecord]:
    """Recent runs, newest first, each in its latest state."""
    with _opened(workspace) as ws:
        return ws.state().runs.recent(limit)


def run_details(
    workspace: WorkspaceLike, run_id: str, *, limit: int = history.RECORDS_LISTED
) -> history.RunReport:
    """One run: its counts, error codes summarised, and per-record outcomes."""
    with _opened(workspace) as ws:
        return history.run_report(ws, run_id, limit=limit)


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


# --- monitoring: the dashboard ----------------------------------------------------------


def dashboard(
    workspace: WorkspaceLike = None,
    *,
    host: str | None = None,
    port: int | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the web dashboard over the workspace until interrupted ([dashboard] host
    and port unless given; a non-loopback host needs the token of `token_env`).
    `ready(url)` is called once it listens."""
    with _opened(workspace) as ws:
        serve_dashboard(ws, host=host, port=port, ready=ready)


def serve(
    workspace: str | Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    run_at_start: bool = False,
    ready: Callable[[str], None] | None = None,
) -> int:
    """The scheduler ([schedule]: Sync A, Sync B, the queue measurement), the dashboard
    and the alerts in one process, until SIGTERM / Ctrl-C; returns the exit code (0
    after a clean stop: the sync in flight finishes its batch and records its run).
    `run_at_start` runs every job once at start."""
    return run_service(
        _config_path(workspace), host=host, port=port, run_at_start=run_at_start, ready=ready
    )


# --- rollback ---------------------------------------------------------------------------


def rollback(
    workspace: WorkspaceLike = None,
    run_ids: Sequence[str] = (),
    *,
    pilot: str | None = None,
    dry_run: bool = False,
    delete_created: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> RollbackResults:
    """Roll back runs from their audit before-images, newest first, each as a rollback
    run of its own: `run_ids`, and every run recorded with pilot name `pilot`. Records a
    run created are deleted only with `delete_created`; fields changed since the run
    are left alone (reported as drift) unless `force`; `dry_run` writes nothing.
    `result.exit_code` is the worst rollback's (0 / 1 / 2)."""
    with _opened(workspace) as ws:
        ids = list(run_ids)
        if pilot is not None:
            ids += _rollback.pilot_runs(ws, pilot)
        if not ids:
            raise UsageError("rollback: name a RUN_ID or --pilot NAME")
        return _rollback.rollback_runs(
            ws,
            ids,
            dry_run=dry_run,
            delete_created=delete_created,
            force=force,
            progress=progress,
        )


# --- pilot (phase 4) --------------------------------------------------------------------


def pilot_select(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    seed: int = pilot_select_mod.DEFAULT_SEED,
    now: datetime | None = None,
    refresh_inputs: bool = True,
) -> pilot_select_mod.PilotSelection:
    """Select the pilot of Step 4.1 (50 creates, 50 updates in the plan's strata, seeded)
    over freshly refreshed queues, save it as the pilot set `name` and write its two CSV
    exports under <workspace>/reports/. `refresh_inputs=False` selects over the engine's
    views as they are."""
    with _opened(workspace) as ws:
        return pilot_select_mod.select(ws, name, seed=seed, now=now, refresh_inputs=refresh_inputs)


def pilot_show(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    csv_dir: str | Path | None = None,
) -> pilot_select_mod.PilotSet:
    """The pilot set saved under `name` (its latest selection); with `csv_dir`, its two
    CSV exports (the plan's columns) are written there too."""
    with _opened(workspace) as ws:
        saved = pilot_select_mod.saved_set(ws, name)
        if csv_dir is not None:
            for queue, rows in saved.rows.items():
                pilot_select_mod.write_csv(Path(csv_dir), name, queue, rows)
        return saved


def pilot_run(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    force: bool = False,
    no_monitoring: bool = False,
    progress: Progress | None = None,
) -> pilot_run_mod.PilotRunResult:
    """Steps 4.2/4.3 on the pilot set `name`: refresh, the pre-flight checklist (refused,
    `exit_code` 2, when an item fails unless `force`), the baseline of the update set,
    then Sync A and Sync B restricted to the pilot. `no_monitoring` says alerting is
    knowingly not configured."""
    with _opened(workspace) as ws:
        return pilot_run_mod.run_pilot(
            ws, name, force=force, no_monitoring=no_monitoring, progress=progress
        )


def pilot_validate(
    workspace: WorkspaceLike = None,
    *,
    name: str = pilot_select_mod.DEFAULT_NAME,
    progress: Progress | None = None,
) -> pilot_validate_mod.ValidationResult:
    """Step 4.4's checklist on the pilot's latest run (each item with its offending
    records, plus a read-back of every record written), saved and written as Markdown
    and HTML under <workspace>/reports/. `exit_code` 1 when an item failed."""
    with _opened(workspace) as ws:
        return pilot_validate_mod.validate(ws, name, progress=progress)


def pilot_signoff(
    workspace: WorkspaceLike = None,
    *,
    by: str,
    name: str = pilot_select_mod.DEFAULT_NAME,
    note: str | None = None,
    role: str | None = None,
) -> pilot_signoff_mod.SignedValidation:
    """Record `by`'s approval of the pilot's latest validation (SignoffRefused, exit 2,
    while it has failures or when there is none)."""
    with _opened(workspace) as ws:
        return pilot_signoff_mod.signoff(ws, name, by=by, note=note, role=role)


def latest_signed_validation(
    workspace: WorkspaceLike = None, name: str = pilot_select_mod.DEFAULT_NAME
) -> pilot_signoff_mod.SignedValidation | None:
    """The pilot's latest validation if it passed and was signed off, else None (the
    gate of the full rollout)."""
    with _opened(workspace) as ws:
        return pilot_signoff_mod.latest_signed_validation(ws, name)


# --- monitoring: health and alerts ------------------------------------------------------


def health(workspace: WorkspaceLike = None) -> HealthReport:
    """The five widgets of the plan's dashboard against the runbook's thresholds, over
    the views as the engine holds them (no extraction). `report.exit_code`: 0 green,
    1 yellow, 2 red."""
    with _opened(workspace) as ws:
        return _health(ws)


def check_alerts(
    workspace: WorkspaceLike = None, *, send: bool = False, now: datetime | None = None
) -> AlertCheck:
    """Evaluate the alert rules; with `send`, open, notify, re-notify and resolve their
    incidents (each channel told once per incident and repeat interval). `now` replaces
    the clock (tests, backfills). `result.exit_code`: 0 quiet, 1 firing or a delivery
    failed, 2 a rule could not be evaluated."""
    with _opened(workspace) as ws:
        return _alerts.check(ws, send=send, now=now)


def send_test_alert(workspace: WorkspaceLike, channel: str) -> Delivery:
    """Send a test message through one channel (slack, email, pagerduty)."""
    with _opened(workspace) as ws:
        return _alerts.send_test(ws, channel)


def incidents(
    workspace: WorkspaceLike = None, *, limit: int = 50, open_only: bool = False
) -> list[Incident]:
    """Alert incidents, newest first (only the open ones with `open_only`)."""
    with _opened(workspace) as ws:
        store = ws.state()
        if open_only:
            return list(reversed(store.incidents.active()))[:limit]
        return store.incidents.recent(limit)
