"""The views over a default-scale generated scenario agree with the generator's
ground_truth.json: both sides are computed (the views in SQL, the truth in plain Python
from the same rules), nothing is typed in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from propsync import models
from propsync.engines.duckdb import DuckDBEngine
from propsync.fields import BY_NAME, FEATURE_FIELDS
from propsync.generate.core import generate
from propsync.generate.sfstate import load_salesforce_state_into_engine
from propsync.models import metrics
from propsync.models.queues import CREATE_COLUMNS, UPDATE_QUEUE_SIZE_SQL
from propsync.sources.embedded import extract_duckdb
from tests.scenario import STATE_DDL, sync_to_expected

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBEngine, dict]]:
    root = tmp_path_factory.mktemp("scenario")
    truth = generate(rds_target=f"duckdb:{root / 'rds.duckdb'}", out_dir=root / "generated")
    engine = DuckDBEngine(root / "propsync.duckdb")
    extract_duckdb(root / "rds.duckdb", engine)
    load_salesforce_state_into_engine(engine, truth.salesforce_parquet)
    for ddl in STATE_DDL:
        engine.execute(ddl)
    models.build(engine)
    on_disk = json.loads(Path(truth.ground_truth_json).read_text(encoding="utf-8"))
    try:
        yield engine, on_disk
    finally:
        engine.close()


def q(engine: DuckDBEngine, sql: str, params: list[Any] | None = None) -> int:
    return int(engine.scalar(sql, params) or 0)


def view_counts(e: DuckDBEngine, now: datetime) -> dict[str, Any]:
    """Every ground-truth count, from the views."""
    exc = dict(e.rows("SELECT exception_type, COUNT(*) FROM sync_exceptions GROUP BY 1"))
    upd = "FROM properties_to_update WHERE "
    feature_any = (
        "(idv_enabled_changed OR bank_linking_enabled_changed OR payroll_enabled_changed"
        " OR income_insights_enabled_changed)"
    )
    accuracy = dict(e.rows("SELECT feature, mismatches FROM feature_sync_accuracy"))
    return {
        "properties_total": q(e, "SELECT COUNT(*) FROM rds_properties_enriched"),
        "active_properties": q(e, "SELECT COUNT(*) FROM rds_properties_enriched WHERE is_active"),
        "inactive_properties": q(
            e,
            "SELECT COUNT(*) FROM rds_properties_enriched"
            " WHERE deleted_at IS NULL AND status IS DISTINCT FROM 'ACTIVE'",
        ),
        "soft_deleted_properties": q(
            e, "SELECT COUNT(*) FROM rds_properties_enriched WHERE property_status = 'DELETED'"
        ),
        "soft_deleted_with_active_status": q(
            e,
            "SELECT COUNT(*) FROM rds_properties_enriched"
            " WHERE property_status = 'DELETED' AND status = 'ACTIVE'",
        ),
        "properties_to_create": q(e, "SELECT COUNT(*) FROM properties_to_create"),
        "properties_to_create_with_features": q(
            e, "SELECT COUNT(*) FROM properties_to_create WHERE has_any_features_enabled"
        ),
        "properties_to_create_recent": q(
            e,
            "SELECT COUNT(*) FROM properties_to_create WHERE created_at >= ?",
            [now - timedelta(days=30)],
        ),
        "properties_to_create_old": q(
            e,
            "SELECT COUNT(*) FROM properties_to_create WHERE created_at < ?",
            [now - timedelta(days=365)],
        ),
        "properties_missing_from_sf": q(
            e, "SELECT missing_property_count FROM properties_missing_from_sf"
        ),
        "properties_to_update": q(e, "SELECT COUNT(*) FROM properties_to_update"),
        "records_matched_to_inactive_properties": q(e, f"SELECT COUNT(*) {upd} NOT is_active"),
        "update_records_with_changes": q(e, f"SELECT COUNT(*) {upd} has_changes_since_last_sync"),
        "sfdc_id_groups": q(e, "SELECT COUNT(*) FROM properties_aggregated_by_sfdc_id"),
        "multi_property_groups": q(
            e, "SELECT COUNT(*) FROM properties_aggregated_by_sfdc_id WHERE is_multi_property"
        ),
        "properties_sharing_sfdc_id": q(
            e,
            "SELECT SUM(active_property_count) FROM properties_aggregated_by_sfdc_id"
            " WHERE is_multi_property",
        ),
        "group_size_histogram": {
            str(size): n
            for size, n in e.rows(
                "SELECT num_rds_properties, num_sfdc_ids FROM multi_property_stats"
                " WHERE num_rds_properties > 1 ORDER BY 1"
            )
        },
        "feature_mismatches": q(e, f"SELECT COUNT(*) {upd} {feature_any}"),
        "feature_mismatches_multi_property": q(
            e, f"SELECT COUNT(*) {upd} {feature_any} AND is_multi_property"
        ),
        "feature_mismatches_single_property": q(
            e, f"SELECT COUNT(*) {upd} {feature_any} AND NOT is_multi_property"
        ),
        "feature_mismatches_by_field": dict(
            zip(
                FEATURE_FIELDS,
                [accuracy[f] for f in ("IDV", "Bank Linking", "Payroll", "Income Insights")],
                strict=True,
            )
        ),
        "sf_records_total": q(e, "SELECT COUNT(*) FROM salesforce_product_property"),
        "deleted_sf_records": q(
            e, "SELECT COUNT(*) FROM salesforce_product_property WHERE is_deleted"
        ),
        "deleted_records_only_copy": q(
            e,
            "SELECT COUNT(*) FROM salesforce_product_property sp JOIN properties_to_create c"
            " ON c.snappt_property_id_c = sp.snappt_property_id_c WHERE sp.is_deleted",
        ),
        "orphans": exc.get("ORPHAN", 0),
        "sf_duplicates": exc.get("SF_DUPLICATE", 0),
        "id_mismatches": exc.get("ID_MISMATCH", 0),
        "invalid_sfdc_ids": exc.get("INVALID_SFDC_ID", 0),
        "invalid_sfdc_ids_active": q(
            e,
            "SELECT COUNT(*) FROM sync_exceptions WHERE exception_type = 'INVALID_SFDC_ID'"
            " AND property_status = 'ACTIVE'",
        ),
        "sfdc_id_null": q(
            e, "SELECT COUNT(*) FROM rds_properties_enriched WHERE sfdc_id_raw IS NULL"
        ),
        "case_variant_sfdc_ids": q(
            e,
            "WITH ids AS (SELECT DISTINCT sfdc_id FROM rds_properties_enriched"
            " WHERE sfdc_id IS NOT NULL) SELECT COUNT(*) FROM ids a WHERE EXISTS (SELECT 1"
            " FROM ids b WHERE lower(substr(b.sfdc_id, 1, 15)) = lower(substr(a.sfdc_id, 1, 15))"
            " AND b.sfdc_id <> a.sfdc_id)",
        ),
        "inactive_only_groups": q(
            e,
            f"SELECT COUNT(*) {upd} sfdc_id IS NOT NULL AND expected_basis = 'NO_ACTIVE_GROUP'",
        ),
    }


def test_every_view_count_matches_ground_truth(generated: tuple[DuckDBEngine, dict]) -> None:
    engine, truth = generated
    now = datetime.fromisoformat(truth["now"])
    got = view_counts(engine, now)
    assert got == {key: truth[key] for key in got}
    # The plan's headline numbers come out of the data at the default scale.
    assert (got["properties_to_create"], got["properties_to_update"]) == (1081, 7980)
    assert engine.scalar(UPDATE_QUEUE_SIZE_SQL) == got["properties_to_update"]
    assert got["properties_to_create_with_features"] == 507
    assert got["properties_sharing_sfdc_id"] == 2410 and got["feature_mismatches"] == 799


def test_park_kennedy(generated: tuple[DuckDBEngine, dict]) -> None:
    engine, truth = generated
    pk = truth["park_kennedy"]
    group = engine.dicts(
        "SELECT * FROM properties_aggregated_by_sfdc_id WHERE sfdc_id = ?", [pk["sfdc_id"]]
    )[0]
    assert group["active_property_count"] == pk["active_properties"]
    for field, value in pk["expected"].items():
        assert group[BY_NAME[field].column.removesuffix("_c")] is value
    members = engine.rows(
        "SELECT rds_property_id FROM rds_properties_enriched"
        " WHERE is_active AND sfdc_id = ? ORDER BY 1",
        [pk["sfdc_id"]],
    )
    assert sorted(m[0] for m in members) == sorted(str(i) for i in pk["rds_property_ids"])


def test_checks_and_metrics_before_and_after_a_perfect_sync(
    generated: tuple[DuckDBEngine, dict],
) -> None:
    engine, truth = generated
    assert all(r.passed for r in models.checks.run_checks(engine))
    before = metrics.snapshot(engine)
    assert before["properties_missing_from_sf"] == truth["properties_to_create"]
    assert before["p1_missing"] == truth["properties_to_create_with_features"]
    assert before["feature_mismatched_records"] == truth["feature_mismatches"]
    assert before["multi_property_cases"] == truth["properties_sharing_sfdc_id"]
    assert before["active_in_salesforce"] == (
        truth["active_properties"] - truth["properties_to_create"]
    )
    # What Sync A and Sync B would leave behind: creates carry their R4 values (R5), so a
    # single update pass afterwards has nothing left to change for them.
    columns = {"snappt_property_id_c": "snappt_property_id_c"} | {
        BY_NAME[api].column: col for api, col in CREATE_COLUMNS.items()
    }
    engine.execute(
        f"INSERT INTO salesforce_product_property (id, is_deleted, {', '.join(columns)})"
        f" SELECT 'new' || snappt_property_id_c, FALSE, {', '.join(columns.values())}"
        " FROM properties_to_create"
    )
    assert (
        q(
            engine,
            "SELECT COUNT(*) FROM properties_to_update WHERE id LIKE 'new%'"
            " AND has_changes_since_last_sync",
        )
        == 0
    )
    sync_to_expected(engine)
    after = metrics.snapshot(engine, baseline=before)
    assert after["properties_missing_from_sf"] == 0
    assert after["properties_in_sf_pct"] == 100.0
    assert after["feature_sync_accuracy_pct"] == 100.0 and after["updates_pending"] == 0
    assert after["p1_synced"] == truth["properties_to_create_with_features"]
    assert after["multi_property_cases_handled"] == truth["properties_sharing_sfdc_id"]
    assert all(r.passed for r in models.checks.run_checks(engine))
    # R8: what was reported before is still reported, untouched.
    assert (
        q(engine, "SELECT COUNT(*) FROM sync_exceptions WHERE exception_type = 'ORPHAN'")
        == (truth["orphans"])
    )
