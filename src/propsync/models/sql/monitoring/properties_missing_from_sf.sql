-- properties_missing_from_sf: the plan's dashboard widget 5 (alert above 100), verbatim:
-- ACTIVE properties WITH a valid sfdc_id and no live product_property__c record (matched
-- on the exact text of the RDS id, R9). The
-- plan counts only properties with a valid sfdc_id; the Sync A queue (properties_to_create)
-- also holds ACTIVE properties without one, so two extra columns show the full queue.
--
-- Columns
--   missing_property_count    the plan's count (valid sfdc_id only)
--   with_features_missing     of those, with any of their own features enabled
--   status                    the plan's thresholds: > 100 critical, > 50 warning, else OK
--   create_queue_count        every ACTIVE property without a live record (R5)
--   create_queue_with_features  of those, with any R4 expected feature enabled
CREATE OR REPLACE VIEW properties_missing_from_sf AS
WITH missing AS (
  SELECT
    COUNT(*) AS missing_property_count,
    SUM(
      CASE
        WHEN idv_enabled OR bank_linking_enabled OR payroll_enabled OR income_insights_enabled
          THEN 1
        ELSE 0
      END
    ) AS with_features_missing
  FROM rds_properties_normalized AS rds
  WHERE rds.property_status = 'ACTIVE'
    AND rds.has_valid_sfdc_id = 1
    AND NOT EXISTS (
      SELECT 1
      FROM salesforce_product_property AS pp
      WHERE rds.snappt_property_id_c = pp.snappt_property_id_c
        AND COALESCE(pp.is_deleted, FALSE) = FALSE
    )
),
queue AS (
  SELECT
    COUNT(*) AS create_queue_count,
    COUNT(*) FILTER (WHERE has_any_features_enabled) AS create_queue_with_features
  FROM properties_to_create
)
SELECT
  missing.missing_property_count,
  COALESCE(missing.with_features_missing, 0) AS with_features_missing,
  CASE
    WHEN missing.missing_property_count > 100 THEN '🔴 CRITICAL: >100 properties missing'
    WHEN missing.missing_property_count > 50 THEN '🟡 WARNING: >50 properties missing'
    ELSE '🟢 OK: <50 properties missing'
  END AS status,
  queue.create_queue_count,
  queue.create_queue_with_features
FROM missing
CROSS JOIN queue
