"""Fixtures for the sync tests: hand-built rows on a real DuckDB with the real state
tables (`scenario`); a generated scenario loaded into a running emulator lives in
`tests/sync/orgs.py`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.salesforce.fields import engine_table_ddl
from propsync.state import StateStore
from propsync.state.duckdb_store import DuckDBBackend

T0 = datetime(2024, 1, 1, tzinfo=UTC)

RDS_DDL = (
    "CREATE TABLE companies (id BIGINT, name VARCHAR, created_at TIMESTAMPTZ,"
    " updated_at TIMESTAMPTZ)",
    "CREATE TABLE properties (id BIGINT, name VARCHAR, short_id VARCHAR, company_id BIGINT,"
    " address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, status VARCHAR,"
    " sfdc_id VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,"
    " deleted_at TIMESTAMPTZ)",
    "CREATE TABLE property_features (property_id BIGINT, feature VARCHAR, enabled BOOLEAN,"
    " updated_at TIMESTAMPTZ)",
)


@dataclass
class SyncScenario:
    """RDS properties and Salesforce records by hand; `build()` loads them, migrates the
    real state tables into the same DuckDB and builds the views."""

    engine: DuckDBEngine
    store: StateStore
    props: list[tuple[Any, ...]] = field(default_factory=list)
    features: list[tuple[Any, ...]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def prop(
        self,
        pid: int,
        *,
        status: str = "ACTIVE",
        features: tuple[str, ...] = (),
        name: str | None = None,
        sfdc_id: str | None = None,
    ) -> None:
        created = T0 + timedelta(days=pid)
        self.props.append(
            (pid, f"Property {pid}" if name is None else name, f"S{pid}", 1, "1 Main St",
             "Austin", "TX", "78701", status, sfdc_id, created, created, None)
        )  # fmt: skip
        self.features += [(pid, f, True, created) for f in features]

    def record(self, snappt_id: int, **values: Any) -> str:
        """A product_property__c row; `values` are engine columns (idv_enabled_c=True)."""
        rid = f"a0X{len(self.records) + 1:015d}"
        row = {
            "id": rid,
            "snappt_property_id_c": str(snappt_id),
            "name": f"Property {snappt_id}",
            "is_deleted": False,
            "created_date": T0,
            "last_modified_date": T0,
            "idv_enabled_c": False,
            "bank_linking_enabled_c": False,
            "payroll_enabled_c": False,
            "income_insights_enabled_c": False,
        }
        row.update(values)
        self.records.append(row)
        return rid

    def build(self) -> list[str]:
        e = self.engine
        for ddl in RDS_DDL:
            e.execute(ddl.replace("CREATE TABLE", "CREATE OR REPLACE TABLE"))
        e.execute(engine_table_ddl())
        self.store.migrate()
        e.execute("INSERT INTO companies VALUES (1, 'Acme', ?, ?)", [T0, T0])
        if self.props:
            e.con.executemany(f"INSERT INTO properties VALUES ({', '.join('?' * 13)})", self.props)
        if self.features:
            e.con.executemany("INSERT INTO property_features VALUES (?, ?, ?, ?)", self.features)
        for row in self.records:
            marks = ", ".join("?" for _ in row)
            e.execute(
                f"INSERT INTO salesforce_product_property ({', '.join(row)}) VALUES ({marks})",
                list(row.values()),
            )
        return models.build(e)

    def sync_to_expected(self) -> None:
        """Make every matched record hold its expected values, as a perfect Sync B would."""
        from propsync.models.queues import UPDATE_FIELDS

        sets = ", ".join(f"{f.current} = u.{f.expected}" for f in UPDATE_FIELDS)
        self.engine.execute(
            f"UPDATE salesforce_product_property AS sp SET {sets}"
            " FROM properties_to_update AS u WHERE u.id = sp.id"
        )
        self.rebuild()

    def rebuild(self) -> list[str]:
        """Build the views again after changing rows (some models are materialised)."""
        return models.build(self.engine)


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[SyncScenario]:
    engine = DuckDBEngine(":memory:", threads=2, memory_limit="1GB")
    try:
        yield SyncScenario(engine, StateStore(DuckDBBackend(engine, tmp_path / "locks")))
    finally:
        engine.close()
