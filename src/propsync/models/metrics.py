"""The plan's "Final Success Metrics" (Phase 6), computed from the views.

Definitions (every figure comes from a query; nothing is typed in):

- properties in Salesforce %: ACTIVE properties (R1) with at least one non-deleted
  product_property__c record naming them, over all ACTIVE properties.
- feature sync accuracy %: over the matched records of properties_to_update, per feature
  the share whose flag equals its R4 expected value; overall, the share of records whose
  four flags all equal their expected values (a record with any wrong flag is a mismatch).
- properties missing from SF: the Sync A queue (properties_to_create, R5).
- P1 critical properties: queued properties with any (R4 expected) feature enabled;
  "synced" is how many of a baseline snapshot's P1 set now have a live record.
- multi-property cases handled: ACTIVE properties in sfdc_id groups of size > 1 whose
  Salesforce record carries the group's aggregate (four flags, count, multi flag).
- sync reliability %: SUCCESS over all CREATE/UPDATE outcomes in property_sync_audit_log;
  None before any run (or when the audit log is not in the engine).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propsync.engines import Engine

FEATURES = {
    "IDV": "idv_enabled_changed",
    "Bank Linking": "bank_linking_enabled_changed",
    "Payroll": "payroll_enabled_changed",
    "Income Insights": "income_insights_enabled_changed",
}
_AGGREGATE_CHANGED = (
    *FEATURES.values(),
    "active_property_count_changed",
    "is_multi_property_changed",
)
_BASELINE_TABLE = "_propsync_metrics_p1_baseline"


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def snapshot(engine: Engine, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The success metrics now; pass an earlier snapshot as `baseline` to count P1 synced.

    The models must be built. The result is JSON-serialisable.
    """
    # Joins rather than EXISTS in the select list, which Spark rejects.
    active, active_in_sf = engine.rows(
        """
        SELECT COUNT(*), COUNT(m.rds_property_id)
        FROM rds_properties_normalized AS e
        LEFT JOIN (
          SELECT DISTINCT rds_property_id FROM salesforce_matched_records
          WHERE matched_exactly
        ) AS m ON m.rds_property_id = e.rds_property_id
        WHERE e.is_active
        """
    )[0]
    feature_sql = ", ".join(f"COUNT(*) FILTER (WHERE {c})" for c in FEATURES.values())
    any_wrong = " OR ".join(FEATURES.values())
    agg_ok = " AND ".join(f"NOT {c}" for c in _AGGREGATE_CHANGED)
    row = engine.rows(
        f"""
        SELECT COUNT(*), COUNT(*) FILTER (WHERE {any_wrong}), {feature_sql},
          COUNT(*) FILTER (WHERE has_changes_since_last_sync),
          COUNT(*) FILTER (WHERE is_active AND is_multi_property AND {agg_ok})
        FROM properties_to_update
        """
    )[0]
    compared, wrong_records = int(row[0]), int(row[1])
    per_feature = {
        name: {"mismatches": int(bad), "accuracy_pct": _pct(compared - int(bad), compared)}
        for name, bad in zip(FEATURES, row[2:6], strict=True)
    }
    pending_updates, multi_handled = int(row[6]), int(row[7])
    missing, p1_ids = _create_queue(engine)
    multi_total = int(
        engine.scalar(
            "SELECT COALESCE(SUM(active_property_count), 0) FROM properties_aggregated_by_sfdc_id"
            " WHERE active_property_count > 1"
        )
    )
    outcomes, reliability = _reliability(engine)
    return {
        "taken_at": datetime.now(UTC).isoformat(),
        "active_properties": int(active),
        "active_in_salesforce": int(active_in_sf),
        "properties_in_sf_pct": _pct(int(active_in_sf), int(active)),
        "feature_records_compared": compared,
        "feature_mismatched_records": wrong_records,
        "feature_sync_accuracy_pct": _pct(compared - wrong_records, compared),
        "feature_accuracy": per_feature,
        "updates_pending": pending_updates,
        "properties_missing_from_sf": missing,
        "p1_missing": len(p1_ids),
        "p1_missing_ids": p1_ids,
        "p1_baseline": len(baseline["p1_missing_ids"]) if baseline else None,
        "p1_synced": _p1_synced(engine, baseline["p1_missing_ids"]) if baseline else None,
        "multi_property_cases": multi_total,
        "multi_property_cases_handled": multi_handled,
        "sync_outcomes": outcomes,
        "sync_reliability_pct": reliability,
    }


