"""The Airflow DAG and the Databricks job in examples/ run propsync through its library
surface and its entry point; their callables import and run (dry) without Airflow or
Databricks installed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.sync.orgs import Org, make_org

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    made = make_org(tmp_path_factory.mktemp("examples"), scale=300)
    try:
        yield made
    finally:
        made.close()


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_airflow_dag_callables_run_dry_without_airflow(org: Org) -> None:
    dag = _load("airflow_dag")
    assert dag.DAG is None  # Airflow is not installed here: the module still imports
    before = sum(org.live_records_per_external_id().values())
    org.ws.close()  # the task opens the workspace itself, as it would under Airflow
    summary = dag.run_sync("create", workspace=str(org.config_path), dry_run=True)
    assert summary["status"] == "SUCCEEDED" and summary["exit_code"] == 0
    assert summary["records_to_send"] == org.truth["properties_to_create"]
    assert 0 < summary["records_to_write"] <= summary["records_to_send"]
    assert summary["sent"] == 0
    assert sum(org.live_records_per_external_id().values()) == before


def test_airflow_task_fails_on_an_aborted_run(org: Org) -> None:
    dag = _load("airflow_dag")
    org.ws.close()
    state = org.reopen().state()
    # Another run holds Sync B's lock: the task's run is refused (ABORTED, exit 2), and
    # the refusal reaches Airflow as a failed task.
    with state.lock("sync-update", "someone-else"), pytest.raises(Exception, match="someone"):
        dag.run_sync("update", workspace=str(org.config_path), dry_run=True)
    org.ws.close()


def test_databricks_wheel_task_runs_the_entry_point(org: Org) -> None:
    job = json.loads((EXAMPLES / "databricks_job.json").read_text(encoding="utf-8"))
    (task,) = job["tasks"]
    params = list(task["python_wheel_task"]["parameters"])
    assert task["python_wheel_task"]["entry_point"] == "propsync"
    params[params.index("--config") + 1] = str(org.config_path)
    params.insert(params.index("all") + 1, "--dry-run")
    org.ws.close()
    # The wheel task calls the `propsync` console script with these parameters.
    done = subprocess.run(
        [sys.executable, "-m", "propsync", *params], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "SUCCEEDED" and doc["dry_run"] is True
    assert doc["plan"]["records_to_send"]["create"] == org.truth["properties_to_create"]
