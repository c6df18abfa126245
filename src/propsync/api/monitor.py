"""The library surface for monitoring: health, alerts, the dashboard, `serve`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from propsync.monitor import alerts as _alerts
from propsync.monitor.alerts import AlertCheck
from propsync.monitor.dashboard import serve as serve_dashboard
from propsync.monitor.health import HealthReport
from propsync.monitor.health import health as _health
from propsync.monitor.message import Delivery
from propsync.monitor.scheduler import serve as run_service
from propsync.state import Incident

if TYPE_CHECKING:
    pass

from propsync.api._common import WorkspaceLike, _config_path, _opened

# --- monitoring: the dashboard ----------------------------------------------------------


def dashboard(
    workspace: WorkspaceLike = None,
    *,
    host: str | None = None,
    port: int | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the web dashboard over the workspace until interrupted ([dashboard] host
    and port unless given; a non-loopback host needs the token of `token_env`).
    `ready(url)` is called once it listens."""
    with _opened(workspace) as ws:
        serve_dashboard(ws, host=host, port=port, ready=ready)


def serve(
    workspace: str | Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    run_at_start: bool = False,
    ready: Callable[[str], None] | None = None,
) -> int:
    """The scheduler ([schedule]: Sync A, Sync B, the queue measurement), the dashboard
    and the alerts in one process, until SIGTERM / Ctrl-C; returns the exit code (0
    after a clean stop: the sync in flight finishes its batch and records its run).
    `run_at_start` runs every job once at start."""
    return run_service(
        _config_path(workspace), host=host, port=port, run_at_start=run_at_start, ready=ready
    )


# --- monitoring: health and alerts ------------------------------------------------------


def health(workspace: WorkspaceLike = None) -> HealthReport:
    """The five widgets of the plan's dashboard against the runbook's thresholds, over
    the views as the engine holds them (no extraction). `report.exit_code`: 0 green,
    1 yellow, 2 red."""
    with _opened(workspace) as ws:
        return _health(ws)


def check_alerts(
    workspace: WorkspaceLike = None, *, send: bool = False, now: datetime | None = None
) -> AlertCheck:
    """Evaluate the alert rules; with `send`, open, notify, re-notify and resolve their
    incidents (each channel told once per incident and repeat interval). `now` replaces
    the clock (tests, backfills). `result.exit_code`: 0 quiet, 1 firing or a delivery
    failed, 2 a rule could not be evaluated."""
    with _opened(workspace) as ws:
        return _alerts.check(ws, send=send, now=now)


def send_test_alert(workspace: WorkspaceLike, channel: str) -> Delivery:
    """Send a test message through one channel (slack, email, pagerduty)."""
    with _opened(workspace) as ws:
        return _alerts.send_test(ws, channel)


def incidents(
    workspace: WorkspaceLike = None, *, limit: int = 50, open_only: bool = False
) -> list[Incident]:
    """Alert incidents, newest first (only the open ones with `open_only`)."""
    with _opened(workspace) as ws:
        store = ws.state()
        if open_only:
            return list(reversed(store.incidents.active()))[:limit]
        return store.incidents.recent(limit)
