-- sync_monitoring_dashboard: the one-row summary the plan's daily health check reads
-- (Step 5.6: `WHERE dashboard_refreshed_at >= ...`), computed on every query.
--
-- Columns
--   properties_to_create          Sync A queue size (plan: should be < 50)
--   properties_to_update          matched records (plan: stable)
--   updates_pending               of those, with has_changes_since_last_sync
--   missing_property_count, with_features_missing, missing_status   widget 5
--   min_feature_accuracy_pct      the lowest of widget 2's four features
--   last_24h_successful_syncs, last_24h_failed_syncs   audit-log record outcomes
--   last_sync_at                  latest audit-log timestamp (NULL before any run)
--   sync_exception_count          rows of sync_exceptions
--   dashboard_refreshed_at        CURRENT_TIMESTAMP
CREATE OR REPLACE VIEW sync_monitoring_dashboard AS
WITH upd AS (
  SELECT
    COUNT(*) AS properties_to_update,
    COUNT(*) FILTER (WHERE has_changes_since_last_sync) AS updates_pending
  FROM properties_to_update
),
audit AS (
  SELECT
    COUNT(*) FILTER (
      WHERE sync_status = 'SUCCESS' AND sync_timestamp >= CURRENT_TIMESTAMP - INTERVAL 24 HOUR
    ) AS last_24h_successful_syncs,
    COUNT(*) FILTER (
      WHERE sync_status = 'FAILED' AND sync_timestamp >= CURRENT_TIMESTAMP - INTERVAL 24 HOUR
    ) AS last_24h_failed_syncs,
    MAX(sync_timestamp) AS last_sync_at
  FROM property_sync_audit_log
)
SELECT
  (SELECT COUNT(*) FROM properties_to_create) AS properties_to_create,
  upd.properties_to_update,
  upd.updates_pending,
  m.missing_property_count,
  m.with_features_missing,
  m.status AS missing_status,
  (SELECT MIN(accuracy_pct) FROM feature_sync_accuracy) AS min_feature_accuracy_pct,
  audit.last_24h_successful_syncs,
  audit.last_24h_failed_syncs,
  audit.last_sync_at,
  (SELECT COUNT(*) FROM sync_exceptions) AS sync_exception_count,
  CURRENT_TIMESTAMP AS dashboard_refreshed_at
FROM upd
CROSS JOIN audit
CROSS JOIN properties_missing_from_sf AS m
