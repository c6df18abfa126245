"""Reading the monitoring views (models/sql/monitoring/) for the health check and the
alert rules: one small function per view, each one query over what the engine holds."""

from __future__ import annotations

from typing import Any

from propsync.engines import Engine
from propsync.errors import UsageError

QUEUE_VIEWS = ("properties_to_create",)
WIDGET_VIEWS = (
    "sync_queue_sizes_24h",
    "feature_sync_accuracy",
    "multi_property_stats",
    "sync_health_7d",
    "properties_missing_from_sf",
)


def require(engine: Engine, views: tuple[str, ...]) -> None:
    """UsageError naming the views not built yet, and how to build them."""
    missing = [v for v in views if not engine.table_exists(v)]
    if missing:
        raise UsageError(
            f"the monitoring view(s) {', '.join(missing)} are not built in the engine:"
            " run `propsync models build` (or a sync, which builds them) first"
        )


def create_queue(engine: Engine) -> int:
    """The plan's alert 1: properties waiting for Sync A."""
    require(engine, QUEUE_VIEWS)
    return int(engine.scalar("SELECT COUNT(*) FROM properties_to_create"))


def feature_accuracy(engine: Engine) -> list[dict[str, Any]]:
    """Widget 2: one row per feature (feature, accuracy_pct, total_properties, mismatches)."""
    require(engine, ("feature_sync_accuracy",))
    return engine.dicts(
        "SELECT feature, CAST(accuracy_pct AS DOUBLE) AS accuracy_pct, total_properties,"
        " mismatches FROM feature_sync_accuracy ORDER BY sort_order"
    )


def missing(engine: Engine) -> dict[str, Any]:
    """Widget 5: the plan's missing count, with its status text and the full create queue."""
    require(engine, ("properties_missing_from_sf",))
    rows = engine.dicts("SELECT * FROM properties_missing_from_sf")
    return rows[0]


def queue_sizes_24h(engine: Engine) -> list[dict[str, Any]]:
    """Widget 1: one row per hour of the last 24, newest first."""
    require(engine, ("sync_queue_sizes_24h",))
    return engine.dicts(
        "SELECT hour, CAST(avg_create_queue AS DOUBLE) AS avg_create_queue,"
        " CAST(avg_update_queue AS DOUBLE) AS avg_update_queue, max_create_queue,"
        " max_update_queue FROM sync_queue_sizes_24h ORDER BY hour DESC"
    )


def multi_property_stats(engine: Engine) -> list[dict[str, Any]]:
    """Widget 3: one row per sfdc_id group size."""
    require(engine, ("multi_property_stats",))
    return engine.dicts(
        "SELECT num_rds_properties, num_sfdc_ids, with_features,"
        " CAST(features_pct AS DOUBLE) AS features_pct FROM multi_property_stats"
        " ORDER BY num_rds_properties"
    )


def sync_health_7d(engine: Engine) -> list[dict[str, Any]]:
    """Widget 4: one row per day and operation of the last 7 days, newest first."""
    require(engine, ("sync_health_7d",))
    return engine.dicts(
        "SELECT sync_date, sync_operation, total_syncs, successful, failed,"
        " CAST(success_rate_pct AS DOUBLE) AS success_rate_pct FROM sync_health_7d"
        " ORDER BY sync_date DESC, sync_operation"
    )
