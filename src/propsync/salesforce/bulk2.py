"""Our thin Bulk API 2.0 layer (ingest and query jobs).

Why not simple-salesforce's bulk2 helper: it orders CSV columns from a set, writes None
as an empty cell (so a field can never be cleared on purpose), makes one job per chunk,
never refreshes an expired session and records no API usage. Here every request goes
through the client's retry policy, the CSV column order is the caller's, None leaves a
field and `CLEAR` writes `#N/A`, and results are mapped back to the input rows by a key
column, because Salesforce does not keep the order of results.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
import urllib3

from propsync.errors import (
    BulkJobDeadline,
    SalesforceError,
    TerminalSalesforceError,
    TransientSalesforceError,
    UsageError,
)
from propsync.salesforce.bulk2_jobs import (
    FINAL_STATES,
    MAX_POLL_S,
    BulkApi,
    abort_job,
    job_info,
    wait_for_job,
)
from propsync.salesforce.errors import RecordResult, SFErrorItem, parse_bulk_errors
from propsync.salesforce.values import CLEAR, CLEAR_TEXT, csv_cell, json_value

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CLEAR",
    "CLEAR_TEXT",
    "MAX_JOB_BYTES",
    "BulkApi",
    "BulkResult",
    "OnJob",
    "existing_job_results",
    "ingest",
    "json_value",
    "wait_for_job",
]

log = logging.getLogger(__name__)

# Salesforce allows 150 MB of base64-encoded CSV per ingest job, about 112 MB raw; we
# stay below with room for the header and multi-byte characters.
MAX_JOB_BYTES = 100 * 1024 * 1024
_BLOCK_ROWS = 2_000  # rows serialised at a time; the job size is checked per block


@dataclass
class BulkResult:
    """The outcome of one `bulk_ingest` call: one RecordResult per input row, in input
    order, plus the job ids and the API calls they cost."""

    operation: str
    jobs: list[str] = field(default_factory=list)
    results: list[RecordResult] = field(default_factory=list)
    api_calls: int = 0
    seconds: float = 0.0

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.success)

    @property
    def failed(self) -> list[RecordResult]:
        return [r for r in self.results if not r.success]

    @property
    def created(self) -> int:
        return sum(1 for r in self.results if r.success and r.created)

    def by_key(self) -> dict[str, RecordResult]:
        return {r.key: r for r in self.results}


def _key_column(client: BulkApi, op: str, columns: list[str], ext: str | None) -> str:
    if op in ("delete", "hardDelete"):
        if columns != ["Id"]:
            raise UsageError(f"a Bulk API {op} takes exactly one column, Id (got {columns})")
        return "Id"
    if op == "update":
        return "Id"
    if op == "upsert":
        if not ext:
            raise UsageError("an upsert needs an external id field")
        return ext
    return ext or client.external_id


def _blocks(
    records: Iterable[dict[str, Any]] | pa.Table, columns: list[str], key: str
) -> Iterator[tuple[bytes, list[str]]]:
    """CSV bytes (no header) and the key of each row, a block of rows at a time."""
    import pyarrow as pa  # heavy driver: imported on first use

    if isinstance(records, pa.Table):
        yield from _arrow_blocks(records, columns, key)
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    keys: list[str] = []
    for index, record in enumerate(records):
        unknown = record.keys() - set(columns)
        if unknown:
            raise UsageError(f"row {index}: fields {sorted(unknown)} are not in columns")
        k = record.get(key)
        if k is None or k is CLEAR or k == "":
            raise UsageError(f"row {index}: field {key} is required to identify the record")
        keys.append(str(k))
        writer.writerow([csv_cell(record.get(c), index, c) for c in columns])
        if len(keys) >= _BLOCK_ROWS:
            yield buf.getvalue().encode("utf-8"), keys
            buf.seek(0)
            buf.truncate()
            keys = []
    if keys:
        yield buf.getvalue().encode("utf-8"), keys


def _arrow_blocks(
    table: pa.Table, columns: list[str], key: str
) -> Iterator[tuple[bytes, list[str]]]:
    # heavy driver: imported on first use
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UsageError(f"the table has no columns {missing}")
    table = table.select(columns)
    for i, col in enumerate(table.columns):
        # Salesforce reads ISO 8601 with milliseconds and Z; Arrow would write a space.
        if pa.types.is_timestamp(col.type):
            if col.type.tz is None:
                raise UsageError(f"column {columns[i]}: timestamps need a time zone")
            text = pc.strftime(
                pc.cast(col, pa.timestamp("ms", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ"
            )
            table = table.set_column(i, columns[i], text)
        elif pa.types.is_floating(col.type):
            whole = pc.equal(col, pc.floor(col))
            as_int = pc.cast(pc.if_else(whole, col, None), pa.int64(), safe=False)
            text = pc.coalesce(pc.cast(as_int, pa.string()), pc.cast(col, pa.string()))
            table = table.set_column(i, columns[i], text)
    key_col = table.column(key)
    if key_col.null_count:
        raise UsageError(f"column {key}: {key_col.null_count} rows have no value")
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in table.to_batches(max_chunksize=_BLOCK_ROWS * 5):
        out = io.BytesIO()
        pacsv.write_csv(pa.Table.from_batches([batch]), out, options)
        keys = [str(k) for k in batch.column(columns.index(key)).to_pylist()]
        yield out.getvalue(), keys


def _header(columns: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(columns)
    return buf.getvalue().encode("utf-8")


OnJob = Callable[[str, list[str]], None]


@dataclass
class _Job:
    id: str
    keys: list[str]
    submitted: float | None = None  # time.monotonic() when closed; the deadline counts from it


def ingest(
    client: BulkApi,
    op: str,
    records: Iterable[dict[str, Any]] | pa.Table,
    *,
    columns: list[str],
    external_id: str | None = None,
    key: str | None = None,
    max_job_bytes: int = MAX_JOB_BYTES,
    on_job: OnJob | None = None,
) -> BulkResult:
    """See `SalesforceClient.bulk_ingest`. Jobs are uploaded one after another, then
    all are awaited, so Salesforce processes one while we upload the next.

    `on_job(job_id, keys)` is called for each job once it exists and before its data is
    uploaded (a caller journals it there, so a job whose results it never reads can be
    reconciled later with `existing_job_results`); if it raises, the job is aborted."""
    if op not in ("insert", "update", "upsert", "delete", "hardDelete"):
        raise UsageError(f"unknown Bulk API operation {op!r}")
    if len(set(columns)) != len(columns):
        raise UsageError(f"duplicate columns in {columns}")
    ext = external_id or (client.external_id if op == "upsert" else None)
    key = key or _key_column(client, op, columns, ext)
    if key not in columns:
        raise UsageError(f"the key column {key} must be one of the columns {columns}")
    started, calls0 = time.monotonic(), client.calls
    header = _header(columns)
    result = BulkResult(operation=op)
    jobs: list[_Job] = []
    seen: set[str] = set()
    # One growing buffer per job: a list of blocks joined at upload would hold the
    # job's CSV (up to ~100 MB) twice.
    chunk = bytearray(header)
    chunk_keys: list[str] = []
    size = len(header)
    for data, keys in _blocks(records, columns, key):
        for k in keys:
            if k in seen:
                raise UsageError(f"{key} {k!r} appears twice; results could not be matched")
            seen.add(k)
        if chunk_keys and size + len(data) > max_job_bytes:
            jobs.append(_submit(client, op, ext, chunk, chunk_keys, on_job))
            chunk, chunk_keys, size = bytearray(header), [], len(header)
        chunk += data
        chunk_keys.extend(keys)
        size += len(data)
    if chunk_keys:
        jobs.append(_submit(client, op, ext, chunk, chunk_keys, on_job))
    del chunk
    del seen
    for index, job in enumerate(jobs):
        result.jobs.append(job.id)
        try:
            result.results.extend(_collect(client, job, key))
        except BulkJobDeadline:
            # The run stops here: the jobs not yet awaited must not write on after it.
            for later in jobs[index + 1 :]:
                _abort(client, later.id)
            raise
    result.api_calls = client.calls - calls0
    result.seconds = time.monotonic() - started
    return result


def _submit(
    client: BulkApi,
    op: str,
    ext: str | None,
    data: bytearray,
    keys: list[str],
    on_job: OnJob | None = None,
) -> _Job:
    """Create a job, upload its CSV, close it. A failed upload aborts the job and the
    whole unit is repeated on a fresh job (a half-uploaded job is never closed)."""
    body: dict[str, Any] = {
        "object": client.object_name,
        "operation": op,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    if op == "upsert":
        body["externalIdFieldName"] = ext
    attempt = 0
    while True:
        attempt += 1
        job = client.http("POST", "jobs/ingest/", json=body, what=f"create {op} job").json()
        job_id = job["id"]
        if on_job is not None:
            try:
                on_job(job_id, keys)
            except BaseException:
                _abort(client, job_id)
                raise
        try:
            client.http(
                "PUT",
                f"jobs/ingest/{job_id}/batches/",
                data=data,
                headers={"Content-Type": "text/csv"},
                idempotent=False,
                what=f"upload job {job_id}",
            )
        except SalesforceError as exc:
            _abort(client, job_id)
            # A lost connection mid-upload (status None) leaves the job's data unknown;
            # the aborted job never runs, so a fresh job is safe where a second PUT
            # on the same job is not.
            redo = isinstance(exc, TransientSalesforceError) or exc.status is None
            if attempt >= client.max_request_attempts or not redo:
                raise
            log.warning("upload of job %s failed (%s); retrying on a new job", job_id, exc)
            continue
        _close(client, job_id)
        log.info("bulk %s job %s: %d records, %d bytes", op, job_id, len(keys), len(data))
        return _Job(job_id, keys, time.monotonic())


def _abort(client: BulkApi, job_id: str) -> None:
    abort_job(client, "ingest", job_id)


def _close(client: BulkApi, job_id: str) -> None:
    try:
        client.http(
            "PATCH",
            f"jobs/ingest/{job_id}/",
            json={"state": "UploadComplete"},
            what=f"close job {job_id}",
        )
    except TerminalSalesforceError:
        # A retried close may find the job already closed by the first attempt.
        state = job_info(client, "ingest", job_id).get("state")
        if state == "Open":
            raise


def _result_rows(client: BulkApi, job_id: str, which: str) -> Iterator[dict[str, str]]:
    """Stream one result CSV of a job as dicts (it can be as large as the upload)."""
    response = client.http(
        "GET",
        f"jobs/ingest/{job_id}/{which}/",
        headers={"Accept": "text/csv"},
        stream=True,
        what=f"{which} of job {job_id}",
    )
    response.raw.decode_content = True
    # urllib3 reports an auto-closing response as closed to TextIOWrapper before the
    # first read when the body has a Content-Length; urllib3 documents auto_close=False.
    response.raw.auto_close = False
    text = io.TextIOWrapper(response.raw, encoding="utf-8", newline="")  # type: ignore[type-var]
    try:
        yield from csv.DictReader(text)
    finally:
        response.close()


def _read_results(
    client: BulkApi, job_id: str, which: str, handle: Callable[[dict[str, str]], None]
) -> None:
    """Feed every row of a result file to `handle`, downloading it again from the start
    if the connection breaks midway (`handle` must tolerate seeing a row twice)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            for row in _result_rows(client, job_id, which):
                handle(row)
            return
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if attempt >= client.max_request_attempts:
                raise TransientSalesforceError(
                    f"{which} of job {job_id}: download failed: {type(exc).__name__}: {exc}"
                ) from None
            log.warning("%s of job %s broke off (%s); downloading again", which, job_id, exc)


