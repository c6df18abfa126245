"""The library surface for Python callers (Airflow, Databricks, a notebook).

Everything the CLI does is one call here; the CLI only parses and reports.

    from propsync import api
    plan = api.plan("prod/propsync.toml", "all")
    result = api.sync("prod/propsync.toml", "all")
    if result.exit_code:            # 1: some records failed, 2: aborted
        raise RuntimeError(result.status)

`workspace` is a path to a propsync.toml (or its folder), an open Workspace, or None
for ./propsync.toml. A Workspace opened here is closed before the call returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync.config import CONFIG_NAME
from propsync.workspace import Workspace

if TYPE_CHECKING:
    from propsync.demo import DemoReport
    from propsync.generate import GroundTruth
    from propsync.sources.stats import ExtractStats
    from propsync.state import RunRecord
    from propsync.sync.history import RunReport
    from propsync.sync.plan import SyncPlan, Which
    from propsync.sync.run import RunResult

WorkspaceLike = Workspace | str | Path | None

__all__ = [
    "build_models",
    "demo",
    "extract",
    "generate",
    "init",
    "metrics",
    "open_workspace",
    "plan",
    "run_details",
    "runs",
    "sync",
]


def open_workspace(workspace: WorkspaceLike = None) -> Workspace:
    """Open a workspace from a config path, its folder, or ./propsync.toml."""
    if isinstance(workspace, Workspace):
        return workspace
    path = Path(workspace) if workspace is not None else Path.cwd() / CONFIG_NAME
    if path.is_dir():
        path = path / CONFIG_NAME
    return Workspace.open(path)


@contextlib.contextmanager
def _opened(workspace: WorkspaceLike) -> Iterator[Workspace]:
    if isinstance(workspace, Workspace):
        yield workspace
        return
    ws = open_workspace(workspace)
    try:
        yield ws
    finally:
        ws.close()


def init(directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write a commented propsync.toml for the embedded default; return its path."""
    from propsync.workspace import init as _init

    return _init(Path(directory), force=force)


def generate(
    workspace: WorkspaceLike = None,
    *,
    scale: int | None = None,
    seed: int | None = None,
    to: str | None = None,
    out_dir: str | Path | None = None,
) -> GroundTruth:
    """Generate the scenario into `to` (default: the workspace's DuckDB source)."""
    from propsync import generate as gen

    with _opened(workspace) as ws:
        source = ws.config.source
        target = to or (f"duckdb:{ws.path(source.path)}" if source.kind == "duckdb" else None)
        if target is None:
            from propsync.errors import UsageError

            raise UsageError("name a target: to='duckdb:PATH' or a postgresql:// DSN")
        return gen.generate(
            scale or ws.config.generate.scale,
            seed if seed is not None else ws.config.generate.seed,
            rds_target=target,
            out_dir=Path(out_dir) if out_dir else ws.path("generated"),
        )


def extract(
    workspace: WorkspaceLike = None, *, full: bool = False, build: bool = True
) -> ExtractStats:
    """Copy the RDS tables into the engine (incremental where it can be), then rebuild
    the views over them unless `build=False`."""
    from propsync import sources

    with _opened(workspace) as ws:
        stats = sources.extract(ws, full=full)
        if build:
            ws.build_models(strict=False)
        return stats


def build_models(workspace: WorkspaceLike = None) -> list[str]:
    """Build every view over what is in the engine; return the view names. The state
    tables the monitoring views read are migrated (and mirrored into the engine when
    the state lives in PostgreSQL) first."""
    with _opened(workspace) as ws:
        return ws.build_models()


def plan(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: list[str | int] | Path | None = None,
) -> SyncPlan:
    """The dry run: refresh the inputs and say what a sync would write, field by field."""
    from propsync.sync.run import plan as _plan

    with _opened(workspace) as ws:
        return _plan(ws, which, pilot=pilot, ids=ids)


def sync(
    workspace: WorkspaceLike = None,
    which: Which = "all",
    *,
    pilot: str | None = None,
    ids: list[str | int] | Path | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RunResult:
    """Run Sync A, Sync B or both; `result.exit_code` is what cron should see."""
    from propsync.sync.run import run_sync

    with _opened(workspace) as ws:
        return run_sync(ws, which, pilot=pilot, ids=ids, dry_run=dry_run, force=force)


def runs(workspace: WorkspaceLike = None, *, limit: int = 50) -> list[RunRecord]:
    """Recent runs, newest first, each in its latest state."""
    with _opened(workspace) as ws:
        return ws.state().runs.recent(limit)


def run_details(workspace: WorkspaceLike, run_id: str, *, limit: int = 50) -> RunReport:
    """One run: its counts, error codes summarised, and per-record outcomes."""
    from propsync.sync.history import run_report

    with _opened(workspace) as ws:
        return run_report(ws, run_id, limit=limit)


def metrics(workspace: WorkspaceLike = None) -> dict[str, Any]:
    """The plan's success metrics over the views as they are in the engine now."""
    from propsync.models import metrics as _metrics

    with _opened(workspace) as ws:
        return _metrics.snapshot(ws.engine())


def demo(directory: str | Path = "demo-workspace", *, scale: int | None = None) -> DemoReport:
    """The main job on the embedded default in a fresh workspace."""
    from propsync.demo import run_demo

    return run_demo(Path(directory), scale=scale)
