"""What the dashboard shows, as plain query functions: each returns data (a `Widget`,
runs, a run's report), never HTML. The web layer (`app.py`, `pages.py`) only renders
these, and every widget is also a JSON endpoint.

The five widgets are the plan's Step 6.1 dashboard, read from the monitoring views
(`models/sql/monitoring/`); runs and their records come from the state store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from propsync.engines import Engine
from propsync.monitor import views
from propsync.monitor.health import HealthReport
from propsync.state import RunRecord, StateStore
from propsync.sync.history import RunReport, run_report
from propsync.workspace import Workspace

REPORTS_DIR = "reports"  # <workspace>/reports: the pilot's and the rollout's reports


@dataclass(frozen=True)
class Widget:
    """One dashboard widget: its rows (column -> value) and the chart drawn from them."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    chart: dict[str, Any] | None = None  # a Vega-Lite spec over `rows`
    summary: dict[str, Any] = field(default_factory=dict)  # headline figures
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": self.columns,
            "rows": [{k: _plain(v) for k, v in r.items()} for r in self.rows],
            "summary": {k: _plain(v) for k, v in self.summary.items()},
            "note": self.note,
        }


def _plain(value: Any) -> Any:
    """A JSON- and chart-friendly value (Decimal -> float, times -> ISO text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


Rows = list[dict[str, Any]]


def _rows(read: Rows, order: str | None = None) -> tuple[list[str], Rows]:
    """The view's rows (as `propsync.monitor.views` reads them) in plain values, oldest
    first by `order` where the reader gives them newest first."""
    rows = [{k: _plain(v) for k, v in r.items()} for r in read]
    if order is not None:
        rows.sort(key=lambda r: tuple(str(r[c]) for c in order.split(",")))
    return (list(rows[0]) if rows else []), rows


def queue_sizes(read: Rows) -> Widget:
    """Widget 1: both queues per hour over the last 24 hours (sync_queue_measurements)."""
    columns, rows = _rows(read, "hour")
    long = [
        {"hour": r["hour"], "queue": queue, "size": r[f"max_{queue}_queue"]}
        for r in rows
        for queue in ("create", "update")
    ]
    chart = {
        "data": {"values": long},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "hour", "type": "temporal", "title": "hour (UTC)"},
            "y": {"field": "size", "type": "quantitative", "title": "records (max in hour)"},
            "color": {"field": "queue", "type": "nominal"},
        },
    }
    latest = rows[-1] if rows else {}
    return Widget(
        "queues",
        "Sync queue sizes, last 24 hours",
        columns,
        rows,
        chart,
        {
            "create_queue": latest.get("max_create_queue"),
            "update_queue": latest.get("max_update_queue"),
        },
        "" if rows else "no measurements in the last 24 hours (runs and `measure` record them)",
    )


def feature_accuracy(read: Rows) -> Widget:
    """Widget 2: per feature, the share of matched records whose flag is as expected."""
    columns, rows = _rows(read)
    chart = {
        "data": {"values": rows},
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "x": {"field": "feature", "type": "nominal", "sort": None, "title": None},
                    "y": {
                        "field": "accuracy_pct",
                        "type": "quantitative",
                        "title": "accuracy %",
                        "scale": {"domain": [0, 100]},
                    },
                },
            },
            {
                "mark": {"type": "rule", "color": "#c0392b", "strokeDash": [4, 3]},
                "encoding": {"y": {"datum": 99}},
            },
        ],
    }
    values = [r["accuracy_pct"] for r in rows if r.get("accuracy_pct") is not None]
    return Widget(
        "feature_accuracy",
        "Feature sync accuracy (target over 99%)",
        columns,
        rows,
        chart,
        {"min_accuracy_pct": min(values) if values else None},
    )


def multi_property(read: Rows) -> Widget:
    """Widget 3: how many sfdc_ids have 1, 2, 3... active RDS properties (R3)."""
    columns, rows = _rows(read)
    chart = {
        "data": {"values": rows},
        "mark": "bar",
        "encoding": {
            "x": {
                "field": "num_rds_properties",
                "type": "ordinal",
                "title": "properties per sfdc_id",
            },
            "y": {
                "field": "num_sfdc_ids",
                "type": "quantitative",
                "title": "sfdc_ids",
                "scale": {"type": "symlog"},
            },
        },
    }
    multi = sum(int(r["num_sfdc_ids"] or 0) for r in rows if (r["num_rds_properties"] or 0) > 1)
    return Widget(
        "multi_property",
        "Multi-property aggregation",
        columns,
        rows,
        chart,
        {"multi_property_sfdc_ids": multi},
    )


def run_health(read: Rows) -> Widget:
    """Widget 4: record outcomes per day and operation over the last 7 days."""
    columns, rows = _rows(read, "sync_date,sync_operation")
    long = [
        {"day": r["sync_date"], "outcome": outcome, "records": r[column], "op": r["sync_operation"]}
        for r in rows
        for outcome, column in (("successful", "successful"), ("failed", "failed"))
    ]
    chart = {
        "data": {"values": long},
        "mark": "bar",
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "title": "day (UTC)"},
            "y": {"field": "records", "type": "quantitative", "stack": True},
            "color": {
                "field": "outcome",
                "type": "nominal",
                "scale": {"domain": ["successful", "failed"], "range": ["#2e8b57", "#c0392b"]},
            },
        },
    }
    total = sum(int(r["total_syncs"] or 0) for r in rows)
    good = sum(int(r["successful"] or 0) for r in rows)
    return Widget(
        "sync_success",
        "Sync health, last 7 days",
        columns,
        rows,
        chart,
        {
            "records": total,
            "success_rate_pct": round(100.0 * good / total, 2) if total else None,
        },
        "" if rows else "no record outcomes in the last 7 days",
    )


def missing(read: Rows) -> Widget:
    """Widget 5: ACTIVE properties still missing from Salesforce (alert above 100)."""
    columns, rows = _rows(read)
    row = rows[0] if rows else {}
    bars = []
    for what, total, part in (
        ("missing (valid sfdc_id)", "missing_property_count", "with_features_missing"),
        ("create queue (all)", "create_queue_count", "create_queue_with_features"),
    ):
        bars.append({"what": what, "group": "with features", "n": row.get(part)})
        bars.append({"what": what, "group": "without", "n": _minus(row, total, part)})
    chart = {
        "data": {"values": bars},
        "mark": "bar",
        "encoding": {
            "y": {"field": "what", "type": "nominal", "title": None},
            "x": {"field": "n", "type": "quantitative", "title": "properties", "stack": True},
            "color": {"field": "group", "type": "nominal", "title": None},
        },
    }
    return Widget(
        "missing_properties",
        "Properties missing from Salesforce (alert above 100)",
        columns,
        rows,
        chart,
        {k: row.get(k) for k in ("missing_property_count", "with_features_missing", "status")},
    )


def _minus(row: dict[str, Any], total: str, part: str) -> int | None:
    if row.get(total) is None or row.get(part) is None:
        return None
    return int(row[total]) - int(row[part])


# name (also the page anchor and the health check's widget key) -> how its rows are read
# (`propsync.monitor.views`, the readers the health check uses too) and drawn
WIDGETS: dict[str, tuple[Callable[[Engine], Rows], Callable[[Rows], Widget]]] = {
    "queues": (views.queue_sizes_24h, queue_sizes),
    "feature_accuracy": (views.feature_accuracy, feature_accuracy),
    "multi_property": (views.multi_property_stats, multi_property),
    "sync_success": (views.sync_health_7d, run_health),
    "missing_properties": (lambda engine: [views.missing(engine)], missing),
}


def widget(engine: Engine, name: str) -> Widget:
    """One widget, read from its view now."""
    read, draw = WIDGETS[name]
    return draw(read(engine))


def widgets(engine: Engine) -> list[Widget]:
    """The five widgets, in the plan's order."""
    return [widget(engine, name) for name in WIDGETS]


def from_health(report: HealthReport) -> list[Widget]:
    """The five widgets from the rows the health check has just read (no second read)."""
    return [WIDGETS[w.key][1](w.rows) for w in report.widgets if w.key in WIDGETS]


def recent_runs(state: StateStore, limit: int = 50) -> list[RunRecord]:
    """The latest runs, newest first, each in its latest state."""
    return state.runs.recent(limit)


def run_details(ws: Workspace, run_id: str, limit: int = 500) -> RunReport:
    """One run's counts, error codes and records (failures first)."""
    return run_report(ws, run_id, limit=limit)


def reports(ws: Workspace) -> list[Path]:
    """The HTML reports the pilot and the rollout wrote, newest first."""
    folder = ws.path(REPORTS_DIR)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