def _collect(
    client: BulkApi, job: _Job, key: str, info: dict[str, Any] | None = None
) -> list[RecordResult]:
    if info is None:
        info = wait_for_job(client, "ingest", job.id, since=job.submitted)
    state = info.get("state")
    processed = int(info.get("numberRecordsProcessed") or 0)
    failed = int(info.get("numberRecordsFailed") or 0)
    by_key: dict[str, RecordResult] = {}

    def success(row: dict[str, str]) -> None:
        k = _row_key(row, key, job.id)
        created = row.get("sf__Created")
        by_key[k] = RecordResult(
            key=k,
            success=True,
            created=None if created is None else created.lower() == "true",
            id=row.get("sf__Id") or None,
        )

    def failure(row: dict[str, str]) -> None:
        k = _row_key(row, key, job.id)
        errors = parse_bulk_errors(row.get("sf__Error") or "")
        by_key[k] = RecordResult(key=k, success=False, id=row.get("sf__Id") or None, errors=errors)

    reason = info.get("errorMessage") or f"job {job.id} ended {state}"

    def unprocessed(row: dict[str, str]) -> None:
        k = _row_key(row, key, job.id)
        by_key.setdefault(
            k, RecordResult(key=k, success=False, errors=[SFErrorItem("NOT_PROCESSED", reason)])
        )

    if processed - failed > 0:
        _read_results(client, job.id, "successfulResults", success)
    if failed > 0:
        _read_results(client, job.id, "failedResults", failure)
    if state != "JobComplete" or processed < len(job.keys):
        _read_results(client, job.id, "unprocessedrecords", unprocessed)
    out: list[RecordResult] = []
    for k in job.keys:
        found = by_key.get(k)
        if found is None:
            found = RecordResult(
                key=k,
                success=False,
                errors=[SFErrorItem("NO_RESULT", f"job {job.id} reported no result for {k}")],
            )
        out.append(found)
    return out


