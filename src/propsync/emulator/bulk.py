"""Bulk API 2.0 jobs: ingest (insert, update, upsert, delete) and query.

An ingest job takes one CSV upload, is queued at UploadComplete and processed by
a background worker in chunks (one transaction each), writing the three result
files as it goes. A query job runs its SOQL into one CSV file plus an index of
row offsets, so result pages (`maxRecords`, `locator`) are served by seeking.
Job state lives in SQLite and files under `<data_dir>/jobs/<id>/`; jobs that
were queued or running when the server stopped are resumed at start.
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import queue
import shutil
import threading
import time
from array import array
from pathlib import Path
from typing import Any

from propsync.emulator import bulk_worker
from propsync.emulator.bulk_common import DELIMITERS, LINE_ENDINGS, JobPrivate
from propsync.emulator.files import open_private, private_dir, write_private
from propsync.emulator.ids import mint
from propsync.emulator.knobs import Knobs
from propsync.emulator.org import Org
from propsync.emulator.soql import SoqlError, parse
from propsync.emulator.values import now_stamp

INGEST_OPS = ("insert", "update", "upsert", "delete")
TERMINAL = ("JobComplete", "Failed", "Aborted")
RESULT_FILES = {
    "successfulresults": "success.csv",
    "failedresults": "failed.csv",
    "unprocessedrecords": "unprocessed.csv",
}
DEFAULT_PAGE = 100_000

log = logging.getLogger(__name__)


class JobError(Exception):
    """A request about a job that Salesforce would refuse (status, code, message)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Jobs:
    """Job bookkeeping and the background worker that processes them."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.root = private_dir(org.data_dir / "jobs")
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="emulator-bulk", daemon=True)

    def start(self) -> None:
        rows = (
            self.org.store.connection()
            .execute("SELECT id, info FROM jobs ORDER BY created_at")
            .fetchall()
        )
        for jid, info in rows:
            if json.loads(info)["state"] in ("UploadComplete", "InProgress"):
                self._queue.put(str(jid))
        self._worker.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=10)

    # bookkeeping --------------------------------------------------------------------

    def _save(self, info: dict[str, Any], private: JobPrivate | None = None) -> None:
        doc = dict(info)
        if private is not None:
            doc["_private"] = private.__dict__
        else:
            old = self._load_raw(info["id"])
            if old is not None and "_private" in old:
                doc["_private"] = old["_private"]
        with self.org.store.write() as con:
            con.execute(
                "INSERT INTO jobs (id, kind, info, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET info = excluded.info",
                (info["id"], "query" if info["jobType"] == "V2Query" else "ingest",
                 json.dumps(doc), time.time()),
            )  # fmt: skip

    def _load_raw(self, job_id: str) -> dict[str, Any] | None:
        row = (
            self.org.store.connection()
            .execute("SELECT info FROM jobs WHERE id = ?", (job_id,))
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def load(self, job_id: str, kind: str) -> tuple[dict[str, Any], JobPrivate]:
        raw = self._load_raw(job_id)
        want = "V2Query" if kind == "query" else "V2Ingest"
        if raw is None or raw["jobType"] != want:
            raise JobError(404, "NOT_FOUND", "The requested resource does not exist")
        private = JobPrivate(**raw.pop("_private"))
        return raw, private

    def dir(self, job_id: str) -> Path:
        return self.root / job_id

    def _new_id(self) -> str:
        with self.org.store.write() as con:
            n = self.org.store.reserve_ids(con, "750", 1)
        return mint("750", n)

    def _base_info(self, job_id: str, user: str, body: dict[str, Any], version: str) -> dict:
        now = now_stamp()
        delim = body.get("columnDelimiter", "COMMA")
        ending = body.get("lineEnding", "LF")
        if delim not in DELIMITERS:
            raise JobError(400, "INVALIDJOB", f"Invalid columnDelimiter: {delim}")
        if ending not in LINE_ENDINGS:
            raise JobError(400, "INVALIDJOB", f"Invalid lineEnding: {ending}")
        return {
            "id": job_id,
            "operation": body.get("operation"),
            "object": None,
            "createdById": user,
            "createdDate": now,
            "systemModstamp": now,
            "state": "Open",
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": ending,
            "columnDelimiter": delim,
        }

    # ingest --------------------------------------------------------------------------

    def create_ingest(self, user: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        op = body.get("operation")
        if op not in INGEST_OPS:
            raise JobError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {op}")
        obj = self.org.obj(str(body.get("object", "")))
        if obj is None:
            raise JobError(400, "INVALIDJOB", f"InvalidJob : Invalid object: {body.get('object')}")
        if body.get("contentType", "CSV") != "CSV":
            raise JobError(400, "INVALIDJOB", "InvalidJob : contentType must be CSV")
        ext = body.get("externalIdFieldName")
        if op == "upsert":
            f = obj.field(str(ext or ""))
            if f is None or not (f.external_id or f.name == "Id"):
                raise JobError(
                    400, "INVALIDJOB", f"InvalidJob : Field name provided, {ext} does not "
                    f"match an External ID, Salesforce Id, or indexed field for {obj.name}",
                )  # fmt: skip
            ext = f.name
        job_id = self._new_id()
        info = self._base_info(job_id, user, body, version)
        info.update(
            {
                "object": obj.name,
                "externalIdFieldName": ext if op == "upsert" else None,
                "jobType": "V2Ingest",
                "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
                "retries": 0,
                "totalProcessingTime": 0,
                "apiActiveProcessingTime": 0,
                "apexProcessingTime": 0,
            }
        )
        if op != "upsert":
            del info["externalIdFieldName"]
        private_dir(self.dir(job_id))
        self._save(info, JobPrivate(user_id=user, knobs={}))
        return info

    def upload(self, job_id: str, data: bytes) -> None:
        info, _ = self.load(job_id, "ingest")
        if info["state"] != "Open":
            raise JobError(409, "INVALIDJOBSTATE", f"Job {job_id} is not Open")
        path = self.dir(job_id) / "data.csv"
        if path.exists():
            raise JobError(
                400, "INVALIDJOB", f"Found multiple contents for job: <{job_id}>, please "
                "'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make "
                "sure you only do 'PUT' once on a given Job.",
            )  # fmt: skip
        if not data:
            raise JobError(400, "INVALIDJOB", "InvalidBatch : Empty CSV data")
        write_private(path, data)

    def set_state(self, job_id: str, kind: str, state: str, knobs: Knobs) -> dict[str, Any]:
        with self._lock:
            info, private = self.load(job_id, kind)
            cur = info["state"]
            if state == "UploadComplete" and kind == "ingest":
                if cur != "Open":
                    raise JobError(409, "INVALIDJOBSTATE", f"Job {job_id} is {cur}, not Open")
                if not (self.dir(job_id) / "data.csv").exists():
                    raise JobError(400, "INVALIDJOB", "InvalidJob : No content uploaded for job")
                private.knobs = knobs.as_dict()
                private.polls_left = knobs.inprogress_polls
                # Take the server-wide one-shot first, so it is spent even when this
                # request's knobs (which include it) already say fail.
                fired = self.org.box.take_one_shot("fail_next_job")
                private.fail = fired or knobs.fail_next_job
                info["state"] = "UploadComplete"
                info["systemModstamp"] = now_stamp()
                self._save(info, private)
                self._queue.put(job_id)
                return info
            if state == "Aborted":
                if cur in TERMINAL:
                    raise JobError(409, "INVALIDJOBSTATE", f"Job {job_id} is already {cur}")
                info["state"] = "Aborted"
                info["systemModstamp"] = now_stamp()
                self._save(info, private)
                return info
            raise JobError(400, "INVALIDJOBSTATE", f"Cannot set job state to {state}")

    def info(self, job_id: str, kind: str) -> dict[str, Any]:
        """Job info as a poll sees it; `inprogress_polls` holds a finished job back."""
        with self._lock:
            info, private = self.load(job_id, kind)
            if private.polls_left > 0 and info["state"] not in ("Open", "Aborted"):
                private.polls_left -= 1
                self._save(info, private)
                shown = dict(info)
                shown["state"] = "InProgress"
                return shown
            return info

    def delete(self, job_id: str, kind: str) -> None:
        info, _ = self.load(job_id, kind)
        if info["state"] not in (*TERMINAL, "UploadComplete", "Open"):
            raise JobError(400, "INVALIDJOBSTATE", f"Job {job_id} is {info['state']}")
        with self.org.store.write() as con:
            con.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        shutil.rmtree(self.dir(job_id), ignore_errors=True)

    def list_jobs(self, kind: str) -> list[dict[str, Any]]:
        want = "V2Query" if kind == "query" else "V2Ingest"
        out = []
        for (raw,) in self.org.store.connection().execute(
            "SELECT info FROM jobs ORDER BY created_at"
        ):
            doc = json.loads(raw)
            doc.pop("_private", None)
            if doc["jobType"] == want:
                out.append(doc)
        return out

    def results(self, job_id: str, which: str) -> Path:
        """Path of one ingest result file (`which` matched case-insensitively)."""
        name = RESULT_FILES.get(which.lower())
        info, _ = self.load(job_id, "ingest")
        if name is None:
            raise JobError(404, "NOT_FOUND", "The requested resource does not exist")
        if which.lower() != "unprocessedrecords" and info["state"] not in TERMINAL:
            raise JobError(
                409, "INVALIDJOBSTATE", f"Job {job_id} is {info['state']}: results not ready"
            )
        path = self.dir(job_id) / name
        if not path.exists() and which.lower() == "unprocessedrecords":
            self._write_unprocessed(info, 0)
        return path

    # query ---------------------------------------------------------------------------

    def create_query(self, user: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        op = body.get("operation", "query")
        if op not in ("query", "queryAll"):
            raise JobError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {op}")
        try:
            q = parse(str(body.get("query", "")), self.org.objects)
        except SoqlError as exc:
            raise JobError(400, exc.code, str(exc)) from exc
        if q.count_only:
            raise JobError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API")
        job_id = self._new_id()
        info = self._base_info(job_id, user, body, version)
        info.update({"operation": op, "object": q.obj.name, "jobType": "V2Query"})
        info.update({"numberRecordsProcessed": 0, "retries": 0, "totalProcessingTime": 0})
        info["state"] = "UploadComplete"
        private_dir(self.dir(job_id))
        write_private(self.dir(job_id) / "query.soql", str(body["query"]))
        knobs = self.org.knobs
        private = JobPrivate(user_id=user, knobs=knobs.as_dict(), polls_left=knobs.inprogress_polls)
        self._save(info, private)
        self._queue.put(job_id)
        return info

    def query_page(self, job_id: str, locator: str | None, max_records: int | None) -> tuple:
        """(csv bytes, next locator or "null", rows in page) of a finished query job."""
        info, _ = self.load(job_id, "query")
        if info["state"] != "JobComplete":
            raise JobError(
                400, "INVALIDJOBSTATE", f"Job {job_id} is {info['state']}: results not ready"
            )
        start = 0
        if locator:
            try:
                start = int(base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)))
            except ValueError:
                raise JobError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
        d = self.dir(job_id)
        offsets = array("q")
        with open(d / "offsets.bin", "rb") as fh:
            offsets.frombytes(fh.read())
        total = len(offsets) - 1  # last entry is the end of file
        n = max_records if max_records and max_records > 0 else DEFAULT_PAGE
        end = min(start + n, total)
        with open(d / "result.csv", "rb") as fh:
            header = fh.read(offsets[0])
            fh.seek(offsets[min(start, total)])
            body = fh.read(offsets[end] - offsets[min(start, total)])
        nxt = "null" if end >= total else base64.urlsafe_b64encode(str(end).encode()).decode()
        return header + body, nxt.rstrip("="), max(end - start, 0)

    # processing ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                raw = self._load_raw(job_id)
                if raw is None:
                    continue
                if raw["jobType"] == "V2Query":
                    bulk_worker.process_query(self, job_id)
                else:
                    bulk_worker.process_ingest(self, job_id)
            except Exception as exc:  # a bug must fail the job, not kill the worker
                log.exception("bulk job %s failed", job_id)
                self._finish(job_id, "Failed", f"InternalServerError : {exc}")

    def _finish(self, job_id: str, state: str, error: str | None = None, **counts: int) -> None:
        with self._lock:
            raw = self._load_raw(job_id)
            if raw is None:
                return
            raw.pop("_private", None)
            if raw["state"] == "Aborted" and state != "Aborted":
                return
            raw["state"] = state
            raw["systemModstamp"] = now_stamp()
            raw.update(counts)
            if error:
                raw["errorMessage"] = error
            self._save(raw)

    def _progress(self, job_id: str, **counts: int) -> bool:
        """Record progress; False if the job was aborted meanwhile."""
        with self._lock:
            raw = self._load_raw(job_id)
            if raw is None or raw["state"] == "Aborted":
                return False
            raw.pop("_private", None)
            raw["state"] = "InProgress"
            raw.update(counts)
            self._save(raw)
            return True

    def _write_unprocessed(self, info: dict[str, Any], skip_rows: int) -> None:
        d = self.dir(info["id"])
        src = d / "data.csv"
        with open_private(d / "unprocessed.csv", "w", newline="", encoding="utf-8") as out:
            if not src.exists():
                return
            w = csv.writer(out, delimiter=DELIMITERS[info["columnDelimiter"]],
                           lineterminator=LINE_ENDINGS[info["lineEnding"]])  # fmt: skip
            with open(src, newline="", encoding="utf-8-sig") as fh:
                r = csv.reader(fh, delimiter=DELIMITERS[info["columnDelimiter"]])
                header = next(r, None)
                if header is None:
                    return
                w.writerow(header)
                for n, row in enumerate(r):
                    if n >= skip_rows:
                        w.writerow(row)
