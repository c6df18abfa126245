"""The state store: run history, the audit log, queue measurements, pilot sets and
sign-offs. Append-only: nothing here issues UPDATE or DELETE; a run's later states,
a new pilot selection or a rollback are new rows.

Backends (DuckDB in the engine file, PostgreSQL) supply a handful of primitives;
everything a caller uses is defined once, here.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from propsync.errors import StateError
from propsync.state.records import (
    AUDIT_JSON,
    COUNT_KEYS,
    FINAL_STATUSES,
    SYNCS,
    AuditRecord,
    audit_rows,
    decode,
    new_run_id,
    normalise_decision,
    now,
    to_json,
)

if TYPE_CHECKING:
    from propsync.engines import Engine

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
BULK_JOB_COLUMNS = (
    "event_time",
    "event",
    "run_id",
    "queue",
    "job_id",
    "operation",
    "records",
    "attempt",
    "submitted_at",
    "images_file",
    "reconciled_by",
    "detail",
)
PAGE = 50_000


def _process_started(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def _process_alive(pid: int, started: float | None) -> bool:
    """Whether the process that wrote a run row still runs (same pid, same start time)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # A recycled pid belongs to a process started later than the run's.
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.Error, OSError):
        return False


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("propsync")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


class StateStore(ABC):
    """The state tables of one workspace. Open with `propsync.state.open_state(ws)`."""

    kind: str

    # -- backend primitives ------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def _dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
        """Append rows in one bulk statement; return how many."""

    @abstractmethod
    def lock(self, name: str, run_id: str) -> AbstractContextManager[dict[str, Any]]:
        """Hold the named lock (e.g. "sync-create") for a run; raises LockHeld naming the
        holder (run id, pid, host, since). A killed holder's lock is freed by the OS or
        the database, never left held."""

    @abstractmethod
    def _lock_holders(self) -> dict[str, dict[str, Any]]:
        """Run id -> holder, for every lock held right now."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied (none when up to date)."""

    @abstractmethod
    def migrations(self) -> list[dict[str, Any]]:
        """The migrations applied so far, oldest first."""

    def mirror_to(self, engine: Engine) -> dict[str, int]:
        """Copy the tables the monitoring views read into the engine; return row counts.
        A no-op where the state already lives in the engine."""
        return {}

    def close(self) -> None:  # noqa: B027 - backends without resources keep the default
        """Release connections."""

    # -- runs --------------------------------------------------------------------------
    def start_run(
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
        self._append_run(row)
        return run_id

    def finish_run(
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
        current = self.run(run_id)
        if current is None:
            raise StateError(f"run {run_id} does not exist")
        if current["status"] != "RUNNING":
            raise StateError(f"run {run_id} already ended as {current['status']}")
        finished = now()
        row = {k: current[k] for k in RUN_COLUMNS if k in current}
        row.update(
            {
                "event_time": finished,
                "status": status,
                "params": to_json(current.get("params"), where=f"run {run_id}: params"),
                "finished_at": finished,
                **{k: counts.get(k) for k in COUNT_KEYS},
                "counts": to_json(counts or None, where=f"run {run_id}: counts"),
                "api_calls": api_calls,
                "duration_s": (finished - current["started_at"]).total_seconds(),
                "error": error,
            }
        )
        self._append_run(row)

    def _append_run(self, row: dict[str, Any]) -> None:
        self._insert("sync_runs", RUN_COLUMNS, [tuple(row.get(c) for c in RUN_COLUMNS)])

    def runs(self, limit: int = 50, *, sync: str | None = None) -> list[dict[str, Any]]:
        """The latest state of the most recent runs, newest first."""
        where, params = ("WHERE sync = ?", [sync]) if sync else ("", [])
        rows = self._dicts(
            f"SELECT * FROM sync_runs_latest {where} ORDER BY run_id DESC LIMIT ?",
            [*params, int(limit)],
        )
        return [decode(r, RUN_JSON) for r in rows]

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run's latest state, or None."""
        rows = self._dicts("SELECT * FROM sync_runs_latest WHERE run_id = ?", [run_id])
        return decode(rows[0], RUN_JSON) if rows else None

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """Every recorded state of one run, oldest first."""
        rows = self._dicts("SELECT * FROM sync_runs WHERE run_id = ? ORDER BY event_id", [run_id])
        return [decode(r, RUN_JSON) for r in rows]

    def abort_stale_runs(self, *, grace: timedelta = timedelta(seconds=60)) -> list[str]:
        """Mark ABORTED every RUNNING run whose process is gone; return their ids.

        A run is alive while it holds a lock, or while its process (same host, same pid,
        same process start time) still runs. Runs on another host that hold no lock
        are given `grace` after their start before they are judged.
        """
        holders = self._lock_holders()
        host = socket.gethostname()
        aborted: list[str] = []
        for run in self._dicts("SELECT * FROM sync_runs_latest WHERE status = 'RUNNING'"):
            if run["run_id"] in holders:
                continue
            if run["host"] == host:
                if _process_alive(int(run["pid"]), run.get("pid_started")):
                    continue
            elif now() - run["started_at"] < grace:
                continue
            try:
                self._finish(
                    run["run_id"],
                    "ABORTED",
                    {},
                    None,
                    f"process {run['pid']} on {run['host']} ended without finishing the run",
                )
            except StateError:
                continue  # finished meanwhile by its own process
            aborted.append(run["run_id"])
        return aborted

    # -- audit log ---------------------------------------------------------------------
    def append_audit(self, records: Iterable[AuditRecord]) -> int:
        """Append audit records in bulk; return how many. Validates every record first
        (StateError names the record and the field), so a bad one writes nothing."""
        rows = list(audit_rows(records))
        if not rows:
            return 0
        from propsync.state.records import AUDIT_COLUMNS

        return self._insert("property_sync_audit_log", AUDIT_COLUMNS, rows)

    def audit(
        self, run_id: str, *, status: str | None = None, operation: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """A run's audit rows in order, streamed a page at a time."""
        last = -1
        while True:
            where = ["run_id = ?", "audit_id > ?"]
            params: list[Any] = [run_id, last]
            if status is not None:
                where.append("sync_status = ?")
                params.append(status)
            if operation is not None:
                where.append("sync_operation = ?")
                params.append(operation)
            page = self._dicts(
                "SELECT * FROM property_sync_audit_log WHERE "
                + " AND ".join(where)
                + f" ORDER BY audit_id LIMIT {PAGE}",
                params,
            )
            for row in page:
                yield decode(row, AUDIT_JSON)
            if len(page) < PAGE:
                return
            last = int(page[-1]["audit_id"])

    def audit_summary(self, run_id: str) -> list[dict[str, Any]]:
        """Counts per operation, status and error code for one run."""
        return self._dicts(
            "SELECT sync_operation, sync_status, error_code, count(*) AS records,"
            " count(*) FILTER (WHERE created) AS created, max(attempt) AS max_attempt"
            " FROM property_sync_audit_log WHERE run_id = ?"
            " GROUP BY sync_operation, sync_status, error_code"
            " ORDER BY sync_operation, sync_status, records DESC",
            [run_id],
        )

    # -- queue sizes -------------------------------------------------------------------
    def record_queue_sizes(
        self,
        create: int,
        update: int,
        *,
        changes: int | None = None,
        run_id: str | None = None,
    ) -> None:
        """Log the two queues' sizes now (the plan's sync_queue_sizes_24h reads these)."""
        for what, value in (("create", create), ("update", update), ("changes", changes)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise StateError(f"queue size {what}: expected a non-negative integer")
        self._insert(
            "sync_queue_measurements",
            (
                "measurement_time",
                "properties_to_create",
                "properties_to_update",
                "records_with_changes",
                "run_id",
            ),
            [(now(), create, update, changes, run_id)],
        )

    def queue_measurements(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Queue measurements since a time (default: the last 24 hours), oldest first."""
        since = since or now() - timedelta(hours=24)
        return self._dicts(
            "SELECT * FROM sync_queue_measurements WHERE measurement_time >= ?"
            " ORDER BY measurement_id",
            [since],
        )

    # -- pilots ------------------------------------------------------------------------
    def save_pilot_set(self, name: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Save a pilot selection under a name; return its size. Each row needs `queue`
        ('create' | 'update') and `rds_property_id` or `snappt_property_id_c`;
        `pilot_reason` and `priority` are kept as columns, anything else in `details`.
        Saving again under the same name makes a new selection that replaces the old
        one for `pilot_set` (the old one stays in the table)."""
        if not name:
            raise StateError("pilot set name is empty")
        selected = now()
        selection = new_run_id(selected)
        out: list[tuple[Any, ...]] = []
        core = {"queue", "rds_property_id", "snappt_property_id_c", "pilot_reason", "priority"}
        for index, row in enumerate(rows):
            where = f"pilot set {name!r} row #{index}"
            queue = row.get("queue")
            if queue not in ("create", "update"):
                raise StateError(f"{where}: queue {queue!r} must be 'create' or 'update'")
            rds_id = row.get("rds_property_id")
            sf_key = row.get("snappt_property_id_c")
            if rds_id is None and sf_key is None:
                raise StateError(f"{where}: needs rds_property_id or snappt_property_id_c")
            if rds_id is not None and not isinstance(rds_id, int):
                raise StateError(f"{where}: rds_property_id must be an integer, got {rds_id!r}")
            priority = row.get("priority")
            if priority is not None and (type(priority) is not int):
                raise StateError(f"{where}: priority must be an integer, got {priority!r}")
            details = {k: v for k, v in row.items() if k not in core}
            out.append(
                (
                    name,
                    selection,
                    queue,
                    rds_id,
                    None if sf_key is None else str(sf_key),
                    row.get("pilot_reason"),
                    row.get("priority"),
                    to_json(details or None, where=f"{where}: details"),
                    selected,
                )
            )
        if not out:
            raise StateError(f"pilot set {name!r} is empty")
        return self._insert(
            "pilot_sets",
            (
                "pilot_name",
                "selection_id",
                "queue",
                "rds_property_id",
                "snappt_property_id_c",
                "pilot_reason",
                "priority",
                "details",
                "selected_at",
            ),
            out,
        )

    def pilot_set(self, name: str) -> list[dict[str, Any]]:
        """The latest selection saved under a name ([] when there is none)."""
        rows = self._dicts(
            "SELECT * FROM pilot_sets WHERE pilot_name = ? AND selection_id = "
            "(SELECT max(selection_id) FROM pilot_sets WHERE pilot_name = ?)"
            " ORDER BY queue, priority, rds_property_id, snappt_property_id_c",
            [name, name],
        )
        return [decode(r, ("details",)) for r in rows]

    def pilot_names(self) -> list[str]:
        return [
            r["pilot_name"]
            for r in self._dicts("SELECT DISTINCT pilot_name FROM pilot_sets ORDER BY pilot_name")
        ]

    def add_signoff(
        self,
        name: str,
        *,
        who: str,
        role: str | None = None,
        decision: str = "approve",
        comment: str | None = None,
    ) -> None:
        """Record one person's decision (approve | reject) on a pilot."""
        if not who:
            raise StateError(f"sign-off on pilot {name!r}: who is empty")
        self._insert(
            "signoffs",
            ("pilot_name", "who", "role", "decision", "comment", "signed_at"),
            [(name, who, role, normalise_decision(decision), comment, now())],
        )

    def signoffs(self, name: str) -> list[dict[str, Any]]:
        """Every sign-off on a pilot, oldest first."""
        return self._dicts("SELECT * FROM signoffs WHERE pilot_name = ? ORDER BY signed_at", [name])

    # -- Bulk API jobs -----------------------------------------------------------------
    def record_bulk_job(
        self,
        run_id: str,
        *,
        queue: str,
        job_id: str,
        operation: str,
        records: int,
        attempt: int = 1,
        images_file: str | None = None,
    ) -> None:
        """Journal a Bulk API ingest job before its data is uploaded ('SUBMITTED')."""
        if queue not in ("create", "update"):
            raise StateError(f"bulk job {job_id}: queue {queue!r} must be create or update")
        at = now()
        row = (at, "SUBMITTED", run_id, queue, job_id, operation, records, attempt, at,
               images_file, None, None)  # fmt: skip
        self._insert("sync_bulk_jobs", BULK_JOB_COLUMNS, [row])

    def close_bulk_job(
        self,
        job: Mapping[str, Any],
        event: str,
        *,
        by_run: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append a job's closing event: 'RECORDED' (its run audited its records) or
        'RECONCILED' (run `by_run` did, from the job's results). `job` is a
        SUBMITTED row of `open_bulk_jobs` (or the same fields)."""
        if event not in ("RECORDED", "RECONCILED"):
            raise StateError(f"bulk job {job['job_id']}: event {event!r}")
        note = to_json(dict(detail) if detail else None, where=f"bulk job {job['job_id']}")
        row = (now(), event, job["run_id"], job["queue"], job["job_id"], job["operation"],
               int(job["records"]), int(job["attempt"]), job["submitted_at"],
               job.get("images_file"), by_run, note)  # fmt: skip
        self._insert("sync_bulk_jobs", BULK_JOB_COLUMNS, [row])

    def open_bulk_jobs(self, queues: Sequence[str] = ("create", "update")) -> list[dict[str, Any]]:
        """Jobs journalled SUBMITTED with no closing event whose run is over (a killed
        run, once ABORTED, or one that stopped on an error): their outcome is known to
        Salesforce only. Oldest first."""
        if not queues:
            return []
        marks = ", ".join("?" for _ in queues)
        rows = self._dicts(
            "SELECT j.* FROM sync_bulk_jobs AS j JOIN sync_runs_latest AS r"
            " ON r.run_id = j.run_id"
            f" WHERE j.event = 'SUBMITTED' AND r.status <> 'RUNNING' AND j.queue IN ({marks})"
            " AND NOT EXISTS (SELECT 1 FROM sync_bulk_jobs AS c"
            " WHERE c.job_id = j.job_id AND c.event <> 'SUBMITTED')"
            " ORDER BY j.event_id",
            list(queues),
        )
        return [decode(r, ("detail",)) for r in rows]

    def bulk_job_events(self, run_id: str) -> list[dict[str, Any]]:
        """Every journalled event of one run's Bulk API jobs, oldest first."""
        rows = self._dicts(
            "SELECT * FROM sync_bulk_jobs WHERE run_id = ? ORDER BY event_id", [run_id]
        )
        return [decode(r, ("detail",)) for r in rows]

    def audited_keys(self, run_id: str, job_id: str, column: str) -> set[str]:
        """Values of `column` (snappt_property_id_c or salesforce_id) of a run's audit
        rows that name a Bulk API job."""
        if column not in ("snappt_property_id_c", "salesforce_id"):
            raise StateError(f"audited_keys: column {column!r}")
        rows = self._dicts(
            f"SELECT {column} AS k FROM property_sync_audit_log"
            " WHERE run_id = ? AND (job_id = ? OR job_id LIKE ?)",
            [run_id, job_id, f"%{job_id}%"],
        )
        return {str(r["k"]) for r in rows if r["k"] is not None}

    def audited_for_job(self, run_id: str, job_id: str) -> int:
        """Audit rows of a run that name a Bulk API job (a row's job_id may list several
        jobs, comma-separated)."""
        rows = self._dicts(
            "SELECT count(*) AS n FROM property_sync_audit_log"
            " WHERE run_id = ? AND (job_id = ? OR job_id LIKE ?)",
            [run_id, job_id, f"%{job_id}%"],
        )
        return int(rows[0]["n"]) if rows else 0