def _row_key(row: dict[str, str], key: str, job_id: str) -> str:
    value = row.get(key)
    if value is None:
        # Result files echo the request's columns; match the header case-insensitively.
        lowered = {name.lower(): v for name, v in row.items() if name}
        value = lowered.get(key.lower())
    if value is None:
        raise TerminalSalesforceError(f"job {job_id}: result file has no column {key}")
    return value


def existing_job_results(
    client: BulkApi,
    job_id: str,
    keys: list[str],
    *,
    key: str,
    wait_s: float = 30.0,
) -> tuple[dict[str, Any], list[RecordResult] | None]:
    """The job info and per-record results of an ingest job created earlier (perhaps
    by a process that died before reading them), mapped to `keys` as `ingest` maps
    them: a key the job has no result for is NOT_PROCESSED (unprocessed) or NO_RESULT.
    Polls up to `wait_s` for the job to finish; results are None if it has not."""
    deadline = time.monotonic() + wait_s
    delay = client.poll_interval_s
    info = job_info(client, "ingest", job_id)
    aborting = False
    while info.get("state") not in FINAL_STATES:
        if info.get("state") == "Open" and not aborting:
            # Never closed: Salesforce will not process it. Abort it so it never runs
            # (once: a refused abort must not turn this into a loop without a deadline).
            aborting = True
            _abort(client, job_id)
            info = job_info(client, "ingest", job_id)
            continue
        if time.monotonic() + delay > deadline:
            return info, None
        time.sleep(delay)
        delay = min(delay * 1.3, MAX_POLL_S)
        info = job_info(client, "ingest", job_id)
    if info.get("state") != "JobComplete" and not int(info.get("numberRecordsProcessed") or 0):
        reason = info.get("errorMessage") or f"job {job_id} ended {info.get('state')}"
        nothing = [SFErrorItem("NOT_PROCESSED", reason)]
        return info, [RecordResult(key=k, success=False, errors=nothing) for k in keys]
    return info, _collect(client, _Job(job_id, keys), key, info)
