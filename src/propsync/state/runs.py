"""Run history: `sync_runs` holds one row per run event (RUNNING, then the final
status); the view `sync_runs_latest` gives each run's current state."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import (
    COUNT_KEYS,
    FINAL_STATUSES,
    SYNCS,
    from_row,
    new_run_id,
    now,
    to_json,
)

RUN_COLUMNS = (
    "event_time",
    "run_id",
    "sync",
    "status",
    "pilot",
    "dry_run",
    "params",
    "started_at",
    "finished_at",
    *COUNT_KEYS,
    "counts",
    "api_calls",
    "duration_s",
    "error",
    "host",
    "pid",
    "pid_started",
    "version",
)
RUN_JSON = ("params", "counts")
COMPLETED = ("SUCCEEDED", "PARTIAL")  # the run ended and wrote what it could


@dataclass(frozen=True)
class RunRecord:
    """One state of a run (a row of `sync_runs`; its latest from `sync_runs_latest`).
    The fields are the table's columns, in its order."""

    event_id: int | None
    event_time: datetime
    run_id: str
    sync: str  # create | update | all | rollback
    status: str  # RUNNING | SUCCEEDED | PARTIAL | FAILED | ABORTED
    pilot: str | None
    dry_run: bool
    params: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None
    planned: int | None
    attempted: int | None
    succeeded: int | None
    failed: int | None
    created: int | None
    updated: int | None
    counts: dict[str, int] | None  # totals and per queue (`create_failed`, ...)
    api_calls: int | None
    duration_s: float | None
    error: str | None
    host: str
    pid: int
    pid_started: float | None
    version: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _process_started(pid: int) -> float | None:
    import psutil  # heavy driver: imported on first use

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def _process_alive(pid: int, started: float | None) -> bool:
    """Whether the process that wrote a run row still runs (same pid, same start time)."""
    import psutil  # heavy driver: imported on first use

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # A recycled pid belongs to a process started later than the run's.
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.Error, OSError):
        return False


def _version() -> str:
    try:
        return version("propsync")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


class Runs:
    """`sync_runs`: start, finish, read, and mark ABORTED the runs whose process died."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def start(
        self,
        sync: str,
        *,
        pilot: str | None = None,
        dry_run: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a RUNNING run; return its id (sortable by start time)."""
        if sync not in SYNCS:
            raise StateError(f"sync {sync!r}: expected one of {', '.join(SYNCS)}")
        started = now()
        run_id = new_run_id(started)
        pid = os.getpid()
        row = {
            "event_time": started,
            "run_id": run_id,
            "sync": sync,
            "status": "RUNNING",
            "pilot": pilot,
            "dry_run": dry_run,
            "params": to_json(dict(params) if params else None, where=f"run {run_id}: params"),
            "started_at": started,
            "host": socket.gethostname(),
            "pid": pid,
            "pid_started": _process_started(pid),
            "version": _version(),
        }
        self._append(row)
        return run_id

    def finish(
        self,
        run_id: str,
        status: str,
        *,
        counts: Mapping[str, int],
        api_calls: int,
        error: str | None = None,
    ) -> None:
        """Record a run's end: SUCCEEDED, PARTIAL, FAILED or ABORTED, with its counts."""
        if status not in FINAL_STATUSES:
            raise StateError(f"run {run_id}: status {status!r} not in {FINAL_STATUSES}")
        bad = {k: v for k, v in counts.items() if not isinstance(v, int) or v < 0}
        if bad:
            raise StateError(f"run {run_id}: counts must be non-negative integers, got {bad}")
        self._finish(run_id, status, dict(counts), api_calls, error)

    def _finish(
        self,
        run_id: str,
        status: str,
        counts: dict[str, int],
        api_calls: int | None,
        error: str | None,
    ) -> None:
        current = self.get(run_id)
        if current is None:
            raise StateError(f"run {run_id} does not exist")
        if current.status != "RUNNING":
            raise StateError(f"run {run_id} already ended as {current.status}")
        finished = now()
        row = {k: getattr(current, k) for k in RUN_COLUMNS}
        row.update(
            {
                "event_time": finished,
                "status": status,
                "params": to_json(current.params, where=f"run {run_id}: params"),
                "finished_at": finished,
                **{k: counts.get(k) for k in COUNT_KEYS},
                "counts": to_json(counts or None, where=f"run {run_id}: counts"),
                "api_calls": api_calls,
                "duration_s": (finished - current.started_at).total_seconds(),
                "error": error,
            }
        )
        self._append(row)

    def _append(self, row: dict[str, Any]) -> None:
        self._db.insert("sync_runs", RUN_COLUMNS, [tuple(row.get(c) for c in RUN_COLUMNS)])

    def _read(self, sql: str, params: Sequence[Any] | None = None) -> list[RunRecord]:
        return [from_row(RunRecord, r, RUN_JSON) for r in self._db.dicts(sql, params)]

    def recent(self, limit: int = 50, *, sync: str | None = None) -> list[RunRecord]:
        """The latest state of the most recent runs, newest first."""
        where, params = ("WHERE sync = ?", [sync]) if sync else ("", [])
        return self._read(
            f"SELECT * FROM sync_runs_latest {where} ORDER BY run_id DESC LIMIT ?",
            [*params, int(limit)],
        )

    def get(self, run_id: str) -> RunRecord | None:
        """One run's latest state, or None."""
        found = self._read("SELECT * FROM sync_runs_latest WHERE run_id = ?", [run_id])
        return found[0] if found else None

    def events(self, run_id: str) -> list[RunRecord]:
        """Every recorded state of one run, oldest first."""
        return self._read("SELECT * FROM sync_runs WHERE run_id = ? ORDER BY event_id", [run_id])

    def last_started(
        self, syncs: Sequence[str], *, statuses: Sequence[str] = COMPLETED
    ) -> datetime | None:
        """Start of the latest run (dry runs aside) of one of `syncs` that ended in one of
        `statuses` (by default SUCCEEDED or PARTIAL); None when there is none."""
        if not syncs or not statuses:
            return None
        sync_marks = ", ".join("?" for _ in syncs)
        status_marks = ", ".join("?" for _ in statuses)
        rows = self._db.dicts(
            "SELECT max(started_at) AS started FROM sync_runs_latest"
            f" WHERE NOT dry_run AND sync IN ({sync_marks}) AND status IN ({status_marks})",
            [*syncs, *statuses],
        )
        started = rows[0]["started"] if rows else None
        return started if isinstance(started, datetime) else None

    def abort_stale(self, *, grace: timedelta = timedelta(seconds=60)) -> list[str]:
        """Mark ABORTED every RUNNING run whose process is gone; return their ids.

        A run is alive while it holds a lock, or while its process (same host, same pid,
        same process start time) still runs. Runs on another host that hold no lock
        are given `grace` after their start before they are judged.
        """
        holders = self._db.lock_holders()
        host = socket.gethostname()
        aborted: list[str] = []
        for run in self._read("SELECT * FROM sync_runs_latest WHERE status = 'RUNNING'"):
            if run.run_id in holders:
                continue
            if run.host == host:
                if _process_alive(int(run.pid), run.pid_started):
                    continue
            elif now() - run.started_at < grace:
                continue
            try:
                self._finish(
                    run.run_id,
                    "ABORTED",
                    {},
                    None,
                    f"process {run.pid} on {run.host} ended without finishing the run",
                )
            except StateError:
                continue  # finished meanwhile by its own process
            aborted.append(run.run_id)
        return aborted
