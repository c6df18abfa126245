-- sync_health_7d: the plan's dashboard widget 4 (census_sync_health_7d), over
-- propsync's own audit log. One row per UTC day and operation in the last 7 days.
--
-- Columns
--   sync_date          CAST(sync_timestamp AS DATE), UTC
--   sync_operation     CREATE / UPDATE / ROLLBACK
--   total_syncs        record outcomes logged
--   successful, failed sync_status SUCCESS / FAILED
--   success_rate_pct   100 * successful / total_syncs, 2 decimals
CREATE OR REPLACE VIEW sync_health_7d AS
SELECT
  CAST(sync_timestamp AS DATE) AS sync_date,
  sync_operation,
  COUNT(*) AS total_syncs,
  SUM(CASE WHEN sync_status = 'SUCCESS' THEN 1 ELSE 0 END) AS successful,
  SUM(CASE WHEN sync_status = 'FAILED' THEN 1 ELSE 0 END) AS failed,
  ROUND(
    100.0 * SUM(CASE WHEN sync_status = 'SUCCESS' THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0), 2
  ) AS success_rate_pct
FROM property_sync_audit_log
WHERE sync_timestamp >= CURRENT_TIMESTAMP - INTERVAL 7 DAY
GROUP BY CAST(sync_timestamp AS DATE), sync_operation
ORDER BY sync_date DESC, sync_operation ASC
