"""Bulk API jobs a run could not audit: journalled before upload, reconciled later.

Salesforce keeps processing an ingest job after the process that submitted it dies.
So before a job's data is uploaded, `BulkJournal` writes the before/after images of
its records to `<workspace>/jobs/<run>-<queue>-<n>.parquet` and appends a SUBMITTED
row to `sync_bulk_jobs` (state store, append-only). Once the run has appended the
audit rows of the job's records it appends RECORDED and deletes the file.

`reconcile` runs at the start of the next run (after stale runs are marked ABORTED,
under the sync locks): for each job still SUBMITTED whose run is over, it asks
Salesforce for the job's results and appends the audit rows (SUCCESS, or FAILED with
Salesforce's code; records the job never processed were not written and get none),
attributed to the run that submitted the job (as ROLLBACK rows, with the run undone,
when that was a rollback), then appends RECONCILED. A job still
in progress after `wait_s` is left for the following run (logged).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from propsync import fields as sf
from propsync.salesforce.bulk2 import existing_job_results
from propsync.state import AuditRecord, BulkJob, StateStore
from propsync.state.records import MAX_ERROR_MESSAGE, QUEUE_OPERATION, audit_rds_id, to_json
from propsync.sync.payload import WriteItem

log = logging.getLogger("propsync.sync")

RECONCILE_WAIT_S = 30.0
NOT_WRITTEN = ("NOT_PROCESSED", "NO_RESULT")
AUDIT_CHUNK = 10_000
# Journal ids of sObject Collections windows (`propsync.sync.journal`), which share
# `sync_bulk_jobs` with the Bulk API jobs and are reconciled there.
COLLECTIONS_PREFIX = "collections-"
_IMAGE_COLUMNS = ("key", "rds_property_id", "salesforce_id", "fields_written", "before", "after")


def images_table(items: Sequence[WriteItem]) -> Any:
    import pyarrow as pa  # heavy driver: imported on first use

    def js(value: Any, item: WriteItem) -> str | None:
        return to_json(value, where=f"bulk job images of {item.key}")

    return pa.table(
        {
            "key": [i.key for i in items],
            "rds_property_id": [i.rds_property_id for i in items],
            "salesforce_id": [i.salesforce_id for i in items],
            "fields_written": [js(i.fields_written, i) for i in items],
            "before": [js(i.before, i) if i.queue == "update" else None for i in items],
            "after": [js(i.after_image(), i) for i in items],
        },
        schema=pa.schema([(c, pa.string()) for c in _IMAGE_COLUMNS]),
    )


class BulkJournal:
    """Journals the Bulk API jobs of one run (see the module docstring)."""

    def __init__(self, state: StateStore, run_id: str, directory: Path) -> None:
        self.state = state
        self.run_id = run_id
        self.directory = directory
        self._groups = 0
        self._open: list[BulkJob] = []  # SUBMITTED events of the current group
        self._file: Path | None = None

    def begin(
        self, items: Sequence[WriteItem], op: str, attempt: int
    ) -> Callable[[str, list[str]], None]:
        """Write the images of a group about to be sent by Bulk API; return the
        `on_job` callback that journals each of its jobs before upload."""
        import pyarrow.parquet as pq  # heavy driver: imported on first use

        self.directory.mkdir(parents=True, exist_ok=True)
        self._groups += 1
        queue = items[0].queue
        path = self.directory / f"{self.run_id}-{queue}-{self._groups:04d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(images_table(items), tmp, compression="zstd")
        tmp.replace(path)
        self._file, self._open = path, []

        def on_job(job_id: str, keys: list[str]) -> None:
            job = self.state.bulk_jobs.record(
                self.run_id,
                queue=queue,
                job_id=job_id,
                operation=op,
                records=len(keys),
                attempt=attempt,
                images_file=path.name,
            )
            self._open.append(job)

        return on_job

    def recorded(self) -> None:
        """The run has appended the audit rows of the current group's outcomes."""
        for job in self._open:
            self.state.bulk_jobs.close(job, "RECORDED", by_run=self.run_id)
        self._open = []
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file = None


