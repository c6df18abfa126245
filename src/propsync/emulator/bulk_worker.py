"""The Bulk API 2.0 worker: processing of ingest jobs (chunked, resumable after a
crash) and query jobs (one CSV file plus a row-offset index for locators)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import time
from array import array
from pathlib import Path
from typing import Any

from propsync.emulator import dml
from propsync.emulator.bulk_common import DELIMITERS, LINE_ENDINGS, JobBook
from propsync.emulator.files import open_private
from propsync.emulator.inputs import CsvShape
from propsync.emulator.knobs import Knobs
from propsync.emulator.soql import parse
from propsync.emulator.values import now_stamp, to_csv


def process_ingest(jobs: JobBook, job_id: str) -> None:
    """Process an ingest job chunk by chunk. Each chunk's records, its result rows
    (written first) and the job's progress (row count, result file sizes) commit
    together, so a job resumed after a crash truncates the result files to the
    committed sizes, skips the committed rows and neither loses nor repeats any."""
    started = time.time()
    info, private = jobs.load(job_id, "ingest")
    if info["state"] not in ("UploadComplete", "InProgress"):
        return
    knobs = Knobs(**private.knobs)
    if private.fail:
        jobs._write_unprocessed(info, 0)
        jobs._finish(
            job_id, "Failed",
            "InternalServerError : the emulator failed this job (knob fail_next_job)",
        )  # fmt: skip
        return
    obj = jobs.org.obj(info["object"])
    assert obj is not None
    d = jobs.dir(job_id)
    delim = DELIMITERS[info["columnDelimiter"]]
    eol = LINE_ENDINGS[info["lineEnding"]]
    rng = random.Random(knobs.seed) if knobs.seed is not None else jobs.org.box.rng
    ctx = dml.Ctx(jobs.org.store, private.user_id, knobs, jobs.org.box, rng)
    progress = dict(private.progress or {"rows": 0, "failed": 0, "ok": 0, "bad": 0})
    with open(d / "data.csv", newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delim)
        header = next(reader, None)
        try:
            if header is None:
                raise ValueError("InvalidBatch : Empty CSV data")
            shape = CsvShape(obj, info["operation"], header, knobs,
                                 info.get("externalIdFieldName"))  # fmt: skip
        except ValueError as exc:
            jobs._write_unprocessed(info, 0)
            jobs._finish(job_id, "Failed", str(exc))
            return
        ok_fh, bad_fh = _open_results(d, header, delim, eol, progress)
        with ok_fh, bad_fh:
            for _ in range(progress["rows"]):
                next(reader)
            if not jobs._progress(job_id):
                return
            op, ext = info["operation"], info.get("externalIdFieldName")
            while True:
                rows = list(itertools.islice(reader, knobs.bulk_chunk_size))
                if not rows:
                    break
                if _aborted(jobs, job_id):
                    jobs._write_unprocessed(info, progress["rows"])
                    return

                def commit(con: Any, outcomes: list[dml.Outcome], rows: list = rows) -> None:
                    pairs = list(zip(rows, outcomes, strict=True))
                    if knobs.shuffle_results:
                        rng.shuffle(pairs)
                    ok_buf, bad_buf = io.StringIO(), io.StringIO()
                    ok = csv.writer(ok_buf, delimiter=delim, lineterminator=eol)
                    bad = csv.writer(bad_buf, delimiter=delim, lineterminator=eol)
                    for row, o in pairs:
                        if o.success:
                            ok.writerow([o.id, "true" if o.created else "false", *row])
                        else:
                            err = "; ".join(e.as_csv() for e in o.errors)
                            bad.writerow([o.id or "", err, *row])
                            progress["failed"] += 1
                    progress["ok"] += ok_fh.write(ok_buf.getvalue().encode("utf-8"))
                    progress["bad"] += bad_fh.write(bad_buf.getvalue().encode("utf-8"))
                    ok_fh.flush()
                    bad_fh.flush()
                    progress["rows"] += len(rows)
                    _save_progress(con, job_id, progress)

                items = [shape.item(r) for r in rows]
                dml.execute(ctx, obj, op, items, ext_field=ext, before_commit=commit)
    ms = int((time.time() - started) * 1000)
    with open_private(d / "unprocessed.csv", "w", newline="", encoding="utf-8") as un:
        csv.writer(un, delimiter=delim, lineterminator=eol).writerow(header)
    jobs._finish(
        job_id, "JobComplete", numberRecordsProcessed=progress["rows"],
        numberRecordsFailed=progress["failed"], totalProcessingTime=ms,
        apiActiveProcessingTime=ms,
    )  # fmt: skip


def _open_results(
    d: Path, header: list[str], delim: str, eol: str, progress: dict[str, int]
) -> tuple[Any, Any]:
    """The success and failure files, fresh (with headers) or, when resuming, cut
    back to the sizes the last committed chunk recorded."""
    if progress["rows"] == 0:
        files: list[Any] = []
        for name, cols in (("success.csv", ["sf__Id", "sf__Created"]),
                           ("failed.csv", ["sf__Id", "sf__Error"])):  # fmt: skip
            buf = io.StringIO()
            csv.writer(buf, delimiter=delim, lineterminator=eol).writerow([*cols, *header])
            fh = open_private(d / name, "wb")  # closed by the caller's with
            size = fh.write(buf.getvalue().encode("utf-8"))
            progress["ok" if name == "success.csv" else "bad"] = size
            files.append(fh)
        return files[0], files[1]
    out: list[Any] = []
    for name, key in (("success.csv", "ok"), ("failed.csv", "bad")):
        resumed = open(d / name, "r+b")  # noqa: SIM115 - closed by the caller's with
        resumed.truncate(progress[key])
        resumed.seek(progress[key])
        out.append(resumed)
    return out[0], out[1]


def _save_progress(con: Any, job_id: str, progress: dict[str, int]) -> None:
    """Record a chunk's progress inside the chunk's own transaction."""
    row = con.execute("SELECT info FROM jobs WHERE id = ?", (job_id,)).fetchone()
    doc = json.loads(row[0])
    doc["_private"]["progress"] = dict(progress)
    doc["numberRecordsProcessed"] = progress["rows"]
    doc["numberRecordsFailed"] = progress["failed"]
    if doc["state"] != "Aborted":
        doc["state"] = "InProgress"
    doc["systemModstamp"] = now_stamp()
    con.execute("UPDATE jobs SET info = ? WHERE id = ?", (json.dumps(doc), job_id))


def _aborted(jobs: JobBook, job_id: str) -> bool:
    raw = jobs._load_raw(job_id)
    return raw is None or raw["state"] == "Aborted"


def process_query(jobs: JobBook, job_id: str) -> None:
    started = time.time()
    info, _ = jobs.load(job_id, "query")
    if info["state"] not in ("UploadComplete", "InProgress"):
        return
    jobs._progress(job_id)
    d = jobs.dir(job_id)
    q = parse((d / "query.soql").read_text("utf-8"), jobs.org.objects)
    sql, params = q.sql(all_rows=info["operation"] == "queryAll")
    delim = DELIMITERS[info["columnDelimiter"]]
    eol = LINE_ENDINGS[info["lineEnding"]]
    offsets = array("q")
    pos = 0
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator=eol, quoting=csv.QUOTE_ALL)
    fields = q.fields
    n = 0
    with open_private(d / "result.csv", "wb") as out:
        w.writerow([f.name for f in fields])
        chunk = buf.getvalue().encode("utf-8")
        out.write(chunk)
        pos += len(chunk)
        cur = jobs.org.store.connection().execute(sql, params)
        while True:
            rows = cur.fetchmany(5000)
            if not rows:
                break
            for row in rows:
                buf.seek(0)
                buf.truncate()
                w.writerow([to_csv(f, v) for f, v in zip(fields, row, strict=True)])
                data = buf.getvalue().encode("utf-8")
                offsets.append(pos)
                out.write(data)
                pos += len(data)
                n += 1
    offsets.append(pos)  # end of file; offsets[0] is also the header's length
    with open_private(d / "offsets.bin", "wb") as fh:
        fh.write(offsets.tobytes())
    ms = int((time.time() - started) * 1000)
    jobs._finish(job_id, "JobComplete", numberRecordsProcessed=n, totalProcessingTime=ms)
