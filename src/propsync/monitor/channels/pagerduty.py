"""PagerDuty Events API v2: `trigger` with a payload, `resolve` by dedup key.

A test message is a trigger at its own severity followed at once by a resolve, so that
checking the route leaves no open incident behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests

from propsync.config import PagerDutyChannelConfig
from propsync.monitor.channels.base import TerminalChannelError, TransientChannelError
from propsync.monitor.message import PAGERDUTY_SEVERITY, AlertMessage

_SUMMARY_MAX = 1024  # PagerDuty truncates payload.summary here


@dataclass(frozen=True)
class PagerDutyChannel:
    """Sends events with the integration key in environment variable `routing_key_env`.
    `timeout` bounds the connect and the read separately (seconds)."""

    routing_key_env: str
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    timeout: float = 10.0
    source: str = "propsync"
    name: str = "pagerduty"

    @classmethod
    def from_config(cls, config: PagerDutyChannelConfig) -> PagerDutyChannel:
        return cls(
            routing_key_env=config.routing_key_env,
            events_url=config.events_url,
            timeout=config.timeout,
        )

    def send(self, message: AlertMessage) -> None:
        key = os.environ.get(self.routing_key_env)
        if not key:
            raise TerminalChannelError(
                f"environment variable {self.routing_key_env} (the routing key) is not set"
            )
        if message.action == "resolve":
            self._post(resolve_event(message, routing_key=key))
            return
        self._post(trigger_event(message, routing_key=key, source=self.source))
        if message.action == "test":
            self._post(resolve_event(message, routing_key=key))

    def _post(self, event: dict[str, Any]) -> None:
        try:
            response = requests.post(
                self.events_url, json=event, timeout=(self.timeout, self.timeout)
            )
        except requests.RequestException as exc:
            raise TransientChannelError(f"events API unreachable: {exc}") from None
        if response.status_code == 202:
            return
        detail = f"events API answered {response.status_code}: {response.text[:300]}"
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientChannelError(detail)
        raise TerminalChannelError(detail)


def trigger_event(message: AlertMessage, *, routing_key: str, source: str) -> dict[str, Any]:
    summary = message.headline
    if message.action == "test":
        summary = f"{summary} (propsync test message, resolved at once)"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": message.dedup_key,
        "payload": {
            "summary": summary[:_SUMMARY_MAX],
            "source": source,
            "severity": PAGERDUTY_SEVERITY[message.severity],
            "timestamp": message.opened_at.isoformat(),
            "component": "property-sync",
            "class": message.rule,
            "custom_details": {
                "rule": message.rule,
                "severity": message.severity,
                "measured": message.measured,
                "threshold": message.threshold,
                "summary": message.summary,
                "opened_at": message.opened_at.isoformat(),
                "runbook_section": message.runbook_section,
            },
        },
        "client": "propsync",
    }
    links = []
    if message.dashboard_url:
        event["client_url"] = message.dashboard_url
        links.append({"href": message.dashboard_url, "text": "propsync dashboard"})
    if message.runbook_url:
        section = message.runbook_section or "runbook"
        links.append({"href": message.runbook_url, "text": f"Runbook: {section}"})
    if links:
        event["links"] = links
    return event


def resolve_event(message: AlertMessage, *, routing_key: str) -> dict[str, Any]:
    return {"routing_key": routing_key, "dedup_key": message.dedup_key, "event_action": "resolve"}
