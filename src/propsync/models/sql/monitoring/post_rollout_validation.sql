-- post_rollout_validation: the plan's Step 5.5 validation query 1 ("overall sync success
-- metrics"), verbatim. Queries 2, 3 and 5 are feature_sync_accuracy, multi_property_stats
-- and properties_missing_from_sf; query 4 (P1 now in Salesforce) needs the rollout start
-- and lives in propsync.models.metrics.
--
-- Columns
--   metric   'Total Properties in SF' | 'Created in Last 2 Hours' | 'Updated in Last 2 Hours'
--   count    live records / records created in the last 2 h / records modified (not
--            created) in the last 2 h
CREATE OR REPLACE VIEW post_rollout_validation AS
SELECT
  'Total Properties in SF' AS metric,
  COUNT(*) AS count
FROM salesforce_product_property
WHERE is_deleted = FALSE

UNION ALL

SELECT
  'Created in Last 2 Hours' AS metric,
  COUNT(*) AS count
FROM salesforce_product_property
WHERE created_date >= CURRENT_TIMESTAMP - INTERVAL 2 HOUR

UNION ALL

SELECT
  'Updated in Last 2 Hours' AS metric,
  COUNT(*) AS count
FROM salesforce_product_property
WHERE last_modified_date >= CURRENT_TIMESTAMP - INTERVAL 2 HOUR
  AND created_date < CURRENT_TIMESTAMP - INTERVAL 2 HOUR
