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

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from propsync import fields
from propsync.config.base import (
    ApiName,
    ApiVersion,
    EnvName,
    MemorySize,
    SalesforceId,
    SqlName,
)
from propsync.config.base import Section as _Section
from propsync.config.operations import (
    AlertsConfig,
    ChannelKind,
    Channels,
    ChannelsConfig,
    Cron,
    DashboardConfig,
    Duration,
    EmailChannelConfig,
    FeatureMismatchHighRule,
    HealthConfig,
    HighCreateQueueRule,
    PagerDutyChannelConfig,
    PropertiesMissingRule,
    RolloutConfig,
    RulesConfig,
    ScheduleConfig,
    Severity,
    SlackChannelConfig,
    SyncDownRule,
    SyncFailureSpikeRule,
    check_endpoint_url,
    is_loopback,
    parse_duration,
)
from propsync.errors import ConfigError

__all__ = [
    "CONFIG_NAME",
    "TEMPLATE",
    "AlertsConfig",
    "ApiName",
    "ApiVersion",
    "ChannelKind",
    "Channels",
    "ChannelsConfig",
    "Config",
    "Cron",
    "DashboardConfig",
    "DuckDBSource",
    "Duration",
    "EmailChannelConfig",
    "EmulatorConfig",
    "EngineConfig",
    "EnvName",
    "FeatureMismatchHighRule",
    "GenerateConfig",
    "HealthConfig",
    "HighCreateQueueRule",
    "MemorySize",
    "PagerDutyChannelConfig",
    "PostgresSource",
    "PropertiesMissingRule",
    "RolloutConfig",
    "RulesConfig",
    "SalesforceConfig",
    "SalesforceId",
    "ScheduleConfig",
    "Severity",
    "SlackChannelConfig",
    "SourceConfig",
    "SqlName",
    "StateConfig",
    "SyncConfig",
    "SyncDownRule",
    "SyncFailureSpikeRule",
    "check_endpoint_url",
    "is_loopback",
    "load",
    "parse_duration",
    "secret",
]

CONFIG_NAME = "propsync.toml"


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
