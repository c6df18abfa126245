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

from propsync.api._common import WorkspaceLike, init, open_workspace
from propsync.api.data import (
    BuildResult,
    ExtractResult,
    GenerateResult,
    OrgLoad,
    build_models,
    check_models,
    compile_models,
    demo,
    deploy_models,
    extract,
    generate,
    metrics,
    show_model,
    start_emulator,
)
from propsync.api.monitor import (
    check_alerts,
    dashboard,
    health,
    incidents,
    send_test_alert,
    serve,
)
from propsync.api.pilot import (
    latest_signed_validation,
    pilot_run,
    pilot_select,
    pilot_show,
    pilot_signoff,
    pilot_validate,
)
from propsync.api.syncs import (
    plan,
    rollback,
    run_details,
    runs,
    sync,
)
from propsync.monitor.alerts import AlertCheck
from propsync.monitor.health import HealthReport
from propsync.monitor.message import Delivery
from propsync.rollout.rollback import RollbackResult, RollbackResults
from propsync.state import Incident
from propsync.sync.lifecycle import Progress

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
