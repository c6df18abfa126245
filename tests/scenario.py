"""Hand-built RDS properties and Salesforce records in a real DuckDB, and the views built
over them: the one row-building helper of the model tests (`tests/models`) and the
sync tests (`tests/sync`, which add the real state tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.fields import engine_table_ddl
from propsync.models.queues import UPDATE_FIELDS
from propsync.state import StateStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FEATURES = ("identity_verification", "bank_linking", "payroll_linking", "income_insights")

RDS_DDL = (
    "CREATE TABLE companies (id VARCHAR, name VARCHAR, created_at TIMESTAMPTZ,"
    " updated_at TIMESTAMPTZ)",
    "CREATE TABLE properties (id VARCHAR, name VARCHAR, short_id VARCHAR, company_id VARCHAR,"
    " address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, status VARCHAR,"
    " sfdc_id VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,"
    " deleted_at TIMESTAMPTZ)",
    "CREATE TABLE property_features (property_id VARCHAR, feature VARCHAR, enabled BOOLEAN,"
    " updated_at TIMESTAMPTZ)",
)
# The state store's tables, with at least the columns the monitoring views read.
STATE_DDL = (
    "CREATE TABLE property_sync_audit_log (sync_timestamp TIMESTAMPTZ, run_id VARCHAR,"
    " sync_operation VARCHAR, sync_status VARCHAR, rds_property_id VARCHAR,"
    " salesforce_id VARCHAR, error_code VARCHAR, error_message VARCHAR, before_values JSON,"
    " after_values JSON)",
    "CREATE TABLE sync_queue_measurements (measurement_time TIMESTAMPTZ,"
    " properties_to_create BIGINT, properties_to_update BIGINT)",
)


def _or_replace(ddl: str) -> str:
    return ddl.replace("CREATE TABLE", "CREATE OR REPLACE TABLE")


@dataclass
class Scenario:
    """Rows to load: add properties and records, then `build()` the views (over stand-in
    state tables; `SyncScenario` uses the real ones)."""

    engine: DuckDBEngine
    _record_seq: int = 0
    _props: list[tuple[Any, ...]] = field(default_factory=list)
    _features: list[tuple[Any, ...]] = field(default_factory=list)
    _records: list[dict[str, Any]] = field(default_factory=list)

    def prop(
        self,
        pid: int | str | None,
        *,
        sfdc_id: str | None = None,
        status: str | None = "ACTIVE",
        deleted: bool = False,
        features: tuple[str, ...] = (),
        name: str | None = None,
        created_at: datetime | None = None,
        company_id: int | str | None = 1,
    ) -> int | str | None:
        """An RDS property; `pid` is its key, an integer or any text (R9), as the source
        holds it (the engine tables hold text: an integer is stored as its digits)."""
        days = pid if isinstance(pid, int) else len(self._props) + 1
        created = created_at if created_at is not None else T0 + timedelta(days=days)
        self._props.append(
            (
                pid,
                name if name is not None else f"Property {pid}",
                f"S{pid}",
                company_id,
                "1 Main St",
                "Austin",
                "TX",
                "78701",
                status,
                sfdc_id,
                created,
                created,
                T0 + timedelta(days=400) if deleted else None,
            )
        )
        for feature in features:
            self._features.append((pid, feature, True, created))
        return pid

    def record(
        self,
        snappt_id: str | int | None,
        *,
        deleted: bool = False,
        sf_property_id: str | None = None,
        **values: Any,
    ) -> str:
        """A product_property__c row; `values` are engine columns (idv_enabled_c=True, ...)."""
        self._record_seq += 1
        rid = f"a0X{self._record_seq:015d}"
        row = {
            "id": rid,
            "snappt_property_id_c": None if snappt_id is None else str(snappt_id),
            "sf_property_id_c": sf_property_id,
            "is_deleted": deleted,
            "created_date": T0,
            "last_modified_date": T0,
            "idv_enabled_c": False,
            "bank_linking_enabled_c": False,
            "payroll_enabled_c": False,
            "income_insights_enabled_c": False,
        }
        row.update(values)
        self._records.append(row)
        return rid

    def build(self) -> list[str]:
        """Load the rows (and empty state tables) and build every view."""
        self.load(state=True)
        return models.build(self.engine)

    def _create_state_tables(self) -> None:
        for ddl in STATE_DDL:
            self.engine.execute(_or_replace(ddl))

    def load(self, *, state: bool) -> None:
        e = self.engine
        for ddl in RDS_DDL:
            e.execute(_or_replace(ddl))
        e.execute(engine_table_ddl())
        if state:
            self._create_state_tables()
        e.execute("INSERT INTO companies VALUES (1, 'Acme', ?, ?)", [T0, T0])
        if self._props:
            e.con.executemany(
                "INSERT INTO properties VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._props
            )
        if self._features:
            e.con.executemany("INSERT INTO property_features VALUES (?, ?, ?, ?)", self._features)
        if self._records:
            cols = sorted({c for row in self._records for c in row})
            marks = ", ".join("?" for _ in cols)
            e.con.executemany(
                f"INSERT INTO salesforce_product_property ({', '.join(cols)}) VALUES ({marks})",
                [[row.get(c) for c in cols] for row in self._records],
            )

    def build_without_state(self) -> list[str]:
        """Load the rows without the state store's tables; build what can be built."""
        self.load(state=False)
        return models.build(self.engine, strict=False)

    def rebuild(self) -> list[str]:
        """Build the views again after changing rows (some models are materialised)."""
        return models.build(self.engine)

    def one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        rows = self.engine.dicts(sql, params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {rows}"
        return rows[0]


@dataclass
class SyncScenario(Scenario):
    """A `Scenario` over the real state tables (migrated by `build()` into the same
    DuckDB); its records carry a Name like their property's."""

    store: StateStore | None = None

    def record(
        self,
        snappt_id: str | int | None,
        *,
        deleted: bool = False,
        sf_property_id: str | None = None,
        **values: Any,
    ) -> str:
        values.setdefault("name", f"Property {snappt_id}")
        return super().record(snappt_id, deleted=deleted, sf_property_id=sf_property_id, **values)

    def _create_state_tables(self) -> None:
        assert self.store is not None, "SyncScenario needs its state store"
        self.store.migrate()

    def sync_to_expected(self) -> None:
        """Make every matched record hold its expected values, as a perfect Sync B would."""
        sync_to_expected(self.engine)
        self.rebuild()


def sync_to_expected(engine: DuckDBEngine) -> None:
    """Write every matched record's expected values into the Salesforce table, as a
    perfect Sync B would: used to set up 'already in sync' states from the views."""
    sets = ", ".join(f"{f.current} = u.{f.expected}" for f in UPDATE_FIELDS)
    engine.execute(
        f"UPDATE salesforce_product_property AS sp SET {sets}"
        " FROM properties_to_update AS u WHERE u.id = sp.id"
    )