def read_images(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of an images file (none when it is missing)."""
    import pyarrow.parquet as pq  # heavy driver: imported on first use

    if not path.exists():
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=AUDIT_CHUNK):
        yield from batch.to_pylist()


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def reconcile(
    state: StateStore,
    client: Any,
    queues: Sequence[str],
    directory: Path,
    *,
    by_run: str,
    wait_s: float = RECONCILE_WAIT_S,
) -> dict[str, int]:
    """Audit the records of every Bulk API job whose run ended without doing it.
    Returns counts: jobs reconciled, jobs left (still in progress), rows appended."""
    done = {"jobs": 0, "left": 0, "succeeded": 0, "failed": 0}
    files: set[str] = set()
    for job in state.bulk_jobs.open(queues):
        if job.job_id.startswith(COLLECTIONS_PREFIX):
            continue  # a Collections window: `propsync.sync.journal.reconcile`
        run_id, job_id = job.run_id, job.job_id
        if job.images_file:
            files.add(job.images_file)
        column = "snappt_property_id_c" if job.queue == "create" else "salesforce_id"
        # The run may have audited some or all of the job before it died.
        audited = state.audit.keys_for_job(run_id, job_id, column)
        if audited and len(audited) >= job.records:
            state.bulk_jobs.close(job, "RECORDED", by_run=by_run, detail={"found": "audit"})
            continue
        path = directory / (job.images_file or "")
        images = {row["key"]: row for row in read_images(path)} if path.is_file() else {}
        if not images:
            log.error(
                "bulk job %s of run %s: its images file %s is missing; its records "
                "cannot be audited",
                job_id,
                run_id,
                path,
            )
            state.bulk_jobs.close(job, "RECONCILED", by_run=by_run, detail={"images": "missing"})
            continue
        key = sf.EXTERNAL_ID if job.operation == "upsert" else "Id"
        info, results = existing_job_results(client, job_id, list(images), key=key, wait_s=wait_s)
        if results is None:
            done["left"] += 1
            log.warning(
                "bulk job %s of run %s is still %s after %.0fs; its records will be "
                "audited by the next run",
                job_id,
                run_id,
                info.get("state"),
                wait_s,
            )
            continue
        records = [
            r
            for r in _audit_records(job, results, images, *_operation(state, run_id, job))
            if (r.snappt_property_id_c if column == "snappt_property_id_c" else r.salesforce_id)
            not in audited
        ]
        succeeded = sum(1 for r in records if r.sync_status == "SUCCESS")
        for start in range(0, len(records), AUDIT_CHUNK):
            state.audit.append(records[start : start + AUDIT_CHUNK])
        detail = {
            "state": info.get("state"),
            "succeeded": succeeded,
            "failed": len(records) - succeeded,
            "not_processed": len(results) - len(records) - len(audited),
            "audited_by_its_run": len(audited),
        }
        state.bulk_jobs.close(job, "RECONCILED", by_run=by_run, detail=detail)
        log.warning(
            "bulk job %s of run %s (ended without reading its results): audited %d "
            "succeeded, %d failed record(s) from Salesforce's results (job %s)",
            job_id,
            run_id,
            succeeded,
            len(records) - succeeded,
            info.get("state"),
        )
        done["jobs"] += 1
        done["succeeded"] += succeeded
        done["failed"] += len(records) - succeeded
    still_open = {str(j.images_file) for j in state.bulk_jobs.open(queues)}
    for name in files - still_open:
        (directory / name).unlink(missing_ok=True)
    return done


def _operation(state: StateStore, run_id: str, job: BulkJob) -> tuple[str, str | None]:
    """The audit operation of a job's records and the run it undoes: ROLLBACK (with its
    source run) for a rollback run's jobs, else CREATE / UPDATE from the queue."""
    run = state.runs.get(run_id)
    if run is not None and run.sync == "rollback":
        source = (run.params or {}).get("source_run_id")
        return "ROLLBACK", None if source is None else str(source)
    return QUEUE_OPERATION[job.queue], None


def _audit_records(
    job: BulkJob,
    results: list[Any],
    images: dict[str, dict[str, Any]],
    operation: str,
    source_run_id: str | None,
) -> list[AuditRecord]:
    now = dt.datetime.now(dt.UTC)
    out = []
    for res in results:
        err = res.errors[0] if res.errors else None
        if not res.success and err is not None and err.code in NOT_WRITTEN:
            continue  # Salesforce never processed it: nothing was written
        image = images.get(res.key, {})
        rds_id = image.get("rds_property_id")
        out.append(
            AuditRecord(
                sync_timestamp=now,
                run_id=job.run_id,
                sync_operation=operation,
                sync_status="SUCCESS" if res.success else "FAILED",
                rds_property_id=audit_rds_id(rds_id),
                snappt_property_id_c=rds_id,
                salesforce_id=res.id or image.get("salesforce_id"),
                created=res.created if res.success else None,
                attempt=job.attempt,
                error_code=None if res.success else (err.code if err else "UNKNOWN_EXCEPTION"),
                error_message=None
                if res.success
                else ((err.message if err else "")[:MAX_ERROR_MESSAGE] or None),
                fields_written=_loads(image.get("fields_written")),
                before_values=_loads(image.get("before")),
                after_values=_loads(image.get("after")),
                api="bulk2",
                job_id=job.job_id,
                source_run_id=source_run_id,
            )
        )
    return out
