"""Hand-built RDS tables on the real PostgreSQL, with the rows that break naive code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from propsync.workspace import Workspace

LONG_NAME = "Résidence " + "x" * 71  # 81 characters, one over Salesforce's Name limit
assert len(LONG_NAME) == 81

SCHEMA_SQL = """
CREATE TYPE property_status AS ENUM ('ACTIVE', 'INACTIVE', 'DISABLED');
CREATE TABLE companies (
  id bigint PRIMARY KEY, name text, legacy_code int,
  created_at timestamp without time zone, updated_at timestamp without time zone
);
CREATE TABLE properties (
  id bigint PRIMARY KEY, name text, short_id text, company_id bigint, address text,
  city text, state char(2), zip varchar(10), status property_status, sfdc_id varchar(18),
  created_at timestamptz, updated_at timestamptz, deleted_at timestamptz
);
CREATE TABLE property_features (
  property_id bigint, feature text, enabled boolean, updated_at timestamptz,
  PRIMARY KEY (property_id, feature)
);
"""

ROWS_SQL = """
INSERT INTO companies VALUES
  (1, 'Société Générale — 東京', 7, '2023-01-01 12:00:00', '2024-01-01 00:00:00'),
  (2, NULL, NULL, NULL, NULL),
  (3, 'Ørsted Ëstates', 9, '2022-06-30 23:59:59.999999', '2024-01-02 00:00:00');
INSERT INTO properties VALUES
  (10, 'Park Kennedy', 'PK1', 1, '1 Main St', 'Zürich', 'ZH', '8001', 'ACTIVE',
   'a01Dn00000HHUanIAH', '2024-03-10 10:00:00+05:30', '2024-05-01 00:00:00+00', NULL),
  (11, %(long)s, 'LONG', 1, NULL, 'São Paulo', NULL, NULL, 'ACTIVE',
   ' a01Dn00000HHUan ', '2024-03-10 10:00:00-08', '2024-05-01 00:00:00+00', NULL),
  (12, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (13, 'Old One', 'OLD', 2, '2 Side St', 'Kraków', 'MA', '00-001', 'INACTIVE', '',
   '2019-12-31 23:30:00-05', '2024-04-01 12:00:00+02', '2024-04-01 10:00:00+00'),
  (14, '公寓 Tower', 'T14', 3, '3 Rd', 'Tokyo', NULL, NULL, 'ACTIVE', NULL,
   '2024-02-29 00:00:00+09', '2024-04-15 08:00:00+00', NULL);
INSERT INTO property_features VALUES
  (10, 'identity_verification', true, '2024-05-01 00:00:00+00'),
  (10, 'bank_linking', true, '2024-05-01 00:00:00+00'),
  (11, 'identity_verification', false, '2024-04-01 00:00:00+00'),
  (11, 'payroll_linking', NULL, NULL),
  (14, 'income_insights', true, '2024-04-15 08:00:00+00');
"""


def make_rds(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(SCHEMA_SQL)
        for statement in ROWS_SQL.split(";\n"):
            if statement.strip():
                params = {"long": LONG_NAME} if "%(long)s" in statement else None
                con.execute(statement, params)


@pytest.fixture
def rds_dsn(pg_dsn: str) -> str:
    make_rds(pg_dsn)
    return pg_dsn


def pg_workspace(root: Path, env_name: str, *, incremental: bool = True) -> Workspace:
    (root / "propsync.toml").write_text(
        f"""
[source]
kind = "postgresql"
dsn_env = "{env_name}"
incremental = {"true" if incremental else "false"}

[engine]
path = "propsync.duckdb"
threads = 2
""",
        encoding="utf-8",
    )
    return Workspace.open(root / "propsync.toml")


@pytest.fixture
def pg_ws(tmp_path: Path, rds_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("PROPSYNC_TEST_RDS_DSN", rds_dsn)
    ws = pg_workspace(tmp_path, "PROPSYNC_TEST_RDS_DSN")
    try:
        yield ws
    finally:
        ws.close()
