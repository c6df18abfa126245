"""The plan's Step 6.2 alert rules, evaluated over the views and the state.

Each rule of `[alerts.rules]` becomes one `RuleResult` (firing or not, the measured
value against its threshold, a sentence a person can act on, and the runbook section to
read). Evaluation writes nothing; `propsync.monitor.alerts` turns results into incidents.

- high_create_queue: COUNT(*) of properties_to_create > threshold (the plan's alert 1).
- sync_failure_spike: FAILED rows > threshold_pct % of the audit log's record outcomes of
  the last `window` (the plan's alert 2; no outcome in the window: quiet).
- feature_mismatch_high: any feature's accuracy_pct (feature_sync_accuracy) < threshold_pct.
- properties_missing: missing_property_count (properties_missing_from_sf) > threshold.
- sync_down: no create / update / all run (dry runs aside) that SUCCEEDED or was PARTIAL
  started within `window` (sync_runs).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from propsync.config import Severity
from propsync.errors import PropsyncError
from propsync.monitor import views
from propsync.workspace import Workspace

log = logging.getLogger("propsync.monitor.rules")

RULE_NAMES = (
    "high_create_queue",
    "sync_failure_spike",
    "feature_mismatch_high",
    "properties_missing",
    "sync_down",
)
# Syncs whose success keeps `sync_down` quiet (a rollback is no sync).
SYNC_KINDS = ("create", "update", "all")


@dataclass(frozen=True)
class RuleSpec:
    """What a rule is called, the runbook section that says what to do, and the health
    widget (and dashboard anchor) that shows the same figure."""

    title: str
    runbook_section: str
    widget: str
    unit: str


RULES: dict[str, RuleSpec] = {
    "high_create_queue": RuleSpec("High create queue", "High create queue", "queues", "properties"),
    "sync_failure_spike": RuleSpec("Sync failure spike", "Sync failure spike", "sync_success", "%"),
    "feature_mismatch_high": RuleSpec(
        "Feature mismatch high", "Feature mismatch high", "feature_accuracy", "%"
    ),
    "properties_missing": RuleSpec(
        "Properties missing", "Properties missing", "missing_properties", "properties"
    ),
    "sync_down": RuleSpec("Sync down", "Sync down", "sync_success", "hours"),
}


def anchor(section: str) -> str:
    """The GitHub anchor of a docs/RUNBOOK.md heading: `High create queue` ->
    `high-create-queue`."""
    text = re.sub(r"[^\w\- ]", "", section.strip().lower())
    return text.replace(" ", "-")


@dataclass(frozen=True)
class RuleResult:
    """One rule, evaluated. `firing` is False for a disabled rule and when `error` says
    why the rule could not be evaluated (an incident then stays as it is)."""

    rule: str
    title: str
    enabled: bool
    firing: bool
    severity: Severity
    channels: tuple[str, ...]
    measured: float | int | None
    threshold: float | int
    unit: str
    summary: str
    runbook_section: str
    widget: str
    evaluated_at: datetime
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def runbook_anchor(self) -> str:
        return anchor(self.runbook_section)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "runbook_anchor": self.runbook_anchor}


Measure = tuple[bool, float | int | None, float | int, str, dict[str, Any]]


def evaluate(ws: Workspace, *, now: datetime | None = None) -> list[RuleResult]:
    """Evaluate every rule of `[alerts.rules]` (disabled ones too, never firing) over the
    views as the engine holds them and the state store, at `now` (default: the clock)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    rules = ws.config.alerts.rules
    measures: dict[str, Callable[[], Measure]] = {
        "high_create_queue": lambda: _create_queue(ws, rules.high_create_queue.threshold),
        "sync_failure_spike": lambda: _failure_spike(
            ws, at, rules.sync_failure_spike.threshold_pct, rules.sync_failure_spike.window
        ),
        "feature_mismatch_high": lambda: _accuracy(ws, rules.feature_mismatch_high.threshold_pct),
        "properties_missing": lambda: _missing(ws, rules.properties_missing.threshold),
        "sync_down": lambda: _sync_down(ws, at, rules.sync_down.window),
    }
    results = []
    for name in RULE_NAMES:
        config = getattr(rules, name)
        spec = RULES[name]
        base = {
            "rule": name,
            "title": spec.title,
            "enabled": config.enabled,
            "severity": config.severity,
            "channels": tuple(config.channels),
            "unit": spec.unit,
            "runbook_section": spec.runbook_section,
            "widget": spec.widget,
            "evaluated_at": at,
        }
        try:
            firing, measured, threshold, summary, detail = measures[name]()
        except PropsyncError as exc:
            log.warning("alert rule %s could not be evaluated: %s", name, exc)
            threshold = getattr(config, "threshold", getattr(config, "threshold_pct", 0))
            if name == "sync_down":
                threshold = _hours(rules.sync_down.window)
            results.append(
                RuleResult(
                    **base,
                    firing=False,
                    measured=None,
                    threshold=threshold,
                    summary=f"{spec.title} could not be evaluated: {exc}",
                    error=str(exc),
                )
            )
            continue
        results.append(
            RuleResult(
                **base,
                firing=firing and config.enabled,
                measured=measured,
                threshold=threshold,
                summary=summary,
                detail=detail,
            )
        )
    return results


