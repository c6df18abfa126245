"""What an alert says, and what became of sending it: plain dataclasses every channel reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from propsync.config import Severity

Action = Literal["trigger", "resolve", "test"]

# PagerDuty Events v2 has four severities; the plan's P0..P3 map onto them in order.
PAGERDUTY_SEVERITY: dict[str, str] = {
    "P0": "critical",
    "P1": "error",
    "P2": "warning",
    "P3": "info",
}

_STATE = {"trigger": "FIRING", "resolve": "RESOLVED", "test": "TEST"}


@dataclass(frozen=True)
class AlertMessage:
    """One notification about one incident of one rule.

    `dedup_key` names the incident: the trigger, every repeat and the resolve carry the
    same key (PagerDuty de-duplicates on it; e-mail threads on it). `runbook_url` is the
    full link to the runbook's section called `runbook_section`.
    """

    rule: str
    title: str
    severity: Severity
    action: Action
    measured: float | int | str | None
    threshold: float | int | str | None
    summary: str
    dedup_key: str
    opened_at: datetime
    dashboard_url: str | None = None
    runbook_url: str | None = None
    runbook_section: str | None = None

    @property
    def state(self) -> str:
        """FIRING, RESOLVED or TEST."""
        return _STATE[self.action]

    @property
    def headline(self) -> str:
        """One line for a subject, a Slack header and PagerDuty's summary."""
        figures = ""
        if self.measured is not None:
            figures = f": {_fmt(self.measured)}"
            if self.threshold is not None:
                figures += f" (threshold {_fmt(self.threshold)})"
        return f"[{self.severity}] {self.state} {self.title}{figures}"

    def facts(self) -> list[tuple[str, str]]:
        """The labelled values every channel shows, in order."""
        rows = [
            ("Severity", self.severity),
            ("Measured", _fmt(self.measured)),
            ("Threshold", _fmt(self.threshold)),
            ("Since", self.opened_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()),
            ("Rule", self.rule),
        ]
        if self.dashboard_url:
            rows.append(("Dashboard", self.dashboard_url))
        if self.runbook_url or self.runbook_section:
            section = self.runbook_section or "runbook"
            rows.append(
                ("Runbook", f"{section}: {self.runbook_url}" if self.runbook_url else section)
            )
        rows.append(("Incident", self.dedup_key))
        return rows


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one message on one channel; `error` says why it failed."""

    channel: str
    ok: bool
    attempts: int
    elapsed_s: float
    error: str | None = None


def _fmt(value: float | int | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return value
