"""Run locks: a second acquirer is refused with the holder named, and a holder killed
with SIGKILL leaves the lock free and its run marked ABORTED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from propsync.errors import LockHeld, StateError
from propsync.state.locks import FileLocks

from .conftest import StateWorkspace

CHILD = """
import sys, time
from pathlib import Path
from propsync.workspace import Workspace

ws = Workspace.open(Path(sys.argv[1]))
store = ws.state()
run_id = store.runs.start("create", pilot="killed")
with store.lock("sync-create", run_id):
    print(run_id, flush=True)
    time.sleep(120)
"""


@contextmanager
def child_holding_lock(state_ws: StateWorkspace) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(state_ws.config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line, proc.stderr.read() if proc.stderr else "child printed nothing"
        yield proc, line
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_second_acquirer_is_refused_with_the_holder_named(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        first = store.runs.start("create")
        second = store.runs.start("create")
        with store.lock("sync-create", first) as holder:
            assert holder.run_id == first and holder.pid == os.getpid()
            with pytest.raises(LockHeld) as info, store.lock("sync-create", second):
                pass
            message = str(info.value)
            assert first in message and f"pid {os.getpid()}" in message and " since " in message
            with store.lock("sync-update", second):  # another name is another lock
                pass
        with store.lock("sync-create", second):  # released on exit
            pass
        with pytest.raises(StateError, match="lock name"), store.lock("../escape", first):
            pass


def test_live_runs_are_not_aborted(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        unlocked = store.runs.start("update")  # this process is alive: not stale
        locked = store.runs.start("create")
        with store.lock("sync-create", locked):
            assert store.runs.abort_stale() == []
        assert store.runs.abort_stale() == []
        statuses = {r.run_id: r.status for r in store.runs.recent()}
        assert statuses == {unlocked: "RUNNING", locked: "RUNNING"}


def _wait_until_free(store: object) -> None:
    # PostgreSQL frees the lock when the killed client's session ends: almost at once.
    deadline = time.monotonic() + 10
    while True:
        try:
            with store.lock("sync-create", "parent"):  # type: ignore[attr-defined]
                return
        except LockHeld:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_killed_holder_frees_the_lock_and_is_aborted(state_ws: StateWorkspace) -> None:
    with child_holding_lock(state_ws) as (proc, run_id):
        if state_ws.backend == "duckdb":
            # One process per DuckDB file: check the lock itself, not through the store.
            locks = FileLocks(state_ws.root / "locks")
            with (
                pytest.raises(LockHeld, match=rf"run {run_id} \(pid {proc.pid} on "),
                locks.hold("sync-create", "parent"),
            ):
                pass
            assert set(locks.holders()) == {run_id}
        else:
            with state_ws.open() as ws:
                store = ws.state()
                with (
                    pytest.raises(LockHeld, match=rf"run {run_id} \(pid {proc.pid} on "),
                    store.lock("sync-create", "parent"),
                ):
                    pass
                assert store.runs.abort_stale() == []  # alive and holding its lock
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL

    with state_ws.open() as ws:
        store = ws.state()
        run = store.runs.get(run_id)
        assert run is not None and run.status == "RUNNING" and run.pilot == "killed"
        _wait_until_free(store)
        assert store.runs.abort_stale() == [run_id]
        aborted = store.runs.get(run_id)
        assert aborted is not None and aborted.status == "ABORTED"
        assert f"process {proc.pid}" in (aborted.error or "")
        assert store.runs.abort_stale() == []
        assert [e.status for e in store.runs.events(run_id)] == ["RUNNING", "ABORTED"]
