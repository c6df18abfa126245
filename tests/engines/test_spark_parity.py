"""Every view, and the queue rows the sync sends, give the same rows on DuckDB and on
local Spark over the same fixture data (compared both ways, as multisets).

The data is made to hit what differs between the engines: ties on created_at, NULLs in
every column the rules read, 15/18-char sfdc ids in mixed case with lower-case and wrong
suffixes, whitespace and a final line terminator around them (Java's `$` matches before
it, RE2's does not), non-ASCII text (lengths counted by code point), and time windows
with rows twenty minutes either side of each boundary."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.engines.spark import SparkEngine
from propsync.models import queues as mq
from propsync.sync import mapping
from tests.scenario import T0, Scenario

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow

ID15 = "a01Dn00000HHUan"  # its checksum suffix is IAH
ID15_B = "a01Dn00000HHUbQ"
TABLES = (*models.SOURCE_TABLES, *models.STATE_TABLES)
# Columns that hold the instant of the query, not data.
VOLATILE = {"dashboard_refreshed_at"}
# Rows sit this far either side of each time window's boundary: more than the module
# takes from loading the data to its last query, so both engines see the same side.
MARGIN = timedelta(minutes=20)


def _fixture(s: Scenario, now: datetime) -> None:
    same = T0 + timedelta(days=3)
    # One sfdc_id group written five ways: ties on created_at break on the id.
    s.prop(1, sfdc_id=ID15, created_at=same, features=("bank_linking",))
    s.prop(2, sfdc_id=ID15 + "IAH", created_at=same, features=("payroll_linking",))
    s.prop(3, sfdc_id=ID15 + "iah", created_at=None)  # lower-case suffix
    s.prop(4, sfdc_id=f" {ID15}\t", status="INACTIVE")  # whitespace; not ACTIVE
    s.prop(5, sfdc_id=f"{ID15}\r\n", deleted=True)
    s.prop(6, sfdc_id=ID15 + "XXX")  # wrong suffix: invalid
    s.prop(7, sfdc_id=ID15 + "\n")  # final newline: trimmed, valid
    s.prop(8, sfdc_id=ID15 + "\u2028")  # a Java line terminator, not trimmed: invalid
    s.prop(9, sfdc_id=ID15.upper())  # another id altogether
    s.prop(10, sfdc_id="", features=("identity_verification", "income_insights"))
    s.prop(11, sfdc_id="   ")
    s.prop(12, sfdc_id="a01Dn00000HHUañ")  # 15 characters, one not ASCII
    s.prop(13, sfdc_id=ID15 + "I")  # 16 characters
    s.prop(14, sfdc_id=None, status=None, name=None, company_id=None)
    s.prop(15, sfdc_id=ID15_B, name="Café Ünïcødé 🏠", features=("bank_linking",))
    s.prop(16, sfdc_id=ID15_B.lower(), name="é" * 79 + "👨\u200d👩\u200d👧")  # 84 code points
    s.prop(17, sfdc_id=ID15_B, name="x" * 81, status="ACTIVE")
    s.prop(18, sfdc_id=ID15_B, created_at=T0 + timedelta(microseconds=123_456))
    s.prop(19, status="active")  # case matters: not ACTIVE
    s.prop(32, name="y" * 81)  # queued for create with a Name too long: predicted error
    s.prop(33, name="é" * 77 + "👨\u200d👩\u200d👧")  # 82 code points, 78 graphemes
    s._features += [(14, "bank_linking", None, T0), (15, "payroll_linking", False, T0),
                    (19, "unknown_feature", True, T0)]  # fmt: skip
    for pid in range(20, 32):  # plain ACTIVE properties, every third with a feature
        s.prop(pid, sfdc_id=ID15_B if pid % 4 == 0 else None,
               features=("payroll_linking",) if pid % 3 == 0 else ())  # fmt: skip
    # Salesforce: exact matches, equivalent texts, orphans, deleted, mismatches.
    s.record(1, sf_property_id=ID15 + "IAH", name="Property 1")
    s.record(2, sf_property_id=ID15 + "iah", bank_linking_enabled_c=True)  # same id, lower
    s.record("002", sf_property_id=" x ")  # equivalent text beside the exact one
    s.record(" 3 ", idv_enabled_c=None)  # only an equivalent text: duplicate of nothing
    s.record(3, sf_property_id=ID15, active_property_count_c=2)
    s.record(4, sf_property_id=ID15.upper() + "AAA")
    s.record(6, deleted=True)  # in the recycle bin only: 6 is queued again
    s.record(9, sf_property_id="\t" + ID15.upper() + "\n")
    s.record(15, sf_property_id=ID15_B + "xyz", name="Café Ünïcødé 🏠")
    s.record(16, sf_property_id="")
    s.record(16, sf_property_id=None)  # a second exact record: both duplicates
    s.record(17, name="short")  # Name changes to 81 characters: STRING_TOO_LONG predicted
    s.record("abc")
    s.record(None)
    s.record(999)
    s.record("1.0")
    s.record("+5")
    s.record(18, rds_created_at_c=T0 + timedelta(milliseconds=123))
    s.record(20, rds_created_at_c=T0 + timedelta(days=20), city_c="Austin", state_c="TX")
    # Time windows: either side of 2 hours ago.
    before, after = now - timedelta(hours=2) - MARGIN, now - timedelta(hours=2) + MARGIN
    earlier = now - timedelta(hours=5)
    windows = [(after, after), (before, before), (before, after), (earlier, now), (now, earlier)]
    for i, (created, modified) in enumerate(windows, start=21):
        s.record(i, created_date=created, last_modified_date=modified)


def _state(engine: DuckDBEngine, now: datetime) -> None:
    audit, measured = [], []
    day, week = timedelta(days=1), timedelta(days=7)
    for i, ago in enumerate([MARGIN, day - MARGIN, day + MARGIN, week - MARGIN, week + MARGIN]):
        at = now - ago
        for op, status in (("CREATE", "SUCCESS"), ("UPDATE", "FAILED"), ("UPDATE", "SUCCESS")):
            audit.append((at, f"r{i}", op, status, i, None, None, None, '{"a": 1}', None))
        measured.append((at, 10 + i, 20 * i))
    measured.append((now.replace(minute=0, second=0, microsecond=0), 7, 9))  # an hour's start
    engine.con.executemany(
        "INSERT INTO property_sync_audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", audit
    )
    engine.con.executemany("INSERT INTO sync_queue_measurements VALUES (?, ?, ?)", measured)


class Pair:
    def __init__(self, duck: DuckDBEngine, spark: SparkEngine) -> None:
        self.duck, self.spark = duck, spark
        self.timings: dict[str, float] = {}


@pytest.fixture(scope="module")
def pair(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    warehouse: Path = tmp_path_factory.mktemp("parity") / "warehouse"
    duck = DuckDBEngine(":memory:", threads=2, memory_limit="1GB")
    engine = SparkEngine(spark, warehouse=warehouse, database=f"parity_{uuid.uuid4().hex[:8]}")
    scenario = Scenario(duck)
    now = datetime.now(UTC)
    _fixture(scenario, now)
    scenario.load(state=True)
    _state(duck, now)
    p = Pair(duck, engine)
    started = time.perf_counter()
    for table in TABLES:
        engine.load_arrow(table, duck.arrow(f"SELECT * FROM {table}"))
    p.timings["load"] = time.perf_counter() - started
    assert models.build(duck) == models.build(engine) == models.view_names()
    p.timings["build"] = time.perf_counter() - started - p.timings["load"]
    try:
        yield p
    finally:
        engine.close()
        duck.close()


def _value(v: Any) -> Any:
    if isinstance(v, Decimal | float):
        return round(float(v), 6)
    if isinstance(v, datetime):
        return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    return v


def _rows(
    engine: DuckDBEngine | SparkEngine, sql: str
) -> tuple[list[str], Counter[tuple[Any, ...]]]:
    table = engine.arrow(sql)
    names = [n for n in table.column_names if n not in VOLATILE]
    rows = table.select(names).to_pylist()
    return names, Counter(tuple(_value(r[n]) for n in names) for r in rows)


def _same(p: Pair, sql: str) -> int:
    names_d, duck = _rows(p.duck, sql)
    names_s, spark = _rows(p.spark, sql)
    assert names_d == names_s
    only_duck, only_spark = duck - spark, spark - duck  # EXCEPT ALL, both ways
    assert not only_duck and not only_spark, {"duckdb only": only_duck, "spark only": only_spark}
    return sum(duck.values())


@pytest.mark.parametrize("view", models.view_names())
def test_view_rows_are_equal(pair: Pair, view: str) -> None:
    n = _same(pair, f"SELECT * FROM {view}")
    if view in ("rds_properties_enriched", "rds_properties_normalized"):
        assert n == 33


def test_the_fixture_reaches_the_differences(pair: Pair) -> None:
    """The cases above really are in the data (not vacuously equal)."""
    statuses = dict(pair.duck.rows(
        "SELECT match_status, count(*) FROM salesforce_matched_records GROUP BY 1"
    ))  # fmt: skip
    assert statuses["MATCHED"] >= 10 and statuses["SF_DUPLICATE"] >= 3 and statuses["ORPHAN"] >= 4
    got = dict(pair.spark.rows("SELECT rds_property_id, sfdc_id FROM rds_properties_normalized"))
    assert got["3"] == got["7"] == ID15 + "IAH" and got["8"] is None and got["12"] is None
    assert pair.spark.scalar("SELECT count(*) FROM post_rollout_validation WHERE count > 0") == 3


@pytest.mark.parametrize("queue", mq.QUEUES)
@pytest.mark.parametrize("where", ["TRUE", "length(q.rds_property_id) > 1"])
def test_queue_rows_are_equal(pair: Pair, queue: mq.Queue, where: str) -> None:
    rules = mapping.rules_from_describe(None)
    assert _same(pair, mapping.queue_sql(queue, rules, where=where)) > 0
    assert _same(pair, mq.rows_sql(queue, where=where)) > 0
    rows = mapping.queue_sql(queue, rules)
    predicted = pair.spark.rows(f"SELECT predicted_error FROM ({rows}) WHERE predicted_error <> ''")
    assert predicted, "the describe's predicted errors are exercised"


def test_update_queue_size(pair: Pair) -> None:
    assert pair.duck.scalar(mq.UPDATE_QUEUE_SIZE_SQL) == pair.spark.scalar(mq.UPDATE_QUEUE_SIZE_SQL)


def test_deployed_ddl_in_a_catalog_schema_gives_the_same_rows(pair: Pair) -> None:
    """`models.deploy_ddl` qualifies every view by catalog and schema; applied to local
    Spark (a schema of spark_catalog) reading the parity tables where they are (the
    `tables` mapping, as a warehouse replica would be), every view equals DuckDB's."""
    schema = f"deployed_{uuid.uuid4().hex[:8]}"
    # The views read the parity tables where they are, and the stored normalisation
    # (as a user would point at a table already built); the deployed
    # rds_properties_normalized view is compared itself below.
    inputs = {
        t: f"spark_catalog.{pair.spark.database}.{t}"
        for t in (*TABLES, "rds_properties_normalized")
    }
    statements = models.deploy_ddl("spark", catalog="spark_catalog", schema=schema, tables=inputs)
    assert statements[0] == f"CREATE SCHEMA IF NOT EXISTS spark_catalog.{schema}"
    for statement in statements:
        pair.spark.spark.sql(statement)
    for view in models.view_names():
        qualified = pair.spark.query(f"SELECT * FROM spark_catalog.{schema}.{view}")
        names = [n for n in qualified.columns if n not in VOLATILE]
        got = Counter(tuple(_value(r[n]) for n in names) for r in qualified.toArrow().to_pylist())
        names_d, expected = _rows(pair.duck, f"SELECT * FROM {view}")
        assert names == names_d and got == expected, view
