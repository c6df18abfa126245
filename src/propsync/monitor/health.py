"""`propsync health`: the plan's five dashboard widgets (Step 6.1) against the runbook's
daily-check thresholds (Step 6.3), each green, yellow or red with what it measured.

Yellow thresholds are `[health]`; red is where the matching alert rule of
`[alerts.rules]` fires (its threshold, enabled or not), so a red widget and a firing
alert always agree (an alert threshold stricter than the yellow one leaves no yellow
band). Boundaries, from the plan:

- queues (widget 1): create queue green under 50 (runbook: "<50 for create"), yellow
  50..200, red over 200 (alert 1: `> 200`); update queue "stable": the latest hour's
  average within +-10% of the median of the hourly averages of the last 24 h
  (sync_queue_sizes_24h over sync_queue_measurements) is green, beyond +-50% red (a
  matched set that halves or doubles within a day is an extract or matching fault).
  No measurement in 24 h is yellow: nothing (no sync, no scheduler) measured.
- feature accuracy (widget 2), per feature: green over 99% (the plan's target), yellow
  95..99, red under 95 (alert 3); no matched record to compare is yellow.
- multi-property groups (widget 3, "review any anomalies"): the check
  `groups_match_members` (each group's count equals its ACTIVE members, R3); offending
  groups are red (the aggregation Sync B writes is wrong). Informational otherwise.
- sync success (widget 4): record outcomes of the last 7 days (sync_health_7d) green at
  100%, yellow under it, red under 100 - 5 (alert 2's 5%); no outcome in 7 days is
  green (a quiet week writes nothing; `sync_down` watches whether syncs run).
- missing properties (widget 5): the plan's own CASE: green up to 50, yellow over 50,
  red over 100 (alert 4).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from propsync.config import Config
from propsync.models.checks import run_check
from propsync.monitor import views
from propsync.monitor.rules import anchor
from propsync.workspace import Workspace

Status = Literal["green", "yellow", "red"]
STATUSES: tuple[Status, ...] = ("green", "yellow", "red")
EXIT_CODES: dict[Status, int] = {"green": 0, "yellow": 1, "red": 2}


def worst(statuses: Sequence[Status]) -> Status:
    return max(statuses, key=STATUSES.index, default="green")


@dataclass(frozen=True)
class Reading:
    """One measured figure of a widget against its thresholds."""

    name: str
    status: Status
    value: float | int | None
    unit: str
    thresholds: str  # e.g. "green <= 49, yellow 50-200, red > 200"
    note: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Widget:
    """One of the plan's five widgets: its view's rows and its readings' worst status.
    `key` is also the dashboard's anchor; `runbook_section` the heading to read."""

    key: str
    title: str
    view: str
    status: Status
    readings: tuple[Reading, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    runbook_section: str = ""

    @property
    def runbook_anchor(self) -> str:
        return anchor(self.runbook_section)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["runbook_anchor"] = self.runbook_anchor
        return doc


@dataclass(frozen=True)
class HealthReport:
    """Every widget; `status` is the worst of them; `exit_code` 0 / 1 / 2."""

    checked_at: datetime
    status: Status
    widgets: tuple[Widget, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def widget(self, key: str) -> Widget:
        return next(w for w in self.widgets if w.key == key)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "status": self.status,
            "exit_code": self.exit_code,
            "widgets": [w.to_json() for w in self.widgets],
        }


def health(ws: Workspace) -> HealthReport:
    """The five widgets over the engine's views as they are now (nothing is extracted:
    a sync or `propsync extract` refreshes them). The state is mirrored into the engine
    first when it lives in PostgreSQL. UsageError if the views are not built."""
    engine = ws.engine()
    ws.state().mirror_to(engine)
    views.require(engine, (*views.QUEUE_VIEWS, *views.WIDGET_VIEWS))
    config = ws.config
    widgets = (
        _queues(config, views.create_queue(engine), views.queue_sizes_24h(engine)),
        _accuracy(config, views.feature_accuracy(engine)),
        _groups(views.multi_property_stats(engine), run_check(engine, "groups_match_members")),
        _success(config, views.sync_health_7d(engine)),
        _missing(config, views.missing(engine)),
    )
    return HealthReport(datetime.now(UTC), worst([w.status for w in widgets]), widgets)


def _widget(
    key: str, title: str, view: str, readings: list[Reading], rows: list[Any], section: str
) -> Widget:
    return Widget(
        key, title, view, worst([r.status for r in readings]), tuple(readings), rows, section
    )


def _queues(config: Config, create: int, hours: list[dict[str, Any]]) -> Widget:
    red = config.alerts.rules.high_create_queue.threshold
    under = min(config.health.create_queue_under, red + 1)
    status: Status = "green" if create < under else "yellow" if create <= red else "red"
    readings = [
        Reading(
            "create queue",
            status,
            create,
            "properties",
            _band(under - 1, red),
            f"{create:,} ACTIVE properties wait for Sync A",
        )
    ]
    readings.append(_update_trend(config, hours))
    return _widget(
        "queues", "Sync queue sizes (24 h)", "sync_queue_sizes_24h", readings, hours, "Queue sizes"
    )


def _update_trend(config: Config, hours: list[dict[str, Any]]) -> Reading:
    stable, red = config.health.update_queue_stable_pct, config.health.update_queue_red_pct
    limits = f"green within +-{stable:g}% of the 24 h median, red beyond +-{red:g}%"
    averages = [float(h["avg_update_queue"]) for h in hours if h["avg_update_queue"] is not None]
    if not averages:
        return Reading(
            "update queue trend",
            "yellow",
            None,
            "% from median",
            limits,
            "no queue measurement in the last 24 h: is anything syncing?",
        )
    latest, median = averages[0], statistics.median(averages)
    if median:
        deviation = round(100.0 * (latest - median) / median, 2)
    else:
        deviation = 0.0 if latest == 0 else 100.0
    size = abs(deviation)
    status: Status = "green" if size <= stable else "yellow" if size <= red else "red"
    note = (
        f"latest hour {latest:,.0f} matched records against a 24 h median of {median:,.0f}"
        f" over {len(averages)} hour(s)"
    )
    return Reading("update queue trend", status, deviation, "% from median", limits, note)


def _accuracy(config: Config, rows: list[dict[str, Any]]) -> Widget:
    red = config.alerts.rules.feature_mismatch_high.threshold_pct
    over = max(config.health.feature_accuracy_over, red)
    limits = f"green > {over:g}%, yellow {red:g}-{over:g}%, red < {red:g}%"
    readings = []
    for row in rows:
        pct = row["accuracy_pct"]
        if pct is None:
            readings.append(
                Reading(
                    row["feature"],
                    "yellow",
                    None,
                    "%",
                    limits,
                    "no matched Salesforce record to compare",
                )
            )
            continue
        status: Status = "green" if pct > over else "yellow" if pct >= red else "red"
        note = f"{int(row['mismatches']):,} of {int(row['total_properties']):,} records differ"
        readings.append(Reading(row["feature"], status, float(pct), "%", limits, note))
    return _widget(
        "feature_accuracy",
        "Feature sync accuracy",
        "feature_sync_accuracy",
        readings,
        rows,
        "Feature accuracy",
    )


def _groups(rows: list[dict[str, Any]], check: Any) -> Widget:
    multi = sum(int(r["num_sfdc_ids"]) for r in rows if int(r["num_rds_properties"]) > 1)
    largest = max((int(r["num_rds_properties"]) for r in rows), default=0)
    status: Status = "green" if check.passed else "red"
    note = (
        f"{multi:,} sfdc_ids shared by several ACTIVE properties (largest group {largest:,})"
        if check.passed
        else f"{check.offending:,} group(s) whose count differs from their ACTIVE members"
    )
    reading = Reading(
        "groups matching their members",
        status,
        check.offending,
        "groups",
        "green when every group's count equals its ACTIVE members (R3)",
        note,
    )
    return _widget(
        "multi_property",
        "Multi-property aggregation",
        "multi_property_stats",
        [reading],
        rows,
        "Multi-property groups",
    )


def _success(config: Config, rows: list[dict[str, Any]]) -> Widget:
    red = round(100.0 - config.alerts.rules.sync_failure_spike.threshold_pct, 2)
    green = max(config.health.sync_success_at_least, red)
    limits = f"green >= {green:g}%, yellow {red:g}-{green:g}%, red < {red:g}%"
    total = sum(int(r["total_syncs"]) for r in rows)
    ok = sum(int(r["successful"]) for r in rows)
    if not total:
        reading = Reading(
            "record success (7 days)",
            "green",
            None,
            "%",
            limits,
            "no record written in the last 7 days",
        )
    else:
        pct = round(100.0 * ok / total, 2)
        status: Status = "green" if pct >= green else "yellow" if pct >= red else "red"
        reading = Reading(
            "record success (7 days)",
            status,
            pct,
            "%",
            limits,
            f"{total - ok:,} of {total:,} record outcomes failed",
        )
    return _widget(
        "sync_success", "Sync health (7 days)", "sync_health_7d", [reading], rows, "Sync success"
    )


def _missing(config: Config, row: dict[str, Any]) -> Widget:
    red = config.alerts.rules.properties_missing.threshold
    most = min(config.health.missing_at_most, red)
    count = int(row["missing_property_count"])
    status: Status = "green" if count <= most else "yellow" if count <= red else "red"
    reading = Reading(
        "missing from Salesforce",
        status,
        count,
        "properties",
        _band(most, red),
        f"{int(row['with_features_missing'] or 0):,} of them with features on;"
        f" the whole create queue is {int(row['create_queue_count']):,}",
    )
    return _widget(
        "missing_properties",
        "Properties missing from Salesforce",
        "properties_missing_from_sf",
        [reading],
        [row],
        "Missing properties",
    )


def _band(green_up_to: int, red_over: int) -> str:
    """The thresholds of a count: green up to one, red over the other, yellow between."""
    if green_up_to >= red_over:
        return f"green <= {red_over:,}, red > {red_over:,}"
    if green_up_to + 1 == red_over:
        return f"green <= {green_up_to:,}, yellow {red_over:,}, red > {red_over:,}"
    return f"green <= {green_up_to:,}, yellow {green_up_to + 1:,}-{red_over:,}, red > {red_over:,}"
