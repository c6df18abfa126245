"""`propsync alerts check` and `alerts test`: rule results become incidents, and
incidents become messages on their channels, once each.

An incident is state (`alert_incidents`), so what was sent is known to every process:
a rule that starts firing opens one incident and its trigger goes to each of the rule's
channels once; a channel whose delivery failed is tried again at the next check (the
others are not sent twice); every `[alerts] repeat_interval` an open incident is sent
again; when the condition clears the incident is resolved and each channel that was told
gets the resolve message (owed resolve messages are retried for `RESOLVE_RETRY`).
Checks that send hold the state lock `alerts`, so two processes never open one incident
twice. Without `send` nothing is written or sent: the result lists what would be.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from propsync.config import AlertsConfig, ChannelKind, Config
from propsync.errors import UsageError
from propsync.monitor.channels import RetryPolicy, channel_for, deliver
from propsync.monitor.message import AlertMessage, Delivery
from propsync.monitor.rules import RULES, RuleResult, anchor, duration, evaluate
from propsync.state import Incident, StateStore
from propsync.workspace import Workspace

Kind = Literal["trigger", "repeat", "resolve"]
EVENT_FOR: dict[Kind, str] = {
    "trigger": "NOTIFIED",
    "repeat": "RENOTIFIED",
    "resolve": "RESOLVE_NOTIFIED",
}
RESOLVE_RETRY = timedelta(hours=24)  # how long an owed resolve message is retried
LOCK = "alerts"
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("slack", "email", "pagerduty")


@dataclass(frozen=True)
class Notice:
    """One message for one channel: sent (`ok` True/False, with the delivery's tries and
    error) or, without --send, only planned (`ok` None). `incident_id` is None for an
    incident a dry check would open."""

    rule: str
    incident_id: str | None
    kind: Kind
    channel: str
    headline: str
    ok: bool | None = None
    attempts: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertCheck:
    """What one check found and did. `exit_code`: 2 when a rule could not be evaluated,
    1 when a rule fires or a delivery failed, else 0."""

    checked_at: datetime
    sent: bool
    rules: tuple[RuleResult, ...]
    opened: tuple[str, ...]  # rules whose incident opened (or, dry, would open)
    resolved: tuple[str, ...]  # rules whose incident resolved (or would)
    notices: tuple[Notice, ...]
    incidents: tuple[Incident, ...]  # open after the check (as before it, when dry)
    skipped_channels: tuple[str, ...]  # routed but off (e-mail without recipients)

    @property
    def firing(self) -> list[str]:
        return [r.rule for r in self.rules if r.firing]

    @property
    def exit_code(self) -> int:
        if any(r.error for r in self.rules):
            return 2
        if self.firing or any(n.ok is False for n in self.notices):
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "sent": self.sent,
            "exit_code": self.exit_code,
            "firing": self.firing,
            "opened": list(self.opened),
            "resolved": list(self.resolved),
            "rules": [r.to_json() for r in self.rules],
            "notices": [n.to_json() for n in self.notices],
            "incidents": [i.to_json() for i in self.incidents],
            "skipped_channels": list(self.skipped_channels),
        }


def links(config: Config, widget: str, section: str) -> tuple[str, str]:
    """The dashboard link (its widget's anchor) and the runbook link of a message:
    `[alerts] dashboard_url` or http://[dashboard] host:port/, and `[alerts] runbook_url`
    (the URL of docs/RUNBOOK.md) or the path docs/RUNBOOK.md, with the section's anchor."""
    base = config.alerts.dashboard_url or f"http://{config.dashboard.host}:{config.dashboard.port}/"
    runbook = config.alerts.runbook_url or "docs/RUNBOOK.md"
    return f"{base}#{widget}", f"{runbook}#{anchor(section)}"


def routed(config: AlertsConfig, channels: Sequence[str]) -> tuple[list[str], list[str]]:
    """The channels a rule's messages go to, and those skipped (e-mail is off while
    `[alerts.channels.email] to` is empty)."""
    on = [c for c in channels if c != "email" or config.channels.email.to]
    return on, [c for c in channels if c not in on]


def check(
    ws: Workspace,
    *,
    send: bool = False,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertCheck:
    """Evaluate the rules at `now` (default: the clock) and, with `send`, open, notify,
    re-notify and resolve incidents; never raises for a failing channel."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    results = evaluate(ws, now=at)
    store = ws.state()
    if not send:
        return _Check(ws, store, results, at, sleep, send=False).run()
    with store.lock(LOCK, f"alerts-{at:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"):
        return _Check(ws, store, results, at, sleep, send=True).run()


class _Check:
    def __init__(
        self,
        ws: Workspace,
        store: StateStore,
        results: list[RuleResult],
        at: datetime,
        sleep: Callable[[float], None],
        *,
        send: bool,
    ) -> None:
        self.config = ws.config
        self.alerts = ws.config.alerts
        self.store, self.results, self.at, self.send = store, results, at, send
        self.retry = RetryPolicy.from_config(self.alerts)
        self.sleep = sleep
        self.notices: list[Notice] = []
        self.opened: list[str] = []
        self.resolved: list[str] = []
        self.skipped: set[str] = set()

    def run(self) -> AlertCheck:
        active = self.store.incidents.active(resolved_since=self.at - RESOLVE_RETRY)
        open_by_rule: dict[str, Incident] = {}
        for incident in active:
            if incident.is_open:
                open_by_rule.setdefault(incident.rule, incident)
            else:
                self._resolve_owed(incident, None)
        for result in self.results:
            current = open_by_rule.get(result.rule)
            if result.error:
                continue  # not known either way: the incident stays as it is
            if result.firing:
                self._firing(result, current)
            elif current is not None:
                self._clear(result, current)
        still_open = (
            tuple(self.store.incidents.active()) if self.send else tuple(open_by_rule.values())
        )
        return AlertCheck(
            self.at,
            self.send,
            tuple(self.results),
            tuple(self.opened),
            tuple(self.resolved),
            tuple(self.notices),
            still_open,
            tuple(sorted(self.skipped)),
        )

    def _channels(self, result: RuleResult) -> list[str]:
        on, off = routed(self.alerts, result.channels)
        self.skipped.update(off)
        return on

    def _firing(self, result: RuleResult, incident: Incident | None) -> None:
        channels = self._channels(result)
        if incident is None:
            self.opened.append(result.rule)
            if self.send:
                incident = self.store.incidents.open(
                    result.rule,
                    severity=result.severity,
                    measured=_number(result.measured),
                    threshold=_number(result.threshold),
                    summary=result.summary,
                    at=self.at,
                )
            self._notify(result, incident, "trigger", channels)
            return
        trigger, repeat = [], []
        for channel in channels:
            last = incident.last_delivered(channel, ("trigger", "repeat"))
            if last is None:
                trigger.append(channel)  # never told: a new route, or the last try failed
            elif self.at - last >= self.alerts.repeat_interval:
                repeat.append(channel)
        self._notify(result, incident, "trigger", trigger)
        self._notify(result, incident, "repeat", repeat)

    def _clear(self, result: RuleResult, incident: Incident) -> None:
        self.resolved.append(result.rule)
        if self.send:
            self.store.incidents.record(
                incident,
                "RESOLVED",
                measured=_number(result.measured),
                summary=result.summary,
                at=self.at,
            )
        self._resolve_owed(incident, result)

    def _resolve_owed(self, incident: Incident, result: RuleResult | None) -> None:
        owed = [c for c in incident.told() if incident.last_delivered(c, ("resolve",)) is None]
        self._notify(result, incident, "resolve", owed)

    def _notify(
        self,
        result: RuleResult | None,
        incident: Incident | None,
        kind: Kind,
        channels: Sequence[str],
    ) -> None:
        if not channels:
            return
        message = self._message(result, incident, kind)
        rule = message.rule
        incident_id = incident.incident_id if incident else None
        if not self.send or incident is None:
            self.notices.extend(
                Notice(rule, incident_id, kind, c, message.headline) for c in channels
            )
            return
        targets = [channel_for(c, self.alerts.channels) for c in channels]  # type: ignore[arg-type]
        deliveries = deliver(message, targets, retry=self.retry, sleep=self.sleep)
        for channel, delivery in zip(channels, deliveries, strict=True):
            self._record(incident, kind, channel, delivery, message)

    def _record(
        self,
        incident: Incident,
        kind: Kind,
        channel: str,
        delivery: Delivery,
        message: AlertMessage,
    ) -> None:
        event = EVENT_FOR[kind] if delivery.ok else "FAILED"
        self.store.incidents.record(
            incident,
            event,
            channel=channel,
            message=kind,
            attempts=delivery.attempts,
            error=delivery.error,
            measured=_number(message.measured),
            at=self.at,
        )
        self.notices.append(
            Notice(
                incident.rule,
                incident.incident_id,
                kind,
                channel,
                message.headline,
                delivery.ok,
                delivery.attempts,
                delivery.error,
            )
        )

    def _message(
        self, result: RuleResult | None, incident: Incident | None, kind: Kind
    ) -> AlertMessage:
        rule = result.rule if result else incident.rule if incident else ""
        spec = RULES[rule]
        dashboard, runbook = links(self.config, spec.widget, spec.runbook_section)
        opened = incident.opened_at if incident else self.at
        measured: float | int | None
        threshold: float | int | None
        if result is not None:
            measured, threshold, summary = result.measured, result.threshold, result.summary
            severity: str = result.severity
        else:  # an owed resolve message of an incident resolved at an earlier check
            assert incident is not None
            measured, threshold = None, incident.threshold
            summary, severity = "The condition cleared.", incident.severity
        if kind == "repeat":
            age = duration(timedelta(seconds=int((self.at - opened).total_seconds())))
            summary = f"Still firing after {age}. {summary}"
        elif kind == "resolve":
            summary = f"Resolved. {summary}"
        key = incident.dedup_key if incident else f"propsync/{rule}/(new)"
        return AlertMessage(
            rule=rule,
            title=spec.title,
            severity=severity,  # type: ignore[arg-type]
            action="resolve" if kind == "resolve" else "trigger",
            measured=measured,
            threshold=threshold,
            summary=summary,
            dedup_key=key,
            opened_at=opened,
            dashboard_url=dashboard,
            runbook_url=runbook,
            runbook_section=spec.runbook_section,
        )


def send_test(
    ws: Workspace, channel: ChannelKind | str, *, sleep: Callable[[float], None] = time.sleep
) -> Delivery:
    """Send one test message through `channel` (slack, email or pagerduty) as
    `[alerts.channels]` configures it; return the delivery (never raises for a failure
    to deliver). PagerDuty gets a trigger and at once its resolve."""
    if channel not in CHANNEL_KINDS:
        raise UsageError(f"unknown channel {channel!r}: expected one of {', '.join(CHANNEL_KINDS)}")
    at = datetime.now(UTC)
    dashboard, runbook = links(ws.config, "", "Alerts")
    message = AlertMessage(
        rule="test",
        title=f"propsync test message ({channel})",
        severity="P3",
        action="test",
        measured=None,
        threshold=None,
        summary=f"A test of the {channel} channel of the propsync workspace {ws.root}."
        " Nothing is wrong.",
        dedup_key=f"propsync/test/{at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
        opened_at=at,
        dashboard_url=dashboard.rstrip("#"),
        runbook_url=runbook,
        runbook_section="Alerts",
    )
    target = channel_for(channel, ws.config.alerts.channels)
    [delivery] = deliver(
        message, [target], retry=RetryPolicy.from_config(ws.config.alerts), sleep=sleep
    )
    return delivery


def _number(value: float | int | str | None) -> float | None:
    return float(value) if isinstance(value, int | float) else None
