"""`propsync serve`: one long-running process with the scheduler (APScheduler 3.x), the
dashboard and the alerts.

Jobs from `[schedule]` (cron expressions, UTC): Sync A (`sync_create`, every 15 minutes
by default), Sync B (`sync_update`, every 30), the queue measurement (`measure`, every 5)
and the alert rules (`alerts`, every 5: incidents opened, notified, re-notified and
resolved; a failing channel never stops the others). They run one at a time on one
worker thread, so they share the workspace's engine safely; a job whose time comes while
another runs waits (coalesced: a late job runs once, not once per missed slot; past the
misfire grace it is skipped and logged). A job that fails is logged and its run recorded
(FAILED / ABORTED); the process lives on, and the next slot runs it again.

Stopping (SIGTERM or Ctrl-C): the dashboard stops accepting, the sync in flight finishes
its batch, audits it and ends ABORTED ("stopped after the batch in flight"), and the
process exits 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync.errors import PropsyncError
from propsync.monitor import alerts
from propsync.monitor.dashboard import serve as serve_dashboard
from propsync.sync.measure import measure
from propsync.sync.run import run_sync
from propsync.workspace import Workspace

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("propsync.serve")

MISFIRE_GRACE_S = 300
# A job: what it does with the scheduler's workspace and the stop event.
Job = Callable[[Workspace, threading.Event], Any]


def sync_create(ws: Workspace, stop: threading.Event) -> Any:
    return run_sync(ws, "create", stop=stop)


def sync_update(ws: Workspace, stop: threading.Event) -> Any:
    return run_sync(ws, "update", stop=stop)


def measure_queues(ws: Workspace, stop: threading.Event) -> Any:
    return measure(ws)


def check_alerts(ws: Workspace, stop: threading.Event) -> Any:
    return alerts.check(ws, send=True)


# [schedule] key -> job
JOBS: dict[str, Job] = {
    "sync_create": sync_create,
    "sync_update": sync_update,
    "measure": measure_queues,
    "alerts": check_alerts,
}


@dataclass
class JobRecord:
    """The last outcome of a job, for the log and the tests."""

    name: str
    started: dt.datetime
    seconds: float
    ok: bool
    detail: str


@dataclass
class Service:
    """The scheduler over one workspace. `jobs` maps a [schedule] key to its job."""

    config_path: Path
    jobs: Mapping[str, Job] = field(default_factory=lambda: dict(JOBS))
    stop: threading.Event = field(default_factory=threading.Event)
    history: list[JobRecord] = field(default_factory=list)
    _ws: Workspace | None = None
    _scheduler: BackgroundScheduler | None = None

    def run_job(self, name: str) -> None:
        """Run one job now on the scheduler's workspace, logging (never raising) what
        went wrong: the run records it, and the process must live on."""
        if self.stop.is_set():
            return
        if self._ws is None:
            self._ws = Workspace.open(self.config_path)
        started, mark = dt.datetime.now(dt.UTC), time.monotonic()
        try:
            result = self.jobs[name](self._ws, self.stop)
        except PropsyncError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
            log.warning("%s: %s", name, detail)
        except Exception as exc:  # a bug must not end the service; the log has it
            ok, detail = False, f"{type(exc).__name__}: {exc}"
            log.exception("%s failed", name)
            self._reopen()
        else:
            status = getattr(result, "status", None)
            ok, detail = status not in ("FAILED", "ABORTED"), str(status or "done")
            log.info("%s: %s", name, detail)
        self.history.append(JobRecord(name, started, time.monotonic() - mark, ok, detail))
        del self.history[:-200]

    def _reopen(self) -> None:
        """After an unexpected error the workspace's connections may be in any state:
        the next job opens it afresh."""
        if self._ws is not None:
            try:
                self._ws.close()
            finally:
                self._ws = None

    def start(self, *, run_at_start: bool = False) -> BackgroundScheduler:
        """Start the scheduler thread (`run_at_start`: each job once, now, in order)."""
        # heavy driver: the scheduler is imported only by `propsync serve`
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        schedule = Workspace.open(self.config_path).config.schedule
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
            timezone=dt.UTC,
        )
        now = dt.datetime.now(dt.UTC)
        for name in self.jobs:
            expression = getattr(schedule, name)
            trigger = CronTrigger.from_crontab(expression, timezone=dt.UTC)
            scheduler.add_job(self.run_job, trigger, args=[name], id=name, name=name)
            if run_at_start:
                scheduler.add_job(self.run_job, "date", run_date=now, args=[name])
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "scheduler started: %s", ", ".join(f"{n} {getattr(schedule, n)}" for n in self.jobs)
        )
        return scheduler

    def shutdown(self) -> None:
        """Stop: the job in flight finishes its batch and records its run; then close."""
        self.stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self._reopen()


@contextmanager
def running(service: Service, *, run_at_start: bool = False) -> Iterator[Service]:
    service.start(run_at_start=run_at_start)
    try:
        yield service
    finally:
        service.shutdown()


def serve(
    config_path: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    run_at_start: bool = False,
    jobs: Mapping[str, Job] | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Run the scheduler and the dashboard until SIGTERM / Ctrl-C; return the exit code
    (0 after a clean stop). The dashboard reads through a connection of its own, so it
    answers while a sync runs in this process."""
    service = Service(config_path, dict(jobs) if jobs is not None else dict(JOBS))
    with running(service, run_at_start=run_at_start), Workspace.open(config_path) as ws:
        serve_dashboard(ws, host=host, port=port, ready=ready)  # returns on SIGTERM
        log.info("stopping: the job in flight finishes its batch")
    return 0
