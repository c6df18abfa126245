"""`propsync serve` as a process: its jobs run on the schedule (here: once at start),
the dashboard answers while a sync runs in the same process, and SIGTERM mid-run lets
the batch in flight finish, records the run and exits 0; the next run converges."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from propsync.sync import run_sync
from propsync.workspace import Workspace
from tests.sync.orgs import make_org

PROPSYNC = str(Path(sys.executable).parent / "propsync")


def _url(err_file: Path, proc: subprocess.Popen[str], timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = err_file.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith("serving: dashboard at "):
                return line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        assert proc.poll() is None, f"serve exited early: {text[-2000:]}"
        time.sleep(0.2)
    raise AssertionError(f"serve did not start: {err_file.read_text()[-2000:]}")


def test_serve_runs_its_jobs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # Small Collections requests at 300 ms a call make the writes last several seconds.
    org = make_org(
        tmp_path / "org",
        scale=400,
        workflow_enabled=False,
        latency_ms=300,
        sync={"collection_size": 2, "max_change_share": 1.0},
    )
    org.ws.close()  # the service opens the workspace itself
    err = tmp_path / "serve.err"
    with err.open("w") as err_out:
        proc = subprocess.Popen(
            [PROPSYNC, "--config", str(org.config_path), "serve", "--port", "0", "--run-at-start"],
            stdout=subprocess.DEVNULL,
            stderr=err_out,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = _url(err, proc)
        # The dashboard answers while the scheduler's first sync is writing.
        running = None
        deadline = time.monotonic() + 120
        while running is None and time.monotonic() < deadline:
            answer = requests.get(f"{url}/api/runs", timeout=30)
            assert answer.status_code == 200, answer.text + err.read_text()[-4000:]
            runs = answer.json()
            running = next((r for r in runs if r["status"] == "RUNNING"), None)
            time.sleep(0.2)
        assert running is not None, "no sync was seen running"
        page = requests.get(f"{url}/", timeout=60)
        assert page.status_code == 200 and 'data-widget="missing_properties"' in page.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, err.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        with Workspace.open(org.config_path) as ws:
            runs = ws.state().runs.recent(20)
            assert runs and all(r.status != "RUNNING" for r in runs)
            stopped = next(r for r in runs if r.run_id == running["run_id"])
            assert stopped.status in ("ABORTED", "SUCCEEDED", "PARTIAL")
            if stopped.status == "ABORTED":
                assert "stopped after the batch in flight" in (stopped.error or "")
            # Whatever the stopped run wrote is audited, once: the next runs converge.
            run_sync(ws, "all")
            again = run_sync(ws, "all")
            assert again.plan.records_to_write == 0
        counts = org.live_records_per_external_id()
        assert max(counts.values()) == 1
        assert json.loads(json.dumps(running))["sync"] in ("create", "update")
    finally:
        org.close()