def _create_queue(ws: Workspace, threshold: int) -> Measure:
    size = views.create_queue(ws.engine())
    summary = (
        f"{size:,} ACTIVE properties wait to be created in Salesforce by Sync A"
        f" (alert above {threshold:,})."
    )
    return size > threshold, size, threshold, summary, {}


def _failure_spike(ws: Workspace, at: datetime, threshold: float, window: timedelta) -> Measure:
    counts = ws.state().audit.window(at - window, at)
    pct = counts.failed_pct
    span = duration(window)
    if pct is None:
        summary = f"No record outcome was logged in the last {span}."
    else:
        summary = (
            f"{counts.failed:,} of {counts.total:,} record outcomes of the last {span} failed"
            f" ({pct:g}%, alert above {threshold:g}%)."
        )
    detail = {"window": span, "total": counts.total, "failed": counts.failed}
    return pct is not None and pct > threshold, pct, threshold, summary, detail


def _accuracy(ws: Workspace, threshold: float) -> Measure:
    rows = views.feature_accuracy(ws.engine())
    scored = [r for r in rows if r["accuracy_pct"] is not None]
    if not scored:
        return False, None, threshold, "No matched Salesforce record to compare yet.", {}
    worst = min(scored, key=lambda r: float(r["accuracy_pct"]))
    below = [r["feature"] for r in scored if float(r["accuracy_pct"]) < threshold]
    summary = (
        f"{worst['feature']} accuracy is {float(worst['accuracy_pct']):g}%:"
        f" {int(worst['mismatches']):,} of {int(worst['total_properties']):,} matched records"
        f" differ from RDS (alert under {threshold:g}%)."
    )
    if len(below) > 1:
        summary += f" Under the threshold: {', '.join(below)}."
    detail = {"feature": worst["feature"], "below": below, "features": rows}
    return bool(below), float(worst["accuracy_pct"]), threshold, summary, detail


def _missing(ws: Workspace, threshold: int) -> Measure:
    row = views.missing(ws.engine())
    count = int(row["missing_property_count"])
    with_features = int(row["with_features_missing"] or 0)
    summary = (
        f"{count:,} ACTIVE properties with a valid sfdc_id have no Salesforce record,"
        f" {with_features:,} of them with features on (alert above {threshold:,})."
    )
    detail = {"with_features_missing": with_features, "status": row["status"]}
    return count > threshold, count, threshold, summary, detail


def _sync_down(ws: Workspace, at: datetime, window: timedelta) -> Measure:
    last = ws.state().runs.last_started(SYNC_KINDS)
    span = duration(window)
    if last is None:
        summary = f"No sync has ever succeeded in this workspace (alert after {span})."
        return True, None, _hours(window), summary, {"last_success": None}
    age = at - last
    hours = round(age.total_seconds() / 3600, 2)
    summary = (
        f"The last sync that succeeded started {last.astimezone(UTC):%Y-%m-%d %H:%M} UTC,"
        f" {hours:g} h ago (alert after {span})."
    )
    return age > window, hours, _hours(window), summary, {"last_success": last}


def _hours(window: timedelta) -> float:
    return round(window.total_seconds() / 3600, 2)


def duration(span: timedelta) -> str:
    """`timedelta(hours=1, minutes=30)` -> `1h30m` (the config's own notation)."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
