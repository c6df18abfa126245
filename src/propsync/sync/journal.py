"""sObject Collections requests journalled before they are sent, reconciled later.

Salesforce commits a Collections request's records before the response comes back, so
a run killed (or stopped by a full disk, or left without the response) after sending
leaves records in the org that its audit log does not name. Before each window of
Collections requests (up to `collection_size * 10` records, one attempt),
`CollectionsJournal.begin` writes the window's before/after images durably (written,
fsynced and renamed into place) to `<workspace>/jobs/<journal id>.parquet` and appends a
SUBMITTED row to `sync_bulk_jobs` (job id `collections-<run>-<queue>-<n>`). If either
write fails (a full disk, a read-only workspace), the run stops with a StateError and
nothing of that window is sent. Once the run has appended the window's audit rows it
appends RECORDED and deletes the file.

`reconcile` runs at the start of the next run, beside the Bulk API jobs'
(`propsync.sync.jobs`): for each window still SUBMITTED whose run is over it reads the
records of the journalled keys back from Salesforce (Id, CreatedDate, LastModifiedDate,
LastModifiedById and the fields written; by external id for creates, by Id for
updates), and appends a SUCCESS audit row, attributed to the journalled run and marked
`api = 'collections-reconciled'` with the journal id as `job_id`, for every record that
holds the values written and was modified after the window was journalled and that
the run has not audited already. A record Salesforce does not hold as written was not
written (or was rejected): it gets no row and stays in the queue. Then RECONCILED.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from propsync import fields as sf
from propsync.errors import StateError
from propsync.state import AuditRecord, BulkJob, StateStore
from propsync.state.records import QUEUE_OPERATION, audit_rds_id
from propsync.sync.jobs import COLLECTIONS_PREFIX, images_table, read_images
from propsync.sync.payload import WriteItem

log = logging.getLogger("propsync.sync")

RECONCILED_API = "collections-reconciled"
READ_BACK_CHUNK = 200  # keys per SOQL query (IN lists stay well under the URI limit)
# Salesforce's clock may run behind ours: a record counts as written by the window when
# it was modified no earlier than this before the window was journalled.
CLOCK_SKEW = dt.timedelta(minutes=2)
_FILE = re.compile(re.escape(COLLECTIONS_PREFIX) + r"(.+)-(create|update)-\d+\.(?:parquet|tmp)")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CollectionsJournal:
    """Journals the sObject Collections windows of one run (see the module docstring)."""

    def __init__(self, state: StateStore, run_id: str, directory: Path) -> None:
        self.state = state
        self.run_id = run_id
        self.directory = directory
        self._windows = 0

    def begin(self, items: Sequence[WriteItem], op: str, attempt: int) -> BulkJob:
        """Record the window about to be sent, durably; StateError (nothing sent) when
        it cannot be recorded. Returns the SUBMITTED event for `recorded`."""
        import pyarrow.parquet as pq  # heavy driver: imported on first use

        self._windows += 1
        queue = items[0].queue
        job_id = f"{COLLECTIONS_PREFIX}{self.run_id}-{queue}-{self._windows:04d}"
        path = self.directory / f"{job_id}.parquet"
        tmp = path.with_suffix(".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as out:
                pq.write_table(images_table(items), out, compression="zstd")
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
            _fsync_dir(self.directory)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StateError(
                f"cannot journal {len(items)} {queue} record(s) before sending them "
                f"({path}): {exc}; nothing of them was sent"
            ) from exc
        try:
            return self.state.bulk_jobs.record(
                self.run_id,
                queue=queue,
                job_id=job_id,
                operation=op,
                records=len(items),
                attempt=attempt,
                images_file=path.name,
            )
        except Exception as exc:  # a full disk reaches the store as its driver's error
            path.unlink(missing_ok=True)
            raise StateError(
                f"cannot journal {len(items)} {queue} record(s) before sending them "
                f"(state store): {exc}; nothing of them was sent"
            ) from exc

    def recorded(self, entry: BulkJob) -> None:
        """The run has appended the audit rows of the window's outcomes."""
        self.state.bulk_jobs.close(entry, "RECORDED", by_run=self.run_id)
        (self.directory / (entry.images_file or "")).unlink(missing_ok=True)


def _soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _stamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))


