"""Typed configuration: `propsync.toml`, validated by pydantic.

Unknown keys are rejected, and every error names the file and the line. Secrets
never live in the file: a setting ending in `_env` names the environment variable
that holds the secret, and `secret()` reads it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from propsync.errors import ConfigError

CONFIG_NAME = "propsync.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DuckDBSource(_Section):
    """The embedded demo source: RDS tables in a DuckDB file filled by the generator."""

    kind: Literal["duckdb"] = "duckdb"
    path: str = "rds.duckdb"


class PostgresSource(_Section):
    """The product database: PostgreSQL (AWS RDS). The DSN comes from the environment."""

    kind: Literal["postgresql"]
    dsn_env: str = "PROPSYNC_RDS_DSN"
    schema_name: str = Field("public", alias="schema")
    incremental: bool = True


SourceConfig = Annotated[DuckDBSource | PostgresSource, Field(discriminator="kind")]


class EngineConfig(_Section):
    """The engine the models run on. DuckDB (the default) keeps everything in one file
    (`path`); Spark runs a local session (`master`) or reaches a Spark Connect server
    (`remote = "sc://host:port"`), with its tables as Parquet under `warehouse` in the
    workspace (locally) and in the catalog database `database`."""

    kind: Literal["duckdb", "spark"] = "duckdb"
    path: str = "propsync.duckdb"
    threads: int = Field(2, ge=1)
    memory_limit: str = "4GB"
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
    dsn_env: str = "PROPSYNC_STATE_DSN"


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
    api_version: str = "62.0"
    object_name: str = Field("product_property__c", alias="object")
    external_id: str = "snappt_property_id__c"
    auth: Literal["emulator", "client_credentials", "jwt", "password", "session"] = "emulator"
    client_id_env: str = "PROPSYNC_SF_CLIENT_ID"
    client_secret_env: str = "PROPSYNC_SF_CLIENT_SECRET"
    username_env: str = "PROPSYNC_SF_USERNAME"
    password_env: str = "PROPSYNC_SF_PASSWORD"
    security_token_env: str = "PROPSYNC_SF_SECURITY_TOKEN"
    private_key_file_env: str = "PROPSYNC_SF_PRIVATE_KEY_FILE"
    session_id_env: str = "PROPSYNC_SF_SESSION_ID"
    ca_file: str | None = None
    timeout_s: float = Field(120.0, gt=0)
    bulk_query_threshold: int = Field(50_000, ge=0)
    emulator: EmulatorConfig = EmulatorConfig()


class SyncConfig(_Section):
    bulk_threshold: int = Field(2_000, ge=1)
    bulk_batch_size: int = Field(100_000, ge=1)
    collection_size: int = Field(200, ge=1, le=200)
    max_record_attempts: int = Field(4, ge=1)
    max_request_attempts: int = Field(5, ge=1)
    backoff_base_s: float = Field(0.5, ge=0)
    max_change_share: float = Field(0.20, ge=0, le=1)
    integration_user_id: str | None = None


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
    """Line of a dotted key in a TOML file; for a key that is absent, its section's header."""
    section: list[str] = []
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            section = [p.strip().strip('"') for p in header.group(1).split(".")]
            if section == loc[:-1] or section == loc:
                header_line = header_line or number
            continue
        key = _KEY.match(line)
        if key and [*section, key.group(1).strip('"')] == loc:
            return number
    return header_line


TEMPLATE = """\
# propsync configuration: the embedded default.
# Every path is relative to the folder of this file. Secrets never go here:
# settings ending in _env name the environment variable that holds the secret.

[source]
# The product database. The embedded default is a DuckDB file filled by
# `propsync generate`. For AWS RDS use:
#   kind = "postgresql"
#   dsn_env = "PROPSYNC_RDS_DSN"   # e.g. postgresql://user:pw@host:5432/db
#   schema = "public"
#   incremental = true             # re-read only rows whose updated_at moved
kind = "duckdb"
path = "rds.duckdb"

[engine]
# Where the models (views) are built.
kind = "duckdb"
path = "propsync.duckdb"
threads = 2
memory_limit = "4GB"

[state]
# sync_runs, the audit log, queue measurements, pilot sets, sign-offs.
# "duckdb" keeps them in the engine file; use "postgresql" (dsn_env) when the
# scheduler, the dashboard and the CLI must share them.
kind = "duckdb"

[salesforce]
# kind = "emulator" runs the local org under ./emulator; kind = "org" talks to
# a real org. auth: client_credentials | jwt | password | session
kind = "emulator"
auth = "emulator"
api_version = "62.0"
object = "product_property__c"
external_id = "snappt_property_id__c"
# instance_url = "https://yourcompany.my.salesforce.com"
# client_id_env = "PROPSYNC_SF_CLIENT_ID"
# client_secret_env = "PROPSYNC_SF_CLIENT_SECRET"

[salesforce.emulator]
data = "emulator"
latency_ms = 0
workflow_delay_s = 2
workflow_enabled = true

[sync]
bulk_threshold = 2000        # Bulk API 2.0 at or above this many records, sObject Collections below
max_change_share = 0.20      # refuse a Sync B that changes more than this share of matched records
max_record_attempts = 4      # UNABLE_TO_LOCK_ROW and friends are resubmitted up to this many times

[generate]
scale = 9061
seed = 7
"""
