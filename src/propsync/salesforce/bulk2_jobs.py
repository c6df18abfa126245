"""Bulk API 2.0 job state: read it, wait for a final state within a deadline, abort.

A job still unfinished `bulk_job_timeout_s` after it was submitted is aborted on
Salesforce (PATCH state Aborted) and `BulkJobDeadline` is raised, so a run never polls
a stuck job for ever while holding its lock. Records an ingest job processed before
the abort stay written; its result files (and the run's journal) say which.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import requests

from propsync.errors import BulkJobDeadline, SalesforceError

__all__ = ["FINAL_STATES", "BulkApi", "abort_job", "job_info", "wait_for_job"]

log = logging.getLogger(__name__)

FINAL_STATES = ("JobComplete", "Failed", "Aborted")
MAX_POLL_S = 5.0


class BulkApi(Protocol):
    """What the Bulk API layer needs of a client (`SalesforceClient` is one): requests
    under its retry policy, its call count, the object it writes and the job deadline."""

    object_name: str
    external_id: str
    poll_interval_s: float
    max_request_attempts: int
    bulk_job_timeout_s: float

    @property
    def calls(self) -> int: ...

    def http(
        self,
        method: str,
        path: str,
        *,
        what: str,
        idempotent: bool = True,
        ok: tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> requests.Response: ...


def job_info(client: BulkApi, kind: str, job_id: str) -> dict[str, Any]:
    """The job's info (`kind` is "ingest" or "query")."""
    info: dict[str, Any] = client.http("GET", f"jobs/{kind}/{job_id}/", what="job status").json()
    return info


def abort_job(client: BulkApi, kind: str, job_id: str) -> str | None:
    """Set the job's state to Aborted. Returns None when Salesforce took it, else why
    not (e.g. the job had just ended); never raises a SalesforceError."""
    try:
        client.http("PATCH", f"jobs/{kind}/{job_id}/", json={"state": "Aborted"}, what="abort job")
    except SalesforceError as exc:
        log.warning("could not abort job %s: %s", job_id, exc)
        return str(exc)
    return None


def wait_for_job(
    client: BulkApi,
    kind: str,
    job_id: str,
    *,
    since: float | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Poll the job until it is final and return its info. Past `timeout_s` (default
    the client's `bulk_job_timeout_s`) counted from `since` (a `time.monotonic()`
    reading, default now), the job is aborted and BulkJobDeadline raised."""
    limit = client.bulk_job_timeout_s if timeout_s is None else timeout_s
    started = time.monotonic() if since is None else since
    deadline = started + limit
    delay = client.poll_interval_s
    state: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise past_deadline(client, kind, job_id, started=started, limit=limit, state=state)
        time.sleep(min(delay, remaining))
        info = job_info(client, kind, job_id)
        state = info.get("state")
        if state in FINAL_STATES:
            return info
        delay = min(delay * 1.6, MAX_POLL_S)


def past_deadline(
    client: BulkApi, kind: str, job_id: str, *, started: float, limit: float, state: str | None
) -> BulkJobDeadline:
    """Abort a job that ran past its deadline; the error that says so."""
    waited = time.monotonic() - started
    refused = abort_job(client, kind, job_id)
    outcome = "aborted it" if refused is None else f"the abort was refused ({refused})"
    message = (
        f"bulk {kind} job {job_id} still {state or 'unfinished'} after {waited:.1f}s "
        f"(bulk_job_timeout_s = {limit:g}); {outcome}"
    )
    log.error("%s", message)
    return BulkJobDeadline(
        message,
        job_id=job_id,
        kind=kind,
        waited_s=waited,
        timeout_s=limit,
        state=state,
        aborted=refused is None,
    )
