"""Typed configuration: `propsync.toml`, validated by pydantic.

Unknown keys are rejected, and every error names the file and the line. Values are
strict: a number where a number goes (`threads = true` or `threads = "2"` is refused),
rates within 0..1, memory sizes parsed ('512MB', '4GiB') and rewritten canonically,
and every name that ends up in SQL, SOQL or the environment (schema, object, API
version, `*_env` variables, the integration user's id) checked to be one, so no value
of the file is ever spliced into a statement as text. Secrets never live in the file:
a setting ending in `_env` names the environment variable that holds the secret, and
`secret()` reads it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from propsync import fields, sfid
from propsync.errors import ConfigError

CONFIG_NAME = "propsync.toml"

# Memory sizes as the engine takes them: unit (lower case) -> canonical spelling.
_SIZE_UNITS = {"b": "B", "kb": "KB", "mb": "MB", "gb": "GB", "tb": "TB",
               "kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB"}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


def _memory_size(value: str) -> str:
    m = _SIZE.fullmatch(value)
    if not m or m.group(2).lower() not in _SIZE_UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"not a memory size: {value!r} (write e.g. '512MB' or '4GiB')")
    return f"{float(m.group(1)):g}{_SIZE_UNITS[m.group(2).lower()]}"


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


MemorySize = Annotated[str, AfterValidator(_memory_size)]
# A SQL identifier (a schema name): letters, digits and underscores.
SqlName = Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]{0,62}", "a plain SQL identifier")]
# A Salesforce API name (object or field): letters, digits, single underscores.
ApiName = Annotated[
    str, _pattern(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?:__c)?", "a Salesforce API name")
]
EnvName = Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name")]
ApiVersion = Annotated[str, _pattern(r"v?\d{2,3}\.0", "a Salesforce API version like 62.0")]


def _salesforce_id(value: str) -> str:
    if not sfid.is_valid(value):
        raise ValueError(f"{value!r} is not a Salesforce id (15 or 18 characters)")
    return value


SalesforceId = Annotated[str, AfterValidator(_salesforce_id)]


class _Section(BaseModel):
    # strict: TOML gives typed values, and a bool or a string is never taken for a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DuckDBSource(_Section):
    """The embedded demo source: RDS tables in a DuckDB file filled by the generator."""

    kind: Literal["duckdb"] = "duckdb"
    path: str = "rds.duckdb"


class PostgresSource(_Section):
    """The product database: PostgreSQL (AWS RDS). The DSN comes from the environment."""

    kind: Literal["postgresql"]
    dsn_env: EnvName = "PROPSYNC_RDS_DSN"
    schema_name: SqlName = Field("public", alias="schema")
    incremental: bool = True
    # Added to the DSN when it names none (libpq's minimum is 2 s; 0 would wait forever).
    connect_timeout_s: int = Field(10, ge=2)
    # PostgreSQL's statement_timeout for the extraction's statements; None: no limit.
    statement_timeout_s: float | None = Field(None, gt=0)


SourceConfig = Annotated[DuckDBSource | PostgresSource, Field(discriminator="kind")]


class EngineConfig(_Section):
    """The engine the models run on. DuckDB (the default) keeps everything in one file
    (`path`); Spark runs a local session (`master`) or reaches a Spark Connect server
    (`remote = "sc://host:port"`), with its tables as Parquet under `warehouse` in the
    workspace (locally) and in the catalog database `database`."""

    kind: Literal["duckdb", "spark"] = "duckdb"
    path: str = "propsync.duckdb"
    threads: int = Field(2, ge=1, le=1024)
    memory_limit: MemorySize = "4GB"
    master: str = "local[2]"
    remote: str | None = Field(None, pattern=r"^sc://[^\s/]+(:\d+)?(/.*)?$")
    warehouse: str = "warehouse"
    database: str = Field("propsync", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    shuffle_partitions: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _remote_is_spark(self) -> EngineConfig:
        if self.remote is not None and self.kind != "spark":
            raise ValueError('remote (Spark Connect) needs kind = "spark"')
        return self


class StateConfig(_Section):
    """Where sync_runs and the audit log live: the engine's DuckDB file, or PostgreSQL
    when several processes (scheduler, dashboard, CLI) must share it."""

    kind: Literal["duckdb", "postgresql"] = "duckdb"
    dsn_env: EnvName = "PROPSYNC_STATE_DSN"


class EmulatorConfig(_Section):
    data: str = "emulator"
    port: int = Field(0, ge=0, le=65535)
    latency_ms: float = Field(0.0, ge=0)
    workflow_delay_s: float = Field(2.0, ge=0)
    workflow_enabled: bool = True
    daily_api_limit: int = Field(1_000_000, ge=1)


class SalesforceConfig(_Section):
    """How to reach the org. `kind = "emulator"` runs the local org under the workspace."""

    kind: Literal["emulator", "org"] = "emulator"
    instance_url: str | None = None
    login_url: str = "https://login.salesforce.com"
    api_version: ApiVersion = "62.0"
    object_name: ApiName = Field("product_property__c", alias="object")
    auth: Literal["emulator", "client_credentials", "jwt", "password", "session"] = "emulator"
    client_id_env: EnvName = "PROPSYNC_SF_CLIENT_ID"
    client_secret_env: EnvName = "PROPSYNC_SF_CLIENT_SECRET"
    username_env: EnvName = "PROPSYNC_SF_USERNAME"
    password_env: EnvName = "PROPSYNC_SF_PASSWORD"
    security_token_env: EnvName = "PROPSYNC_SF_SECURITY_TOKEN"
    private_key_file_env: EnvName = "PROPSYNC_SF_PRIVATE_KEY_FILE"
    session_id_env: EnvName = "PROPSYNC_SF_SESSION_ID"
    ca_file: str | None = None
    connect_timeout_s: float = Field(10.0, gt=0)  # every HTTP call: TCP + TLS connect
    timeout_s: float = Field(120.0, gt=0)  # every HTTP call: wait for each read
    bulk_query_threshold: int = Field(50_000, ge=0)
    emulator: EmulatorConfig = EmulatorConfig()

    @model_validator(mode="before")
    @classmethod
    def _external_id_is_the_contract(cls, data: object) -> object:
        """`external_id` is no setting: the external id is the field contract's
        (`propsync.fields.EXTERNAL_ID`), which the models, the writer and the emulator's
        object share. Older files that name that very field still load."""
        if isinstance(data, dict) and "external_id" in data:
            if data["external_id"] != fields.EXTERNAL_ID:
                raise ValueError(
                    f"external_id = {data['external_id']!r}: the external id is fixed by the "
                    f"field contract ({fields.EXTERNAL_ID}); remove the setting"
                )
            data = {k: v for k, v in data.items() if k != "external_id"}
        return data


class SyncConfig(_Section):
    bulk_threshold: int = Field(2_000, ge=1)
    bulk_batch_size: int = Field(100_000, ge=1)
    collection_size: int = Field(200, ge=1, le=200)
    max_record_attempts: int = Field(4, ge=1)
    max_request_attempts: int = Field(5, ge=1)
    backoff_base_s: float = Field(0.5, ge=0)
    # A Bulk API job still unfinished this long after it was submitted is aborted.
    bulk_job_timeout_s: float = Field(3600.0, gt=0)
    max_change_share: float = Field(0.20, ge=0, le=1)
    integration_user_id: SalesforceId | None = None


class GenerateConfig(_Section):
    scale: int = Field(9_061, ge=1)
    seed: int = 7


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


class SlackChannelConfig(_Section):
    webhook_url_env: EnvName = "PROPSYNC_SLACK_WEBHOOK_URL"
    timeout: float = Field(10.0, gt=0)


class EmailChannelConfig(_Section):
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    from_: str = Field("propsync@localhost", alias="from")
    to: list[str] = []
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
    channels: Channels = ["slack"]


class SyncFailureSpikeRule(_Rule):
    """More than `threshold_pct` % of the records synced within `window` failed."""

    threshold_pct: float = Field(5.0, ge=0, le=100)
    window: Duration = timedelta(hours=1)
    severity: Severity = "P1"
    channels: Channels = ["pagerduty", "slack"]


class FeatureMismatchHighRule(_Rule):
    """Feature accuracy (the share of matched records whose features agree) is under
    `threshold_pct` %."""

    threshold_pct: float = Field(95.0, ge=0, le=100)
    severity: Severity = "P2"
    channels: Channels = ["slack"]


class PropertiesMissingRule(_Rule):
    """More than `threshold` product properties have no Salesforce record."""

    threshold: int = Field(100, ge=0)
    severity: Severity = "P1"
    channels: Channels = ["email", "slack"]


class SyncDownRule(_Rule):
    """No sync has succeeded within `window`."""

    window: Duration = timedelta(hours=2)
    severity: Severity = "P0"
    channels: Channels = ["pagerduty"]


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


class Config(_Section):
    source: SourceConfig = DuckDBSource()
    engine: EngineConfig = EngineConfig()
    state: StateConfig = StateConfig()
    salesforce: SalesforceConfig = SalesforceConfig()
    sync: SyncConfig = SyncConfig()
    generate: GenerateConfig = GenerateConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    alerts: AlertsConfig = AlertsConfig()
    health: HealthConfig = HealthConfig()
    dashboard: DashboardConfig = DashboardConfig()
    rollout: RolloutConfig = RolloutConfig()


def secret(env_name: str, *, what: str) -> str:
    """Read a secret from the environment variable a setting names."""
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(f"{what}: environment variable {env_name} is not set")
    return value


def load(path: Path) -> Config:
    """Read and validate one config file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (run `propsync init`)") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, text, exc)) from None