def _create_queue(engine: Engine) -> tuple[int, list[str]]:
    missing = int(engine.scalar("SELECT COUNT(*) FROM properties_to_create"))
    ids = [
        str(r[0])
        for r in engine.rows(
            "SELECT rds_property_id FROM properties_to_create WHERE has_any_features_enabled"
            " ORDER BY rds_property_id"
        )
    ]
    return missing, ids


def _p1_synced(engine: Engine, ids: list[str]) -> int:
    import pyarrow as pa  # heavy driver: imported on first use

    engine.load_arrow(
        _BASELINE_TABLE, pa.table({"rds_property_id": pa.array([str(i) for i in ids], pa.string())})
    )
    try:
        return int(
            engine.scalar(
                f"""
                SELECT COUNT(*) FROM {_BASELINE_TABLE} AS b
                WHERE b.rds_property_id IN (
                  SELECT rds_property_id FROM salesforce_matched_records WHERE matched_exactly
                )
                """
            )
        )
    finally:
        engine.drop(_BASELINE_TABLE)


def _reliability(engine: Engine) -> tuple[int, float | None]:
    if not engine.table_exists("property_sync_audit_log"):
        return 0, None
    total, ok = engine.rows(
        """
        SELECT COUNT(*), COUNT(*) FILTER (WHERE sync_status = 'SUCCESS')
        FROM property_sync_audit_log
        WHERE sync_operation IN ('CREATE', 'UPDATE')
        """
    )[0]
    return int(total), _pct(int(ok), int(total))


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value:,}{unit}"


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's before/after table: one row per metric with values and the change.

    `after` should be a snapshot taken with `baseline=before` so P1 synced is known.
    """

    def pts(key: str) -> str:
        b, a = before.get(key), after.get(key)
        return "n/a" if b is None or a is None else f"{a - b:+.1f} pts"

    def rel(key: str) -> str:
        b, a = before[key], after[key]
        return f"{100.0 * (a - b) / b:+.0f}%" if b else f"{a - b:+,}"

    p1_after = after.get("p1_synced")
    p1_total = after.get("p1_baseline")
    return [
        {
            "metric": "Properties in Salesforce",
            "before": _fmt(before["properties_in_sf_pct"], "%"),
            "after": _fmt(after["properties_in_sf_pct"], "%"),
            "improvement": pts("properties_in_sf_pct"),
        },
        {
            "metric": "Feature sync accuracy",
            "before": _fmt(before["feature_sync_accuracy_pct"], "%"),
            "after": _fmt(after["feature_sync_accuracy_pct"], "%"),
            "improvement": pts("feature_sync_accuracy_pct"),
        },
        {
            "metric": "Properties missing from SF",
            "before": _fmt(before["properties_missing_from_sf"]),
            "after": _fmt(after["properties_missing_from_sf"]),
            "improvement": rel("properties_missing_from_sf"),
        },
        {
            "metric": "P1 critical properties synced",
            "before": _fmt(0 if p1_total is not None else None),
            "after": _fmt(p1_after),
            "improvement": "n/a" if p1_after is None else f"{p1_after:,} of {p1_total:,}",
        },
        {
            "metric": "Multi-property cases handled",
            "before": _fmt(before["multi_property_cases_handled"]),
            "after": _fmt(after["multi_property_cases_handled"]),
            "improvement": f"{after['multi_property_cases_handled']:,} of "
            f"{after['multi_property_cases']:,}",
        },
        {
            "metric": "Sync reliability",
            "before": _fmt(before["sync_reliability_pct"], "%"),
            "after": _fmt(after["sync_reliability_pct"], "%"),
            "improvement": pts("sync_reliability_pct"),
        },
    ]