def _same(written: Any, held: Any) -> bool:
    """Whether the value Salesforce holds is the value written (JSON from the two sides:
    numbers may come back as floats, datetimes in another ISO spelling)."""
    if written is None or held is None:
        return written is None and held is None
    if isinstance(written, bool) or isinstance(held, bool):
        return written is held
    if isinstance(written, int | float) and isinstance(held, int | float):
        return math.isclose(float(written), float(held), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(written, str) and isinstance(held, str) and written != held:
        a, b = _stamp(written) if "T" in written else None, _stamp(held) if "T" in held else None
        return a is not None and a == b
    return bool(written == held)


def _read_back(
    client: Any, keys: list[str], key_field: str, fields: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The live records of `keys` by `key_field` (Id or the external id)."""
    columns = ["Id", sf.EXTERNAL_ID, "CreatedDate", "LastModifiedDate", "LastModifiedById"]
    columns += sorted(set(fields) - set(columns))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), READ_BACK_CHUNK):
        chunk = keys[start : start + READ_BACK_CHUNK]
        soql = (
            f"SELECT {', '.join(columns)} FROM {client.object_name}"
            f" WHERE {key_field} IN ({', '.join(_soql_text(k) for k in chunk)})"
        )
        for record in client.query_all(soql, include_deleted=False):
            found[str(record[key_field])] = record
    return found


def reconcile(
    state: StateStore,
    client: Any,
    queues: Sequence[str],
    directory: Path,
    *,
    by_run: str,
) -> dict[str, int]:
    """Audit the records of every Collections window whose run ended without doing it.
    Returns counts: windows reconciled, records found written (and audited now), records
    not written."""
    done = {"windows": 0, "succeeded": 0, "not_written": 0}
    audited: dict[tuple[str, str], set[str]] = {}
    for job in state.bulk_jobs.open(queues):
        if not job.job_id.startswith(COLLECTIONS_PREFIX):
            continue
        column = "snappt_property_id_c" if job.queue == "create" else "salesforce_id"
        seen = audited.get((job.run_id, column))
        if seen is None:
            seen = audited[(job.run_id, column)] = state.audit.keys_in_run(job.run_id, column)
        path = directory / (job.images_file or "")
        images = {row["key"]: row for row in read_images(path)} if path.is_file() else {}
        todo = [k for k in images if k not in seen]
        if not images:
            log.error(
                "collections window %s of run %s: its images file %s is missing; its "
                "records cannot be audited",
                job.job_id,
                job.run_id,
                path,
            )
            state.bulk_jobs.close(job, "RECONCILED", by_run=by_run, detail={"images": "missing"})
            continue
        written_fields = {f for k in todo for f in json.loads(images[k]["fields_written"] or "[]")}
        key_field = sf.EXTERNAL_ID if job.queue == "create" else "Id"
        held = _read_back(client, todo, key_field, written_fields) if todo else {}
        written = _audit_records(job, todo, images, held)
        records = list(written.values())
        state.audit.append(records)
        seen.update(written)
        detail = {
            "written": len(records),
            "not_written": len(todo) - len(records),
            "audited_by_its_run": len(images) - len(todo),
        }
        state.bulk_jobs.close(job, "RECONCILED", by_run=by_run, detail=detail)
        path.unlink(missing_ok=True)
        log.warning(
            "collections window %s of run %s (ended without auditing it): %d record(s) "
            "found written in Salesforce and audited, %d not written, %d audited by its run",
            job.job_id,
            job.run_id,
            detail["written"],
            detail["not_written"],
            detail["audited_by_its_run"],
        )
        done["windows"] += 1
        done["succeeded"] += detail["written"]
        done["not_written"] += detail["not_written"]
    _sweep(state, queues, directory)
    return done


def _sweep(state: StateStore, queues: Sequence[str], directory: Path) -> None:
    """Delete the images files of the queues' ended runs that no open window names: a
    run killed after writing a window's file but before journalling it sent nothing."""
    if not directory.is_dir():
        return
    named = {j.images_file for j in state.bulk_jobs.open(queues)}
    for path in directory.glob(f"{COLLECTIONS_PREFIX}*"):
        m = _FILE.fullmatch(path.name)
        if m is None or m.group(2) not in queues or path.name in named:
            continue
        run = state.runs.get(m.group(1))
        if run is None or run.status != "RUNNING":
            log.info("removing %s: its run ended before journalling it (nothing sent)", path)
            path.unlink(missing_ok=True)


def _audit_records(
    job: BulkJob,
    keys: list[str],
    images: dict[str, dict[str, Any]],
    held: dict[str, dict[str, Any]],
) -> dict[str, AuditRecord]:
    """The audit rows of the keys found written, by key."""
    now = dt.datetime.now(dt.UTC)
    since = job.submitted_at - CLOCK_SKEW
    out: dict[str, AuditRecord] = {}
    for key in keys:
        record = held.get(key)
        image = images[key]
        after = json.loads(image["after"] or "{}")
        modified = _stamp(record.get("LastModifiedDate")) if record else None
        if record is None or modified is None or modified < since:
            continue  # not written by the window (or rejected)
        fields = json.loads(image["fields_written"] or "[]")
        if not all(_same(after.get(f), record.get(f)) for f in fields):
            log.warning(
                "%s %s was modified after window %s was journalled but does not hold "
                "the values written: not audited as written",
                job.queue,
                key,
                job.job_id,
            )
            continue
        created_at = _stamp(record.get("CreatedDate"))
        rds_id = image.get("rds_property_id")
        out[key] = AuditRecord(
            sync_timestamp=now,
            run_id=job.run_id,
            sync_operation=QUEUE_OPERATION[job.queue],
            sync_status="SUCCESS",
            rds_property_id=audit_rds_id(rds_id),
            snappt_property_id_c=rds_id,
            salesforce_id=str(record["Id"]),
            created=job.queue == "create" and created_at is not None and created_at >= since,
            attempt=job.attempt,
            fields_written=fields,
            before_values=json.loads(image["before"]) if image.get("before") else None,
            after_values=after,
            api=RECONCILED_API,
            job_id=job.job_id,
        )
    return out
