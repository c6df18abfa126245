"""Send WriteItems to Salesforce and resubmit what a row lock made fail.

The path depends on the size of the set: Bulk API 2.0 at or above
`sync.bulk_threshold` records, sObject Collections (200 a request) below. Sync A
upserts on the external id (a retry can never make a second record); Sync B updates
by Id with only the changed fields; a delete (a rollback removing what its run
created) goes by Id. Record errors that a resubmission can clear
(`UNABLE_TO_LOCK_ROW`, a lock wrapped in `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`) are
resent with backoff up to `sync.max_record_attempts`; every other record error is final
on its first occurrence. Request-level retries and session refresh live in the client.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal

from propsync import fields as sf
from propsync.config import SyncConfig
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.errors import RecordResult
from propsync.sync.jobs import BulkJournal
from propsync.sync.journal import CollectionsJournal
from propsync.sync.payload import WriteItem, chunked

log = logging.getLogger("propsync.sync")

MAX_BACKOFF_S = 30.0
# Concurrent sObject Collections requests. Salesforce allows far more; a few already
# hide the round-trip time, and keep row-lock contention between requests low.
COLLECTION_WORKERS = 4
OPERATION: dict[str, Literal["upsert", "update", "delete"]] = {
    "create": "upsert",
    "update": "update",
    "delete": "delete",
}


@dataclass(slots=True)
class Outcome:
    """The final result of one record in this run."""

    success: bool
    created: bool | None
    salesforce_id: str | None
    attempt: int
    error_code: str | None = None
    error_message: str | None = None
    api: str | None = None  # "bulk2" | "collections"
    job_id: str | None = None  # the Bulk API job(s) of the final attempt


Sent = tuple[dict[str, "RecordResult"], str, str | None]  # results by key, api, job ids


def backoff_s(attempt: int, base: float) -> float:
    """Exponential backoff with jitter, so resubmitted rows do not collide again."""
    if base <= 0:
        return 0.0
    return float(min(MAX_BACKOFF_S, base * 2 ** (attempt - 1) * (0.5 + random.random())))


def _bulk_results(result: Any) -> list[RecordResult]:
    records = getattr(result, "results", None)
    if records is None:
        records = getattr(result, "records", result)
    return list(records)


class Writer:
    """Writes one queue's items; yields (item, outcome) lists as outcomes become final."""

    def __init__(
        self,
        client: SalesforceClient,
        cfg: SyncConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        journal: BulkJournal | None = None,
        collections_journal: CollectionsJournal | None = None,
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.sleep = sleep
        self.journal = journal
        self.collections_journal = collections_journal

    def window_size(self, total: int) -> int:
        """How many items are written (and their retries settled) before moving on."""
        if total >= self.cfg.bulk_threshold:
            return self.cfg.bulk_batch_size
        return self.cfg.collection_size * 10

    def write(
        self, items: Iterable[WriteItem], total: int
    ) -> Iterator[list[tuple[WriteItem, Outcome]]]:
        """Write a stream of `total` items of one queue."""
        for window in chunked(items, self.window_size(total)):
            yield from self._write_window(window, bulk=total >= self.cfg.bulk_threshold)

    def _write_window(
        self, window: list[WriteItem], *, bulk: bool
    ) -> Iterator[list[tuple[WriteItem, Outcome]]]:
        pending = window
        attempt = 1
        while pending:
            retry: list[WriteItem] = []
            # A resubmission is small: collections unless it alone reaches the threshold.
            use_bulk = bulk and len(pending) >= self.cfg.bulk_threshold
            groups = [pending] if use_bulk else list(chunked(pending, self.cfg.collection_size))
            entry = None
            if not use_bulk and self.collections_journal is not None:
                # Journalled before the first request: a kill -9 (or a lost response)
                # after Salesforce committed leaves what the next run needs to audit.
                op = "upsert" if pending[0].queue == "create" else "update"
                entry = self.collections_journal.begin(pending, op, attempt)
            for group, (results, api, job) in self._send_all(
                groups, bulk=use_bulk, attempt=attempt
            ):
                final: list[tuple[WriteItem, Outcome]] = []
                for item in group:
                    res = results.get(item.key)
                    if res is None:
                        final.append((item, _missing(attempt, api, job)))
                    elif res.success:
                        final.append(
                            (item, Outcome(True, res.created, res.id, attempt, api=api, job_id=job))
                        )
                    elif res.transient and attempt < self.cfg.max_record_attempts:
                        retry.append(item)
                    else:
                        err = res.errors[0] if res.errors else None
                        final.append(
                            (
                                item,
                                Outcome(
                                    False,
                                    None,
                                    res.id or item.salesforce_id,
                                    attempt,
                                    err.code if err else "UNKNOWN_EXCEPTION",
                                    err.message if err else "no error detail returned",
                                    api,
                                    job,
                                ),
                            )
                        )
                if final:
                    yield final  # the caller appends their audit rows before resuming
                if use_bulk and self.journal is not None:
                    self.journal.recorded()
            if entry is not None and self.collections_journal is not None:
                self.collections_journal.recorded(entry)  # every outcome is audited
            if retry:
                wait = backoff_s(attempt, self.cfg.backoff_base_s)
                log.info(
                    "%d record(s) hit a transient error on attempt %d; resubmitting in %.2fs",
                    len(retry),
                    attempt,
                    wait,
                )
                self.sleep(wait)
            pending = retry
            attempt += 1

    def _send_all(
        self, groups: list[list[WriteItem]], *, bulk: bool, attempt: int = 1
    ) -> Iterator[tuple[list[WriteItem], Sent]]:
        """Send groups, up to COLLECTION_WORKERS collections requests at a time, and yield
        each with its results as it completes. When a request fails (quota spent, a
        request error the client gave up on), the others still finish and are yielded
        (so their outcomes are recorded) before the error is raised."""
        if bulk or len(groups) == 1:
            for group in groups:
                yield group, self._send(group, bulk=bulk, attempt=attempt)
            return
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=COLLECTION_WORKERS) as pool:
            futures = {pool.submit(self._send, g, bulk=False): g for g in groups}
            for future in as_completed(futures):
                try:
                    sent = future.result()
                except BaseException as exc:  # re-raised once the others are recorded
                    error = error or exc
                    continue
                yield futures[future], sent
        if error is not None:
            raise error

    def _send(self, group: list[WriteItem], *, bulk: bool, attempt: int = 1) -> Sent:
        queue = group[0].queue
        records = [item.record for item in group]
        op: Literal["upsert", "update", "delete"] = OPERATION[queue]
        ext = sf.EXTERNAL_ID if queue == "create" else None
        if bulk:
            columns = _columns(records, queue)
            # The journal (sync_bulk_jobs) covers the sync's queues; a delete needs no
            # images to be audited again: the record is gone or it is not.
            if self.journal is not None and queue != "delete":
                # Journalled before upload: a kill -9 while Salesforce runs the job
                # leaves what the next run needs to audit its records.
                on_job = self.journal.begin(group, op, attempt)
                result = self.client.bulk_ingest(
                    op, records, columns=columns, external_id=ext, on_job=on_job
                )
            else:
                result = self.client.bulk_ingest(op, records, columns=columns, external_id=ext)
            jobs = getattr(result, "jobs", None) or []
            return {r.key: r for r in _bulk_results(result)}, "bulk2", ",".join(jobs) or None
        found = self.client.collections(op, records, external_id=ext, all_or_none=False)
        return {r.key: r for r in found}, "collections", None


def _columns(records: list[dict[str, Any]], queue: str) -> list[str]:
    """CSV columns for a bulk job: the key, then every field any record writes, in the
    field contract's order. A record that does not write a field leaves its cell empty,
    which Bulk API 2.0 reads as "leave the value alone"."""
    present: set[str] = set()
    for record in records:
        present.update(record)
    key = sf.EXTERNAL_ID if queue == "create" else "Id"
    ordered = [f.name for f in sf.FIELDS if f.name in present and f.name != key]
    return [key, *ordered]


def _missing(attempt: int, api: str, job: str | None) -> Outcome:
    return Outcome(
        False,
        None,
        None,
        attempt,
        "NO_RESULT",
        "Salesforce returned no result for this record",
        api,
        job,
    )