def _describe(path: Path, text: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = _strip_union_tags([str(p) for p in err["loc"]])
        line = _line_of(text, loc)
        where = f"{path}:{line}" if line else str(path)
        key = ".".join(loc) or "(top level)"
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {key}: {msg}")
    return "\n".join(lines)


def _strip_union_tags(loc: list[str]) -> list[str]:
    # pydantic puts the discriminator value into the location: source.postgresql.dsn_env
    if len(loc) >= 2 and loc[0] == "source" and loc[1] in ("duckdb", "postgresql"):
        return [loc[0], *loc[2:]]
    return loc


_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"]+)\s*=")


def _line_of(text: str, loc: list[str]) -> int | None:
    """Line of a dotted key in a TOML file; for a key inside an inline table, the line of
    the table's key; for a key that is absent, its section's header."""
    section: list[str] = []
    header_line: int | None = None
    prefix_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = [p.strip().strip('"') for p in header.group(1).split(".")]
            if section == loc[:-1] or section == loc:
                header_line = header_line or number
            continue
        key = _KEY.match(line)
        if key:
            dotted = [*section, key.group(1).strip('"')]
            if dotted == loc:
                return number
            if len(dotted) < len(loc) and dotted == loc[: len(dotted)]:
                prefix_line = prefix_line or number
    return prefix_line or header_line


# The commented propsync.toml `propsync init` writes (a file of the package, so it reads
# as the TOML it is).
TEMPLATE = resources.files("propsync").joinpath("config_template.toml").read_text("utf-8")
