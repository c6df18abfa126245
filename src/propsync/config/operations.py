"""The sections that run propsync as a service and a rollout: `[schedule]`,
`[alerts]` (channels and rules), `[health]`, `[dashboard]`, `[rollout]`, and the
duration and URL checks they share. Part of `propsync.config`, which re-exports them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from propsync.config.base import EnvName
from propsync.config.base import Section as _Section


def _cron(value: str) -> str:
    try:
        from apscheduler.triggers.cron import CronTrigger  # heavy: imported on first use

        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a cron expression ({exc})") from None
    return value


Cron = Annotated[str, AfterValidator(_cron)]

_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """`"90s"`, `"30m"`, `"4h"`, `"1h30m"`, `"2d"` (or seconds as a number) as a timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(text := value.replace(" ", "").lower()):
        seconds = sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION_PART.findall(text))
    else:
        raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 30m, 4h, 1h30m, 2d)")
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def is_loopback(host: str | None) -> bool:
    if host and (host.lower() == "localhost" or host.lower().endswith(".localhost")):
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url: str) -> str:
    """An alert endpoint: https, or plain http on a loopback address only (tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"must be https (plain http only on a loopback address): {url!r}")
    return url


class ScheduleConfig(_Section):
    """When `propsync serve` runs each job: cron expressions (5 fields), UTC."""

    sync_create: Cron = "*/15 * * * *"
    sync_update: Cron = "*/30 * * * *"
    measure: Cron = "*/5 * * * *"
    alerts: Cron = "*/5 * * * *"


def _unique(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("a channel is listed twice")
    return value


Severity = Literal["P0", "P1", "P2", "P3"]
ChannelKind = Literal["slack", "email", "pagerduty"]
Channels = Annotated[list[ChannelKind], Field(min_length=1), AfterValidator(_unique)]


def _route(*kinds: ChannelKind) -> Callable[[], list[ChannelKind]]:
    """A rule's default channels (a fresh list for each config)."""
    return lambda: list(kinds)


class SlackChannelConfig(_Section):
    webhook_url_env: EnvName = "PROPSYNC_SLACK_WEBHOOK_URL"
    timeout: float = Field(10.0, gt=0)


class EmailChannelConfig(_Section):
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    from_: str = Field("propsync@localhost", alias="from")
    to: list[str] = Field(default_factory=list)
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    starttls: bool = False
    timeout: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _login_is_protected(self) -> EmailChannelConfig:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("username_env and password_env go together")
        if self.username_env and not self.starttls and not is_loopback(self.smtp_host):
            raise ValueError("a login to a non-loopback SMTP host needs starttls = true")
        return self


class PagerDutyChannelConfig(_Section):
    routing_key_env: EnvName = "PROPSYNC_PAGERDUTY_ROUTING_KEY"
    events_url: Annotated[str, AfterValidator(check_endpoint_url)] = (
        "https://events.pagerduty.com/v2/enqueue"
    )
    timeout: float = Field(10.0, gt=0)


class ChannelsConfig(_Section):
    slack: SlackChannelConfig = SlackChannelConfig()
    email: EmailChannelConfig = EmailChannelConfig()
    pagerduty: PagerDutyChannelConfig = PagerDutyChannelConfig()


class _Rule(_Section):
    enabled: bool = True


class HighCreateQueueRule(_Rule):
    """The create queue holds more than `threshold` properties."""

    threshold: int = Field(200, ge=0)
    severity: Severity = "P2"
    channels: Channels = Field(default_factory=_route("slack"))


class SyncFailureSpikeRule(_Rule):
    """More than `threshold_pct` % of the records synced within `window` failed."""

    threshold_pct: float = Field(5.0, ge=0, le=100)
    window: Duration = timedelta(hours=1)
    severity: Severity = "P1"
    channels: Channels = Field(default_factory=_route("pagerduty", "slack"))


class FeatureMismatchHighRule(_Rule):
    """Feature accuracy (the share of matched records whose features agree) is under
    `threshold_pct` %."""

    threshold_pct: float = Field(95.0, ge=0, le=100)
    severity: Severity = "P2"
    channels: Channels = Field(default_factory=_route("slack"))


class PropertiesMissingRule(_Rule):
    """More than `threshold` product properties have no Salesforce record."""

    threshold: int = Field(100, ge=0)
    severity: Severity = "P1"
    channels: Channels = Field(default_factory=_route("email", "slack"))


class SyncDownRule(_Rule):
    """No sync has succeeded within `window`."""

    window: Duration = timedelta(hours=2)
    severity: Severity = "P0"
    channels: Channels = Field(default_factory=_route("pagerduty"))


class RulesConfig(_Section):
    high_create_queue: HighCreateQueueRule = HighCreateQueueRule()
    sync_failure_spike: SyncFailureSpikeRule = SyncFailureSpikeRule()
    feature_mismatch_high: FeatureMismatchHighRule = FeatureMismatchHighRule()
    properties_missing: PropertiesMissingRule = PropertiesMissingRule()
    sync_down: SyncDownRule = SyncDownRule()


class AlertsConfig(_Section):
    """Alert rules and where they go. An open incident is re-notified every
    `repeat_interval`; a failing channel is tried `delivery_attempts` times, waiting
    `retry_backoff_s`, then twice that, between tries."""

    repeat_interval: Duration = timedelta(hours=4)
    delivery_attempts: int = Field(3, ge=1, le=10)
    retry_backoff_s: float = Field(1.0, ge=0, le=60)
    dashboard_url: str | None = None
    runbook_url: str | None = None
    channels: ChannelsConfig = ChannelsConfig()
    rules: RulesConfig = RulesConfig()


class HealthConfig(_Section):
    """`propsync health`: where each widget turns from green to yellow (the runbook's
    daily check). Each widget turns red where its alert rule fires, at the threshold of
    `[alerts.rules]` (enabled or not), so health and alerts never disagree; an alert
    threshold stricter than the yellow one here leaves the widget no yellow band."""

    create_queue_under: int = Field(50, ge=0)  # green below; red above high_create_queue
    update_queue_stable_pct: float = Field(10.0, ge=0)  # green within +-this of the 24 h median
    update_queue_red_pct: float = Field(50.0, ge=0)  # red beyond +-this
    feature_accuracy_over: float = Field(99.0, ge=0, le=100)  # green above; red under the rule
    sync_success_at_least: float = Field(100.0, ge=0, le=100)  # green at or above (7 days)
    missing_at_most: int = Field(50, ge=0)  # green at or below; red above properties_missing

    @model_validator(mode="after")
    def _red_beyond_yellow(self) -> HealthConfig:
        if self.update_queue_red_pct < self.update_queue_stable_pct:
            raise ValueError("update_queue_red_pct must be at least update_queue_stable_pct")
        return self


class DashboardConfig(_Section):
    """The read-only web dashboard. On a non-loopback host the token of `token_env`
    is required."""

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)
    token_env: EnvName = "PROPSYNC_DASHBOARD_TOKEN"


class RolloutConfig(_Section):
    """Phases 4 and 5: how long the workflow may take to fill sf_property_id__c, and
    the longest a pilot's syncs may take (the plan's 1 hour and 5 minutes)."""

    workflow_window: Duration = timedelta(hours=1)
    pilot_max_duration: Duration = timedelta(minutes=5)
