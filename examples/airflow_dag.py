"""propsync under Airflow: Sync A every 15 minutes, Sync B every 30, as the plan runs them.

Each task is one call of `propsync.api` (the same functions the command line calls), so a
task does exactly what `propsync sync create` does, with the same run records, audit log,
locks and exit codes. Copy this file into the DAGs folder and set PROPSYNC_WORKSPACE to
the folder holding propsync.toml (the secrets stay in the environment variables its
`*_env` settings name).

An aborted run (exit code 2: quota spent, lock held, guardrail, an error) fails the task,
so Airflow's retries and alerts apply; a run where some records failed (exit code 1)
succeeds by default, because those records are audited with Salesforce's error code and
held back, and propsync's own alerts report a failure spike (`fail_on_partial=True`
fails the task instead).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from propsync import api

WORKSPACE = os.environ.get("PROPSYNC_WORKSPACE", "/srv/propsync")


def run_sync(
    which: str,
    *,
    workspace: str = WORKSPACE,
    dry_run: bool = False,
    fail_on_partial: bool = False,
) -> dict[str, Any]:
    """One Sync A (`create`) or Sync B (`update`) run; returns its summary (the task's
    XCom). Raises when the run aborted (or, with `fail_on_partial`, had failures)."""
    result = api.sync(workspace, which, dry_run=dry_run)  # type: ignore[arg-type]
    summary = {
        "run_id": result.run_id,
        "status": result.status,
        "exit_code": result.exit_code,
        "api_calls": result.api_calls,
        "records_to_send": result.plan.records,
        "records_to_write": result.plan.records_to_write,
        **result.totals(),
    }
    if result.exit_code == 2 or (fail_on_partial and result.exit_code == 1):
        raise RuntimeError(f"propsync run {result.run_id} {result.status}: {result.error}")
    return summary


def sync_create(**context: Any) -> dict[str, Any]:
    return run_sync("create")


def sync_update(**context: Any) -> dict[str, Any]:
    return run_sync("update")


try:  # the callables above import and run without Airflow (tests, notebooks)
    from airflow import DAG
    from airflow.operators.python import PythonOperator
except ImportError:  # pragma: no cover - Airflow is not a propsync dependency
    DAG = None

if DAG is not None:  # pragma: no cover - exercised under Airflow only
    defaults = {"retries": 1, "retry_delay": timedelta(minutes=2)}
    for name, schedule, task in (
        ("propsync_sync_create", "*/15 * * * *", sync_create),
        ("propsync_sync_update", "*/30 * * * *", sync_update),
    ):
        with DAG(
            name,
            schedule=schedule,
            start_date=datetime(2026, 1, 1),
            catchup=False,
            max_active_runs=1,  # propsync refuses a second run of a sync anyway
            default_args=defaults,
        ) as dag:
            PythonOperator(task_id=name.removeprefix("propsync_"), python_callable=task)
        globals()[name] = dag
